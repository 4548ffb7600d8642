"""The per-process reference cache's bookkeeping (adapters/reference_cache.py), without a
database: which version a unit relies on, and which reads may be kept."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from yidi_settlement.adapters.reference_cache import ReferenceCache


class Conn:
    """Stands in for a unit's connection: only its identity matters here."""


def conn() -> AsyncConnection:
    return cast(AsyncConnection, Conn())


def relied_on(cache: ReferenceCache, unit: AsyncConnection) -> Any:
    guard = cache.guard(unit)
    return None if guard is None else guard.compile().params


def test_a_unit_relies_on_the_first_version_it_used_and_a_newer_read_empties_the_cache() -> None:
    cache = ReferenceCache()
    first, second = conn(), conn()
    assert cache.guard(first) is None  # used nothing kept: nothing to hold
    assert cache.read(first, 7)
    cache.hospitals["H1"] = ({}, ())
    cache.hit(second)
    assert list(relied_on(cache, second).values()) == [7]
    # The second unit reads rows at a newer version: kept rows of 7 go, it still relies on 7
    # (what it used), so its guard fails at commit and it is decided again.
    assert cache.read(second, 9)
    assert cache.hospitals == {}
    assert cache.version == 9
    assert list(relied_on(cache, second).values()) == [7]


def test_a_read_older_than_the_kept_version_is_not_kept() -> None:
    cache = ReferenceCache()
    assert cache.read(conn(), 9)
    cache.catalogue[("320100", "XA001")] = ()
    slow = conn()
    assert not cache.read(slow, 8)  # a slower reader's rows are older than what is kept
    assert cache.version == 9
    assert ("320100", "XA001") in cache.catalogue
    assert list(relied_on(cache, slow).values()) == [8]
