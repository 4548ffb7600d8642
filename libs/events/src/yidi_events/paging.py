"""Keyset paging of the services' list routes: `?limit=&cursor=`, the next page in a `Link` header.

A list is walked in a total order of its key (a unique column, or columns ending in one); a page is
the next `limit` rows after the cursor's key. The cursor is opaque to clients: base64 of the last
row's key as JSON. Keyset paging, unlike an offset, neither skips nor repeats a row when others
are added meanwhile, and costs an index seek however deep the page.

The next page is announced as RFC 8288 `Link: <...>; rel="next"` so the response bodies (arrays,
or a wrapper object) keep the shape their clients read; the last page has no such link. The
default limit is large enough for every list a caller reads today to come whole in one page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query, Request, Response

from yidi_events.kernel.errors import DomainError

R = TypeVar("R")

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000

LINK_HEADER: dict[str, Any] = {
    "Link": {
        "description": 'RFC 8288 `<url>; rel="next"`: the next page, absent on the last page',
        "schema": {"type": "string"},
    }
}
"""The `headers` of a paged route's 200 response (`responses={200: {"headers": LINK_HEADER}}`)."""


@dataclass(frozen=True)
class PageRequest:
    """What the caller asked for: at most `limit` rows after the `cursor`'s key."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="rows per page (the next page is in `Link`)")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=2000, description='opaque; from the `Link: <...>; rel="next"` header'),
    ] = None,
) -> PageRequest:
    return PageRequest(limit, cursor)


Paging = Annotated[PageRequest, Depends(_page_request)]
"""The `?limit=&cursor=` parameters of a paged list route."""


@dataclass(frozen=True)
class Keyset:
    """The order a list is walked in, and how a row's key is read back for the cursor.

    `order` are SQL expressions ascending, the last one unique; `read` gets their values from a
    result row (by default the columns' names, for plain columns)."""

    order: tuple[sa.ColumnElement[Any], ...]
    read: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None

    def key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.read is not None:
            return self.read(row)
        names = [column.key for column in self.order]
        if None in names:
            raise TypeError("a keyset of expressions says how to read them (`read`)")
        return tuple(row[str(name)] for name in names)


def _bad(detail: str) -> DomainError:
    return DomainError(
        "paging.cursor_invalid",
        f"the cursor is not one this list gave out ({detail}); start again without it",
        field="cursor",
    )


def encode_cursor(key: Sequence[Any]) -> str:
    values = [v.isoformat() if isinstance(v, date) else v for v in key]
    raw = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keyset: Keyset) -> tuple[Any, ...]:
    """The key a cursor holds, each value of its column's Python type; a field-named 422 if not."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _bad("not base64 of a key") from exc
    if not isinstance(values, list) or len(values) != len(keyset.order):
        raise _bad("wrong number of key values")
    key = []
    for value, expression in zip(values, keyset.order, strict=True):
        wanted = expression.type.python_type
        if isinstance(value, str) and "\x00" in value:
            raise _bad("text no key holds")  # PostgreSQL text cannot hold NUL
        if wanted is date and isinstance(value, str):
            try:
                key.append(date.fromisoformat(value))
            except ValueError as exc:
                raise _bad("a day that does not exist") from exc
        elif type(value) is wanted:  # exact: JSON's true is no int of a key
            key.append(value)
        else:
            raise _bad(f"a {type(value).__name__} where a {wanted.__name__} belongs")
    return tuple(key)


def keyset_query(query: sa.Select[Any], keyset: Keyset, page: PageRequest) -> sa.Select[Any]:
    """`query` ordered by the keyset, after the cursor's key, one row past the page (to tell
    whether another page follows)."""
    if page.cursor is not None:
        after = decode_cursor(page.cursor, keyset)
        bound = [sa.literal(v, e.type) for v, e in zip(after, keyset.order, strict=True)]
        query = query.where(sa.tuple_(*keyset.order) > sa.tuple_(*bound))
    return query.order_by(*keyset.order).limit(page.limit + 1)


@dataclass(frozen=True)
class Page(Generic[R]):
    """One page of rows and the cursor of the next page (None on the last)."""

    rows: list[R]
    next_cursor: str | None


def page_of(rows: Sequence[R], keyset: Keyset, page: PageRequest) -> Page[R]:
    """The page out of `keyset_query`'s rows (mappings, or rows with `_mapping`)."""
    kept = list(rows[: page.limit])
    if len(rows) <= page.limit:
        return Page(kept, None)
    last: Any = kept[-1]
    mapping = getattr(last, "_mapping", last)
    return Page(kept, encode_cursor(keyset.key_of(mapping)))


def announce(request: Request, response: Response, page: Page[Any]) -> None:
    """Set `Link: <next>; rel="next"` when a page follows: this request's path and query with the
    cursor replaced (a reference relative to the host, so a proxy in front keeps working)."""
    if page.next_cursor is None:
        return
    url = request.url.include_query_params(cursor=page.next_cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


def paged(
    rows: Sequence[R], keyset: Keyset, page: PageRequest, request: Request, response: Response
) -> list[R]:
    """`page_of` and `announce` in one: the rows of this page, the next one linked."""
    found = page_of(rows, keyset, page)
    announce(request, response, found)
    return found.rows
