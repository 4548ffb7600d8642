"""Random HIS histories through the real gateway, then every projection rebuilt from scratch
equals the live one, and the person-year accumulators stay a fold of the live settlements.

A Hypothesis state machine drives registrations (2201), fee-line uploads (2204), pre-settlements
(2206), settlements (2207, batch after batch on one visit), cancellations (2208), 2601 reversals
(of 2207, 2201 and 2208: a reversed cancellation's settlement stands again), registration
cancellations (2202),
repeats of earlier msgids and audit suspensions (fed as insured-place facts) for a few sandbox
persons at a few sandbox hospitals, with amounts from a few fen up to caps-breaking sums. Every
refusal must leave the event store and the idempotency records as they were. Every few steps and
at teardown:
- the own projection (`settlement_own`) rebuilt with `rebuild_from_store` equals the live tables;
- the consumed projection (`insured_facts`) reset and fed the same envelopes again equals live;
- each touched person's 2026 accumulators equal the sum of the movements of the settlements that
  stand (not cancelled, or cancelled and reinstated), and that set equals what the HIS answers
  said and the settlements table;
- no settlement pays a fund beyond the policy's annual caps (running, in the stream's order).

Each example gets a fresh database, cloned from one the sandbox was loaded into once, and its
own event loop (an anyio blocking portal), because Hypothesis' state machines are synchronous.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import pytest
import sqlalchemy as sa
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_benefits import accumulators as acc
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.audit import (
    DirectSettlementSuspended,
    DirectSettlementSuspensionEnded,
    SuspensionEndReason,
)
from yidi_events.contracts.policy import BenefitPolicy
from yidi_events.contracts.settlement import (
    FundCode,
    PersonLedgerMoved,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.envelope import Envelope
from yidi_events.kernel import fen_to_yuan
from yidi_events.policy_document import parse_policy_document
from yidi_events.runtime.projection import Projection, rebuild_from_store
from yidi_settlement.adapters import insured_facts
from yidi_settlement.adapters.tables import settlements
from yidi_settlement.domain import person_ledger as pl
from yidi_settlement.domain.events import SettlementReinstated
from yidi_stack.pytest_plugin import Databases

T = TypeVar("T")

SANDBOX = shared_dir() / "sandbox"
PERSONS = {p["psn_no"][-1]: p for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))}
FILINGS = json.loads((SANDBOX / "filings.json").read_text("utf-8"))
POLICY_DOCUMENTS = json.loads((SANDBOX / "policies.json").read_text("utf-8"))
HOSPITALS = {
    h["fixmedins_code"]: h for h in json.loads((SANDBOX / "hospitals.json").read_text("utf-8"))
}
# What `Harness.load_sandbox` remembers; a clone of the seeded database skips that call.
SECRETS = {code: h["his_secret"] for code, h in HOSPITALS.items()}
CATALOGUE_CODES = sorted(json.loads((SANDBOX / "catalog.json").read_text("utf-8")))
POLICIES: dict[tuple[str, str], BenefitPolicy] = {
    (d["insuplc_admdvs"], d["insutype"]): parse_policy_document(d) for d in POLICY_DOCUMENTS
}
# The real factory, taken before the `consumed_feed` fixture wraps it to record what is fed.
MAKE_INSURED_FACTS = insured_facts.make_projection
START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
YEAR = 2026

# Filed persons who settle (1, 2, 3, 5, 7, 8), one without a filing (4, emergencies only), one
# dead (6) and one insured in Nanjing (9: local there, an emergency in Wuxi); two networked Nanjing
# hospitals, Wuxi (person 5's filed city) and a non-networked clinic.
PERSON_KEYS = sorted(PERSONS)
HOSPITAL_CODES = ["H32010000001", "H32010000002", "H32020000001", "H32010000009"]
NOT_NETWORKED = "H32010000009"

# Up to 900,000 yuan a line, so that a few settlements run into the annual caps.
amounts = st.one_of(
    st.integers(min_value=1, max_value=50_000),
    st.integers(min_value=50_000, max_value=5_000_000),
    st.integers(min_value=5_000_000, max_value=90_000_000),
)
fee_lines = st.lists(
    st.tuples(st.sampled_from("123456"), st.sampled_from(CATALOGUE_CODES), amounts),
    min_size=1,
    max_size=3,
)
pick = st.integers(min_value=0, max_value=255)

SETTINGS = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@dataclass
class Settled:
    """One standing settlement of a visit and the lines it settled."""

    settlement_id: str
    msgid: str
    lines: set[str]
    total: int


@dataclass
class Visit:
    """An outpatient visit: it settles its unsettled lines, batch after batch; 2208 cancels the
    latest settlement that stands, and a 2601 of that 2208 may make it stand again."""

    visit_id: str
    person: dict[str, Any]
    institution: str
    register_msgid: str
    status: str = "open"  # open | registration_cancelled
    lines: set[str] = field(default_factory=set)  # every uploaded line
    unsettled: set[str] = field(default_factory=set)
    total: int = 0  # fen, the unsettled lines' sum
    settlements: list[Settled] = field(default_factory=list)  # standing, oldest first
    cancelled: dict[str, Settled] = field(default_factory=dict)  # by the 2208's msgid

    @property
    def latest(self) -> Settled | None:
        return self.settlements[-1] if self.settlements else None


@dataclass
class Sent:
    """A request as the HIS sent it, to repeat its msgid later."""

    infno: str
    payload: dict[str, Any]
    institution: str
    region: str
    insured: str | None
    msgid: str
    answer: dict[str, Any]


@dataclass
class ConsumedFeed:
    """The envelopes the harness applied to the consumed projection, in order."""

    envelopes: list[Envelope] = field(default_factory=list)


def voucher(p: dict[str, Any]) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


def refused(answer: dict[str, Any], rule: str | None = None) -> bool:
    if answer["infcode"] != -1:
        return False
    assert answer["output"] is None
    return rule is None or rule in answer["err_msg"]


async def setup(h: Any) -> None:
    await h.load_sandbox()
    for doc in POLICY_DOCUMENTS:
        await h.policy(doc)
    for p in PERSONS.values():
        await h.person(p)
    for number, f in enumerate(FILINGS):
        await h.filing(f, filing_id=f"F{number}")


async def all_events(conn: AsyncConnection, h: Any) -> list[Envelope]:
    out: list[Envelope] = []
    after = (0, 0)
    while True:
        stored = await h.runtime.store.read_committed(conn, after, 5000)
        if not stored:
            return out
        out += [s.envelope for s in stored]
        after = (stored[-1].txid, stored[-1].position)


class SettlementHistory(RuleBasedStateMachine):
    def __init__(self, make_harness: Callable[[datetime], Any], seed: Seed) -> None:
        super().__init__()
        self.feed = ConsumedFeed(list(seed.envelopes))
        seed.recorder.target = self.feed
        self.stack = ExitStack()
        try:
            self.portal = self.stack.enter_context(start_blocking_portal())
            self.h = self.stack.enter_context(
                self.portal.wrap_async_context_manager(make_harness(START))
            )
        except BaseException:
            self.stack.close()
            raise
        self.h.secrets.update(SECRETS)
        self.visits: list[Visit] = []
        self.sent: list[Sent] = []
        self.suspended: dict[str, str] = {}  # person key -> audit case id
        self.cases = 0
        self.reversed_unrun: set[tuple[str, str]] = set()  # (institution, msgid) 2601 blocked
        self.touched: set[str] = set()
        self.steps = 0

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return self.portal.call(fn, *args)

    # --- the wire --------------------------------------------------------------------------

    def send(
        self,
        infno: str,
        payload: dict[str, Any],
        institution: str,
        *,
        insured: str | None = None,
        msgid: str | None = None,
    ) -> Sent:
        """Send one HIS request; a refusal must leave the event store and idempotency as they
        were (the whole transaction rolls back)."""
        region = HOSPITALS[institution]["admdvs"]
        before = self.call(self.h.counts)
        body = self.h.envelope(
            infno, payload, institution, msgid=msgid, region=region, insured=insured
        )
        answer: dict[str, Any] = self.call(self.h.post, body, institution)
        if answer["infcode"] != 0:
            assert answer["infcode"] == -1, answer
            assert self.call(self.h.counts) == before, answer["err_msg"]
        sent = Sent(
            infno=infno,
            payload=payload,
            institution=institution,
            region=region,
            insured=insured,
            msgid=json.loads(body)["msgid"],
            answer=answer,
        )
        self.sent.append(sent)
        return sent

    def is_suspended(self, v: Visit) -> bool:
        return v.person["psn_no"][-1] in self.suspended

    def visit(self, i: int, fitting: Callable[[Visit], bool] | None = None) -> Visit:
        """The i-th visit, among those `fitting` the command when there are any: most commands
        should have a chance to succeed, or histories stay shallow."""
        chosen = [v for v in self.visits if fitting(v)] if fitting else []
        among = chosen or self.visits
        return among[i % len(among)]

    def can_settle(self, v: Visit) -> bool:
        return v.status == "open" and bool(v.unsettled) and not self.is_suspended(v)

    # --- rules -----------------------------------------------------------------------------

    def register_visit(self, person: str, institution: str, emergency: bool) -> Visit | None:
        p = PERSONS[person]
        data = {
            "psn_no": p["psn_no"],
            "insutype": p["insutype"],
            "begntime": "2026-03-10 09:00:00",
            "med_type": "13" if emergency else "11",
            **voucher(p),
        }
        sent = self.send("2201", {"data": data}, institution, insured=p["insuplc_admdvs"])
        answer = sent.answer
        if (
            person == "6"
            or (person == "9" and HOSPITALS[institution]["admdvs"] == p["insuplc_admdvs"])
            or institution == NOT_NETWORKED
            or person in self.suspended
            or (person == "4" and not emergency)
        ):
            assert refused(answer), answer
        if answer["infcode"] != 0:
            return None
        visit = Visit(answer["output"]["data"]["mdtrt_id"], p, institution, sent.msgid)
        self.visits.append(visit)
        return visit

    def upload_lines(self, v: Visit, lines: list[tuple[str, str, int]], other_person: bool) -> None:
        person_id = v.person["psn_no"]
        if other_person:
            person_id = PERSONS["7" if person_id[-1] != "7" else "1"]["psn_no"]
        rows = [
            {
                "feedetl_sn": sn,
                "mdtrt_id": v.visit_id,
                "psn_no": person_id,
                "med_list_codg": code,
                "cnt": "1",
                "pric": fen_to_yuan(amount),
                "det_item_fee_sumamt": fen_to_yuan(amount),
            }
            for sn, code, amount in lines
        ]
        answer = self.send("2204", {"feedetail": rows}, v.institution).answer
        numbers = [sn for sn, _, _ in lines]
        duplicate = len(set(numbers)) < len(numbers) or bool(v.lines & set(numbers))
        if other_person or v.status != "open" or duplicate:
            assert refused(answer), answer
        else:
            assert answer["infcode"] == 0, answer["err_msg"]
            v.lines |= set(numbers)
            v.unsettled |= set(numbers)
            v.total += sum(amount for _, _, amount in lines)

    def settle_payload(self, v: Visit, use_account: bool, declared: int | None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "psn_no": v.person["psn_no"],
            "mdtrt_id": v.visit_id,
            "acct_used_flag": "1" if use_account else "0",
            **voucher(v.person),
        }
        if declared is not None:
            data["medfee_sumamt"] = fen_to_yuan(declared)
        return {"data": data}

    def settle_visit(self, v: Visit, use_account: bool, declare: str) -> None:
        declared = {"none": None, "right": v.total, "wrong": v.total + 1}[declare]
        sent = self.send("2207", self.settle_payload(v, use_account, declared), v.institution)
        answer = sent.answer
        if v.status == "open" and v.settlements and not v.unsettled:
            assert refused(answer, "visit.settled"), answer
        elif not self.can_settle(v) or declare == "wrong":
            assert refused(answer), answer
        if answer["infcode"] == 0:
            info = answer["output"]["setlinfo"]
            assert info["mdtrt_id"] == v.visit_id
            v.settlements.append(Settled(info["setl_id"], sent.msgid, v.unsettled, v.total))
            v.unsettled, v.total = set(), 0
            self.touched.add(v.person["psn_no"])

    @rule(
        person=st.sampled_from(PERSON_KEYS),
        institution=st.sampled_from(HOSPITAL_CODES),
        emergency=st.booleans(),
    )
    def register(self, person: str, institution: str, emergency: bool) -> None:
        self.register_visit(person, institution, emergency)

    @rule(
        person=st.sampled_from(["1", "2", "3", "7", "8"]),
        institution=st.sampled_from(["H32010000001", "H32010000001", "H32010000002"]),
        lines=fee_lines,
        use_account=st.booleans(),
        settle=st.booleans(),
        more=st.sampled_from(["nothing", "another batch", "2208 and its 2601"]),
    )
    def whole_visit(
        self,
        person: str,
        institution: str,
        lines: list[tuple[str, str, int]],
        use_account: bool,
        settle: bool,
        more: str,
    ) -> None:
        """A filed person's outpatient visit at a Nanjing hospital: register, upload, settle;
        then a further batch settled apart, or a 2208 the HIS reverses at once."""
        visit = self.register_visit(person, institution, emergency=False)
        if visit is not None:
            self.upload_lines(visit, lines, other_person=False)
            if settle:
                self.settle_visit(visit, use_account, "none")
            if visit.latest is not None and more == "another batch":
                self.settle_another_batch(visit, lines)
            elif more == "2208 and its 2601":
                self.cancel_and_reinstate(visit)

    @precondition(lambda self: self.visits)
    @rule(i=pick, fit=st.booleans(), lines=fee_lines, other_person=st.booleans())
    def upload(
        self, i: int, fit: bool, lines: list[tuple[str, str, int]], other_person: bool
    ) -> None:
        v = self.visit(i, (lambda v: v.status == "open") if fit else None)
        self.upload_lines(v, lines, other_person)

    @precondition(lambda self: self.visits)
    @rule(i=pick, fit=st.booleans(), use_account=st.booleans())
    def pre_settle(self, i: int, fit: bool, use_account: bool) -> None:
        v = self.visit(i, self.can_settle if fit else None)
        events_before = self.call(self.h.counts)[0]
        answer = self.send("2206", self.settle_payload(v, use_account, None), v.institution).answer
        # A pre-settlement computes and records nothing but its idempotency answer.
        assert self.call(self.h.counts)[0] == events_before
        if not self.can_settle(v):
            assert refused(answer), answer

    @precondition(lambda self: self.visits)
    @rule(
        i=pick,
        fit=st.booleans(),
        use_account=st.booleans(),
        declare=st.sampled_from(["none", "right", "wrong"]),
    )
    def settle(self, i: int, fit: bool, use_account: bool, declare: str) -> None:
        self.settle_visit(self.visit(i, self.can_settle if fit else None), use_account, declare)

    @precondition(lambda self: self.visits)
    @rule(i=pick, fit=st.booleans(), stale=st.booleans())
    def cancel_settlement(self, i: int, fit: bool, stale: bool) -> None:
        v = self.visit(i, (lambda v: v.latest is not None) if fit else None)
        latest = v.latest
        setl_id = latest.settlement_id if latest and not stale else "S320100NOTASETTLEMENT"
        data = {"psn_no": v.person["psn_no"], "mdtrt_id": v.visit_id, "setl_id": setl_id}
        sent = self.send("2208", {"data": data}, v.institution)
        answer = sent.answer
        if latest is not None and not stale:
            assert answer["infcode"] == 0, answer["err_msg"]
            out = answer["output"]["setlinfo"]
            assert out["refd_setl_flag"] == "1"
            assert out["setl_id"] != latest.settlement_id
            v.settlements.pop()
            v.unsettled |= latest.lines
            v.total += latest.total
            v.cancelled[sent.msgid] = latest
        else:
            assert refused(answer), answer

    @precondition(lambda self: any(v.latest for v in self.visits))
    @rule(i=pick, lines=fee_lines)
    def another_batch(self, i: int, lines: list[tuple[str, str, int]]) -> None:
        self.settle_another_batch(self.visit(i, lambda v: v.latest is not None), lines)

    @precondition(lambda self: any(v.latest for v in self.visits))
    @rule(i=pick)
    def cancel_then_reverse_the_cancellation(self, i: int) -> None:
        self.cancel_and_reinstate(self.visit(i, lambda v: v.latest is not None))

    def settle_another_batch(self, v: Visit, lines: list[tuple[str, str, int]]) -> None:
        """A settled visit takes a further batch and settles it apart."""
        fresh = [
            (f"{len(v.lines) + n}9", code, amount) for n, (_, code, amount) in enumerate(lines)
        ]
        self.upload_lines(v, fresh, other_person=False)
        self.settle_visit(v, use_account=False, declare="right")

    def cancel_and_reinstate(self, v: Visit) -> None:
        """2208, then its 2601 at once (the HIS never got the 2208's answer): the settlement
        stands again, with its figures."""
        latest = v.latest
        if latest is None:
            return
        data = {
            "psn_no": v.person["psn_no"],
            "mdtrt_id": v.visit_id,
            "setl_id": latest.settlement_id,
        }
        cancel = self.send("2208", {"data": data}, v.institution)
        assert cancel.answer["infcode"] == 0, cancel.answer["err_msg"]
        reversal = {"psn_no": v.person["psn_no"], "omsgid": cancel.msgid, "oinfno": "2208"}
        answer = self.send("2601", {"data": reversal}, v.institution).answer
        assert answer["infcode"] == 0, answer["err_msg"]
        undone = cancel.answer["output"]["setlinfo"]["setl_id"]
        assert answer["output"]["data"]["reversed"] == undone

    @precondition(lambda self: self.visits)
    @rule(i=pick)
    def cancel_registration(self, i: int) -> None:
        v = self.visit(i)
        data = {"psn_no": v.person["psn_no"], "mdtrt_id": v.visit_id}
        answer = self.send("2202", {"data": data}, v.institution).answer
        if v.status == "open" and not v.settlements:
            assert answer["infcode"] == 0, answer["err_msg"]
            v.status = "registration_cancelled"
        else:
            assert refused(answer), answer

    @precondition(lambda self: self.sent)
    @rule(i=pick, what=st.sampled_from(["2207", "2201", "2208", "never-arrived"]))
    def reverse(self, i: int, what: str) -> None:
        """2601 by the original msgid: a settlement or registration found by it is cancelled, a
        cancellation found by it may make its settlement stand again; a msgid that never ran is
        blocked for good."""
        candidates = [s for s in self.sent if s.infno == what and s.answer["infcode"] == 0]
        candidates = candidates or [s for s in self.sent if s.infno == what]
        if what == "never-arrived" or not candidates:
            institution = HOSPITAL_CODES[i % 3]
            target, oinfno, person = f"NEVER{len(self.sent):06d}", "2207", PERSONS["1"]
        else:
            s = candidates[i % len(candidates)]
            institution, target, oinfno = s.institution, s.msgid, s.infno
            person = next(p for p in PERSONS.values() if p["psn_no"] == s.payload["data"]["psn_no"])
        data = {"psn_no": person["psn_no"], "omsgid": target, "oinfno": oinfno}
        stored = any(
            s.institution == institution and s.msgid == target and s.answer["infcode"] == 0
            for s in self.sent
        )
        answer = self.send("2601", {"data": data}, institution).answer
        settled_by_it = next(
            (
                (v, x)
                for v in self.visits
                for x in v.settlements
                if x.msgid == target and v.institution == institution
            ),
            None,
        )
        cancelled_by_it = next(
            (
                (v, v.cancelled[target])
                for v in self.visits
                if target in v.cancelled and v.institution == institution and oinfno == "2208"
            ),
            None,
        )
        registered_by_it = next(
            (
                v
                for v in self.visits
                if oinfno == "2201" and v.register_msgid == target and v.institution == institution
            ),
            None,
        )
        if registered_by_it is not None and registered_by_it.settlements:
            # Cancelling the registration of a settled visit is refused, so is the reversal.
            assert refused(answer, "visit.settled"), answer
            return
        if settled_by_it is not None and settled_by_it[0].latest is not settled_by_it[1]:
            # Only the latest settlement that stands is cancelled.
            assert refused(answer, "visit.settlement_not_found"), answer
            return
        if cancelled_by_it is not None and answer["infcode"] != 0:
            # The visit or the person's year moved since the 2208: it cannot stand again.
            assert refused(answer, "reversal."), answer
            return
        assert answer["infcode"] == 0, answer["err_msg"]
        reversed_what = answer["output"]["data"]["reversed"]
        if settled_by_it is not None:
            v, x = settled_by_it
            assert reversed_what == x.settlement_id
            v.settlements.pop()
            v.unsettled |= x.lines
            v.total += x.total
        elif cancelled_by_it is not None and reversed_what != "nothing":
            v, x = cancelled_by_it
            assert v.unsettled == x.lines, "only the cancelled lines, unchanged, stand again"
            del v.cancelled[target]
            v.settlements.append(x)
            v.unsettled, v.total = set(), 0
            self.touched.add(v.person["psn_no"])
        elif registered_by_it is not None and registered_by_it.status == "open":
            assert reversed_what == registered_by_it.visit_id
            registered_by_it.status = "registration_cancelled"
        else:
            assert reversed_what == "nothing", answer
        if not stored:
            self.reversed_unrun.add((institution, target))

    @precondition(lambda self: self.sent)
    @rule(i=pick, same_body=st.booleans())
    def repeat_msgid(self, i: int, same_body: bool) -> None:
        """A previous msgid again: the same body gets the stored answer and changes nothing;
        another body is refused; a msgid blocked by 2601 never runs."""
        # Only msgids the gateway holds an answer (or a 2601 block) for: a refused request left
        # nothing behind, so sending its msgid again is just a new request.
        held = [
            x
            for x in self.sent
            if x.answer["infcode"] == 0 or (x.institution, x.msgid) in self.reversed_unrun
        ]
        if not held:
            return
        s = held[i % len(held)]
        payload = s.payload if same_body else {**s.payload, "pad": "another request"}
        before = self.call(self.h.counts)
        again = self.send(s.infno, payload, s.institution, insured=s.insured, msgid=s.msgid).answer
        if (s.institution, s.msgid) in self.reversed_unrun:
            assert refused(again, "his.msgid_reversed"), again
            return
        first_ok = next(
            (
                x
                for x in self.sent
                if x.institution == s.institution
                and x.msgid == s.msgid
                and x.answer["infcode"] == 0
            ),
            None,
        )
        assert first_ok is not None
        if same_body and first_ok.payload == payload and first_ok.infno == s.infno:
            assert again["infcode"] == 0, again["err_msg"]
            assert again["output"] == first_ok.answer["output"]
            assert self.call(self.h.counts) == before
        else:
            assert refused(again, "his.msgid_reused"), again

    @rule(person=st.sampled_from(["1", "2", "3", "5", "7", "8"]))
    def audit_suspends(self, person: str) -> None:
        """The audit service suspends direct settlement for the person (a consumed fact)."""
        if person in self.suspended:
            return
        p = PERSONS[person]
        self.cases += 1
        case_id = f"CASE{self.cases:04d}"
        fact = DirectSettlementSuspended(
            person_id=p["psn_no"],
            suspended_from=date(2026, 3, 1),
            suspended_until=date(2026, 9, 1),
            case_id=case_id,
            insured_region=p["insuplc_admdvs"],
            decided_by="auditor",
        )
        self.call(self.h.feed, fact, f"case-{case_id}")
        self.suspended[person] = case_id

    @precondition(lambda self: self.suspended)
    @rule(i=pick)
    def audit_lifts(self, i: int) -> None:
        person = sorted(self.suspended)[i % len(self.suspended)]
        case_id = self.suspended.pop(person)
        p = PERSONS[person]
        fact = DirectSettlementSuspensionEnded(
            person_id=p["psn_no"],
            case_id=case_id,
            insured_region=p["insuplc_admdvs"],
            ended_on=date(2026, 3, 1),
            reason=SuspensionEndReason.LIFTED,
        )
        self.call(self.h.feed, fact, f"case-{case_id}")

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def every_few_steps_rebuild_equals_live(self) -> None:
        self.steps += 1
        if self.steps % 10 == 0:
            self.check_all()

    def teardown(self) -> None:
        try:
            self.check_all()
        finally:
            self.stack.close()

    def check_all(self) -> None:
        self.call(self.own_rebuild_equals_live)
        self.call(self.consumed_rebuild_equals_live)
        self.call(self.accumulators_are_the_fold_of_live_settlements)

    async def own_rebuild_equals_live(self) -> None:
        [projection] = self.h.runtime.own
        engine = self.h.runtime.engine
        async with engine.connect() as conn:
            live = await projection.snapshot(conn)
        await rebuild_from_store(engine, self.h.runtime.store, projection)
        async with engine.connect() as conn:
            rebuilt = await projection.snapshot(conn)
        assert_same(projection, live, rebuilt)

    async def consumed_rebuild_equals_live(self) -> None:
        projection = MAKE_INSURED_FACTS()
        async with self.h.runtime.engine.begin() as conn:
            live = await projection.snapshot(conn)
            await projection.reset(conn)
            for envelope in self.feed.envelopes:
                await projection.apply(conn, envelope)
            rebuilt = await projection.snapshot(conn)
        assert_same(projection, live, rebuilt)

    async def accumulators_are_the_fold_of_live_settlements(self) -> None:
        async with self.h.runtime.engine.connect() as conn:
            events = await all_events(conn, self.h)
            table = (await conn.execute(sa.select(settlements))).mappings().all()
        settled = {e.payload.settlement_id: e.payload for e in events if is_settled(e)}
        standing: set[str] = set()
        for e in events:
            if is_settled(e):
                standing.add(e.payload.settlement_id)
            elif isinstance(e.payload, SettlementCancelled):
                standing.discard(e.payload.original_settlement_id)
            elif isinstance(e.payload, SettlementReinstated):
                standing.add(e.payload.settlement_id)
        live = {k: s for k, s in settled.items() if k in standing}
        # What the HIS answers said is live is what the store and the read model say.
        answered = {x.settlement_id for v in self.visits for x in v.settlements}
        assert set(live) == answered
        assert {
            r["settlement_id"] for r in table if not r["is_refund"] and r["cancelled_by"] is None
        } == answered
        for settlement in settled.values():
            check_settlement(settlement)
        for person_id in self.touched:
            figures = await self.h.accumulators(person_id, YEAR)
            expected = acc.initial(YEAR)
            for s in live.values():
                if s.person_id == person_id and s.movement.policy_year == YEAR:
                    expected = expected.moved(s.movement)
            assert figures == expected, person_id
            check_caps(person_id, events)


def is_settled(envelope: Envelope) -> bool:
    return isinstance(envelope.payload, VisitSettled)


def assert_same(
    projection: Projection,
    live: dict[str, list[tuple[Any, ...]]],
    rebuilt: dict[str, list[tuple[Any, ...]]],
) -> None:
    for table in live:
        assert rebuilt[table] == live[table], f"{projection.name}.{table}: rebuild differs"


def check_settlement(s: VisitSettled) -> None:
    t = s.totals
    payments = {p.fund_code: p.amount for p in s.fund_payments}
    assert all(amount > 0 for amount in payments.values())
    funds = t.basic_fund + t.large_amount_fund + t.critical_illness_fund
    funds += t.civil_servant_subsidy + t.medical_assistance
    assert t.fund_total == funds
    assert t.total_fee == t.fund_total + t.account_paid + t.cash_paid + t.hospital_borne
    assert payments.get(FundCode.PERSONAL_ACCOUNT, 0) == t.account_paid
    assert s.account_balance_after is None or s.account_balance_after >= 0
    policy = POLICIES[(s.insured_region, s.insurance_type)]
    assert t.basic_fund <= policy.basic.annual_cap
    assert t.large_amount_fund + t.critical_illness_fund <= policy.supplementary.annual_cap
    if policy.assistance is not None:
        assert t.medical_assistance <= policy.assistance.annual_cap
    else:
        assert t.medical_assistance == 0


def check_caps(person_id: str, events: list[Envelope]) -> None:
    """In the person's ledger order, no fund's running total leaves [0, annual cap]."""
    stream = pl.stream_id(person_id)
    moves = [e.payload for e in events if e.stream_id == stream]
    assert all(isinstance(m, PersonLedgerMoved) for m in moves)
    assert [m.sequence for m in moves] == list(range(1, len(moves) + 1))
    moves = [m for m in moves if m.policy_year == YEAR]
    if not moves:
        return
    person = next(p for p in PERSONS.values() if p["psn_no"] == person_id)
    policy = POLICIES[(person["insuplc_admdvs"], person["insutype"])]
    running = acc.initial(YEAR)
    caps = {
        "basic_paid_cum": policy.basic.annual_cap,
        "supplementary_paid_cum": policy.supplementary.annual_cap,
        "assistance_paid_cum": policy.assistance.annual_cap if policy.assistance else 0,
    }
    for move in moves:
        running = running.moved(move.movement)
        for f in fields(running):
            value = getattr(running, f.name)
            if f.name == "chronic":  # per disease and period: each figure never below zero
                assert all(u.deductible_used >= 0 and u.fund_paid >= 0 for u in value), value
            elif f.name != "policy_year":
                assert value >= 0, (person_id, f.name, value)
            if f.name in caps:
                assert value <= caps[f.name], (person_id, f.name, value)


class Recorder:
    """Wraps the consumed projection's factory so that every envelope the harness applies with
    it (`Harness.feed` builds one per fact) is recorded, to be fed again from scratch."""

    def __init__(self) -> None:
        self.target = ConsumedFeed()

    def make_projection(self) -> Projection:
        projection = MAKE_INSURED_FACTS()
        apply = projection.apply

        async def record(conn: AsyncConnection, envelope: Envelope) -> None:
            self.target.envelopes.append(envelope)
            await apply(conn, envelope)

        projection.apply = record  # type: ignore[method-assign]
        return projection


@dataclass
class Seed:
    recorder: Recorder
    envelopes: list[Envelope]


@dataclass
class SeededDatabases:
    """The `database` factory for this module: once `template` names a database holding the
    sandbox, each harness gets a clone of it (tens of ms) instead of loading the sandbox through
    the API again (seconds); the clones are dropped with the plugin's other databases."""

    databases: Databases
    template: str | None = None

    def __call__(self, migrations_dir: Path | None = None) -> str:
        if self.template is None:
            return self.databases.create(migrations_dir)
        name = f"t_{uuid4().hex[:16]}"
        self.databases.created.append(name)
        return self.databases.infra.create_database(name, template=self.template)


@pytest.fixture
def database(databases: Databases) -> Iterator[SeededDatabases]:
    yield SeededDatabases(databases)
    databases.drop_all()


@pytest.fixture
def seed(
    make_harness: Callable[[datetime], Any],
    database: SeededDatabases,
    monkeypatch: pytest.MonkeyPatch,
) -> Seed:
    """Load the sandbox once into a database that every example's database is cloned from."""
    recorder = Recorder()
    monkeypatch.setattr(insured_facts, "make_projection", recorder.make_projection)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(make_harness(START)) as h,
    ):
        portal.call(setup, h)
        dsn = h.runtime.settings.database_url
    database.template = make_url(dsn).database
    return Seed(recorder, list(recorder.target.envelopes))


def test_random_his_histories_rebuild_equal_live_and_accumulators_fold(
    make_harness: Callable[[datetime], Any], seed: Seed
) -> None:
    # Hypothesis documents a factory here; its annotation only names the class.
    run_state_machine_as_test(
        lambda: SettlementHistory(make_harness, seed),  # type: ignore[arg-type]
        settings=SETTINGS,
    )
