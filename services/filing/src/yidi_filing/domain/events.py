"""The filing service's own facts: no other service consumes them, so their contracts live here,
not in `yidi_events.contracts.filing`, and may change with the service alone (compatibly: its
stored events stay readable; schemas in services/filing/schemas). They are still published on
`yidi.filing.events`, where consumers without these contracts skip them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yidi_events.contracts.filing import FilingChannel, LongTermType
from yidi_events.contracts.policy import FilingKind
from yidi_events.registry import event


@event("filing.FilingSubmitted", key="person_id")
@dataclass(frozen=True, kw_only=True)
class FilingSubmitted:
    filing_id: str
    person_id: str
    kind: FilingKind
    long_term_type: LongTermType | None
    insured_region: str
    visit_region: str
    destination_institution: str | None  # referral to one hospital; None = the whole city
    diagnosis: str | None
    valid_from: date
    valid_to: date | None  # None: long-term, valid until changed
    promise_based: bool
    channel: FilingChannel
    supporting_documents: bool
    referral_opinion_from: str | None  # institution that issued the referral opinion
    admission_date: date | None  # for a retroactive or emergency filing
    submitted_on: date
    review_due: date | None  # None when approved on submission
    review_reasons: tuple[str, ...]  # rule codes that sent it to a reviewer
    # 补办 after a discharge the person paid in full: the stay it covers ended on discharge_date.
    self_paid_discharge: bool = False
    discharge_date: date | None = None


@event("filing.AgencyUserRegistered", key="user_id")
@dataclass(frozen=True, kw_only=True)
class AgencyUserRegistered:
    """An agency or centre login opened. The password's hash is not in it: it stays in the
    identity store's credential table and never travels on a topic."""

    user_id: str
    username: str  # the login name's key (see domain/accounts.username_key)
    display_name: str
    region: str
    kind: str  # agency | centre
    roles: tuple[str, ...]
    registered_by: str  # the user id of who opened it
