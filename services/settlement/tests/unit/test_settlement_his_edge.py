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


def test_a_refusal_is_told_in_chinese_with_the_national_field_the_figures_and_the_rule() -> None:
    refusal = DomainError(
        "settlement.total_mismatch",
        "total_fee 256.00 differs from the uploaded fee lines' total 255.00",
        field="total_fee",
        values={"declared_fen": 25600, "computed_fen": 25500},
    )
    assert error_text(refusal, "2207") == (
        "medfee_sumamt：费用总额与明细合计不符，申报 256.00 元，明细合计 255.00 元"
        "（settlement.total_mismatch）"
    )


def test_an_owners_refusal_is_told_in_chinese_by_its_rule() -> None:
    refusal = DomainError("filing.not_found", "no such filing", field="person_id")
    assert error_text(refusal, "2501") == "psn_no：未找到该人员的该备案（filing.not_found）"


def test_a_rule_without_a_text_is_still_told_in_chinese_naming_the_rule() -> None:
    refusal = DomainError("filing.brand_new_rule", "something new", field="person_id")
    assert error_text(refusal, "2501") == (
        "psn_no：请求不符合业务规则，未予办理（filing.brand_new_rule）"
    )


def test_a_detail_is_left_out_when_the_owner_did_not_send_its_values() -> None:
    refusal = DomainError("settlement.total_mismatch", "differs", field="total_fee")
    assert error_text(refusal, "2207") == (
        "medfee_sumamt：费用总额与明细合计不符（settlement.total_mismatch）"
    )


def test_a_long_refusal_is_cut_in_its_sentence_and_keeps_its_rule() -> None:
    refusal = DomainError(
        "his.auth.credential", "unknown", field="x-tif-paasid", values={"identity": "P" * 400}
    )
    told = error_text(refusal)
    assert len(told) == 200
    assert told.startswith("x-tif-paasid：接入凭证未登记，凭证 PPP")
    assert told.endswith("…（his.auth.credential）")
