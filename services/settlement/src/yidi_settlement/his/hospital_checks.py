"""3201 totals, 3202 detail, 9101 upload and 9102 download, owned by reconciliation: the national
names <-> the `hospital.*` commands and their results, yuan <-> fen.

The detail file a hospital uploads and the result file it downloads travel as bytes: reconciliation
keeps them between the calls and reads their spec-defined columns itself.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from yidi_events.kernel import SHANGHAI, DomainError, fen_to_yuan, yuan_to_fen
from yidi_settlement.his.envelope import HisEnvelope, quoted
from yidi_settlement.his.fields import DOMAIN_OF
from yidi_settlement.his.limits import check_zip

RECONCILE_TOTALS = "hospital.reconcile_totals"
RECONCILE_DETAILS = "hospital.reconcile_details"
UPLOAD = "hospital.upload_file"
DOWNLOAD = "hospital.download_file"

_FIGURE_NAMES = {
    "total_fee": "medfee_sumamt",
    "fund_total": "fund_pay_sumamt",
    "account_paid": "acct_pay",
    "count": "fixmedins_setl_cnt",
}
_DOWNLOAD_TIME = "%Y-%m-%d %H:%M:%S"
_DESCRIPTION_LENGTH = 200  # stmt_rslt_dscr, 字符型(200)


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


def _date(data: Mapping[str, Any], name: str) -> str:
    text = _text(data, name)
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise DomainError(
            "his.field_invalid",
            f"{name} {text!r} is not a date (yyyy-MM-dd).",
            field=name,
            values={"expected": "date", "value": quoted(text)},
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
            values={"expected": "amount", "value": quoted(value)},
        ) from None


def _count(data: Mapping[str, Any], name: str) -> int:
    value = _text(data, name)
    if not value.isdigit():
        raise DomainError(
            "his.field_invalid",
            f"{name} {value!r} is not a whole number.",
            field=name,
            values={"expected": "integer", "value": quoted(value)},
        )
    return int(value)


def _include_refunds(data: Mapping[str, Any]) -> bool:
    # The spec's 3201/3202 tables name it fixmedins_refd_setl_flag; many clients send
    # refd_setl_flag, as in the reference's notes: read either.
    name = "fixmedins_refd_setl_flag" if "fixmedins_refd_setl_flag" in data else "refd_setl_flag"
    flag = _text(data, name, required=False)
    if flag not in ("", "0", "1"):
        raise DomainError(
            "his.field_invalid",
            f"{name} {flag!r} must be 1 (include cancellations), 0 or empty.",
            field=name,
            values={"expected": "flag", "value": quoted(flag)},
        )
    return flag != "0"  # 1 or empty: the totals include the cancellation records


def _scope(data: Mapping[str, Any], *, per_category: bool) -> dict[str, Any]:
    return {
        "clearing_agency": _text(data, "setl_optins"),
        "start_date": _date(data, "stmt_begndate"),
        "end_date": _date(data, "stmt_enddate"),
        "include_refunds": _include_refunds(data),
        "insurance_type": _text(data, "insutype", required=per_category) or None,
        "clearing_category": _text(data, "clr_type", required=per_category) or None,
    }


def totals_command(envelope: HisEnvelope) -> dict[str, Any]:
    """3201 input -> the hospital's claim for one insurance type and clearing category."""
    data = section(envelope.input, "data")
    return {
        "scope": _scope(data, per_category=True),
        "count": _count(data, "fixmedins_setl_cnt"),
        "total_fee": _fen(data, "medfee_sumamt"),
        "fund_total": _fen(data, "fund_pay_sumamt"),
        "account_paid": _fen(data, "acct_pay"),
    }


def _figure(figure: str, value: int) -> str:
    return str(value) if figure == "count" else fen_to_yuan(value)


