"""The paging helper's cursor, without a database: what it encodes is what it decodes, typed by
the key's columns, and anything else is a field-named refusal."""

from __future__ import annotations

import base64
from datetime import date

import pytest
import sqlalchemy as sa

from yidi_events.kernel.errors import DomainError
from yidi_events.paging import Keyset, decode_cursor, encode_cursor

table = sa.Table(
    "t",
    sa.MetaData(),
    sa.Column("day", sa.Date),
    sa.Column("code", sa.Text),
    sa.Column("n", sa.Integer),
)
KEYS = Keyset((table.c.day, table.c.code, table.c.n))


def test_a_cursor_round_trips_the_key_and_is_opaque_base64_of_it() -> None:
    cursor = encode_cursor((date(2026, 3, 2), "H3205", 7))
    # Worked by hand: the key as compact JSON, base64url without padding.
    raw = b'["2026-03-02","H3205",7]'
    assert cursor == base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert decode_cursor(cursor, KEYS) == (date(2026, 3, 2), "H3205", 7)
    assert KEYS.key_of({"day": date(2026, 3, 2), "code": "H3205", "n": 7, "x": 1}) == (
        date(2026, 3, 2),
        "H3205",
        7,
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'["2026-03-02","H3205"]',  # a value short
        b'["2026-02-30","H3205",7]',  # no such day
        b'["2026-03-02",5,7]',  # a number where text belongs
        b'["2026-03-02","H3205",true]',  # JSON true is no integer of a key
        b'{"day":"2026-03-02"}',
        b'["2026-03-02","H\\u0000",7]',  # NUL: no text column holds it
    ],
)
def test_a_cursor_the_list_never_gave_is_a_422_naming_it(raw: bytes) -> None:
    cursor = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(DomainError) as refused:
        decode_cursor(cursor, KEYS)
    assert (refused.value.status, refused.value.rule, refused.value.field) == (
        422,
        "paging.cursor_invalid",
        "cursor",
    )
