"""Agency user accounts (the identity the agency APIs trust): who a login name belongs to, which
region, kind and roles it acts in.

A login name is compared by its key: Unicode NFKC (full-width letters become ASCII), trimmed,
case-folded. A name holding an invisible or control character (zero-width space, joiner, BOM)
or inner whitespace is refused outright: "alice", "Alice", "alice " and "ａｌｉｃｅ" are one
account, and "al\u200bice" is none. Four eyes compares the user ids this store hands out, never
the names a caller typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from yidi_events.application import Aggregate
from yidi_events.kernel import Conflict, DomainError
from yidi_filing.domain.events import AgencyUserRegistered

USER_KINDS = ("agency", "centre", "service")
# A service account (the HIS gateway forwarding to the owners) holds service roles only, and no
# person holds one.
SERVICE_ROLES = frozenset({"his"})
ROLES = frozenset(
    {
        "clerk",
        "reviewer",
        "reconciler",
        "approver",
        "auditor",
        "hospital_admin",
        "reimbursement",
        "treasurer",
        "operator",
    }
)
_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
MIN_PASSWORD = 12


def username_key(username: str) -> str:
    """The one spelling of a login name that accounts are kept and compared under."""
    for char in username.strip():
        category = unicodedata.category(char)
        if category in ("Cf", "Cc", "Co", "Cs") or category.startswith("Z"):
            raise DomainError(
                "identity.username",
                f"a login name may not hold invisible, control or space characters "
                f"(U+{ord(char):04X})",
                field="username",
            )
    key = unicodedata.normalize("NFKC", username).strip().casefold()
    if not _NAME.fullmatch(key):
        raise DomainError(
            "identity.username",
            "a login name is 2 to 64 letters, digits or . _ @ -, starting with a letter or digit",
            field="username",
        )
    return key


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    region: str
    kind: str
    roles: tuple[str, ...]
    password: str


def check_new_user(user: NewUser, centre_region: str) -> str:
    """The key of a valid new account; refuses what no account may be (pure). `centre_region`:
    the provincial centre's region (the province file's), the one region of centre users."""
    key = username_key(user.username)
    if user.kind not in USER_KINDS:
        raise DomainError(
            "identity.kind", f"kind must be one of {', '.join(USER_KINDS)}", field="kind"
        )
    if not re.fullmatch(r"\d{6}", user.region):
        raise DomainError("identity.region", "region is a six-digit region code", field="region")
    if user.kind == "centre" and user.region != centre_region:
        raise DomainError(
            "identity.region",
            f"the provincial centre's users are of region {centre_region}",
            field="region",
        )
    allowed = SERVICE_ROLES if user.kind == "service" else ROLES
    unknown = sorted(set(user.roles) - allowed)
    if not user.roles or unknown:
        raise DomainError(
            "identity.roles",
            f"roles must be among {', '.join(sorted(allowed))}"
            + (f"; not {unknown}" if unknown else ""),
            field="roles",
        )
    if len(user.password) < MIN_PASSWORD:
        raise DomainError(
            "identity.password",
            f"a password has at least {MIN_PASSWORD} characters",
            field="password",
        )
    return key


@dataclass(frozen=True)
class Account:
    user_id: str | None = None


def evolve(state: Account, event: object) -> Account:
    if isinstance(event, AgencyUserRegistered):
        return Account(event.user_id)
    return state


ACCOUNT = Aggregate(Account, evolve)


def decide_register(
    state: Account, user: NewUser, *, key: str, user_id: str, registered_by: str
) -> Sequence[AgencyUserRegistered]:
    if state.user_id is not None:
        raise Conflict(
            "identity.username_taken",
            f"the login name {key!r} is taken (names are compared case- and width-blind)",
            field="username",
        )
    return [
        AgencyUserRegistered(
            user_id=user_id,
            username=key,
            display_name=user.display_name,
            region=user.region,
            kind=user.kind,
            roles=tuple(sorted(set(user.roles))),
            registered_by=registered_by,
        )
    ]
