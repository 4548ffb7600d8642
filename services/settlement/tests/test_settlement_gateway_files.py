"""9101 and 9102 as real clients stream them (reference section 0): an upload as multipart form
data (`jsonStr` + `file`) or with the zip as a JSON byte array, and the download answered as the
zip itself; on each URL style and with each signature profile, with the reconciliation service
that owns the files running in process behind the gateway."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from test_settlement_gateway_profiles import NANJING, PROFILES, START, URLS

from yidi_events.settings import ServiceSettings
from yidi_reconciliation import bootstrap as reconciliation

DAY = "2026-03-10"
# Settled nowhere on the platform: reconciliation answers each row missing_on_platform.
ROWS = [
    ("S-ONE", "V-ONE", "P-ONE", "100.00", "70.00", "10.00", "0"),
    ("S-TWO", "V-TWO", "P-TWO", "-50.00", "-30.00", "0.00", "1"),
]


def detail_zip() -> bytes:
    header = "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag"
    text = "\n".join([header, *("\t".join(row) for row in ROWS)]) + "\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("detail.txt", text.encode("utf-8"))
    return buffer.getvalue()


def result_rows(zipped: bytes) -> dict[str, dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        (member,) = archive.namelist()
        lines = archive.read(member).decode("utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    return {row["setl_id"]: row for row in rows}


@asynccontextmanager
async def with_reconciliation(h: Any, database: Any, infra: Any) -> AsyncIterator[None]:
    settings = ServiceSettings(
        database_url=database(reconciliation.MIGRATIONS),
        kafka_bootstrap=infra.kafka_bootstrap,
        kafka_namespace=h.runtime.settings.kafka_namespace,
        relay_enabled=False,
        consumers_enabled=False,
        clock="controlled",
        clock_start=START,
        log_json=False,
        log_level="WARNING",
    )
    app = reconciliation.create(settings)
    async with app.router.lifespan_context(app):
        h.app.state.gateway.forwarder.transport = httpx.ASGITransport(app=app)
        yield


async def post(
    h: Any, profile: str, url: str, infno: str, body: bytes, content_type: str, nonce: str
) -> httpx.Response:
    signed = PROFILES[profile](NANJING, body, h.runtime.clock.now(), nonce)
    response: httpx.Response = await h.client.post(
        URLS[url](infno), content=body, headers={**signed, "content-type": content_type}
    )
    assert response.status_code == 200, response.text
    return response


def multipart(envelope: bytes, zipped: bytes) -> tuple[bytes, str]:
    """The body and content type as the spec's demo client posts 9101."""
    request = httpx.Request(
        "POST",
        "http://test",
        data={"jsonStr": envelope.decode()},
        files={"file": ("detail.zip", zipped, "application/zip")},
    )
    return request.read(), request.headers["content-type"]


def upload_input(file: Any = None) -> dict[str, Any]:
    node = {"filename": "detail.zip", "fixmedins_code": NANJING}
    return {"fsUploadIn": node if file is None else {**node, "in": file}}


def details_input(file_query_no: str) -> dict[str, Any]:
    data = {
        "setl_optins": "320100",
        "file_qury_no": file_query_no,
        "stmt_begndate": DAY,
        "stmt_enddate": DAY,
        "medfee_sumamt": "50.00",
        "fund_pay_sumamt": "40.00",
        "cash_payamt": "0.00",
        "fixmedins_setl_cnt": "2",
        "refd_setl_flag": "1",
    }
    return {"data": data}


@pytest.mark.parametrize(("profile", "url"), [(p, u) for p in PROFILES for u in URLS])
async def test_a_multipart_upload_is_reconciled_and_downloaded_as_a_zip(
    make_harness: Any, database: Any, infra: Any, profile: str, url: str
) -> None:
    async with make_harness(START) as h, with_reconciliation(h, database, infra):
        await h.sandbox_world()
        envelope = h.envelope("9101", upload_input(), NANJING)
        body, content_type = multipart(envelope, detail_zip())
        uploaded = (await post(h, profile, url, "9101", body, content_type, "1")).json()
        assert uploaded["infcode"] == 0, uploaded["err_msg"]
        assert uploaded["output"]["fixmedins_code"] == NANJING

        number = uploaded["output"]["file_qury_no"]
        details = h.envelope("3202", details_input(number), NANJING)
        answer = (await post(h, profile, url, "3202", details, "application/json", "2")).json()
        assert answer["infcode"] == 0, answer["err_msg"]
        fileinfo = answer["output"]["fileinfo"]

        wanted = {"fsDownloadIn": {**fileinfo, "fixmedins_code": NANJING}}
        download = h.envelope("9102", wanted, NANJING)
        response = await post(h, profile, url, "9102", download, "application/json", "3")
        assert response.headers["content-type"] == "application/octet-stream"
        rows = result_rows(response.content)
        assert {sid: (r["stmt_rslt"], r["memo"].split(":")[0]) for sid, r in rows.items()} == {
            "S-ONE": ("1", "missing_on_platform"),
            "S-TWO": ("1", "missing_on_platform"),
        }


