"""A refusal raised in domain names reaches the hospital in the national names it sent (that
national names appear only in yidi_settlement/his/ is tests/test_national_names.py)."""

from __future__ import annotations

import pytest

from yidi_events.kernel import DomainError
from yidi_settlement.his.fields import error_text, national


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


def test_an_owners_refusal_is_told_in_national_names() -> None:
    refusal = DomainError("filing.refused", "person_id P1 has no filing", field="person_id")
    assert error_text(refusal, "2501") == "psn_no: psn_no P1 has no filing (rule filing.refused)"
