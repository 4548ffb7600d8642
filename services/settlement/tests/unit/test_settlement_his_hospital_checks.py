"""3201/3202/9101/9102 at the HIS edge: national names in, domain commands out, and back."""

from __future__ import annotations

import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_settlement.his import hospital_checks as edge
from yidi_settlement.his.fields import error_text

DATA = {
    "insutype": "310",
    "clr_type": "11",
    "setl_optins": "320100",
    "stmt_begndate": "2026-03-10",
    "stmt_enddate": "2026-03-10 23:59:59",
    "medfee_sumamt": 500.1,  # a JSON number
    "fund_pay_sumamt": "350.00",
    "acct_pay": "0",
    "fixmedins_setl_cnt": "4",
    "refd_setl_flag": "0",
}


def test_totals_claim_maps_yuan_to_fen_and_the_refund_flag() -> None:
    claim = edge.totals_command(envelope("3201", {"data": DATA}))
    assert (claim["total_fee"], claim["fund_total"], claim["account_paid"], claim["count"]) == (
        50010,
        35000,
        0,
        4,
    )
    assert claim["scope"]["end_date"] == "2026-03-10"
    assert claim["scope"]["include_refunds"] is False
    refunds = edge.totals_command(envelope("3201", {"data": {**DATA, "refd_setl_flag": ""}}))
    assert refunds["scope"]["include_refunds"]


def test_the_specs_own_name_of_the_refund_flag_is_read() -> None:
    # The spec's 3201 table says fixmedins_refd_setl_flag; "0" must exclude cancellations.
    spec = {k: v for k, v in DATA.items() if k != "refd_setl_flag"}
    claim = edge.totals_command(
        envelope("3201", {"data": {**spec, "fixmedins_refd_setl_flag": "0"}})
    )
    assert claim["scope"]["include_refunds"] is False
    with pytest.raises(DomainError) as refused:
        edge.totals_command(envelope("3201", {"data": {**spec, "fixmedins_refd_setl_flag": "2"}}))
    assert refused.value.field == "fixmedins_refd_setl_flag"


@pytest.mark.parametrize(
    ("field", "value", "told"),
    [
        ("medfee_sumamt", "1.005", "应为以元为单位、最多两位小数的金额，收到 1.005"),
        ("fixmedins_setl_cnt", "-1", "应为整数，收到 -1"),
        ("stmt_begndate", "10/03/2026", "应为日期 yyyy-MM-dd，收到 10/03/2026"),
    ],
)
def test_a_bad_figure_is_refused_naming_the_national_field(
    field: str, value: str, told: str
) -> None:
    with pytest.raises(DomainError) as refused:
        edge.totals_command(envelope("3201", {"data": {**DATA, field: value}}))
    assert refused.value.field == field
    assert error_text(refused.value, "3201") == (
        f"{field}：字段值格式不正确，{told}（his.field_invalid）"
    )


def test_an_upload_must_be_base64() -> None:
    with pytest.raises(DomainError) as refused:
        edge.upload_command(
            envelope("9101", {"fsUploadIn": {"in": "not base64!", "filename": "d.zip"}})
        )
    assert refused.value.field == "in"


def test_an_unbalanced_claim_is_described_in_the_hospitals_names() -> None:
    result = {
        "clearing_agency": "320100",
        "start_date": "2026-03-10",
        "end_date": "2026-03-10",
        "balanced": False,
        "description": "not balanced (domain wording)",
        "differences": [
            {"figure": "total_fee", "platform": 50000, "hospital": 51000},
            {"figure": "count", "platform": 4, "hospital": 5},
        ],
    }
    info = edge.totals_output(envelope("3201", {"data": DATA}), result)["stmtinfo"]
    assert (info["setl_optins"], info["stmt_rslt"]) == ("320100", "1")
    assert info["stmt_rslt_dscr"] == (
        "2026-03-10至2026-03-10对账不平（金额单位元）：medfee_sumamt 平台500.00 医院510.00；"
        "fixmedins_setl_cnt 平台4 医院5。请用3202对明细账"
    )
    every = {
        **result,
        "differences": [
            {"figure": f, "platform": 0, "hospital": 999_999_999_999_99}
            for f in ("total_fee", "fund_total", "account_paid", "count")
        ],
    }
    # All four figures differ, at the largest amounts: still within the spec's 200 characters.
    long = edge.totals_output(envelope("3201", {"data": DATA}), every)["stmtinfo"]
    assert len(long["stmt_rslt_dscr"]) <= 200
    assert long["stmt_rslt_dscr"].count("医院") == 4
    balanced = {**result, "balanced": True, "description": "Balanced.", "differences": []}
    assert edge.totals_output(envelope("3201", {}), balanced)["stmtinfo"] == {
        "setl_optins": "320100",
        "stmt_rslt": "0",
        "stmt_rslt_dscr": "Balanced.",
    }


