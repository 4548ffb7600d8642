"""Bulk import of a population file: all rows valid, or the whole file refused with row errors."""

from __future__ import annotations

import json
from datetime import date

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.filing import AssistanceIdentity, EnrolmentStatus, InsuranceType
from yidi_filing.domain.population_import import RowError, parse_population

TODAY = date(2026, 3, 10)
SHARED = shared_dir()
SANDBOX = SHARED / "sandbox/persons.json"

HEADER = (
    "person_id,name,certificate_type,certificate_no,gender,birth_date,insured_region,"
    "insurance_type,person_category,civil_servant,assistance_identities,account_balance_yuan\n"
)
ROW_1 = (
    "32050000000000000001,张建国,01,320500195603120111,1,1956-03-12,320500,310,1201,0,,3500.00\n"
)
ROW_2 = "61100000000000000003,王大山,01,611000198506200335,1,1985-06-20,611000,390,1501,0,dibao|tekun,0\n"


def test_the_sandbox_population_in_national_names_imports_whole() -> None:
    result = parse_population(SANDBOX.read_text(encoding="utf-8"), "json", TODAY)
    assert result.ok, result.errors
    assert len(result.commands) == 9
    first = result.commands[0]
    assert (first.person_id, first.certificate_no, first.account_balance) == (
        "32050000000000000001",
        "320500195603120111",
        350000,
    )
    assert first.insurance_type is InsuranceType.EMPLOYEE
    assert first.enrolment_status is EnrolmentStatus.ACTIVE
    by_id = {c.person_id: c for c in result.commands}
    assert by_id["61100000000000000003"].assistance_identities == (AssistanceIdentity.DIBAO,)
    assert by_id["32050000000000000005"].civil_servant is True
    assert by_id["32130000000000000006"].death_date == date(2026, 3, 1)


def test_a_csv_with_domain_names_imports() -> None:
    result = parse_population(HEADER + ROW_1 + ROW_2, "csv", TODAY)
    assert result.ok, result.errors
    assert result.commands[1].assistance_identities == (
        AssistanceIdentity.DIBAO,
        AssistanceIdentity.TEKUN,
    )
    assert result.commands[0].account_balance == 350000


def test_one_bad_row_refuses_the_whole_file_with_its_row_and_field() -> None:
    bad = ROW_2.replace("611000198506200335", "611000198506200336")
    result = parse_population(HEADER + ROW_1 + bad, "csv", TODAY)
    assert not result.ok
    assert result.commands == ()
    assert result.errors[0].row == 2
    assert (result.errors[0].field, result.errors[0].rule) == (
        "certificate_no",
        "person.certificate_checksum",
    )


def test_cell_format_errors_are_all_reported_for_a_row() -> None:
    bad = (
        ROW_1.replace("1956-03-12", "12/03/1956")
        .replace(",310,", ",320,")
        .replace("3500.00", "35.001")
    )
    result = parse_population(HEADER + bad, "csv", TODAY)
    assert {(e.row, e.field) for e in result.errors} == {
        (1, "birth_date"),
        (1, "insurance_type"),
        (1, "account_balance_yuan"),
    }


def test_the_same_certificate_twice_in_a_file_is_one_person_one_number() -> None:
    twin = ROW_1.replace("32050000000000000001", "32050000000000000099").replace(
        "320500195603120111", "320500195603120111 "
    )
    result = parse_population(HEADER + ROW_1 + twin, "csv", TODAY)
    assert result.errors == (
        RowError(
            2,
            "certificate_no",
            "person.duplicate_enrolment",
            "same certificate number as row 1: one person, one number",
        ),
    )


def test_the_same_person_id_twice_is_refused() -> None:
    result = parse_population(HEADER + ROW_1 + ROW_1, "csv", TODAY)
    assert {e.rule for e in result.errors} == {
        "import.duplicate_person",
        "person.duplicate_enrolment",
    }


def test_file_level_errors_use_row_zero() -> None:
    missing = parse_population("person_id,name\n1,a\n", "csv", TODAY)
    assert {e.field for e in missing.errors} >= {"certificate_no", "birth_date"}
    assert all(e.row == 0 and e.rule == "import.missing_column" for e in missing.errors)
    assert parse_population("{}", "json", TODAY).errors[0].rule == "import.format"
    assert parse_population("not json", "json", TODAY).errors[0].row == 0
    assert parse_population(HEADER, "csv", TODAY).errors[0].rule == "import.empty"


def test_an_unknown_column_is_refused_rather_than_silently_dropped() -> None:
    record = json.loads(SANDBOX.read_text(encoding="utf-8"))[0]
    record["acct_balnce"] = "1.00"
    result = parse_population(json.dumps([record]), "json", TODAY)
    assert result.errors[0].rule == "import.unknown_column"
    assert result.errors[0].field == "acct_balnce"


def test_missing_required_values_name_their_field() -> None:
    record = json.loads(SANDBOX.read_text(encoding="utf-8"))[0]
    del record["certno"]
    result = parse_population(json.dumps([record]), "json", TODAY)
    assert [(e.row, e.field, e.rule) for e in result.errors] == [
        (1, "certificate_no", "import.required")
    ]
