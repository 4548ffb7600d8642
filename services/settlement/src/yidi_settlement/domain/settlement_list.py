"""A visit's settlement lists (医疗保障基金结算清单, 4101): which settlements of the visit stand,
and the list id each one's list was given. Folded from the visit stream itself, so an upload is
appended at the version it was decided on: it cannot name a settlement cancelled meanwhile."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from yidi_events.application import Aggregate
from yidi_events.contracts.settlement import SettlementCancelled, VisitSettled
from yidi_events.kernel import DomainError, NotFound
from yidi_settlement.domain.events import SettlementListUploaded, VisitRegistered

_ALPHABET = string.digits + string.ascii_uppercase
LIST_ID_LENGTH = 9  # the national setl_list_id is at most 9 characters


@dataclass(frozen=True, kw_only=True)
class VisitLists:
    registered: VisitRegistered | None = None
    settlements: frozenset[str] = frozenset()  # settled and not cancelled
    lists: dict[str, str] = field(default_factory=dict)  # settlement id -> list id


def evolve(state: VisitLists, event: Any) -> VisitLists:
    match event:
        case VisitRegistered():
            return replace(state, registered=event)
        case VisitSettled():
            return replace(state, settlements=state.settlements | {event.settlement_id})
        case SettlementCancelled():
            return replace(state, settlements=state.settlements - {event.original_settlement_id})
        case SettlementListUploaded():
            return replace(state, lists={**state.lists, event.settlement_id: event.list_id})
    return state


VISIT_LISTS = Aggregate(VisitLists, evolve)


def new_list_id() -> str:
    """Nine random base-36 characters (about 46 bits): the national field allows no more."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(LIST_ID_LENGTH))


def decide_upload(
    state: VisitLists,
    *,
    visit_id: str,
    institution_code: str,
    person_id: str,
    settlement_id: str,
    form: dict[str, Any],
    message_id: str | None,
    now: datetime,
    fresh_id: str,
) -> list[Any]:
    """A list belongs to a settlement that stands, of the hospital's own visit of that person;
    uploading one settlement's list again replaces it under the same list id."""
    registered = state.registered
    if registered is None or registered.institution_code != institution_code:
        raise NotFound(
            "visit.not_found",
            f"visit {visit_id} is not a visit of this institution",
            field="visit_id",
        )
    if registered.person_id != person_id:
        raise DomainError(
            "visit.person_mismatch",
            f"visit {visit_id} belongs to another person",
            field="person_id",
        )
    if settlement_id not in state.settlements:
        raise NotFound(
            "settlement_list.no_settlement",
            f"settlement {settlement_id} is not a standing settlement of visit {visit_id}",
            field="settlement_id",
        )
    return [
        SettlementListUploaded(
            visit_id=visit_id,
            person_id=person_id,
            institution_code=institution_code,
            settlement_id=settlement_id,
            list_id=state.lists.get(settlement_id, fresh_id),
            form=form,
            uploaded_at=now,
            message_id=message_id,
        )
    ]
