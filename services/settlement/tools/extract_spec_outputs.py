"""Extract every transaction's output tables from the interface spec's text into
`yidi_settlement/his/spec_outputs.json`, so the gateway's outputs can be checked against the
spec itself rather than against our notes.

    python services/settlement/tools/extract_spec_outputs.py [SPEC_TXT]

The spec (default `../shared/reference/nhsa-interface-spec-hunan-v1.1.27.txt` from the repo
root) names each transaction as a `【infno】title` line and each output table as
`表 N 输出-...（节点标识：node）` followed by `|`-separated rows. A table "without a node"
(无节点) lists fields directly under `output`: its node is "". A table of a file's columns
(输出文件参数说明, 3202) is kept under "@file".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
DEFAULT_SPEC = REPO.parent / "shared" / "reference" / "nhsa-interface-spec-hunan-v1.1.27.txt"
TARGET = Path(__file__).resolve().parents[1] / "src/yidi_settlement/his/spec_outputs.json"

FILE_ROWS = "@file"  # 输出文件参数说明: the columns of a downloaded file's rows, not JSON
_TRANSACTION = re.compile(r"^【(\w+)】\s*(.*)$")
_OUTPUT_TABLE = re.compile(r"^表\s*\d+\s*(?:表\s*)?输出(.*)$")
_NODE = re.compile(r"节点标识[：:]?\s*([A-Za-z_]\w*)")


def _row(line: str) -> dict[str, Any] | None:
    cells = [c.strip() for c in line.split("|")]
    if len(cells) < 7 or not cells[0].isdigit():
        return None
    field = {
        "code": cells[1],
        "name": cells[2],
        "type": cells[3],
        "length": cells[4],
        "coded": cells[5] == "Y",
        "required": cells[6] == "Y",
    }
    note = " | ".join(cells[7:]).strip(" |")
    return {**field, "note": note} if note else field


def extract(text: str) -> dict[str, Any]:
    """infno -> {title, outputs: {node: [field, ...]}} for every transaction with an output."""
    found: dict[str, Any] = {}
    infno: str | None = None
    rows: list[dict[str, Any]] | None = None
    for line in text.splitlines():
        if heading := _TRANSACTION.match(line):
            infno, rows = heading.group(1), None
            found.setdefault(infno, {"title": heading.group(2).strip(), "outputs": {}})
            continue
        if infno is None:
            continue
        if table := _OUTPUT_TABLE.match(line):
            title = table.group(1)
            node = _NODE.search(title)
            key = FILE_ROWS if title.startswith("文件") else node.group(1) if node else ""
            rows = found[infno]["outputs"].setdefault(key, [])
            continue
        if rows is not None:
            if line.startswith("序号"):
                continue
            row = _row(line)
            if row is None:
                rows = None
            else:
                rows.append(row)
    return {k: v for k, v in found.items() if v["outputs"]}


def render(source: str, tables: dict[str, Any]) -> str:
    """The tables as JSON with one field per line, so a change of the spec reads as a diff."""

    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def node(fields: list[dict[str, Any]]) -> str:
        return "[\n" + ",\n".join(f"    {one(f)}" for f in fields) + "\n   ]"

    def transaction(infno: str, body: dict[str, Any]) -> str:
        nodes = ",\n".join(f"   {one(n)}: {node(f)}" for n, f in body["outputs"].items())
        return f' {one(infno)}: {{"title": {one(body["title"])}, "outputs": {{\n{nodes}\n  }}}}'

    rows = ",\n".join(transaction(k, v) for k, v in tables.items())
    return f'{{"source": {one(source)}, "transactions": {{\n{rows}\n}}}}\n'


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    tables = extract(spec.read_text(encoding="utf-8"))
    TARGET.write_text(render(spec.name, tables), encoding="utf-8")
    print(f"{len(tables)} transactions with outputs -> {TARGET}")


if __name__ == "__main__":
    main()