def totals_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    """3201 output: `stmt_rslt` 0 balanced / 1 not, and a description in the hospital's names."""
    if result["balanced"]:
        description = result["description"]
    else:
        # Compact: the spec gives stmt_rslt_dscr 200 characters, and all four figures differing
        # must still fit with both values of each.
        parts = "；".join(
            f"{_FIGURE_NAMES[d['figure']]} 平台{_figure(d['figure'], d['platform'])}"
            f" 医院{_figure(d['figure'], d['hospital'])}"
            for d in result["differences"]
        )
        description = (
            f"{result['start_date']}至{result['end_date']}对账不平（金额单位元）：{parts}。"
            "请用3202对明细账"
        )
    return {
        "stmtinfo": {
            "setl_optins": result["clearing_agency"],
            "stmt_rslt": "0" if result["balanced"] else "1",
            "stmt_rslt_dscr": description[:_DESCRIPTION_LENGTH],
        }
    }


def details_command(envelope: HisEnvelope) -> dict[str, Any]:
    """3202 input: the scope, and the uploaded file's query number (or the rows inline)."""
    data = section(envelope.input, "data")
    command: dict[str, Any] = {"scope": _scope(data, per_category=False)}
    inline = envelope.input.get("detail", data.get("detail"))
    if inline is None:
        return {**command, "file_query_no": _text(data, "file_qury_no")}
    if not isinstance(inline, list):
        raise DomainError(
            "his.field_invalid",
            "detail must be a list of rows.",
            field="detail",
            values={"expected": "list"},
        )
    return {**command, "rows": [_inline_row(item) for item in inline]}


def _inline_row(item: Any) -> dict[str, str] | None:
    """A row's cells by domain name, as the hospital wrote them (reconciliation checks them as
    it checks a file's)."""
    if not isinstance(item, Mapping):
        return None
    return {
        DOMAIN_OF[column]: _cell(value)
        for column, value in item.items()
        if column in DOMAIN_OF and value is not None
    }


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value).strip()


def _file_info(result: Mapping[str, Any]) -> dict[str, Any]:
    until = datetime.fromisoformat(result["download_until"])
    return {
        "file_qury_no": result["file_query_no"],
        "filename": result["filename"],
        "dld_endtime": until.astimezone(SHANGHAI).strftime(_DOWNLOAD_TIME),
    }


def details_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {"fileinfo": _file_info(result)}


def upload_command(envelope: HisEnvelope) -> dict[str, Any]:
    """9101 input: `fsUploadIn{in (the file's bytes), filename, fixmedins_code}`."""
    data = section(envelope.input, "fsUploadIn")
    content = _file_content(data)
    check_zip(base64.b64decode(content))  # before reconciliation would inflate it
    return {"filename": _text(data, "filename"), "content": content}


def _file_content(data: Mapping[str, Any]) -> str:
    """The file as base64: sent so, or as a JSON array of bytes (Java's signed bytes -128..127
    or unsigned 0..255), as some clients post it (reference section 0)."""
    value = data.get("in")
    if isinstance(value, list) and value:
        if not all(_is_byte(item) for item in value):
            raise DomainError(
                "his.field_invalid",
                "in must be the file's bytes: base64 text or an array of bytes (-128..255).",
                field="in",
                values={"expected": "base64"},
            )
        return base64.b64encode(bytes(item % 256 for item in value)).decode("ascii")
    encoded = _text(data, "in")
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DomainError(
            "his.field_invalid",
            "in must be the file's bytes in base64.",
            field="in",
            values={"expected": "base64"},
        ) from None
    return encoded


def _is_byte(item: Any) -> bool:
    return isinstance(item, int) and not isinstance(item, bool) and -128 <= item <= 255


def upload_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    """9101 output: the file's query number and name, and the uploader (非空 in the spec)."""
    return {**_file_info(result), "fixmedins_code": envelope.institution_code}


def download_command(envelope: HisEnvelope) -> dict[str, Any]:
    """9102 input: `fsDownloadIn{file_qury_no, filename, fixmedins_code}` -> the query number."""
    return {"file_query_no": _text(section(envelope.input, "fsDownloadIn"), "file_qury_no")}


def download_output(envelope: HisEnvelope, result: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "file_qury_no": result["file_query_no"],
        "filename": result["filename"],
        "file": result["content"],
    }
