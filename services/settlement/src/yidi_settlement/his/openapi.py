"""The typed OpenAPI of the HIS endpoint: one request and one response schema per transaction the
gateway serves, built from the spec's own tables (spec_inputs.json, spec_outputs.json, extracted
by tools/extract_spec_inputs.py and tools/extract_spec_outputs.py) and from the served table, so a
transaction added to Transactions.by_infno or OWNED appears without anyone writing its schema.

Requests are typed as the gateway reads them (section 0 of the reference): 数值型 as a JSON number
or its decimal text, 字符型 as a string (a numeric code may come as a number), datetimes with a
space or an ISO `T`, `input` as the object or as a JSON string of it. Responses are typed as the
gateway writes them (his/typed.py): 数值型 as a JSON number with the spec's decimals.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from yidi_settlement.his.typed import NUMERIC, numeric_scales, spec_outputs

REQUEST = "HisRequest"
RESPONSE = "HisResponse"
_DAY = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}(:\d{2})?"
_ENVELOPE_NODE = "@envelope"
_NUMBERS = {NUMERIC, "数字型", "BigDecimal", "整数类型"}
_TEXTS = {"字符型", "", "VARCHAR", "文本型", "longtext", "大文本", "Base64字符串"}


@cache
def spec_inputs() -> Mapping[str, Any]:
    """infno -> {title, inputs: {node: [field, ...]}}, and "@envelope": {request, response}."""
    text = (files("yidi_settlement.his") / "spec_inputs.json").read_text(encoding="utf-8")
    tables: Mapping[str, Any] = json.loads(text)["transactions"]
    return tables


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _scale(length: str) -> str:
    return length.replace("，", ",").strip()


def _field(field: Mapping[str, Any], *, reading: bool, in_input: bool = False) -> dict[str, Any]:
    """One spec field: `reading` types it as the gateway reads it, else as it writes it; a code
    inside `input` may come as a number (section 0), an envelope field may not."""
    kind, length = field["type"], _scale(field["length"])
    if not reading and field["code"] in numeric_scales():
        kind = NUMERIC  # as typed.py writes it: where one table mistypes a name, 数值型 wins
    digits, _, decimals = length.partition(",")
    described = " ".join(x for x in (field["name"], field.get("note", "")) if x)
    schema: dict[str, Any]
    if kind in _NUMBERS:
        number: dict[str, Any] = {"type": "number"}
        if decimals.strip().isdigit():
            described += f" ({digits.strip()} digits, {decimals.strip()} decimals)"
        text = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
        schema = {"anyOf": [number, text]} if reading else number
    elif kind == "字节数组":
        schema = {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "string"}]}
    elif kind in ("日期型", "日期"):
        # The spec types some moments 日期型 and notes them yyyy-MM-dd HH:mm:ss (9001 sign_time).
        pattern = rf"^{_DAY}([ T]{_TIME})?$" if reading else rf"^{_DAY}( \d{{2}}:\d{{2}}:\d{{2}})?$"
        schema = {"type": "string", "pattern": pattern}
    elif kind == "日期时间型":
        pattern = rf"^{_DAY}[ T]{_TIME}$" if reading else rf"^{_DAY} \d{{2}}:\d{{2}}:\d{{2}}$"
        schema = {"type": "string", "pattern": pattern}
    elif kind in _TEXTS:
        text_schema: dict[str, Any] = {"type": "string"}
        if length.isdigit():
            described += f" (length {length})"
            if not reading:
                # Only on what the gateway writes: the spec's input lengths are not always the
                # codes' (psn_type is "3" in 2303/2304, its codes have four digits).
                text_schema["maxLength"] = int(length)
        schema = {"anyOf": [text_schema, {"type": "integer"}]} if in_input else text_schema
    else:
        schema = {}  # a structure the spec names in words (集合, DTO, 对象型...)
        described += f" (spec type {kind})"
    if not field["required"]:
        alternatives = schema.pop("anyOf", None) or [dict(schema)]
        schema = {"anyOf": [*alternatives, {"type": "null"}]}
    schema["description"] = described
    if field.get("coded"):
        schema["x-coded"] = True  # a code of the spec's dictionaries (字典表)
    return schema


def _row(fields: Iterable[Mapping[str, Any]], *, reading: bool) -> dict[str, Any]:
    rows = list(fields)
    row: dict[str, Any] = {
        "type": "object",
        "properties": {f["code"]: _field(f, reading=reading, in_input=reading) for f in rows},
    }
    if required := [f["code"] for f in rows if f["required"]]:
        row["required"] = required
    return row


def _tree(infno: str, nodes: Mapping[str, Any], *, reading: bool, rows: dict[str, Any]) -> Any:
    """The input or output object: the fields of the node "" at its top, other nodes under their
    names as one row or a list of rows (a node nested in another's rows also appears at the top,
    where the gateway reads it too). Each node's row goes into `rows` as a component."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, fields in nodes.items():
        if name.startswith("@"):
            continue  # a file's columns, carried by 9101/9102, not in the JSON
        if name == "":
            top = _row(fields, reading=reading)
            properties.update(top["properties"])
            required += top.get("required", [])
            continue
        component = f"His{infno}{'In' if reading else 'Out'}_{name}"
        rows[component] = _row(fields, reading=reading)
        properties[name] = {"anyOf": [_ref(component), {"type": "array", "items": _ref(component)}]}
    tree: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        tree["required"] = required
    return tree


