"""The generated province `make run` drives (pure, milliseconds): repeatable by seed, each kind
of visit at its share and at the right counter (purchases at the pharmacy, maternity admissions
only for women of childbearing age), the policies its insured places republish, and the report's
settlements by scheme."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from yidi_cli.sandbox import sandbox_dir
from yidi_events.policy_document import parse_policy_document
from yidi_stack.simulation.drive import FUNDS, Record
from yidi_stack.simulation.province import (
    CHRONIC,
    CHRONIC_DISEASES,
    MATERNITY_DIAGNOSES,
    NANJING,
    PHARMACY_INSTITUTION,
    STAYS,
    Province,
    Visit,
    maternity_eligible,
    province_policy,
)
from yidi_stack.simulation.report import by_scheme


@pytest.fixture(scope="module")
def province() -> Province:
    return Province.generate(persons=3000, days=3, seed=2026)


def visits(province: Province) -> list[Visit]:
    return [v for day in province.days for v in day]


def test_the_same_seed_gives_the_same_province_and_another_seed_another() -> None:
    first = Province.generate(persons=300, days=2, seed=7)
    again = Province.generate(persons=300, days=2, seed=7)
    other = Province.generate(persons=300, days=2, seed=8)
    assert (first.persons, first.filings, first.days) == (again.persons, again.filings, again.days)
    assert first.days != other.days


def test_each_kind_of_visit_comes_at_its_share_of_the_day(province: Province) -> None:
    # 300 draws a day for 3,000 persons: 900 in all at 63 / 27 / 5 / 4 / 1 per cent, beside two
    # emergencies a day of persons without a filing and the three planted fraud stays.
    kinds = Counter(v.kind for v in visits(province) if not v.fraud)
    drawn = sum(n for kind, n in kinds.items() if kind != "emergency")
    assert drawn == 900 + 1  # and the maternity admission every province has on its first day
    assert kinds["emergency"] == 6
    shares = {kind: n / drawn for kind, n in kinds.items()}
    assert shares["outpatient"] == pytest.approx(0.63, abs=0.04)
    assert shares["pharmacy"] == pytest.approx(0.27, abs=0.04)
    assert shares["inpatient"] == pytest.approx(0.05, abs=0.02)
    assert shares["chronic"] == pytest.approx(0.04, abs=0.02)
    assert 0 < shares["maternity"] <= 0.03


def test_purchases_go_to_the_pharmacy_from_persons_whose_filing_covers_nanjing(
    province: Province,
) -> None:
    filings = {f["person_id"]: f for f in province.filings}
    insured = {p["psn_no"]: p["insuplc_admdvs"] for p in province.persons}
    purchases = [v for v in visits(province) if v.kind == "pharmacy"]
    assert purchases
    for v in purchases:
        assert v.institution == PHARMACY_INSTITUTION
        filing = filings[v.person_id]
        assert filing["visit_region"] == NANJING != insured[v.person_id]
        assert filing["kind"] != "referral"  # a referral names its hospital
    assert all(
        v.institution != PHARMACY_INSTITUTION for v in visits(province) if v.kind != "pharmacy"
    )
    # Some cancelled (2103) right after; none reversed (see the comment in Province.generate).
    assert any(v.cancel for v in purchases)
    assert not any(v.reverse for v in purchases)


def test_maternity_admissions_only_for_women_of_childbearing_age(province: Province) -> None:
    by_id = province.by_id
    births = [v for v in visits(province) if v.kind == "maternity"]
    assert births
    for v in births:
        person = by_id[v.person_id]
        assert person["gend"] == "2"
        assert 20 <= 2026 - int(person["brdy"][:4]) <= 45
        assert v.diagnosis in MATERNITY_DIAGNOSES
        assert v.stay_days >= 1
    # Nobody is admitted twice, so only the planted patterns raise stay flags.
    stays = Counter(v.person_id for v in visits(province) if v.kind in STAYS and not v.fraud)
    assert set(stays.values()) == {1}


@pytest.mark.parametrize(
    ("gend", "brdy", "eligible"),
    [
        ("2", "2006-12-31", True),  # 20 in 2026
        ("2", "1981-01-01", True),  # 45
        ("2", "2007-01-01", False),  # 19
        ("2", "1980-12-31", False),  # 46
        ("1", "1995-06-01", False),
    ],
)
def test_maternity_eligibility_at_its_bounds(gend: str, brdy: str, eligible: bool) -> None:
    assert maternity_eligible({"gend": gend, "brdy": brdy}) is eligible


def test_every_republished_sandbox_policy_is_a_valid_document_with_the_added_parts() -> None:
    documents = json.loads((sandbox_dir() / "policies.json").read_text())
    start = date(2026, 3, 2)
    for document in documents:
        revised = province_policy(document, start)
        policy = parse_policy_document(revised)
        assert policy.effective_from == start
        assert policy.effective_to is None
        assert policy.outpatient_pooling is not None
        assert policy.pharmacy is not None
        assert policy.maternity is not None
        assert set(policy.chronic_diseases) == {"M03900", "M01600"}
        # Everything the sandbox said is kept, supplementary and assistance included.
        assert {k: revised[k] for k in document if k not in ("effective_from", "effective_to")} == {
            k: v for k, v in document.items() if k not in ("effective_from", "effective_to")
        }
    employee = province_policy({**documents[0], "insutype": "310"}, start)
    assert employee["outpatient_pooling"]["deductible"] == "200.00"
    assert employee["maternity"]["limit"]["2"] == "4000.00"
    own = {"limit": {"1": "1.00", "2": "2.00", "3": "3.00"}}
    assert province_policy({**documents[0], "maternity": own}, start)["maternity"] == own


def test_chronic_visits_name_the_one_disease_their_person_is_certified_for(
    province: Province,
) -> None:
    chronic = [v for v in visits(province) if v.kind == CHRONIC]
    assert chronic, "the province has chronic-disease visits"
    codes = {code for code, _ in CHRONIC_DISEASES}
    diseases: dict[str, set[str]] = {}
    for v in chronic:
        diseases.setdefault(v.person_id, set()).add(v.diagnosis)
    assert all(len(d) == 1 and d <= codes for d in diseases.values())
    certified = province.chronic_certifications()
    # One certificate per chronic visitor, for their disease, assessed where they first go.
    assert [(p, c) for p, c, _ in certified] == sorted((p, d.pop()) for p, d in diseases.items())
    first_where = {}
    for v in chronic:
        first_where.setdefault(v.person_id, v.institution)
    assert all(where == first_where[p] for p, _, where in certified)
    assert {c for _, c, _ in certified} == codes  # both diseases occur in 3,000 persons


def _record(kind: str, total: int, fund: int, account: int, refund: bool = False) -> Record:
    return Record(
        settlement_id=None if refund else f"S-{kind}-{total}",
        original_id=f"S-{kind}-{-total}" if refund else None,
        is_refund=refund,
        person_id="P1",
        visit_id="V1",
        institution=PHARMACY_INSTITUTION,
        insured_region="320500",
        visit_region=NANJING,
        insurance_type="310",
        clearing_category="41",
        clearing_agency=NANJING,
        business_date=date(2026, 3, 2),
        kind=kind,
        total_fee=total,
        fund_total=fund,
        account_paid=account,
        cash_paid=total - fund - account,
        funds=tuple((f, 0) for f in FUNDS),
    )


def test_settlements_by_scheme_count_apart_and_net_the_money() -> None:
    rows = by_scheme(
        [
            _record("pharmacy", 8000, 3000, 5000),
            _record("pharmacy", 2000, 0, 500),
            _record("pharmacy", -2000, 0, -500, refund=True),
            _record("maternity", 450000, 400000, 0),
            _record("outpatient", 12050, 0, 12050),
        ]
    )
    # In the scheme order (11, 13, 14, 41, 21, 52, 92); pharmacy: two settled, one cancelled,
    # fee 80.00 + 20.00 - 20.00 = 80.00, fund 30.00, account 50.00 + 5.00 - 5.00 = 50.00, cash 0.
    assert [(r.scheme, r.settled, r.cancelled) for r in rows] == [
        ("ordinary outpatient 11", 1, 0),
        ("pharmacy 41", 2, 1),
        ("maternity 52", 1, 0),
    ]
    pharmacy = rows[1]
    assert (pharmacy.total_fee, pharmacy.fund, pharmacy.account, pharmacy.cash) == (
        8000,
        3000,
        5000,
        0,
    )
    # Maternity: 4,500.00 of which the fund 4,000.00, cash 500.00.
    assert (rows[2].fund, rows[2].cash) == (400000, 50000)


@pytest.mark.parametrize("seed", [8, 2026, 3])
def test_the_planted_split_stay_is_two_stays_at_one_hospital(seed: int) -> None:
    province = Province.generate(persons=200, days=2, seed=seed)
    split = [v for v in province.days[0] if v.fraud == "split_stay"]
    assert len(split) == 2
    assert len({(v.person_id, v.institution) for v in split}) == 1
