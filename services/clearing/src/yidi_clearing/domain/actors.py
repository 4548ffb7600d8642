"""Who is acting: a person of an agency with roles. Checks shared by every clearing decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from yidi_clearing.domain.events import StatementLine
from yidi_clearing.domain.settings import ClearingSettings
from yidi_events.kernel import Forbidden


@dataclass(frozen=True)
class Actor:
    user_id: str
    agency: str
    roles: frozenset[str] = field(default_factory=frozenset)


def require_party(actor: Actor, line: StatementLine) -> None:
    if actor.agency not in (line.payer_agency, line.receiver_agency):
        raise Forbidden(
            "clearing.not_party",
            f"agency {actor.agency} is neither payer nor receiver of line {line.line_id}",
            field="line_id",
        )


def require_centre(actor: Actor, settings: ClearingSettings) -> None:
    if actor.agency != settings.provincial_centre:
        raise Forbidden(
            "clearing.centre_only",
            f"only the provincial centre {settings.provincial_centre} may do this, "
            f"not agency {actor.agency}",
            field="agency",
        )


def require_approver(actor: Actor, settings: ClearingSettings) -> None:
    require_centre(actor, settings)
    if settings.approver_role not in actor.roles:
        raise Forbidden(
            "clearing.role",
            f"{actor.user_id} does not hold the role {settings.approver_role}",
            field="user_id",
        )


def require_second_person(first: str, actor: Actor, what: str) -> None:
    if actor.user_id == first:
        raise Forbidden(
            "clearing.four_eyes",
            f"{what} needs a second person: {actor.user_id} already acted on it",
            field="user_id",
        )
