"""The inputs of the flows real clients run, read as the spec's tables give them: 2204/2301
batches and returns, 2205 by batch, 2303/2304 mid_setl_flag, 2403, 2601 of a cancellation; and a
refusal of their new domain fields is told in national names."""

from __future__ import annotations

from decimal import Decimal

import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_settlement.app.commands import Reverses
from yidi_settlement.his import inputs
from yidi_settlement.his.fields import national

REF = {"mdtrt_id": "V1", "psn_no": "P1"}


def test_a_returned_line_and_its_batch_are_read() -> None:
    row = {
        **REF,
        "feedetl_sn": 2,  # a number, as C# clients send it
        "init_feedetl_sn": "1",
        "chrg_bchno": "CB01",
        "med_list_codg": "XA001",
        "cnt": Decimal("-4"),
        "pric": Decimal("25.50"),
        "det_item_fee_sumamt": Decimal("-102.00"),
    }
    _, [line] = inputs.fee_lines_upload({"feedetail": [row]})
    assert (line.fee_line_no, line.returned_line, line.charge_batch) == ("2", "1", "CB01")
    assert (line.quantity, line.amount) == (Decimal(-4), -10200)


def test_a_negative_price_is_still_refused_at_the_edge() -> None:
    row = {**REF, "feedetl_sn": "1", "med_list_codg": "A", "cnt": "1", "pric": "-1"}
    with pytest.raises(DomainError) as refused:
        inputs.fee_lines_upload({"feedetail": [{**row, "det_item_fee_sumamt": "1.00"}]})
    assert refused.value.field == "pric"


def test_2205_cancels_the_batch_it_names_and_needs_one() -> None:
    assert inputs.fee_cancel(envelope("2205", {"data": {**REF, "chrg_bchno": "CB01"}})) == (
        inputs.visit_ref(REF),
        (),
        "CB01",
    )
    with pytest.raises(DomainError) as refused:
        inputs.fee_cancel(envelope("2205", {"data": REF}))
    assert refused.value.field == "chrg_bchno"
    # 2302 still names a line, "0000" all of them.
    assert inputs.fee_cancel(envelope("2302", {"data": {**REF, "feedetl_sn": "0000"}}))[1] == ()


@pytest.mark.parametrize(
    ("flag", "interim"), [("1", True), (1, True), ("0", False), ("null", False)]
)
def test_mid_setl_flag_makes_an_interim_settlement(flag: object, interim: bool) -> None:
    assert inputs.settle({"data": {**REF, "mid_setl_flag": flag}}).interim is interim


def test_an_unknown_mid_setl_flag_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        inputs.settle({"data": {**REF, "mid_setl_flag": "2"}})
    assert refused.value.field == "mid_setl_flag"


def test_2403_reads_the_admission_and_its_diagnoses() -> None:
    update = inputs.admission_change(
        {
            "adminfo": {
                **REF,
                "begntime": "2026-03-10T08:00:00",
                "med_type": "22",
                "adm_dept_codg": "0301",
                "dscg_maindiag_code": "S72.0",
            },
            "diseinfo": [{"diag_code": "S72.0", "diag_name": "骨折", "maindiag_flag": "1"}],
        }
    )
    assert update.ref == inputs.visit_ref(REF)
    assert (update.change.medical_type, update.change.department) == ("22", "0301")
    assert [(d.code, d.principal) for d in update.change.diagnoses] == [("S72.0", True)]


@pytest.mark.parametrize("oinfno", ["2208", "2305"])
def test_2601_of_a_cancellation_makes_the_settlement_stand_again(oinfno: str) -> None:
    reversal = inputs.reversal({"data": {"psn_no": "P1", "omsgid": "M9", "oinfno": oinfno}})
    assert reversal.reverses is Reverses.CANCELLATION


@pytest.mark.parametrize(
    ("domain", "told"),
    [
        ("charge_batch", "chrg_bchno"),
        ("returned_line", "init_feedetl_sn"),
        ("interim", "mid_setl_flag"),
    ],
)
def test_the_new_domain_fields_are_told_nationally(domain: str, told: str) -> None:
    assert national(domain) == told
