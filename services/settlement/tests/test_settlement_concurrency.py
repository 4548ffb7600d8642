"""Many hospitals settling at once for the same persons: the person-year accumulators stay exact.

Six hospitals in four cities and three levels settle outpatient visits of four persons at the same
moment (asyncio.gather over the real app, real PostgreSQL). Each settlement reads the person-year
accumulators and appends to that stream at the version it read, so a lost race is decided again on
fresh figures. If the append did not check its loaded version, two settlements would both take the
remaining deductible or the remaining room under the annual cap, and the sums below would not hold.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.auth.his import sign
from yidi_events.kernel import fen_to_yuan, yuan_to_fen
from yidi_events.store.schema import events as event_table
from yidi_settlement.adapters.tables import settlements

SANDBOX = shared_dir() / "sandbox"
SANDBOX_POLICIES = json.loads((SANDBOX / "policies.json").read_text("utf-8"))
CATALOG = json.loads((SANDBOX / "catalog.json").read_text("utf-8"))
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
YEAR = 2026
GATEWAY = "/fsi/api/rsfComIfsService/callService"
RESENDS = 40

# (code, region, level): four visit cities, levels 1-3.
HOSPITALS = [
    ("H32010000011", "320100", "3"),
    ("H32010000012", "320100", "2"),
    ("H32020000011", "320200", "3"),
    ("H32020000012", "320200", "1"),
    ("H32050000011", "320500", "2"),
    ("H32130000011", "321300", "1"),
]

# Small deductibles and caps so that the run crosses them: (region, insurance type) -> overrides.
POLICY_LIMITS = {
    ("611000", "310"): {"outpatient_annual": "300.00", "annual_cap": "2000.00"},
    ("611000", "390"): {"outpatient_annual": "200.00", "annual_cap": "1500.00"},
    ("321300", "310"): {"outpatient_annual": "800.00", "annual_cap": "100000.00"},
}


@dataclass(frozen=True)
class Insured:
    person_id: str
    region: str
    insurance_type: str
    category: str
    certificate: str
    card: str
    balance: str
    amounts: tuple[int, int]  # yuan range of one visit's in-policy fee line
    cancels: bool  # some of its settlements are cancelled (2208) during the run


PERSONS = [
    # employee in service, large visits: hits the 2000-yuan annual cap
    Insured("61100000000000000101", "611000", "310", "1101", "611000198001010101", "SC101",
            "3000.00", (400, 1500), True),
    # retired employee, large visits: hits the cap too
    Insured("61100000000000000102", "611000", "310", "1201", "611000195001010102", "SC102",
            "500.00", (400, 1500), True),
    # small visits: crosses the 800-yuan deductible part way through, never near the cap
    Insured("32130000000000000103", "321300", "310", "1101", "321300199001010103", "SC103",
            "1000.00", (60, 200), False),
    # resident, no personal account: hits the 1500-yuan cap
    Insured("61100000000000000104", "611000", "390", "1501", "611000200001010104", "SC104",
            "0.00", (200, 900), True),
]  # fmt: skip


@dataclass
class Outcome:
    """What one HIS call got back: the answer, or the HTTP status/exception of a crash."""

    infno: str
    answer: dict[str, Any] | None
    crash: str | None = None


@dataclass
class VisitRun:
    person: Insured
    hospital: str
    amount_fen: int
    cancel: bool
    calls: list[Outcome]
    settled: dict[str, Any] | None = None  # the 2207 setlinfo
    cancelled: bool = False


def policy_document(region: str, insurance_type: str) -> dict[str, Any]:
    base = next(
        d
        for d in SANDBOX_POLICIES
        if d["insuplc_admdvs"] == region and d["insutype"] == insurance_type
    )
    limits = POLICY_LIMITS[(region, insurance_type)]
    return {
        **base,
        "deductible": {**base["deductible"], "outpatient_annual": limits["outpatient_annual"]},
        "basic": {**base["basic"], "annual_cap": limits["annual_cap"]},
    }


async def setup(h: Any) -> None:
    for code, region, level in HOSPITALS:
        await h.hospital(code, region, level)
    for region in sorted({region for _, region, _ in HOSPITALS}):
        await h.catalogue(region, CATALOG)
    for region, insurance_type in POLICY_LIMITS:
        await h.policy(policy_document(region, insurance_type))
    for p in PERSONS:
        await h.person(
            {
                "psn_no": p.person_id,
                "insuplc_admdvs": p.region,
                "insutype": p.insurance_type,
                "psn_type": p.category,
                "certno": p.certificate,
                "card_sn": p.card,
                "acct_balance": p.balance,
            }
        )
        # A long-term filing for every visit city but the person's own.
        for city in sorted({region for _, region, _ in HOSPITALS} - {p.region}):
            await h.filing(
                {
                    "psn_no": p.person_id,
                    "filing_kind": "long_term",
                    "insuplc_admdvs": p.region,
                    "mdtrtarea_admvs": city,
                    "begndate": "2026-01-01",
                },
                filing_id=f"F{p.person_id}-{city}",
            )


def hospitals_for(p: Insured) -> list[tuple[str, str]]:
    return [(code, region) for code, region, _ in HOSPITALS if region != p.region]


def plan(rng: random.Random, visits_per_person: int, *, wave: int) -> list[VisitRun]:
    runs: list[VisitRun] = []
    for p in PERSONS:
        places = hospitals_for(p)
        for n in range(visits_per_person):
            low, high = p.amounts
            # The second wave is large enough to use up whatever a cancellation gave back.
            yuan = rng.randint(low, high) if wave == 1 else max(high, 1000)
            runs.append(
                VisitRun(
                    person=p,
                    hospital=places[n % len(places)][0],
                    amount_fen=yuan * 100 + rng.choice((0, 37, 50)),
                    cancel=wave == 1 and p.cancels and n % 9 == 4,
                    calls=[],
                )
            )
    rng.shuffle(runs)
    return runs


async def call(h: Any, body: bytes, institution: str) -> Outcome:
    headers = sign(h.secrets[institution], institution, body, h.runtime.clock.now())
    infno = json.loads(body)["infno"]
    try:
        response = await h.client.post(
            GATEWAY, content=body, headers={**headers, "content-type": "application/json"}
        )
    except Exception as exc:  # an exception escaping the app is exactly what must not happen
        return Outcome(infno, None, crash=f"{type(exc).__name__}: {exc}")
    if response.status_code != 200:
        return Outcome(infno, None, crash=f"HTTP {response.status_code}: {response.text[:300]}")
    answer: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
    return Outcome(infno, answer)


def busy(outcome: Outcome) -> bool:
    return outcome.answer is not None and (outcome.answer["err_msg"] or "").endswith("（his.busy）")


def voucher(p: Insured) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p.certificate, "card_sn": p.card}


async def visit(h: Any, run: VisitRun) -> None:
    """One full outpatient visit: 2201 register, 2204 upload, 2207 settle, maybe 2208 cancel."""
    p = run.person

    region = next(r for code, r, _ in HOSPITALS if code == run.hospital)

    async def step(infno: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        body = h.envelope(infno, payload, run.hospital, region=region)
        # A HIS sends a request refused as busy again, same msgid, freshly signed.
        for _ in range(RESENDS):
            outcome = await call(h, body, run.hospital)
            run.calls.append(outcome)
            if not busy(outcome):
                break
        if outcome.answer is None or outcome.answer["infcode"] != 0:
            return None
        output: dict[str, Any] = outcome.answer["output"]
        return output

    registered = await step(
        "2201",
        {
            "data": {
                "psn_no": p.person_id,
                "insutype": p.insurance_type,
                "begntime": "2026-03-10 09:00:00",
                **voucher(p),
            }
        },
    )
    if registered is None:
        return
    visit_id = registered["data"]["mdtrt_id"]
    amount = fen_to_yuan(run.amount_fen)
    lines = [
        {"feedetl_sn": "1", "med_list_codg": "XA001", "cnt": "1", "pric": amount,
         "det_item_fee_sumamt": amount},
        {"feedetl_sn": "2", "med_list_codg": "C001", "cnt": "1", "pric": "20.00",
         "det_item_fee_sumamt": "20.00"},
    ]  # fmt: skip
    ref = {"mdtrt_id": visit_id, "psn_no": p.person_id}
    if await step("2204", {"feedetail": [{**x, **ref} for x in lines]}) is None:
        return
    settled = await step("2207", {"data": {**ref, "acct_used_flag": "1", **voucher(p)}})
    if settled is None:
        return
    run.settled = settled["setlinfo"]
    if run.cancel:
        setl_id = settled["setlinfo"]["setl_id"]
        run.cancelled = await step("2208", {"data": {**ref, "setl_id": setl_id}}) is not None


async def wave(h: Any, runs: Sequence[VisitRun]) -> None:
    await asyncio.gather(*(visit(h, r) for r in runs))


def fen(info: dict[str, Any], name: str) -> int:
    return yuan_to_fen(info[name])


async def test_many_hospitals_settling_the_same_persons_at_once_keep_accumulators_exact(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await setup(h)
        rng = random.Random(20260310)
        first = plan(rng, 20, wave=1)
        second = plan(rng, 3, wave=2)
        # Every visit reaches the database at once: the contention under test is there. The
        # gateway's own limit on requests in flight is tested by test_settlement_gateway_load.
        h.app.state.gateway.max_in_flight = len(first)
        await wave(h, first)
        await wave(h, second)
        runs = [*first, *second]

        # Every request was answered: success, or a refusal naming its rule. Never a crash.
        calls = [c for r in runs for c in r.calls]
        crashes = [c.crash for c in calls if c.crash is not None]
        assert crashes == [], crashes[:5]
        refusals = [c for c in calls if c.answer is not None and c.answer["infcode"] != 0]
        for refusal in refusals:
            assert refusal.answer is not None
            assert refusal.answer["infcode"] == -1
            assert refusal.answer["output"] is None
        # Nothing here is invalid: the only refusals are "busy, send again" under contention,
        # every visit settles after resending, and the planned cancellations succeed.
        assert [c.answer for c in refusals if not busy(c)] == []
        assert {c.infno for c in refusals} <= {"2207", "2208"}
        settled = [r for r in runs if r.settled is not None]
        assert len(settled) == len(runs) == 92
        assert sum(r.cancelled for r in runs) == sum(r.cancel for r in runs) == 6

        # No two settlements share an id, and each one was recorded once as VisitSettled.
        ids = [r.settled["setl_id"] for r in settled if r.settled is not None]
        assert len(set(ids)) == len(ids)
        async with h.runtime.engine.connect() as conn:
            n_settled = await conn.scalar(
                sa.select(sa.func.count())
                .select_from(event_table)
                .where(event_table.c.event_type == "settlement.VisitSettled")
            )
            stored = (
                await conn.execute(
                    sa.select(settlements.c.settlement_id, settlements.c.cancelled_by).where(
                        settlements.c.is_refund.is_(False)
                    )
                )
            ).all()
        assert n_settled == len(settled)
        assert sorted(row.settlement_id for row in stored) == sorted(ids)
        cancelled_ids = {row.settlement_id for row in stored if row.cancelled_by is not None}
        assert cancelled_ids == {
            r.settled["setl_id"] for r in runs if r.cancelled and r.settled is not None
        }

        by_person: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in settled:
            if not r.cancelled and r.settled is not None:
                by_person[r.person.person_id].append(r.settled)
        for p in PERSONS:
            infos = by_person[p.person_id]
            limits = POLICY_LIMITS[(p.region, p.insurance_type)]
            deductible = yuan_to_fen(limits["outpatient_annual"])
            cap = yuan_to_fen(limits["annual_cap"])
            in_policy = sum(fen(i, "inscp_scp_amt") for i in infos)
            deducted = sum(fen(i, "act_pay_dedc") for i in infos)
            basic = sum(fen(i, "hifp_pay") for i in infos)
            supplementary = sum(fen(i, "hifob_pay") + fen(i, "hifmi_pay") for i in infos)
            figures = await h.accumulators(p.person_id, YEAR)
            # The stored person-year figures are exactly the sum of what the live settlements
            # said they used.
            assert figures.outpatient_deductible_used == deducted, p.person_id
            assert figures.eligible_cum == in_policy - deducted, p.person_id
            assert figures.basic_paid_cum == basic, p.person_id
            assert figures.supplementary_base_cum == in_policy - basic, p.person_id
            assert figures.supplementary_paid_cum == supplementary, p.person_id
            assert figures.assistance_paid_cum == sum(fen(i, "maf_pay") for i in infos)
            assert figures.inpatient_admissions == 0
            # The deductible was applied exactly once in total, the cap never exceeded.
            assert in_policy > deductible
            assert deducted == deductible, (p.person_id, deducted, deductible)
            assert basic <= cap, (p.person_id, basic, cap)
        # The large visitors hit their caps exactly; the small one crossed the deductible only.
        for p in PERSONS:
            cap = yuan_to_fen(POLICY_LIMITS[(p.region, p.insurance_type)]["annual_cap"])
            paid_cum = (await h.accumulators(p.person_id, YEAR)).basic_paid_cum
            assert (paid_cum == cap) is p.cancels, (p.person_id, paid_cum, cap)
        # The personal account paid no more than it held, and holds what is left.
        for p in PERSONS:
            paid = sum(fen(i, "acct_pay") for i in by_person[p.person_id])
            start = yuan_to_fen(p.balance)
            assert 0 <= paid <= start, (p.person_id, paid, start)
            left = await h.ok("1101", {"data": voucher(p)}, HOSPITALS[0][0])
            assert left["insuinfo"][0]["balc"] == Decimal(fen_to_yuan(start - paid))
