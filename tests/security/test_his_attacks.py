"""Issue 19, the HIS trust boundary: each attack a hospital's system (or whoever holds its
credentials) can mount through the gateway, attempted against the running services and refused
with a clean national envelope, leaving every service's event store and idempotency table as it
was (docs/his/README.md)."""

from __future__ import annotations

import base64
import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from yidi_cli.his import HisClient

# --import-mode=importlib puts no test directory on sys.path, and tests/security/conftest.py
# belongs to the agency-auth attacks: the kit beside this module is found from here.
sys.path.insert(0, str(Path(__file__).parent))
from his_attack_kit import BURST, Attacked, envelope_bytes, refused, running_platform

pytestmark = pytest.mark.e2e

NANJING_3 = "H32010000001"  # tertiary, the destination of person 2's referral
NANJING_2 = "H32010000002"
SUQIAN_REFERRER = "H32130000001"  # Suqian's designated referring institution (sandbox list)


@pytest.fixture(scope="module")
def attacked() -> Iterator[Attacked]:
    yield from running_platform()


@pytest.fixture
def unchanged(attacked: Attacked) -> Iterator[None]:
    before = attacked.counts()
    yield
    assert attacked.counts() == before


def voucher(person: dict[str, Any]) -> dict[str, str]:
    return {
        "mdtrt_cert_type": "03",
        "mdtrt_cert_no": person["certno"],
        "card_sn": person["card_sn"],
    }


def stamp(attacked: Attacked) -> str:
    return f"{attacked.clock.now():%Y-%m-%d %H:%M:%S}"


# --- 1. referrals only from the insured place's designated referring institutions ------------


@pytest.mark.parametrize("hospital", [NANJING_2, NANJING_3])
def test_a_referral_from_a_hospital_the_insured_place_did_not_designate_is_refused(
    attacked: Attacked, unchanged: None, hospital: str
) -> None:
    person = attacked.persons["2"]  # insured in Suqian (321300)
    referral = {
        "refmedin": {
            "psn_no": person["psn_no"],
            "insutype": person["insutype"],
            "insu_optins": person["insuplc_admdvs"],
            "diag_code": "I21.000",
            "diag_name": "急性心肌梗死",
            "reflin_medins_no": NANJING_3,  # NANJING_3 would be referring to itself
            "mdtrtarea_admdvs": "320100",
            "begndate": "2026-03-02",
        }
    }
    answer = attacked.his(hospital).send(
        attacked.his(hospital).envelope("2501", referral, person["insuplc_admdvs"])
    )
    refused(answer, "fixmedins_code", hospital, "filing.referral_not_designated", "321300")


# --- 2. identity vouchers where a visit is bound to a person; 1101 rate-limited -------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        # the bare person number, with or without a type claiming it is an e-voucher
        ({"psn_no": "32050000000000000001"}, ("mdtrt_cert_type", "his.required")),
        (
            {"mdtrt_cert_type": "01", "mdtrt_cert_no": "32050000000000000001"},
            ("mdtrt_cert_no", "eligibility.voucher_e_token"),
        ),
        # a social-security card must be the person's own card
        (
            {"mdtrt_cert_type": "03", "mdtrt_cert_no": "320500195603120111", "card_sn": "FORGED"},
            ("card_sn", "eligibility.identity_mismatch"),
        ),
    ],
)
def test_1101_without_a_verifiable_voucher_tells_nothing(
    attacked: Attacked, unchanged: None, data: dict[str, str], words: tuple[str, ...]
) -> None:
    his = attacked.his("H32010000009")
    answer = his.send(his.envelope("1101", {"data": data}, "320500"))
    message = refused(answer, *words)
    assert "张建国" not in message


def registration(person: dict[str, Any], when: str, **voucher_fields: str) -> dict[str, Any]:
    return {
        "data": {
            "psn_no": person["psn_no"],
            "insutype": person["insutype"],
            "begntime": when,
            "med_type": "11",
            "ipt_otp_no": "OP-ATTACK",
            **voucher_fields,
        }
    }


def test_registering_a_visit_needs_the_persons_own_voucher(
    attacked: Attacked, unchanged: None
) -> None:
    person, other = attacked.persons["1"], attacked.persons["7"]
    his = attacked.his(NANJING_3)
    insured = person["insuplc_admdvs"]
    no_voucher = his.send(his.envelope("2201", registration(person, stamp(attacked)), insured))
    refused(no_voucher, "mdtrt_cert_type", "his.required")
    # person 1's number with person 7's card: the visit would be billed to the wrong person
    borrowed = his.send(
        his.envelope("2201", registration(person, stamp(attacked), **voucher(other)), insured)
    )
    refused(borrowed, "eligibility.identity_mismatch")
    admission = {
        "mdtrtinfo": {
            "psn_no": person["psn_no"],
            "insutype": person["insutype"],
            "begntime": stamp(attacked),
            "med_type": "21",
            "ipt_no": "IPT-ATTACK",
            "mdtrt_cert_type": "01",
            "mdtrt_cert_no": person["psn_no"],
        },
        "diseinfo": [],
    }
    refused(
        his.send(his.envelope("2401", admission, insured)),
        "mdtrt_cert_no",
        "eligibility.voucher_e_token",
    )


