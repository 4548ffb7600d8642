"""Identity documents and "one person, one number" (一人一号, seed 004).

The uniqueness of a certificate number spans persons (aggregates), so it cannot live in the person
aggregate: the handler writes `certificate_key(...)` into a table with a unique constraint in the
same transaction as `PersonEnrolled`, and maps the unique violation to `duplicate_enrolment(...)`.

    try:
        insert into person_certificates (certificate_key) values (certificate_key(type, no))
    except UniqueViolation:
        raise duplicate_enrolment(type, no)
"""

from __future__ import annotations

from datetime import date

from yidi_events.kernel import Conflict, DomainError

RESIDENT_ID = "01"  # 居民身份证 (the 18-character resident identity card number)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_MAX_CERTIFICATE_LENGTH = 50


def normalise_certificate_no(certificate_no: str) -> str:
    # Clerks type a lower-case x and stray spaces; the same card must always give the same key.
    return certificate_no.strip().upper()


def certificate_key(certificate_type: str, certificate_no: str) -> str:
    """The canonical key of a certificate; two enrolments with the same key are the same person."""
    return f"{certificate_type.strip()}:{normalise_certificate_no(certificate_no)}"


def duplicate_enrolment(certificate_type: str, certificate_no: str) -> Conflict:
    """The refusal for a second basic enrolment of a certificate number already insured."""
    return Conflict(
        "person.duplicate_enrolment",
        f"certificate {mask_certificate_no(certificate_no)} (type {certificate_type}) is already "
        "enrolled in basic medical insurance: one person, one number",
        field="certificate_no",
    )


def mask_certificate_no(certificate_no: str) -> str:
    """Certificate numbers are masked wherever people read them (logs, messages)."""
    text = normalise_certificate_no(certificate_no)
    if len(text) <= 8:
        return "*" * len(text)
    return f"{text[:4]}{'*' * (len(text) - 8)}{text[-4:]}"


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def validate_certificate(certificate_type: str, certificate_no: str) -> str:
    """Check a certificate number and return its canonical form; raise DomainError if invalid."""
    if not certificate_type.strip():
        raise DomainError(
            "person.certificate_type", "the certificate type is required", field="certificate_type"
        )
    text = normalise_certificate_no(certificate_no)
    if not text or len(text) > _MAX_CERTIFICATE_LENGTH:
        raise DomainError(
            "person.certificate_format",
            f"the certificate number must have 1 to {_MAX_CERTIFICATE_LENGTH} characters",
            field="certificate_no",
        )
    if certificate_type.strip() == RESIDENT_ID:
        _validate_resident_id(text)
    return text


def _validate_resident_id(text: str) -> None:
    if len(text) != 18 or not text[:17].isdigit() or not (text[17].isdigit() or text[17] == "X"):
        raise DomainError(
            "person.certificate_format",
            "a resident ID number has 17 digits followed by a digit or X",
            field="certificate_no",
        )
    if resident_id_birth_date(text) is None:
        raise DomainError(
            "person.certificate_format",
            "the resident ID number does not contain a valid birth date",
            field="certificate_no",
        )
    if resident_id_check_char(text[:17]) != text[17]:
        raise DomainError(
            "person.certificate_checksum",
            f"resident ID number {mask_certificate_no(text)} fails its check digit: "
            "it was probably mistyped",
            field="certificate_no",
        )


def resident_id_birth_date(text: str) -> date | None:
    try:
        return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return None


def resident_id_gender(text: str) -> str:
    """National gender code implied by a resident ID: odd 17th digit male "1", even female "2"."""
    return "1" if int(text[16]) % 2 else "2"
