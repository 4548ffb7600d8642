"""Extract every transaction's input tables, and the envelope's own tables, from the interface
spec's text into `yidi_settlement/his/spec_inputs.json`, for the typed OpenAPI of the HIS
endpoint (his/openapi.py). The companion of extract_spec_outputs.py, with the same row format.

    python services/settlement/tools/extract_spec_inputs.py [SPEC_TXT]

Input tables are `表 N 输入-...（节点标识：node）`; a table without a node lists fields directly
under `input` (node ""). The envelope is `表 2 交易输入参数定义` (request) and `表 3 交易输出参数定义`
(response), kept under the key "@envelope" as {"request": [...], "response": [...]}.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from extract_spec_outputs import _NODE, _TRANSACTION, DEFAULT_SPEC, _row

TARGET = Path(__file__).resolve().parents[1] / "src/yidi_settlement/his/spec_inputs.json"
_INPUT_TABLE = re.compile(r"^表\s*\d+\s*(?:表\s*)?输入(.*)$")
_ENVELOPE = {"交易输入参数定义": "request", "交易输出参数定义": "response"}
_ENVELOPE_TABLE = re.compile(r"^表\s*\d+\s*(交易输入参数定义|交易输出参数定义)\s*$")


def extract(text: str) -> dict[str, Any]:
    """infno -> {title, inputs: {node: [field, ...]}}, and "@envelope"."""
    found: dict[str, Any] = {"@envelope": {"request": [], "response": []}}
    infno: str | None = None
    rows: list[dict[str, Any]] | None = None
    for line in text.splitlines():
        if envelope := _ENVELOPE_TABLE.match(line):
            rows = found["@envelope"][_ENVELOPE[envelope.group(1)]]
            continue
        if heading := _TRANSACTION.match(line):
            infno, rows = heading.group(1), None
            found.setdefault(infno, {"title": heading.group(2).strip(), "inputs": {}})
            continue
        if table := _INPUT_TABLE.match(line):
            if infno is None:
                continue
            title = table.group(1)
            node = _NODE.search(title)
            key = "@file" if title.startswith("文件") else node.group(1) if node else ""
            rows = found[infno]["inputs"].setdefault(key, [])
            continue
        if line.startswith(("表 ", "表")) and rows is not None and not line.startswith("表格"):
            rows = None  # an output table or another table: not an input
            continue
        if rows is not None:
            if line.startswith("序号"):
                continue
            row = _row(line)
            if row is None:
                rows = None
            else:
                rows.append(row)
    return {k: v for k, v in found.items() if k == "@envelope" or v["inputs"]}


def render(source: str, tables: dict[str, Any]) -> str:
    """One field per line, so a change of the spec reads as a diff."""
    import json

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def fields(rows: list[dict[str, Any]]) -> str:
        return "[\n" + ",\n".join(f"    {one(f)}" for f in rows) + "\n   ]"

    def entry(key: str, body: dict[str, Any]) -> str:
        if key == "@envelope":
            parts = ",\n".join(f"   {one(k)}: {fields(v)}" for k, v in body.items())
            return f" {one(key)}: {{\n{parts}\n  }}"
        nodes = ",\n".join(f"   {one(n)}: {fields(f)}" for n, f in body["inputs"].items())
        return f' {one(key)}: {{"title": {one(body["title"])}, "inputs": {{\n{nodes}\n  }}}}'

    rows = ",\n".join(entry(k, v) for k, v in tables.items())
    return f'{{"source": {one(source)}, "transactions": {{\n{rows}\n}}}}\n'


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    tables = extract(spec.read_text(encoding="utf-8"))
    TARGET.write_text(render(spec.name, tables), encoding="utf-8")
    print(f"{len(tables) - 1} transactions with inputs, and the envelope -> {TARGET}")


if __name__ == "__main__":
    main()
