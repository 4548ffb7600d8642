"""The national envelope (his-interface.md section 1): infno, msgid, regions, institution and the
input node in; infcode, err_msg and the output node back. Always parsed before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from yidi_events.kernel import SHANGHAI, DomainError
from yidi_events.kernel.errors import Value
from yidi_events.store.idempotency import request_hash
from yidi_settlement.his.limits import parse_json

MAX_BODY = 512 * 1024
MAX_MESSAGE_ID = 64
# The generic malformed-input rule; each refusal below names a precise one (his/messages.py says
# each in Chinese, with the value received as data).
FORMAT = "his.format"
REQUIRED = "his.required"
TYPE = "his.type"
# .NET clients send ISO datetimes with a T.
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)
# What clients send for an absent optional value (section 0).
ABSENT = (None, "", "null", "NULL")


@dataclass(frozen=True, kw_only=True)
class HisEnvelope:
    infno: str
    message_id: str
    institution_code: str
    visit_region: str
    insured_region: str | None
    input: dict[str, Any]

    def digest(self) -> str:
        """What a repeat of the msgid must carry again to get the kept answer (a number and its
        text are the same request)."""
        return request_hash(
            _texts(
                {
                    "infno": self.infno,
                    "visit_region": self.visit_region,
                    "insured_region": self.insured_region,
                    "input": self.input,
                }
            )
        )


def _texts(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _texts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_texts(item) for item in value]
    return value


def refuse(field: str, message: str, rule: str = FORMAT, **values: Value) -> DomainError:
    return DomainError(rule, message, field=field, values=values)


def quoted(value: Any) -> str:
    # What a refusal quotes back of a value received: its text, cut short (err_msg has 200).
    return str(value)[:40]


def text(node: Mapping[str, Any], field: str, *, required: bool = True) -> str | None:
    value = node.get(field)
    if value in ABSENT:
        if required:
            raise refuse(field, f"{field} is required", REQUIRED)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise refuse(
            field,
            f"{field} must be a string, got {type(value).__name__}",
            TYPE,
            expected="string",
        )
    return str(value)


def required(node: Mapping[str, Any], field: str) -> str:
    value = text(node, field)
    assert value is not None
    return value


def node(parent: Mapping[str, Any], name: str = "data") -> dict[str, Any]:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise refuse(name, f"input.{name} must be an object", TYPE, expected="object")
    return value


def moment(field: str, value: str) -> datetime:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    raise refuse(
        field,
        f"{field} must be a time 'yyyy-MM-dd HH:mm:ss', got {value!r}",
        "his.time",
        value=quoted(value),
    )


def _region(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) != 6 or not value.isdigit():
        raise refuse(
            field,
            f"{field} must be a 6-digit region code, got {value!r}",
            "his.region",
            value=quoted(value),
        )
    return value


def _json(text: bytes | str, field: str) -> Any:
    # Amounts arrive as JSON numbers (4.52, 1.0): their text becomes a Decimal, never a float;
    # depth, integer range and NaN/Infinity are refused on the way in (his/limits.py).
    return parse_json(text, field)


def too_large() -> DomainError:
    return refuse(
        "body", f"the request body is larger than {MAX_BODY} bytes", "his.body_size", limit=MAX_BODY
    )


def parse_envelope(body: bytes) -> HisEnvelope:
    if len(body) > MAX_BODY:
        raise too_large()
    try:
        doc = _json(body, "body")
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse("body", f"the request body is not valid JSON: {exc}", "his.json") from exc
    if not isinstance(doc, dict):
        raise refuse(
            "body", "the request body must be a JSON object (the envelope)", TYPE, expected="object"
        )
    infno = required(doc, "infno")
    message_id = required(doc, "msgid")
    if len(message_id) > MAX_MESSAGE_ID:
        raise refuse(
            "msgid", "msgid is longer than 64 characters", "his.length", limit=MAX_MESSAGE_ID
        )
    visit_region = _region("mdtrtarea_admvs", required(doc, "mdtrtarea_admvs"))
    insured_region = _region("insuplc_admdvs", text(doc, "insuplc_admdvs", required=False))
    if "input" not in doc:
        # Every national transaction carries an input node, even an empty one: a missing node
        # is a malformed envelope, not an empty request.
        raise refuse("input", "input is required (a JSON object, {} when empty)", REQUIRED)
    raw_input = doc["input"]
    if isinstance(raw_input, str):
        # Some older client builds send the input object as a JSON string of it.
        try:
            raw_input = _json(raw_input, "input")
        except ValueError as exc:
            raise refuse(
                "input", f"input is a string that is not a JSON object: {exc}", "his.json"
            ) from exc
    if not isinstance(raw_input, dict):
        raise refuse("input", "input must be a JSON object", TYPE, expected="object")
    return HisEnvelope(
        infno=infno,
        message_id=message_id,
        institution_code=required(doc, "fixmedins_code"),
        visit_region=visit_region or "",
        insured_region=insured_region,
        input=raw_input,
    )


def his_answer(
    *,
    visit_region: str,
    received: datetime,
    responded: datetime,
    sequence: int,
    output: dict[str, Any] | None,
    error: str | None = None,
) -> dict[str, Any]:
    """The response envelope (section 1.3): infcode 0 with output, or -1 with err_msg."""
    stamp = received.astimezone(SHANGHAI)
    return {
        "infcode": -1 if error else 0,
        "inf_refmsgid": f"{visit_region or '000000'}{stamp:%Y%m%d%H%M%S}{sequence % 10**10:010d}",
        "refmsg_time": _ms(received),
        "respond_time": _ms(responded),
        "err_msg": error[:200] if error else None,
        "warn_msg": None,
        "output": output if not error else None,
    }


def _ms(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"


def local_time(at: datetime) -> str:
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}"


SUMMARY = (
    "National HIS envelope (infno, msgid, ..., input), signed with the TIF (x-tif-*), "
    "CSB (_api_*) or body-HMAC (x-yidi-*) headers"
)
DESCRIPTION = (
    "Answers infcode 0 with output, or infcode -1 with err_msg naming the field and rule. "
    "A repeated msgid from the same institution returns the stored answer; a different "
    "body under the same msgid is refused."
)