async def test_a_byte_array_upload_is_the_same_file(
    make_harness: Any, database: Any, infra: Any
) -> None:
    async with make_harness(START) as h, with_reconciliation(h, database, infra):
        await h.sandbox_world()
        zipped = detail_zip()
        # Java clients serialise byte[] as signed bytes.
        signed_bytes = [byte - 256 if byte > 127 else byte for byte in zipped]
        assert min(signed_bytes) < 0
        envelope = h.envelope("9101", upload_input(signed_bytes), NANJING)
        uploaded = (
            await post(h, "tif", "service path", "9101", envelope, "text/plain", "1")
        ).json()
        assert uploaded["infcode"] == 0, uploaded["err_msg"]
        number = uploaded["output"]["file_qury_no"]
        details = h.envelope("3202", details_input(number), NANJING)
        answer = (await post(h, "tif", "service path", "3202", details, "text/plain", "2")).json()
        assert answer["infcode"] == 0, answer["err_msg"]
        wanted = {"fsDownloadIn": {**answer["output"]["fileinfo"], "fixmedins_code": NANJING}}
        download = h.envelope("9102", wanted, NANJING)
        response = await post(h, "tif", "service path", "9102", download, "text/plain", "3")
        assert set(result_rows(response.content)) == {"S-ONE", "S-TWO"}


def multipart_without_envelope() -> tuple[bytes, str]:
    request = httpx.Request(
        "POST", "http://test", files={"file": ("detail.zip", detail_zip(), "application/zip")}
    )
    return request.read(), request.headers["content-type"]


async def test_refused_uploads_and_downloads_answer_the_envelope_and_change_nothing(
    make_harness: Any, database: Any, infra: Any
) -> None:
    async with make_harness(START) as h, with_reconciliation(h, database, infra):
        await h.sandbox_world()
        before = await h.counts()
        now = h.runtime.clock.now()
        body, content_type = multipart(h.envelope("9101", upload_input(), NANJING), detail_zip())
        # The body HMAC is over the raw multipart body: a changed file breaks it.
        signed = PROFILES["hmac"](NANJING, body, now, "1")
        tampered = body.replace(b"detail.txt", b"detail.TXT")
        no_envelope, no_envelope_type = multipart_without_envelope()
        not_bytes = h.envelope("9101", upload_input([1, 2, 300]), NANJING)
        refusals = [
            (tampered, content_type, signed, "x-yidi-signature"),
            (
                no_envelope,
                no_envelope_type,
                PROFILES["tif"](NANJING, no_envelope, now, "2"),
                "jsonStr",
            ),
            (not_bytes, "application/json", PROFILES["tif"](NANJING, not_bytes, now, "3"), "in："),
        ]
        for sent, sent_type, headers, named in refusals:
            response = await h.client.post(
                URLS["service path"]("9101"),
                content=sent,
                headers={**headers, "content-type": sent_type},
            )
            answer = response.json()
            assert answer["infcode"] == -1, answer
            assert named in answer["err_msg"], answer["err_msg"]
        unknown = h.envelope("9102", {"fsDownloadIn": {"file_qury_no": "F-NONE"}}, NANJING)
        response = await post(h, "csb", "CSB path", "9102", unknown, "application/json", "4")
        assert response.headers["content-type"].startswith("application/json")
        answer = response.json()
        assert answer["infcode"] == -1
        assert answer["err_msg"] == (
            "file_qury_no：未找到本机构的该文件（reconciliation.file_unknown）"
        ), answer["err_msg"]
        assert await h.counts() == before
