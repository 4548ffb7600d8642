"""The HIS protocol is one edge package: national field names appear only in yidi_settlement/his/,
and a refusal raised in domain names reaches the hospital in the national names it sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from yidi_events.kernel import DomainError
from yidi_settlement.his.fields import DOMAIN_OF, error_text, national

SOURCE = Path(__file__).resolve().parents[2] / "src" / "yidi_settlement"
EDGE = SOURCE / "his"
ENVELOPE = (
    "infno",
    "msgid",
    "infcode",
    "err_msg",
    "mdtrt_id",
    "psn_no",
    "fixmedins_code",
    "setl_id",
    "medfee_sumamt",
    "chrg_bchno",
    "feedetl_sn",
    "insutype",
    "insuplc_admdvs",
    "mdtrt_cert_no",
    "mdtrt_cert_type",
)
NATIONAL = sorted({*ENVELOPE, *DOMAIN_OF})
WHOLE_NAME = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, NATIONAL)) + r")(?![A-Za-z0-9_])"
)


def test_national_field_names_appear_only_at_the_his_edge() -> None:
    found = [
        f"{path.relative_to(SOURCE.parent)}:{number}: {match.group(1)}"
        for path in sorted(SOURCE.rglob("*.py"))
        if EDGE not in path.parents
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        for match in WHOLE_NAME.finditer(line)
    ]
    assert not found, "national HIS names outside his/:\n" + "\n".join(found)


def test_the_check_sees_a_national_name_as_identifier_or_string() -> None:
    assert WHOLE_NAME.search('field="mdtrt_id"')
    assert WHOLE_NAME.search("row.psn_no")
    assert not WHOLE_NAME.search("visit_mdtrt_idx")


@pytest.mark.parametrize(
    ("domain", "infno", "told"),
    [
        ("visit_id", None, "mdtrt_id"),
        ("person_id", "2207", "psn_no"),
        ("settlement_id", "2208", "setl_id"),
        ("total_fee", "2207", "medfee_sumamt"),
        ("message_id", "2207", "msgid"),
        ("hospital_item_code", "2204", "medins_list_codg"),
        ("hospital_item_code", "3302", "fixmedins_hilist_id"),
        ("body", None, "body"),  # already the envelope's own word
    ],
)
def test_a_domain_field_is_told_by_its_national_name(
    domain: str, infno: str | None, told: str
) -> None:
    assert national(domain, infno) == told


def test_a_refusal_names_the_national_field_in_field_and_message() -> None:
    refusal = DomainError(
        "settlement.total_mismatch",
        "total_fee 256.00 differs from the uploaded fee lines' total 255.00",
        field="total_fee",
    )
    assert error_text(refusal, "2207") == (
        "medfee_sumamt: medfee_sumamt 256.00 differs from the uploaded fee lines' total 255.00 "
        "(rule settlement.total_mismatch)"
    )


def test_an_owners_refusal_is_told_as_worded() -> None:
    refusal = DomainError("filing.refused", "person_id P1 has no filing", field="person_id")
    assert error_text(refusal, "2501", translate=False) == (
        "person_id: person_id P1 has no filing (rule filing.refused)"
    )