def _title(infno: str) -> str:
    for tables in (spec_inputs(), spec_outputs()):
        if infno in tables:
            title: str = tables[infno]["title"]
            return title
    return ""


def request_schema(infno: str, rows: dict[str, Any]) -> dict[str, Any]:
    envelope = spec_inputs()[_ENVELOPE_NODE]["request"]
    properties = {f["code"]: _field(f, reading=True) for f in envelope}
    known = spec_inputs().get(infno)
    tree = _tree(infno, known["inputs"], reading=True, rows=rows) if known else {"type": "object"}
    properties["infno"] = {"type": "string", "const": infno, "description": "交易编号"}
    properties["input"] = {
        "anyOf": [
            tree,
            {
                "type": "string",
                "contentMediaType": "application/json",
                "description": "the same object as a JSON string, as some older builds send it",
            },
        ],
        "description": "交易输入",
    }
    return {
        "title": f"{infno} {_title(infno)} request".replace("  ", " "),
        "type": "object",
        "properties": properties,
        "required": [f["code"] for f in envelope if f["required"]],
    }


def response_schema(infno: str, rows: dict[str, Any]) -> dict[str, Any]:
    envelope = spec_inputs()[_ENVELOPE_NODE]["response"]
    properties = {f["code"]: _field(f, reading=False) for f in envelope}
    properties["infcode"] = {"type": "integer", "enum": [0, -1], "description": "0 成功，-1 失败"}
    known = spec_outputs().get(infno)
    output = (
        _tree(infno, known["outputs"], reading=False, rows=rows) if known else {"type": "object"}
    )
    properties["output"] = {
        "anyOf": [output, {"type": "null"}],
        "description": "交易输出 (null when infcode is -1)",
    }
    return {
        "title": f"{infno} {_title(infno)} response".replace("  ", " "),
        "type": "object",
        "properties": properties,
        "required": [f["code"] for f in envelope if f["required"]],
    }


def schemas(infnos: Iterable[str]) -> dict[str, Any]:
    """Components: a request and a response per transaction, and the unions the endpoint takes
    (discriminated on infno) and answers."""
    served = sorted(set(infnos))
    found: dict[str, Any] = {}
    for infno in served:
        found[f"{REQUEST}{infno}"] = request_schema(infno, found)
        found[f"{RESPONSE}{infno}"] = response_schema(infno, found)
    found[REQUEST] = {
        "oneOf": [_ref(f"{REQUEST}{i}") for i in served],
        "discriminator": {
            "propertyName": "infno",
            "mapping": {i: f"#/components/schemas/{REQUEST}{i}" for i in served},
        },
    }
    # The response envelope does not carry infno: the request's infno tells which one it is.
    found[RESPONSE] = {"anyOf": [_ref(f"{RESPONSE}{i}") for i in served]}
    return found


def with_schemas(document: dict[str, Any], infnos: Iterable[str]) -> dict[str, Any]:
    """`document` (an OpenAPI document) with the HIS components added."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(schemas(infnos))
    return document


def _refs(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["$ref"]} if isinstance(value.get("$ref"), str) else set()
        for item in value.values():
            found |= _refs(item)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(item) for item in value)) if value else set()
    return set()


def his_document(document: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """The part of a service's OpenAPI document a HIS vendor needs: the operations tagged `tag`
    and the components they reference (docs/his/openapi.json)."""
    paths = {
        path: operations
        for path, operations in document["paths"].items()
        if any(tag in op.get("tags", []) for op in operations.values() if isinstance(op, dict))
    }
    all_schemas = document.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop().rpartition("/")[2]
        if name in wanted or name not in all_schemas:
            continue
        wanted.add(name)
        pending |= _refs(all_schemas[name])
    return {
        "openapi": document["openapi"],
        "info": {**document["info"], "title": "Yidi HIS gateway (national interface)"},
        "paths": paths,
        "components": {"schemas": {name: all_schemas[name] for name in sorted(wanted)}},
    }
