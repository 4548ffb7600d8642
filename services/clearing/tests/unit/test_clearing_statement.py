from datetime import date

import pytest
from clearing_testkit import NANJING, SUZHOU, WUXI, deduction, settlement
from hypothesis import given as hgiven
from hypothesis import strategies as st

from yidi_clearing.domain.inputs import DeductionKind
from yidi_clearing.domain.statement import build_statement, figure_sources
from yidi_events.kernel import Conflict, DomainError


def test_lines_are_per_ordered_pair_split_by_insurance_type_with_drill_down() -> None:
    statement = build_statement(
        "2026-03",
        [
            settlement("s1", fund=10_000, account=2_000),
            settlement("s2", fund=5_000, insurance_type="390"),
            settlement("s3", fund=3_000, account=500),
            settlement("s4", insured=WUXI, visit=NANJING, fund=7_000),  # the other direction
        ],
        [
            deduction("d1", 1_000),
            deduction("c1", 400, kind=DeductionKind.CLAWBACK, insurance_type="390"),
        ],
    )
    assert [line.line_id for line in statement.lines] == ["320100>320200", "320200>320100"]
    forward, backward = statement.lines
    employee, resident = forward.parts
    assert (employee.insurance_type, employee.fund_paid, employee.account_paid) == (
        "310",
        13_000,
        2_500,
    )
    assert (employee.audit_deducted, employee.amount) == (1_000, 14_500)
    assert (resident.fund_paid, resident.clawed_back, resident.amount) == (5_000, 400, 4_600)
    assert forward.amount == 19_100
    assert backward.amount == 7_000  # not netted against the forward line
    assert figure_sources(forward, "310", "fund_paid") == ("s1", "s3")
    assert figure_sources(forward, "310", "audit_deducted") == ("d1",)
    assert figure_sources(forward, "390", "clawed_back") == ("c1",)


def test_unconfirmed_or_later_confirmed_inputs_are_held_visibly() -> None:
    statement = build_statement(
        "2026-03",
        [
            settlement("s1"),
            settlement("s2", confirmed_in=None),
            settlement("s3", confirmed_in="2026-04"),
            settlement("s0", day=date(2026, 2, 27), confirmed_in="2026-03"),  # resolved dispute
        ],
        [deduction("d1", 100, applies_in="2026-04")],
    )
    assert figure_sources(statement.lines[0], "310", "fund_paid") == ("s0", "s1")
    assert [(h.kind, h.item_id) for h in statement.held] == [
        ("deduction", "d1"),
        ("settlement", "s2"),
        ("settlement", "s3"),
    ]
    assert statement.held[0].amount == -100
    assert "after the cut-off" in statement.held[2].reason


def test_deductions_above_payments_make_a_negative_line() -> None:
    statement = build_statement("2026-03", [settlement("s1", fund=100)], [deduction("d1", 300)])
    assert statement.lines[0].amount == -200


def test_same_inputs_in_another_order_give_the_same_statement_and_hash() -> None:
    inputs = [settlement(f"s{i}", fund=i * 7) for i in range(5)]
    a = build_statement("2026-03", inputs, [deduction("d1", 3)])
    b = build_statement("2026-03", list(reversed(inputs)), [deduction("d1", 3)])
    assert a == b
    assert len(a.input_hash) == 64


def test_any_changed_input_changes_the_hash() -> None:
    base = build_statement("2026-03", [settlement("s1", fund=100)])
    assert build_statement("2026-03", [settlement("s1", fund=101)]).input_hash != base.input_hash
    assert build_statement("2026-04", [settlement("s1", fund=100)]).input_hash != base.input_hash


def test_an_exact_redelivery_is_absorbed_but_a_changed_repeat_is_refused() -> None:
    once = build_statement("2026-03", [settlement("s1")])
    assert build_statement("2026-03", [settlement("s1"), settlement("s1")]) == once
    with pytest.raises(Conflict) as err:
        build_statement("2026-03", [settlement("s1"), settlement("s1", fund=1)])
    assert (err.value.rule, err.value.field) == ("clearing.duplicate_input", "settlement_id")


@pytest.mark.parametrize(
    ("bad", "rule", "field"),
    [
        (
            settlement("s1", day=date(2026, 4, 1)),
            "clearing.settlement_after_period",
            "business_date",
        ),
        (settlement("s1", visit=NANJING), "clearing.same_agency", "visit_agency"),
        (settlement("s1", insured="32A100"), "clearing.agency_invalid", "insured_agency"),
        (settlement("s1", insurance_type="330"), "clearing.insurance_type", "insurance_type"),
    ],
)
def test_invalid_settlements_are_refused(bad: object, rule: str, field: str) -> None:
    with pytest.raises(DomainError) as err:
        build_statement("2026-03", [bad])  # type: ignore[list-item]
    assert (err.value.rule, err.value.field) == (rule, field)


def test_a_non_positive_deduction_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        build_statement("2026-03", [], [deduction("d1", 0)])
    assert err.value.rule == "clearing.deduction_amount"


_agencies = st.sampled_from([NANJING, WUXI, SUZHOU, "611000"])
_settlements = st.lists(
    st.builds(
        lambda i, a, b, f, acc, t, c: settlement(
            f"s{i}",
            insured=a,
            visit=b if b != a else "320000",
            fund=f,
            account=acc,
            insurance_type=t,
            confirmed_in=c,
        ),
        st.integers(0, 10_000),
        _agencies,
        _agencies,
        st.integers(-50_000, 5_000_000),
        st.integers(0, 100_000),
        st.sampled_from(["310", "390"]),
        st.sampled_from(["2026-02", "2026-03", "2026-04", None]),
    ),
    max_size=40,
    unique_by=lambda s: s.settlement_id,
)


@hgiven(_settlements, st.randoms(use_true_random=False))
def test_statement_is_a_function_of_the_input_set(items: list, rnd: object) -> None:  # type: ignore[type-arg]
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a = build_statement("2026-03", items)
    b = build_statement("2026-03", shuffled)
    assert a == b
    included = sum(
        s.fund_total + s.account_paid
        for s in items
        if s.confirmed_in_month not in (None, "2026-04")
    )
    assert sum(line.amount for line in a.lines) == included
    ids = {i for line in a.lines for p in line.parts for i in p.settlement_ids}
    assert ids | {h.item_id for h in a.held} == {s.settlement_id for s in items}
