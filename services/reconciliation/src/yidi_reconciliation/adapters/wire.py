"""The HIS edge of reconciliation: 3201 totals, 3202 detail with 9101 upload / 9102 download.

The hospital uploads a ZIP holding one tab-separated UTF-8 text file whose first row names the
columns; we answer with a ZIP of the same shape holding one row per settlement and its result.
National column names live here and nowhere else: `parse_detail_file` turns the upload into
domain `HospitalRow`s (or errors with line numbers, for the clerk to fix the file), and
`build_result_file` turns the domain comparison into the result file. Both work in memory.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from yidi_events.kernel import SHANGHAI, DomainError, fen_to_yuan, yuan_to_fen
from yidi_reconciliation.domain.hospital_detail import DetailLine, DetailOutcome, HospitalRow
from yidi_reconciliation.domain.hospital_totals import StatementScope, TotalsClaim, TotalsComparison

UPLOAD_COLUMNS = (
    "setl_id",
    "mdtrt_id",
    "psn_no",
    "medfee_sumamt",
    "fund_pay_sumamt",
    "acct_pay",
    "refd_setl_flag",
)
RESULT_COLUMNS = (*UPLOAD_COLUMNS, "stmt_rslt", "memo")
_AMOUNTS = {
    "medfee_sumamt": "total_fee",
    "fund_pay_sumamt": "fund_total",
    "acct_pay": "account_paid",
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same lines always give the same bytes


@dataclass(frozen=True)
class DetailFileLimits:
    max_uncompressed_bytes: int = 64 * 1024 * 1024  # a day's detail of a large hospital fits


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header row; 0 is the file as a whole
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        column = f", column {self.column}" if self.column else ""
        return f"{where}{column}: {self.message}"


@dataclass(frozen=True)
class DetailFile:
    rows: tuple[HospitalRow, ...]
    errors: tuple[RowError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_detail_file(data: bytes, limits: DetailFileLimits = DetailFileLimits()) -> DetailFile:
    text, error = _unzip_single_text(data, limits)
    if error is not None:
        return DetailFile((), (error,))
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return DetailFile(
            (), (RowError(1, None, "the file is empty; the first row must name the columns"),)
        )
    header = [name.strip() for name in lines[0].split("\t")]
    missing = [c for c in UPLOAD_COLUMNS if c not in header]
    if missing:
        return DetailFile(
            (), tuple(RowError(1, c, "column missing from the header row") for c in missing)
        )
    rows: list[HospitalRow] = []
    errors: list[RowError] = []
    first_seen: dict[str, int] = {}
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        cells = raw.split("\t")
        if len(cells) != len(header):
            errors.append(
                RowError(
                    number, None, f"expected {len(header)} tab-separated values, found {len(cells)}"
                )
            )
            continue
        row, row_errors = _row(number, dict(zip(header, (c.strip() for c in cells), strict=True)))
        errors.extend(row_errors)
        if row is None:
            continue
        if row.settlement_id in first_seen:
            errors.append(
                RowError(
                    number,
                    "setl_id",
                    f"settlement {row.settlement_id} is listed"
                    f" again (first on line {first_seen[row.settlement_id]})",
                )
            )
            continue
        first_seen[row.settlement_id] = number
        rows.append(row)
    return DetailFile(tuple(rows), tuple(errors))


def _unzip_single_text(data: bytes, limits: DetailFileLimits) -> tuple[str, RowError | None]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return "", RowError(0, None, "the upload is not a ZIP file")
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            return "", RowError(
                0, None, f"the ZIP must hold exactly one text file, it holds {len(members)}"
            )
        member = members[0]
        if member.file_size > limits.max_uncompressed_bytes:
            return "", RowError(
                0, None, f"the text file is larger than {limits.max_uncompressed_bytes} bytes"
            )
        try:
            with archive.open(member) as stream:
                raw = stream.read(limits.max_uncompressed_bytes + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
            return "", RowError(0, None, f"the ZIP cannot be read ({exc})")
    if len(raw) > limits.max_uncompressed_bytes:
        return "", RowError(
            0, None, f"the text file is larger than {limits.max_uncompressed_bytes} bytes"
        )
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return "", RowError(0, None, f"the text file is not UTF-8 (byte {exc.start})")


def _row(number: int, cells: dict[str, str]) -> tuple[HospitalRow | None, list[RowError]]:
    errors: list[RowError] = []
    for column in ("setl_id", "mdtrt_id", "psn_no"):
        if not cells[column]:
            errors.append(RowError(number, column, "value is empty"))
    amounts: dict[str, int] = {}
    for column, name in _AMOUNTS.items():
        try:
            amounts[name] = yuan_to_fen(cells[column])
        except ValueError:
            errors.append(
                RowError(
                    number,
                    column,
                    f"{cells[column]!r} is not an amount in yuan with at most two decimals",
                )
            )
    flag = cells["refd_setl_flag"]
    if flag not in ("0", "1", ""):
        errors.append(RowError(number, "refd_setl_flag", f"{flag!r} must be 1 (cancellation) or 0"))
    if errors:
        return None, errors
    row = HospitalRow(
        settlement_id=cells["setl_id"],
        visit_id=cells["mdtrt_id"],
        person_id=cells["psn_no"],
        is_refund=flag == "1",
        line=number,
        **amounts,
    )
    return row, []


def build_result_file(
    lines: Sequence[DetailLine], filename: str = "stmt_detail_result.txt"
) -> bytes:
    text = io.StringIO()
    text.write("\t".join(RESULT_COLUMNS) + "\n")
    for line in lines:
        text.write("\t".join(_result_cells(line)) + "\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(filename, date_time=_FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def _result_cells(line: DetailLine) -> tuple[str, ...]:
    # The platform's figures when it has the settlement; otherwise echo the hospital's.
    source = line.platform or line.hospital
    assert source is not None
    memo = (
        f"{line.outcome.value}: {line.memo}"
        if line.outcome is not DetailOutcome.MATCHED
        else (line.outcome.value)
    )
    return (
        line.settlement_id,
        line.visit_id,
        line.person_id,
        fen_to_yuan(source.total_fee),
        fen_to_yuan(source.fund_total),
        fen_to_yuan(source.account_paid),
        "1" if source.is_refund else "0",
        "0" if line.outcome is DetailOutcome.MATCHED else "1",
        " ".join(memo.split()),  # no tab or newline may break the row
    )


# --- the internal HIS endpoint: 3201 totals, 3202 detail, 9101 upload, 9102 download -----------

_TOTAL_FIGURES = {
    "total_fee": "medfee_sumamt",
    "fund_total": "fund_pay_sumamt",
    "account_paid": "acct_pay",
    "count": "fixmedins_setl_cnt",
}
_DOWNLOAD_TIME = "%Y-%m-%d %H:%M:%S"


def section(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The national input nests its fields under `name` (`data`, `fsUploadIn`...); accept the
    fields at the top level too, as some HIS vendors send them."""
    inner = payload.get(name)
    if inner is None:
        return payload
    if not isinstance(inner, Mapping):
        raise DomainError("his.input_invalid", f"{name} must be an object.", field=name)
    return inner


