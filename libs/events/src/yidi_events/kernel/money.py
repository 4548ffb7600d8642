"""Money is integer fen (分) everywhere inside Yidi; yuan strings with two decimals only on the wire.

Ratios are `Decimal` with four places. A computed amount (amount x ratio, price difference x
quantity) is kept exact as a `Decimal` until the rule says to round, then rounded half up to the fen
once. `float` never appears.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Fen = int

# ASCII digits only: Python reads full-width digits (２５５) as numbers, a money wire must not.
_YUAN = re.compile(r"^-?[0-9]{1,14}(\.[0-9]{1,2})?$")
_RATIO_PLACES = Decimal("0.0001")
_ONE = Decimal(1)


def yuan_to_fen(value: str | Decimal | int) -> Fen:
    """Parse a yuan amount with at most two decimals ("12.5", "12.50", 12) into fen.

    Raises ValueError for anything else (three decimals, exponents, NaN, floats), because an amount
    we cannot represent exactly must be refused, not rounded.
    """
    if isinstance(value, (bool, float)):
        raise ValueError("amounts must be decimal strings, not floats")
    text = str(value).strip()
    if not _YUAN.match(text):
        raise ValueError(f"{value!r} is not a yuan amount with at most two decimals")
    return int(Decimal(text) * 100)


def fen_to_yuan(fen: Fen) -> str:
    """Format fen as yuan with exactly two decimals: 1943500 -> "19435.00", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def round_half_up(amount_fen: Decimal) -> Fen:
    """Round an exact fen amount half up (away from zero at .5) to whole fen."""
    return int(amount_fen.quantize(_ONE, rounding=ROUND_HALF_UP))


def parse_ratio(value: str | Decimal) -> Decimal:
    """Parse a ratio such as "0.8500"; it must lie in [0, 1] and have at most four places."""
    try:
        ratio = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a ratio") from exc
    if not ratio.is_finite() or ratio < 0 or ratio > 1:
        raise ValueError(f"{value!r} is not a ratio between 0 and 1")
    if ratio != ratio.quantize(_RATIO_PLACES):
        raise ValueError(f"{value!r} has more than four decimal places")
    return ratio.quantize(_RATIO_PLACES)
