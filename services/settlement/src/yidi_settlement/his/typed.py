"""Answers typed as the spec's output tables type them (spec_outputs.json, extracted from the
spec by tools/extract_spec_outputs.py).

The mappings in outputs.py and the owners' output maps build amounts as exact yuan strings,
which is also how an answer is kept for a repeated msgid; only the HTTP body types them. A
数值型 field leaves as a JSON number with the spec's decimals, written from its decimal text
(`12.30`, never a binary float's `12.3`), because real clients read it into C# `decimal` or
Java `BigDecimal`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi.responses import JSONResponse

NUMERIC = "数值型"
# 1318/1319 type their amount and ratio as Java's BigDecimal: a number all the same
NUMBERS = (NUMERIC, "BigDecimal")
TEXT = "字符型"


@cache
def spec_outputs() -> Mapping[str, Any]:
    """infno -> {title, outputs: {node: [field, ...]}}; the node "" is the output itself."""
    text = (files("yidi_settlement.his") / "spec_outputs.json").read_text(encoding="utf-8")
    tables: Mapping[str, Any] = json.loads(text)["transactions"]
    return tables


def _scale(length: str) -> int | None:
    """The decimals of a length such as `16,2` (the spec also writes a full-width comma)."""
    _, _, decimals = length.replace("，", ",").partition(",")
    return int(decimals) if decimals.strip().isdigit() else None


@cache
def numeric_scales() -> Mapping[str, int | None]:
    """Every output field the spec types 数值型, with its decimals (None: as the value has
    them). A name means one thing in every table; where one table mistypes it, 数值型 wins."""
    scales: dict[str, int | None] = {}
    for transaction in spec_outputs().values():
        for fields in transaction["outputs"].values():
            for field in fields:
                if field["type"] in NUMBERS:
                    scale = _scale(field["length"])
                    if scales.get(field["code"]) is None:
                        scales[field["code"]] = scale
    return scales


def _number(value: Any, scale: int | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal) or value == "":
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return value
    return number if scale is None else number.quantize(Decimal(1).scaleb(-scale))


def typed(output: Any) -> Any:
    """An output node with every 数值型 field as a Decimal of the spec's scale."""
    if isinstance(output, list):
        return [typed(item) for item in output]
    if not isinstance(output, dict):
        return output
    scales = numeric_scales()
    return {
        name: _number(value, scales[name])
        if name in scales and not isinstance(value, dict | list)
        else typed(value)
        for name, value in output.items()
    }


def dumps(value: Any) -> str:
    """JSON with a Decimal written as the number its text is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


class SpecTypedJSON(JSONResponse):
    """The HIS response envelope with its `output` typed as the spec types it."""

    def render(self, content: Any) -> bytes:
        if isinstance(content, dict) and content.get("output") is not None:
            content = {**content, "output": typed(content["output"])}
        return dumps(content).encode("utf-8")
