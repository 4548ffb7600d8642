"""What the e-invoice verification service (电子票据查验) says of one invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from yidi_events.kernel import Fen


class Verdict(StrEnum):
    VALID = "valid"
    VOIDED = "voided"  # 作废: the issuer withdrew it
    RED_FLUSHED = "red_flushed"  # 红冲: a red (negative) invoice reversed it
    UNKNOWN = "unknown"  # never issued: a forgery or a typing error


@dataclass(frozen=True, kw_only=True)
class Verification:
    verdict: Verdict
    # What the issuer recorded (None for an unknown invoice): the claim must match it.
    amount: Fen | None = None
    issued_on: date | None = None
    issuing_institution: str | None = None
