"""Bulk import of an agency's population file: CSV or JSON -> enrol commands, or row errors.

A file with any invalid row is refused whole, so an agency never ends up with half a population
and a list of rows to re-send. The handler does:

    result = parse_population(text, "csv", today)
    if not result.ok:
        return 422 with result.errors
    for command in result.commands:  # one transaction per file
        decide_enrol(None, command, now) ... (+ the certificate unique constraint)

Columns use domain names (see `_COLUMNS`); files exported by national systems (like
shared/sandbox/persons.json) use national names, translated once in `_from_national_names`.
Balances are yuan with at most two decimals, as agencies export them. `row` is the 1-based
position of the record among the data rows (the CSV header is not counted); 0 means the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from yidi_events.contracts.filing import AssistanceIdentity, EnrolmentStatus, InsuranceType
from yidi_events.kernel import DomainError, yuan_to_fen
from yidi_filing.domain.enrolment import EnrolPerson, validate_enrolment
from yidi_filing.domain.identity import certificate_key
from yidi_filing.domain.record_files import FileFormat, RowError, read_records

__all__ = ["FileFormat", "PopulationImport", "RowError", "parse_population"]

_REQUIRED = (
    "person_id",
    "name",
    "certificate_type",
    "certificate_no",
    "gender",
    "birth_date",
    "insured_region",
    "insurance_type",
    "person_category",
)
_OPTIONAL = (
    "civil_servant",
    "assistance_identities",
    "account_balance_yuan",
    "card_serial",
    "enrolment_status",
    "death_date",
)
_COLUMNS = frozenset(_REQUIRED + _OPTIONAL)
_IDENTITY_SEPARATORS = ("|", ";", ",")


@dataclass(frozen=True)
class PopulationImport:
    commands: tuple[EnrolPerson, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


# --- national names (the one place they are translated) -------------------------------------

_NATIONAL_TO_DOMAIN = {
    "psn_no": "person_id",
    "psn_name": "name",
    "psn_cert_type": "certificate_type",
    "certno": "certificate_no",
    "gend": "gender",
    "brdy": "birth_date",
    "insuplc_admdvs": "insured_region",
    "insutype": "insurance_type",
    "psn_type": "person_category",
    "psn_insu_stas": "enrolment_status",
    "cvlserv_flag": "civil_servant",
    "identities": "assistance_identities",
    "acct_balance": "account_balance_yuan",
    "card_sn": "card_serial",
}
# psn_insu_stas codes: 1 正常参保, 2 暂停参保, 4 终止参保.
_NATIONAL_ENROLMENT_STATUS = {
    "1": EnrolmentStatus.ACTIVE,
    "2": EnrolmentStatus.SUSPENDED,
    "4": EnrolmentStatus.TERMINATED,
}


def _from_national_names(record: Mapping[str, Any]) -> dict[str, Any]:
    """NATIONAL NAMES -> DOMAIN NAMES. Keys already in domain names pass through unchanged."""
    return {
        _NATIONAL_TO_DOMAIN.get(key.strip(), key.strip()): value for key, value in record.items()
    }


# --- parsing ---------------------------------------------------------------------------------


def parse_population(content: str, file_format: FileFormat, today: date) -> PopulationImport:
    records, errors = read_records(content, file_format, _REQUIRED, _from_national_names)
    if errors:
        return PopulationImport((), tuple(errors))
    if not records:
        return PopulationImport((), (RowError(0, "", "import.empty", "the file has no rows"),))
    commands: list[EnrolPerson] = []
    seen_ids: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    for row, raw in enumerate(records, start=1):
        record = _from_national_names(raw)
        row_errors = _unknown_columns(row, record)
        command = None if row_errors else _command(row, record, today, row_errors)
        if command is not None:
            _duplicates(row, command, seen_ids, seen_keys, row_errors)
            commands.append(command)
        errors.extend(row_errors)
    if errors:
        return PopulationImport((), tuple(errors))
    return PopulationImport(tuple(commands), ())


def _unknown_columns(row: int, record: Mapping[str, Any]) -> list[RowError]:
    return [
        RowError(row, key, "import.unknown_column", f"{key} is not a population column")
        for key in record
        if key not in _COLUMNS
    ]


def _command(
    row: int, record: Mapping[str, Any], today: date, errors: list[RowError]
) -> EnrolPerson | None:
    def fail(field: str, rule: str, message: str) -> None:
        errors.append(RowError(row, field, rule, message))

    values: dict[str, Any] = {}
    for name in _REQUIRED:
        text = _text(record.get(name))
        if text is None:
            fail(name, "import.required", f"{name} is required")
        values[name] = text
    for name, convert in _CONVERTERS.items():
        text = _text(record.get(name))
        try:
            values[name] = convert(record.get(name), text)
        except ValueError as exc:
            fail(name, f"import.{name}", str(exc))
    if errors:
        return None
    try:
        command = EnrolPerson(
            person_id=values["person_id"],
            insured_region=values["insured_region"],
            insurance_type=values["insurance_type"],
            person_category=values["person_category"],
            civil_servant=values["civil_servant"],
            assistance_identities=values["assistance_identities"],
            name=values["name"],
            certificate_type=values["certificate_type"],
            certificate_no=values["certificate_no"],
            gender=values["gender"],
            birth_date=values["birth_date"],
            card_serial=values["card_serial"],
            account_balance=values["account_balance_yuan"],
            enrolment_status=values["enrolment_status"],
            death_date=values["death_date"],
        )
        return validate_enrolment(command, today)
    except DomainError as exc:
        fail(exc.field or "", exc.rule, exc.message)
        return None


def _duplicates(
    row: int,
    command: EnrolPerson,
    seen_ids: dict[str, int],
    seen_keys: dict[str, int],
    errors: list[RowError],
) -> None:
    first = seen_ids.setdefault(command.person_id, row)
    if first != row:
        errors.append(
            RowError(row, "person_id", "import.duplicate_person", f"same person id as row {first}")
        )
    key = certificate_key(command.certificate_type, command.certificate_no)
    first = seen_keys.setdefault(key, row)
    if first != row:
        errors.append(
            RowError(
                row,
                "certificate_no",
                "person.duplicate_enrolment",
                f"same certificate number as row {first}: one person, one number",
            )
        )


# --- cell converters: (raw value, trimmed text or None) -> domain value ----------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _date(raw: Any, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _insurance_type(raw: Any, text: str | None) -> InsuranceType | None:
    if text is None:
        return None
    try:
        return InsuranceType(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an insurance type (310 or 390)") from None


def _flag(raw: Any, text: str | None) -> bool:
    if isinstance(raw, bool):
        return raw
    if text is None or text.lower() in ("0", "false", "no", "n"):
        return False
    if text.lower() in ("1", "true", "yes", "y"):
        return True
    raise ValueError(f"{text!r} is not a yes/no flag (1 or 0)")


def _identities(raw: Any, text: str | None) -> tuple[AssistanceIdentity, ...]:
    if isinstance(raw, list):
        items = [str(item).strip() for item in raw]
    else:
        items = [text or ""]
        for separator in _IDENTITY_SEPARATORS:
            items = [part.strip() for item in items for part in item.split(separator)]
    try:
        return tuple(AssistanceIdentity(item) for item in items if item)
    except ValueError:
        allowed = ", ".join(i.value for i in AssistanceIdentity)
        raise ValueError(f"assistance identities must be among: {allowed}") from None


def _balance(raw: Any, text: str | None) -> int:
    return 0 if text is None else yuan_to_fen(text)


def _status(raw: Any, text: str | None) -> EnrolmentStatus:
    if text is None:
        return EnrolmentStatus.ACTIVE
    if text in _NATIONAL_ENROLMENT_STATUS:
        return _NATIONAL_ENROLMENT_STATUS[text]
    try:
        return EnrolmentStatus(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an enrolment status (active/suspended/terminated)"
        ) from None


def _keep(raw: Any, text: str | None) -> str | None:
    return text


_CONVERTERS = {
    "birth_date": _date,
    "insurance_type": _insurance_type,
    "civil_servant": _flag,
    "assistance_identities": _identities,
    "account_balance_yuan": _balance,
    "card_serial": _keep,
    "enrolment_status": _status,
    "death_date": _date,
}