def test_detail_rows_sent_inline_travel_in_domain_names() -> None:
    data = {k: DATA[k] for k in ("setl_optins", "stmt_begndate", "stmt_enddate")}
    row = {"setl_id": "S1", "mdtrt_id": "V1", "psn_no": "P1", "medfee_sumamt": 100.5}
    command = edge.details_command(envelope("3202", {"data": data, "detail": [row, "x"]}))
    assert command["rows"] == [
        {
            "settlement_id": "S1",
            "visit_id": "V1",
            "person_id": "P1",
            "total_fee": "100.5",
        },
        None,
    ]
    assert command["scope"]["insurance_type"] is None
    by_file = edge.details_command(envelope("3202", {"data": {**data, "file_qury_no": "F1"}}))
    assert by_file["file_query_no"] == "F1"


def test_files_travel_as_base64_and_expire_in_local_time() -> None:
    upload = envelope("9101", {"fsUploadIn": {"in": "UEsDBA==", "filename": "d.zip"}})
    assert edge.upload_command(upload) == {"filename": "d.zip", "content": "UEsDBA=="}
    stored = {
        "file_query_no": "F1",
        "filename": "d.zip",
        "download_until": "2026-03-17T01:00:00+00:00",
    }
    assert edge.upload_output(upload, stored) == {
        "file_qury_no": "F1",
        "filename": "d.zip",
        "dld_endtime": "2026-03-17 09:00:00",
        "fixmedins_code": "H32010000001",
    }
    # "UEsDBA==" is b"PK\x03\x04"; a Java byte[] of a zip holds signed bytes (0xff is -1).
    as_bytes = envelope("9101", {"fsUploadIn": {"in": [80, 75, 3, 4], "filename": "d.zip"}})
    assert edge.upload_command(as_bytes)["content"] == "UEsDBA=="
    signed = envelope("9101", {"fsUploadIn": {"in": [-1, 255], "filename": "d.zip"}})
    assert edge.upload_command(signed)["content"] == "//8="
    for not_bytes in ([256], [True], ["1"]):
        with pytest.raises(DomainError, match="array of bytes"):
            edge.upload_command(
                envelope("9101", {"fsUploadIn": {"in": not_bytes, "filename": "d"}})
            )
    download = envelope("9102", {"fsDownloadIn": {"file_qury_no": "F1"}})
    assert edge.download_command(download) == {"file_query_no": "F1"}
    assert edge.download_output(download, {**stored, "content": "UEsDBA=="})["file"] == "UEsDBA=="


def test_reconciliations_refusals_are_told_in_the_hospitals_names() -> None:
    inline = DomainError("reconciliation.detail_invalid", "bad rows", field="rows")
    assert error_text(inline, "3202") == (
        "detail：对账明细无法核对，请检查明细文件（reconciliation.detail_invalid）"
    )
    large = DomainError("reconciliation.file_too_large", "too large", field="content")
    assert error_text(large, "9101") == "in：上传文件过大（reconciliation.file_too_large）"
    unknown = DomainError("reconciliation.file_unknown", "no file F1", field="file_query_no")
    assert error_text(unknown, "9102") == (
        "file_qury_no：未找到本机构的该文件（reconciliation.file_unknown）"
    )


def test_a_claim_without_its_clearing_agency_is_refused_by_its_national_name() -> None:
    with pytest.raises(DomainError) as refused:
        edge.totals_command(envelope("3201", {"data": {"insutype": "310"}}))
    assert (refused.value.field, refused.value.rule) == ("setl_optins", "his.field_missing")
