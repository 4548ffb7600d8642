"""Extract the spec's code tables (字典表, the 代码表 section) into
`yidi_settlement/his/spec_dictionaries.json`, which 1901 answers from: the values are the spec's,
kept as data, never retyped by hand.

    python services/settlement/tools/extract_spec_dictionaries.py [SPEC_TXT]

Each table is a `名称(code)` line, a `表 N名称` line, a `代码值 | 代码名称 | 代码值 | 代码名称`
header and rows holding two (value, label) pairs side by side: the left column is read to its
end before the right one, which is the order the spec lists the values in.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_SPEC = REPO.parent / "shared" / "reference" / "nhsa-interface-spec-hunan-v1.1.27.txt"
TARGET = Path(__file__).resolve().parents[1] / "src/yidi_settlement/his/spec_dictionaries.json"

_TITLE = re.compile(r"^(?P<name>[^|()（）]+)[(（](?P<code>[A-Za-z][A-Za-z0-9_]*)[)）]\s*$")
_HEADER = "代码值 | 代码名称"


def extract(lines: list[str]) -> dict[str, dict[str, object]]:
    tables: dict[str, dict[str, object]] = {}
    for index, line in enumerate(lines):
        title = _TITLE.match(line.strip())
        if not title or index + 2 >= len(lines) or not lines[index + 2].startswith(_HEADER):
            continue
        left: list[list[str]] = []
        right: list[list[str]] = []
        for row in lines[index + 3 :]:
            cells = [c.strip() for c in row.split("|")]
            if len(cells) < 2 or not row.strip():
                break
            for column, pair in ((left, cells[0:2]), (right, cells[2:4])):
                if len(pair) == 2 and pair[0]:
                    column.append(pair)
        values = [{"value": v, "label": label} for v, label in left + right]
        if values and title["code"] not in tables:
            tables[title["code"]] = {"name": title["name"].strip(), "values": values}
    return tables


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPEC
    tables = extract(spec.read_text(encoding="utf-8").splitlines())
    document = {"source": spec.name, "dictionaries": tables}
    TARGET.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(tables)} dictionaries -> {TARGET}")


if __name__ == "__main__":
    main()
