"""Domain errors: every refusal names the rule it enforces and, where one is to blame, the field.

Entrypoints translate these into the caller's envelope (HTTP 4xx problem, a HIS refusal), so the
message must make sense to a hospital clerk or an agency operator without reading our code.
"""

from __future__ import annotations

from collections.abc import Mapping

# A value a refusal quotes (the value received, a limit, a total): text or a whole number, so it
# crosses JSON unchanged; money is integer fen, told in yuan by whoever renders it.
Value = str | int


class DomainError(Exception):
    """A command was refused by a business rule; nothing was changed."""

    status = 422

    def __init__(
        self,
        rule: str,
        message: str,
        *,
        field: str | None = None,
        values: Mapping[str, Value] | None = None,
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.field = field
        # What the message quotes, as data: an edge that speaks another language (the HIS
        # interface answers in Chinese) says the same figures without parsing the English.
        self.values: dict[str, Value] = dict(values or {})

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"{self.message}{where} (rule {self.rule})"


class NotFound(DomainError):
    """The thing a command names does not exist (or is not visible to the caller)."""

    status = 404


class Conflict(DomainError):
    """The command contradicts what already happened (duplicate, wrong state, concurrent change)."""

    status = 409


class Forbidden(DomainError):
    """The caller may not do this: another region's data, a missing role, the same person twice."""

    status = 403


class Unavailable(DomainError):
    """Something the command needs is away for now (the broker); asking again later may work."""

    status = 503
