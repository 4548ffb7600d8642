"""Step 1: split each fee line by the visit-place catalogue.

Each part is computed exactly and rounded half up to the fen once; the four parts always add up to
the line's amount, so a hospital never sees a fen appear or vanish.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from yidi_benefits.model import Catalogue, CatalogueEntry, FeeLine
from yidi_events.contracts.settlement import FeeLineSplit, ItemClass
from yidi_events.kernel import DomainError, round_half_up

_FEN_PER_YUAN = Decimal(100)
# A hospital rounds quantity x price to the fen its own way (half up, down, per unit): one fen of
# difference is rounding, more is a line whose amount does not come from its quantity and price.
_AMOUNT_TOLERANCE_FEN = 1


def check_line_amount(line: FeeLine) -> None:
    """A fee line's amount is its quantity times its price, within a fen. Without this a tiny
    quantity (1e-9 of an item) priced over the cap carries any amount past the cap check, which
    prices the excess as (price - cap) x quantity."""
    exact = line.quantity * line.unit_price * _FEN_PER_YUAN
    if abs(Decimal(line.amount) - exact) > _AMOUNT_TOLERANCE_FEN:
        raise DomainError(
            "settlement.fee_line_product",
            f"fee line {line.fee_line_no}: amount {line.amount / 100:.2f} yuan is not quantity "
            f"{line.quantity} x price {line.unit_price} yuan (within a fen)",
            field="amount",
            values={
                "line": line.fee_line_no,
                "amount_fen": line.amount,
                "quantity": str(line.quantity),
                "price": str(line.unit_price),
            },
        )


def split_line(line: FeeLine, entry: CatalogueEntry | None) -> FeeLineSplit:
    if line.amount < 0:
        raise DomainError(
            "settlement.fee_line_amount",
            f"fee line {line.fee_line_no} has a negative amount",
            field="amount",
        )
    fully_self_paid = over_limit = pre_self_paid = 0
    if entry is None or entry.item_class is ItemClass.C:
        fully_self_paid = line.amount
    else:
        if entry.price_cap is not None and line.unit_price > entry.price_cap:
            excess = (line.unit_price - entry.price_cap) * line.quantity * _FEN_PER_YUAN
            # A line cannot be over its cap by more than it costs (odd quantity/amount pairs).
            over_limit = min(round_half_up(excess), line.amount)
        if entry.item_class is ItemClass.B:
            pre_self_paid = round_half_up(Decimal(line.amount - over_limit) * entry.self_pay_ratio)
    in_policy = line.amount - fully_self_paid - over_limit - pre_self_paid
    return FeeLineSplit(
        fee_line_no=line.fee_line_no,
        catalogue_code=line.catalogue_code,
        hospital_item_code=line.hospital_item_code,
        charge_category=line.charge_category,
        fee_date=line.fee_date,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        item_class=None if entry is None else entry.item_class,
        fully_self_paid=fully_self_paid,
        over_limit=over_limit,
        pre_self_paid=pre_self_paid,
        in_policy=in_policy,
        charge_batch=line.charge_batch,
        returned_line=line.returned_line,
    )


def split_lines(
    lines: Iterable[FeeLine], catalogue: Catalogue, undated_on: date
) -> tuple[FeeLineSplit, ...]:
    """Split every line on the catalogue in force on its fee date; a code absent from it that day
    is not covered (fully self-paid). A line the hospital sent undated is split on `undated_on`
    and keeps that day as its fee date, so splitting it again later gives the same split."""
    return tuple(_split_on(x, x.fee_date or undated_on, catalogue) for x in lines)


def _split_on(line: FeeLine, day: date, catalogue: Catalogue) -> FeeLineSplit:
    return split_line(replace(line, fee_date=day), catalogue.entry(line.catalogue_code, day))


def split_return(returned: FeeLine, before: FeeLine, entry: CatalogueEntry | None) -> FeeLineSplit:
    """A return line's split: what it takes off its original, part by part. `before` is the
    original as it nets before this return (`returned` is negative). The parts are the difference
    of the original's split after and before the return, so an original and its returns always
    split, in sum, exactly as the net line does."""
    after = replace(
        before,
        quantity=before.quantity + returned.quantity,
        amount=before.amount + returned.amount,
    )
    was, now = split_line(before, entry), split_line(after, entry)
    return FeeLineSplit(
        fee_line_no=returned.fee_line_no,
        catalogue_code=returned.catalogue_code,
        hospital_item_code=returned.hospital_item_code,
        charge_category=returned.charge_category,
        fee_date=returned.fee_date,
        quantity=returned.quantity,
        unit_price=returned.unit_price,
        amount=returned.amount,
        item_class=None if entry is None else entry.item_class,
        fully_self_paid=now.fully_self_paid - was.fully_self_paid,
        over_limit=now.over_limit - was.over_limit,
        pre_self_paid=now.pre_self_paid - was.pre_self_paid,
        in_policy=now.in_policy - was.in_policy,
        charge_batch=returned.charge_batch,
        returned_line=returned.returned_line,
    )
