"""The shared kernel: small pure types every service's domain speaks (money, regions, time, errors).

Nothing here does I/O or imports a framework, so domain code may depend on it freely.
"""

from yidi_events.kernel.calendar import CalendarYearUnknown, WorkingCalendar
from yidi_events.kernel.errors import Conflict, DomainError, Forbidden, NotFound
from yidi_events.kernel.money import (
    Fen,
    fen_to_yuan,
    parse_ratio,
    round_half_up,
    yuan_to_fen,
)
from yidi_events.kernel.regions import (
    RegionRelation,
    city_of,
    province_of,
    relation,
    validate_region,
)
from yidi_events.kernel.time import SHANGHAI, Clock, ControlledClock, SystemClock, business_date

__all__ = [
    "SHANGHAI",
    "CalendarYearUnknown",
    "Clock",
    "Conflict",
    "ControlledClock",
    "DomainError",
    "Fen",
    "Forbidden",
    "NotFound",
    "RegionRelation",
    "SystemClock",
    "WorkingCalendar",
    "business_date",
    "city_of",
    "fen_to_yuan",
    "parse_ratio",
    "province_of",
    "relation",
    "round_half_up",
    "validate_region",
    "yuan_to_fen",
]