def _text(data: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = data.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise DomainError("his.field_missing", f"{name} is required.", field=name)
        return ""
    return str(value).strip()


def _date(data: Mapping[str, Any], name: str) -> date:
    text = _text(data, name)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise DomainError(
            "his.field_invalid", f"{name} {text!r} is not a date (yyyy-MM-dd).", field=name
        ) from None


def _fen(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if value is None or value == "":
        raise DomainError("his.field_missing", f"{name} is required.", field=name)
    try:
        # A JSON number arrives as a float; its shortest repr is the decimal the HIS wrote, and
        # yuan_to_fen refuses anything with more than two decimals rather than rounding it.
        return yuan_to_fen(repr(value) if isinstance(value, float) else str(value))
    except ValueError:
        raise DomainError(
            "his.field_invalid",
            f"{name} {value!r} is not an amount in yuan with at most two decimals.",
            field=name,
        ) from None


def _count(data: Mapping[str, Any], name: str) -> int:
    value = _text(data, name)
    if not value.isdigit():
        raise DomainError(
            "his.field_invalid", f"{name} {value!r} is not a whole number.", field=name
        )
    return int(value)


def _include_refunds(data: Mapping[str, Any]) -> bool:
    flag = _text(data, "refd_setl_flag", required=False)
    if flag not in ("", "0", "1"):
        raise DomainError(
            "his.field_invalid",
            f"refd_setl_flag {flag!r} must be 1 (include cancellations), 0 or empty.",
            field="refd_setl_flag",
        )
    return flag != "0"  # 1 or empty: the totals include the cancellation records


def totals_claim(institution_code: str, payload: Mapping[str, Any]) -> TotalsClaim:
    """3201 input -> the hospital's claim."""
    data = section(payload, "data")
    scope = StatementScope(
        institution_code=institution_code,
        clearing_agency=_text(data, "setl_optins"),
        start_date=_date(data, "stmt_begndate"),
        end_date=_date(data, "stmt_enddate"),
        include_refunds=_include_refunds(data),
        insurance_type=_text(data, "insutype"),
        clearing_category=_text(data, "clr_type"),
    )
    return TotalsClaim(
        scope=scope,
        count=_count(data, "fixmedins_setl_cnt"),
        total_fee=_fen(data, "medfee_sumamt"),
        fund_total=_fen(data, "fund_pay_sumamt"),
        account_paid=_fen(data, "acct_pay"),
    )


def _figure(figure: str, value: int) -> str:
    return str(value) if figure == "count" else fen_to_yuan(value)


def totals_output(claim: TotalsClaim, result: TotalsComparison) -> dict[str, Any]:
    """3201 output: `stmt_rslt` 0 balanced / 1 not, and a description in the hospital's names."""
    if result.balanced:
        description = result.description
    else:
        scope = claim.scope
        parts = "; ".join(
            f"{_TOTAL_FIGURES[d.figure]}: platform {_figure(d.figure, d.platform)},"
            f" hospital {_figure(d.figure, d.hospital)}"
            for d in result.differences
        )
        description = (
            f"Not balanced for {scope.start_date} to {scope.end_date} (amounts in yuan): {parts}."
            " Reconcile the detail (3202) to find the settlements that differ."
        )
    return {
        "stmtinfo": {
            "setl_optins": claim.scope.clearing_agency,
            "stmt_rslt": "0" if result.balanced else "1",
            "stmt_rslt_dscr": description,
        }
    }


@dataclass(frozen=True)
class DetailRequest:
    scope: StatementScope
    file_query_no: str | None
    rows: tuple[HospitalRow, ...] | None  # rows sent inline as JSON instead of a file


def detail_request(institution_code: str, payload: Mapping[str, Any]) -> DetailRequest:
    """3202 input: the scope, and the uploaded file's query number (or the rows inline)."""
    data = section(payload, "data")
    scope = StatementScope(
        institution_code=institution_code,
        clearing_agency=_text(data, "setl_optins"),
        start_date=_date(data, "stmt_begndate"),
        end_date=_date(data, "stmt_enddate"),
        include_refunds=_include_refunds(data),
        clearing_category=_text(data, "clr_type", required=False) or None,
        insurance_type=_text(data, "insutype", required=False) or None,
    )
    inline = payload.get("detail", data.get("detail"))
    if inline is not None:
        return DetailRequest(scope, None, _inline_rows(inline))
    return DetailRequest(scope, _text(data, "file_qury_no"), None)


def _inline_rows(inline: Any) -> tuple[HospitalRow, ...]:
    if not isinstance(inline, list):
        raise DomainError("his.field_invalid", "detail must be a list of rows.", field="detail")
    rows: list[HospitalRow] = []
    errors: list[RowError] = []
    for number, item in enumerate(inline, start=1):
        if not isinstance(item, Mapping):
            errors.append(RowError(number, None, "a row must be an object"))
            continue
        cells = {c: "" if item.get(c) is None else _cell(item.get(c)) for c in UPLOAD_COLUMNS}
        row, row_errors = _row(number, cells)
        errors.extend(row_errors)
        if row is not None:
            rows.append(row)
    if errors:
        raise detail_invalid(tuple(errors), field="detail")
    return tuple(rows)


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value).strip()


def detail_invalid(errors: Sequence[RowError], *, field: str = "file_qury_no") -> DomainError:
    shown = "; ".join(str(e) for e in errors[:20])
    more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
    return DomainError(
        "reconciliation.detail_invalid",
        f"The detail cannot be reconciled: {shown}{more}.",
        field=field,
    )


def file_info(file_query_no: str, filename: str, download_until: datetime) -> dict[str, Any]:
    return {
        "file_qury_no": file_query_no,
        "filename": filename,
        "dld_endtime": download_until.astimezone(SHANGHAI).strftime(_DOWNLOAD_TIME),
    }


def detail_output(file_query_no: str, filename: str, download_until: datetime) -> dict[str, Any]:
    return {"fileinfo": file_info(file_query_no, filename, download_until)}


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def upload_request(payload: Mapping[str, Any]) -> Upload:
    """9101 input: `fsUploadIn{in (base64 bytes), filename, fixmedins_code}`."""
    data = section(payload, "fsUploadIn")
    encoded = _text(data, "in")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(
            "his.field_invalid", "in must be the file's bytes in base64.", field="in"
        ) from None
    return Upload(_text(data, "filename"), content)


def download_request(payload: Mapping[str, Any]) -> str:
    """9102 input: `fsDownloadIn{file_qury_no, filename, fixmedins_code}` -> the query number."""
    return _text(section(payload, "fsDownloadIn"), "file_qury_no")


def download_output(file_query_no: str, filename: str, content: bytes) -> dict[str, Any]:
    return {
        "file_qury_no": file_query_no,
        "filename": filename,
        "file": base64.b64encode(content).decode("ascii"),
    }
