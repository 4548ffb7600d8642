"""Reading an agency's bulk file (CSV or JSON) into records, or the errors that refuse it whole.

Each import (the population, local settlements) checks its own columns and values; this reads
the file. `row` is the 1-based position of the record among the data rows (the CSV header is not
counted); 0 means the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FileFormat = Literal["csv", "json"]
Translate = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    rule: str
    message: str


def read_records(
    content: str, file_format: FileFormat, required: Sequence[str], translate: Translate
) -> tuple[list[dict[str, Any]], list[RowError]]:
    """The file's records as they stand (`translate` only renames a CSV header to check it)."""
    if file_format == "csv":
        return _csv_records(content, required, translate)
    return _json_records(content)


def _csv_records(
    content: str, required: Sequence[str], translate: Translate
) -> tuple[list[dict[str, Any]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))  # Excel writes a BOM
    header = [translate({name: None}).popitem()[0] for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        return [], [
            RowError(0, name, "import.missing_column", f"the header has no {name} column")
            for name in missing
        ]
    records: list[dict[str, Any]] = []
    for raw in reader:
        if None in raw:
            return [], [
                RowError(
                    len(records) + 1, "", "import.format", "the row has more cells than the header"
                )
            ]
        records.append({k: v for k, v in raw.items() if k is not None})
    return records, []


def _json_records(content: str) -> tuple[list[dict[str, Any]], list[RowError]]:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        return [], [RowError(0, "", "import.format", f"the file is not valid JSON: {exc.msg}")]
    if not isinstance(data, list):
        return [], [RowError(0, "", "import.format", "the file must be a JSON list of records")]
    errors = [
        RowError(row, "", "import.format", "each record must be a JSON object")
        for row, item in enumerate(data, start=1)
        if not isinstance(item, dict)
    ]
    return data, errors