def test_1101_is_rate_limited_per_institution(attacked: Attacked) -> None:
    person = attacked.persons["7"]
    query = {"data": voucher(person)}
    wuxi = attacked.his("H32020000001")  # has not queried before in this platform
    for _ in range(BURST):
        assert wuxi.send(wuxi.envelope("1101", query, person["insuplc_admdvs"]))["infcode"] == 0
    before = attacked.counts()
    answer = wuxi.send(wuxi.envelope("1101", query, person["insuplc_admdvs"]))
    refused(answer, "H32020000001", "his.rate_limited")
    assert person["psn_name"] not in str(answer)
    assert attacked.counts() == before
    # another institution's bucket is its own
    other = attacked.his("H32010000009")
    assert other.send(other.envelope("1101", query, person["insuplc_admdvs"]))["infcode"] == 0


# --- 3. limits before parsing: size, depth, numbers, zip expansion ---------------------------


def test_an_oversized_chunked_body_is_refused_in_an_envelope(
    attacked: Attacked, unchanged: None
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"infno": "9001", "pad": "'
        for _ in range(64):  # 4 MB in 64 KB chunks, no content-length: chunked
            yield b"x" * 65536
        yield b'"}'

    response = attacked.http.post(
        attacked.platform.url("settlement") + "/fsi/api/rsfComIfsService/callService",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    refused(response.json(), "his.body_size")


@pytest.mark.parametrize(
    ("input_json", "words"),
    [
        (b'{"data":' + b"[" * 50_000 + b"]" * 50_000 + b"}", ("his.depth",)),
        (b'{"data":{"mdtrt_cert_no": 184467440737095516160}}', ("his.integer_range",)),
        (b'{"data":{"mdtrt_cert_no": ' + b"9" * 5000 + b"}}", ("his.integer_range",)),
        (b'{"data":{"mdtrt_cert_no": NaN}}', ("his.not_finite",)),
        (b'{"data":{"mdtrt_cert_no": -Infinity}}', ("his.not_finite",)),
    ],
)
def test_malformed_numbers_and_nesting_get_an_envelope_not_a_500(
    attacked: Attacked, unchanged: None, input_json: bytes, words: tuple[str, ...]
) -> None:
    his = attacked.his("H32010000009")
    response = attacked.raw(his.institution_code, envelope_bytes(his, "1101", input_json))
    assert response.status_code == 200
    refused(response.json(), *words)


def _bomb() -> bytes:
    """A zip under 4 KB whose directory says its one file expands to 400 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("detail.txt", b"0" * 100_000)
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (400 * 1024 * 1024).to_bytes(4, "little")
    data[26 - 4 : 26] = (400 * 1024 * 1024).to_bytes(4, "little")  # the local header too
    assert len(data) < 4096
    return bytes(data)


def test_a_9101_zip_bomb_is_refused_without_expanding_it(
    attacked: Attacked, unchanged: None
) -> None:
    his = attacked.his(NANJING_3)
    upload = {
        "fsUploadIn": {
            "in": base64.b64encode(_bomb()).decode(),
            "filename": "detail.zip",
            "fixmedins_code": NANJING_3,
        }
    }
    refused(his.send(his.envelope("9101", upload, None)), "his.zip_limit", "419430400")


# --- 4. fee lines: amount = quantity x price, bounded quantities -----------------------------


@pytest.fixture(scope="module")
def visit(attacked: Attacked) -> tuple[HisClient, dict[str, Any], str]:
    person = attacked.persons["1"]
    his = attacked.his(NANJING_3)
    output = his.call(
        "2201",
        registration(person, stamp(attacked), **voucher(person)),
        person["insuplc_admdvs"],
    )
    return his, person, str(output["data"]["mdtrt_id"])


@pytest.mark.parametrize(
    ("cnt", "pric", "amount", "words"),
    [
        # a vanishing quantity under a price far over the cap: the cap's excess was ~0 before
        ("1e-999999999", "9999.00", "9999.00", ("cnt", "his.number_range")),
        ("0.0001", "9999.00", "9999.00", ("det_item_fee_sumamt", "settlement.fee_line_product")),
        ("1E+999999999", "1.00", "1.00", ("cnt", "his.number_range")),
        ("2", "45.00", "45.00", ("det_item_fee_sumamt", "45.00", "settlement.fee_line_product")),
        ("1", "NaN", "1.00", ("pric",)),
    ],
)
def test_a_fee_line_whose_amount_is_not_quantity_times_price_is_refused(
    attacked: Attacked,
    visit: tuple[HisClient, dict[str, Any], str],
    unchanged: None,
    cnt: str,
    pric: str,
    amount: str,
    words: tuple[str, ...],
) -> None:
    his, person, visit_id = visit
    line = {
        "feedetl_sn": f"ATK-{cnt}-{amount}",
        "mdtrt_id": visit_id,
        "psn_no": person["psn_no"],
        "med_type": "11",
        "fee_ocur_time": stamp(attacked),
        "med_list_codg": "XA001",
        "medins_list_codg": "XA001",
        "det_item_fee_sumamt": amount,
        "cnt": cnt,
        "pric": pric,
        "chrg_bchno": "B-ATK",
    }
    answer = his.send(his.envelope("2204", {"feedetail": [line]}, person["insuplc_admdvs"]))
    refused(answer, *words)
