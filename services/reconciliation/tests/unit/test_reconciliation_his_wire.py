"""The 3201/3202/9101 input mapping at the HIS edge: national names in, domain values out."""

from __future__ import annotations

from datetime import date

import pytest

from yidi_events.kernel import DomainError
from yidi_reconciliation.adapters import wire

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
    claim = wire.totals_claim("H1", {"data": DATA})
    assert (claim.total_fee, claim.fund_total, claim.account_paid, claim.count) == (
        50010,
        35000,
        0,
        4,
    )
    assert claim.scope.end_date == date(2026, 3, 10)
    assert claim.scope.include_refunds is False
    assert wire.totals_claim("H1", {"data": {**DATA, "refd_setl_flag": ""}}).scope.include_refunds


@pytest.mark.parametrize(
    ("field", "value"),
    [("medfee_sumamt", "1.005"), ("fixmedins_setl_cnt", "-1"), ("stmt_begndate", "10/03/2026")],
)
def test_a_bad_figure_is_refused_naming_the_national_field(field: str, value: str) -> None:
    with pytest.raises(DomainError) as refused:
        wire.totals_claim("H1", {"data": {**DATA, field: value}})
    assert refused.value.field == field


def test_an_upload_must_be_base64() -> None:
    with pytest.raises(DomainError) as refused:
        wire.upload_request({"fsUploadIn": {"in": "not base64!", "filename": "d.zip"}})
    assert refused.value.field == "in"
