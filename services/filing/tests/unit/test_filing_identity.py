"""Resident ID checksum and the canonical certificate key behind "one person, one number"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yidi_events.kernel import Conflict, DomainError
from yidi_filing.domain.identity import (
    certificate_key,
    duplicate_enrolment,
    mask_certificate_no,
    resident_id_check_char,
    validate_certificate,
)

SANDBOX_IDS = [
    "320500195603120111",
    "321300197811050225",
    "611000198506200335",
    "611000201009090889",
]


@pytest.mark.parametrize("certificate_no", SANDBOX_IDS)
def test_sandbox_resident_ids_pass_the_checksum(certificate_no: str) -> None:
    assert validate_certificate("01", certificate_no) == certificate_no


def test_a_known_x_check_character_is_accepted_in_either_case() -> None:
    first17 = "11010519491231002"
    assert resident_id_check_char(first17) == "X"
    assert validate_certificate("01", first17 + "x") == first17 + "X"


def test_one_mistyped_digit_fails_the_checksum() -> None:
    with pytest.raises(DomainError) as refused:
        validate_certificate("01", "320500195603120112")
    assert (refused.value.rule, refused.value.field) == (
        "person.certificate_checksum",
        "certificate_no",
    )


@pytest.mark.parametrize(
    "certificate_no",
    ["32050019560312011", "3205001956031201111", "32050019560312011Y", "320500195613320111"],
)
def test_malformed_resident_ids_are_refused(certificate_no: str) -> None:
    with pytest.raises(DomainError) as refused:
        validate_certificate("01", certificate_no)
    assert refused.value.rule == "person.certificate_format"


def test_other_certificate_types_skip_the_resident_id_checksum() -> None:
    assert validate_certificate("06", " e12345678 ") == "E12345678"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from("0123456789X"))
def test_exactly_one_check_character_is_valid(first17: str, check: str) -> None:
    # Only the checksum is under test: put a valid birth date in place.
    body = first17[:6] + "19900101" + first17[14:]
    valid = resident_id_check_char(body) == check
    if valid:
        assert validate_certificate("01", body + check) == body + check
    else:
        with pytest.raises(DomainError):
            validate_certificate("01", body + check)


def test_certificate_key_is_canonical() -> None:
    assert certificate_key("01", " 11010519491231002x ") == certificate_key(
        "01", "11010519491231002X"
    )
    assert certificate_key("01", "A1") != certificate_key("06", "A1")


def test_duplicate_enrolment_names_its_rule_and_field_and_masks_the_number() -> None:
    error = duplicate_enrolment("01", "320500195603120111")
    assert isinstance(error, Conflict)
    assert (error.rule, error.field) == ("person.duplicate_enrolment", "certificate_no")
    assert "320500195603120111" not in error.message
    assert mask_certificate_no("320500195603120111") in error.message
