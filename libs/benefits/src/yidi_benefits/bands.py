"""Marginal bands (like tax brackets) over a cumulative person-year axis."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from yidi_events.kernel import Fen


def banded_amount(
    start: Fen, end: Fen, bands: Sequence[tuple[Fen | None, Decimal]], floor: Fen = 0
) -> Decimal:
    """Exact fen paid for the stretch [start, end] of the axis, ignoring everything below `floor`.

    `bands` are (upper bound or None, ratio), ascending; a band runs from the previous bound.
    """
    low_edge = max(start, floor)
    high_edge = max(end, floor)
    total = Decimal(0)
    lower: Fen = 0
    for upto, ratio in bands:
        top = high_edge if upto is None else min(high_edge, upto)
        bottom = max(low_edge, lower)
        if top > bottom:
            total += Decimal(top - bottom) * ratio
        if upto is None or upto >= high_edge:
            break
        lower = upto
    return total
