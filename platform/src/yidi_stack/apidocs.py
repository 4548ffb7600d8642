"""The published API documents: the AsyncAPI document of the topics and each service's OpenAPI.

    python -m yidi_stack.apidocs write    # (make docs) regenerate docs/api/ and docs/his/openapi.json
    python -m yidi_stack.apidocs write --force  # ... even over a breaking change (apicompat)
    python -m yidi_stack.apidocs check    # exit 1 when a committed document is out of date or
                                          # the current one breaks it

They are generated from the event registry and the services' routers, never written by hand; the
suite checks the committed copies are current, like the event schemas. The HIS vendors' kit gets
the HIS gateway's part of settlement's document (one schema per transaction) in docs/his/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from yidi_events.auth.routes import markdown, table
from yidi_settlement.his.openapi import his_document
from yidi_stack.apicompat import breaking_changes
from yidi_stack.platform import DEFINITIONS

# The documents describe the apps' shape; building them needs no real secret or key.
os.environ.setdefault("YIDI_SANDBOX", "1")

ROOT = Path(__file__).resolve().parents[3]  # the checkout: platform/src/yidi_stack/
DOCS = ROOT / "docs"
API_DOCS = DOCS / "api"
HIS_OPENAPI = DOCS / "his" / "openapi.json"
HIS_TAG = "HIS gateway"


def _dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def documents() -> dict[str, str]:
    """Each document's text by its path under docs/."""
    asyncapi = subprocess.run(
        [
            sys.executable,
            "-m",
            "yidi_events.asyncapi",
            "--schema-base",
            "../../libs/events/schemas/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    docs = {"api/asyncapi.json": _dump(json.loads(asyncapi))}
    access = []
    for service, definition in DEFINITIONS.items():
        app = definition.create()
        document = app.openapi()
        docs[f"api/openapi-{service}.json"] = _dump(document)
        if service == "settlement":
            docs[str(HIS_OPENAPI.relative_to(DOCS))] = _dump(his_document(document, HIS_TAG))
        access += table(service, app)
    docs["api/routes.md"] = markdown(access)
    return docs


def breaking(current: dict[str, str]) -> list[str]:
    """What the current OpenAPI documents break of the committed ones (`apicompat`)."""
    found = []
    for name, text in sorted(current.items()):
        committed = DOCS / name
        if not name.startswith("api/openapi-") or not committed.exists():
            continue
        changes = breaking_changes(json.loads(committed.read_text()), json.loads(text))
        found += [f"docs/{name}: {change}" for change in changes]
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    force = "--force" in argv
    current = documents()
    broken = breaking(current)
    for problem in broken:
        print(f"breaking change: {problem}")
    if command == "write":
        if broken and not force:
            print(
                "refusing to write: these changes break clients of the committed APIs; keep the "
                "old shape (add, don't change), or publish a new version path; `--force` only for "
                "an operation no client uses yet"
            )
            return 1
        for name, text in current.items():
            (DOCS / name).parent.mkdir(parents=True, exist_ok=True)
            (DOCS / name).write_text(text)
        print(f"{len(current)} API documents written to {DOCS}")
        return 0
    stale = [
        n for n, t in current.items() if not (DOCS / n).exists() or (DOCS / n).read_text() != t
    ]
    for name in stale:
        print(f"docs/{name} is out of date: run `make docs`")
    return 1 if stale or broken else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
