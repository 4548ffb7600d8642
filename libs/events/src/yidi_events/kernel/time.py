"""Business time: every fact carries an Asia/Shanghai business date; days and months are cut by it.

Services never call `datetime.now()` directly: they take a `Clock`, so tests and the simulated
province of `make run` can move time forward (days, month ends) without waiting for it.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("business_date needs an aware datetime")
    return moment.astimezone(SHANGHAI).date()


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ControlledClock:
    """A clock that runs with real time from a chosen start, and can be moved forward.

    Moving it is how simulations advance a business day without waiting a day. It never moves
    backwards: a fact recorded later must not carry an earlier time than one recorded before it.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        if start is not None:
            self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        with self._lock:
            target = moment - datetime.now(UTC)
            if target < self._offset:
                raise ValueError("the clock never moves backwards")
            self._offset = target

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock never moves backwards")
        with self._lock:
            self._offset += delta
