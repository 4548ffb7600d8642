"""Which kind of designated institution may send which transaction: a retail pharmacy
(定点零售药店) settles over-the-counter purchases (2101/2102/2103) and admits or registers
nobody; a hospital (定点医疗机构) settles visits and is not a pharmacy's till. Every other
transaction (sign-in, person and catalogue queries, 2601, reconciliation) is open to both."""

from __future__ import annotations

from yidi_events.kernel import DomainError
from yidi_settlement.domain.reference import InstitutionKind

PHARMACY_ONLY = frozenset({"2101", "2102", "2103"})
HOSPITAL_ONLY = frozenset(
    {
        *("2201", "2202", "2203", "2203A", "2204", "2205", "2206", "2207", "2208"),
        *("2301", "2302", "2303", "2304", "2305"),
        *("2401", "2402", "2403", "2404", "2405"),
        *("4101", "4101A"),
    }
)
_ONLY = {InstitutionKind.PHARMACY: HOSPITAL_ONLY, InstitutionKind.HOSPITAL: PHARMACY_ONLY}


def check_sender(kind: str, institution: str, infno: str) -> None:
    """Refuse a transaction the institution's kind may not send; changes nothing."""
    own = InstitutionKind(kind)
    if infno in _ONLY[own]:
        raise DomainError(
            "his.institution_kind",
            f"infno {infno} is not a transaction a {own.value} sends",
            field="infno",
            values={"infno": infno, "fixmedins_code": institution},
        )
