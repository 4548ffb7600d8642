"""The 3202 file edge: parse the hospital's ZIP, build the result ZIP."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from yidi_reconciliation.adapters.detail_file import (
    RESULT_COLUMNS,
    DetailFileLimits,
    build_result_file,
    parse_detail_file,
)
from yidi_reconciliation.domain.hospital_detail import DetailOutcome, HospitalRow, compare_details
from yidi_reconciliation.domain.hospital_totals import StatementScope
from yidi_reconciliation.domain.records import SettlementRecord

HEADER = "setl_id\tmdtrt_id\tpsn_no\tmedfee_sumamt\tfund_pay_sumamt\tacct_pay\trefd_setl_flag"


def zipped(text: str, name: str = "detail.txt", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text.encode("utf-8"))
        for other, data in (extra or {}).items():
            archive.writestr(other, data)
    return buffer.getvalue()


def test_parses_rows_into_fen_and_refund_flags() -> None:
    text = (
        f"{HEADER}\nS1\tV1\tP1\t1234.50\t864.15\t123.45\t0\nS2\tV2\tP1\t-200\t-140.00\t-20\t1\n\n"
    )
    parsed = parse_detail_file(zipped(text))
    assert parsed.ok
    assert parsed.rows == (
        HospitalRow(
            settlement_id="S1",
            visit_id="V1",
            person_id="P1",
            total_fee=123450,
            fund_total=86415,
            account_paid=12345,
            is_refund=False,
            line=2,
        ),
        HospitalRow(
            settlement_id="S2",
            visit_id="V2",
            person_id="P1",
            total_fee=-20000,
            fund_total=-14000,
            account_paid=-2000,
            is_refund=True,
            line=3,
        ),
    )


def test_columns_may_come_in_any_order_with_a_bom_and_crlf() -> None:
    text = "\ufeffpsn_no\tsetl_id\tmdtrt_id\tacct_pay\tfund_pay_sumamt\tmedfee_sumamt\trefd_setl_flag\r\n"
    text += "P1\tS1\tV1\t1\t2\t3\t\r\n"
    parsed = parse_detail_file(zipped(text))
    assert parsed.ok
    (row,) = parsed.rows
    assert (row.settlement_id, row.total_fee, row.fund_total, row.account_paid) == (
        "S1",
        300,
        200,
        100,
    )
    assert row.is_refund is False


def test_row_errors_carry_line_numbers_and_columns() -> None:
    text = (
        f"{HEADER}\n"
        "S1\tV1\tP1\t12.345\t1\t1\t0\n"  # three decimals
        "S2\tV2\tP1\t1\t1\t1\t2\n"  # bad flag
        "S3\tV3\tP1\t1\t1\n"  # short row
        "S1\tV1\tP1\t1\t1\t1\t0\n"  # fine
        "S1\tV1\tP1\t1\t1\t1\t0\n"  # repeated
    )
    parsed = parse_detail_file(zipped(text))
    assert [(e.line, e.column) for e in parsed.errors] == [
        (2, "medfee_sumamt"),
        (3, "refd_setl_flag"),
        (4, None),
        (6, "setl_id"),
    ]
    assert "first on line 5" in str(parsed.errors[-1])
    assert [r.line for r in parsed.rows] == [5]


def test_a_file_without_a_header_row_has_the_specs_column_order() -> None:
    # The spec asks for no header row; its columns: setl_id, mdtrt_id, psn_no, medfee_sumamt,
    # fund_pay_sumamt, acct_pay, refd_setl_flag.
    parsed = parse_detail_file(
        zipped("S1\tV1\tP1\t3575.00\t1678.75\t1896.25\t0\nS2\tV2\tP2\tx\t0\t0\t0\n")
    )
    assert [(e.line, e.column) for e in parsed.errors] == [(2, "medfee_sumamt")]
    assert parsed.rows == (
        HospitalRow(
            settlement_id="S1",
            visit_id="V1",
            person_id="P1",
            total_fee=357500,
            fund_total=167875,
            account_paid=189625,
            is_refund=False,
            line=1,
        ),
    )


def test_header_missing_a_column_is_reported_on_line_1() -> None:
    parsed = parse_detail_file(zipped("setl_id\tmdtrt_id\n"))
    assert parsed.rows == ()
    assert {e.column for e in parsed.errors} >= {"psn_no", "acct_pay"}
    assert {e.line for e in parsed.errors} == {1}


def test_not_a_zip_two_files_not_utf8_or_too_large_are_file_errors() -> None:
    assert "not a ZIP" in parse_detail_file(b"hello").errors[0].message
    two = zipped(HEADER, extra={"b.txt": b"x"})
    assert "exactly one" in parse_detail_file(two).errors[0].message
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("d.txt", (HEADER + "\nS1\tV1\t张三\t1\t1\t1\t0\n").encode("gbk"))
    assert "not UTF-8" in parse_detail_file(buffer.getvalue()).errors[0].message
    big = parse_detail_file(zipped(HEADER + "\n"), DetailFileLimits(max_uncompressed_bytes=10))
    assert big.errors[0].line == 0
    assert "larger than 10 bytes" in big.errors[0].message


def test_result_file_holds_one_row_per_settlement_with_platform_figures() -> None:
    record = SettlementRecord(
        settlement_id="S1",
        visit_id="V1",
        person_id="P1",
        institution_code="H1",
        clearing_agency="320100",
        insured_region="320500",
        visit_region="320100",
        insurance_type="310",
        clearing_category="21",
        business_date=date(2026, 3, 2),
        total_fee=123450,
        fund_total=86415,
        account_paid=12345,
        cash_paid=24690,
    )
    rows = [
        HospitalRow(
            settlement_id="S1",
            visit_id="V1",
            person_id="P1",
            total_fee=123450,
            fund_total=86400,
            account_paid=12345,
            is_refund=False,
        ),
        HospitalRow(
            settlement_id="H9",
            visit_id="V9",
            person_id="P9",
            total_fee=500,
            fund_total=0,
            account_paid=0,
            is_refund=False,
        ),
    ]
    scope = StatementScope(
        institution_code="H1",
        clearing_agency="320100",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 31),
    )
    result = compare_details(scope, rows, [record])
    data = build_result_file(result.lines)
    assert build_result_file(result.lines) == data  # deterministic bytes
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        lines = archive.read(name).decode("utf-8").splitlines()
    assert lines[0].split("\t") == list(RESULT_COLUMNS)
    h9 = dict(zip(RESULT_COLUMNS, lines[1].split("\t"), strict=True))
    s1 = dict(zip(RESULT_COLUMNS, lines[2].split("\t"), strict=True))
    assert s1["fund_pay_sumamt"] == "864.15"  # the platform's figure
    assert s1["stmt_rslt"] == "1"
    assert s1["memo"].startswith(DetailOutcome.AMOUNT_MISMATCH.value)
    assert "fund_total: platform 864.15, hospital 864.00" in s1["memo"]
    assert h9["memo"].startswith("missing_on_platform")
    assert h9["medfee_sumamt"] == "5.00"


def test_result_file_round_trips_through_the_parser() -> None:
    rows = (
        HospitalRow(
            settlement_id="S1",
            visit_id="V1",
            person_id="P1",
            total_fee=-100,
            fund_total=-70,
            account_paid=-10,
            is_refund=True,
            line=2,
        ),
    )
    scope = StatementScope(
        institution_code="H1",
        clearing_agency="320100",
        start_date=date(2026, 3, 1),
        end_date=date(2026, 3, 1),
    )
    data = build_result_file(compare_details(scope, rows, []).lines)
    assert parse_detail_file(data).rows == rows
