"""National HIS field names live in settlement's HIS edge (yidi_settlement/his/) and nowhere else
in the code: every other package speaks domain names (docs/glossary.md, docs/integration.md).

The names are those of the edge's one field map and of the envelope. A file (or a folder, ending
in /) that reads another externally defined format using some of those names, or that acts as a
hospital's HIS, is listed in ALLOWED with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path

from yidi_settlement.his.fields import DOMAIN_OF

ROOT = Path(__file__).resolve().parents[1]
EDGE = ROOT / "services" / "settlement" / "src" / "yidi_settlement" / "his"
SOURCES = (
    ROOT / "libs" / "events" / "src",
    ROOT / "libs" / "benefits" / "src",
    *sorted((ROOT / "services").glob("*/src")),
    ROOT / "platform" / "src",
    ROOT / "cli" / "src",
)
ENVELOPE = ("infno", "msgid", "infcode", "err_msg")
UNMAPPED: tuple[str, ...] = ()  # national names the edge reads but no domain name stands for
ENVELOPE_KEYS = ("input", "output")  # national only as keys: as words they are everyone's
_HOSPITAL = "acts as a hospital's HIS: it sends national envelopes to the gateway and reads them"
ALLOWED = {
    "services/reconciliation/src/yidi_reconciliation/adapters/detail_file.py": (
        "the 3202 detail file and its result file, whose columns the spec defines: reconciliation "
        "keeps the files between the gateway's calls (9101 upload, 3202, 9102 download) and reads "
        "them itself; the edge forwards them as bytes"
    ),
    "services/filing/src/yidi_filing/domain/population_import.py": (
        "the population import file, whose columns are national names as insured places export it"
    ),
    "services/filing/src/yidi_filing/sandbox.py": (
        "reads the shared sandbox files (../shared/sandbox), whose columns are national names"
    ),
    "libs/events/src/yidi_events/policy_document.py": (
        "the benefit-policy document (../shared/sandbox/policies.json), keyed by national names"
    ),
    "services/filing/src/yidi_filing/app/policies.py": (
        "a refusal of a policy document names the document's own region key"
    ),
    "services/filing/src/yidi_filing/entrypoints/models.py": (
        "the policy document's request model names its keys (the agencies' exchange format)"
    ),
    "libs/events/src/yidi_events/logs.py": (
        "masks personal data under either naming in any log event, a logged HIS body included"
    ),
    "cli/src/yidi_cli/sandbox.py": (
        "loads the shared sandbox files (national column names) and waits for them as a hospital"
    ),
    "cli/src/yidi_cli/his.py": _HOSPITAL,
    "platform/src/yidi_stack/flows.py": _HOSPITAL,
    "platform/src/yidi_stack/bench/": _HOSPITAL,
    "platform/src/yidi_stack/simulation/": _HOSPITAL,
    "platform/src/yidi_stack/observability.py": (
        "the dashboards query the gateway's metrics by their labels, which name the transaction "
        "(infno) and its answer (infcode) as hospitals and operators know them"
    ),
}
NATIONAL = sorted({*DOMAIN_OF, *ENVELOPE, *UNMAPPED})
WHOLE_NAME = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, NATIONAL)) + r")(?![A-Za-z0-9_])"
    r"|[\"'](" + "|".join(ENVELOPE_KEYS) + r")[\"']"
)


def _allowed(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(relative == a or (a.endswith("/") and relative.startswith(a)) for a in ALLOWED)


def _python_files() -> list[Path]:
    return [
        path
        for source in SOURCES
        for path in sorted(source.rglob("*.py"))
        if EDGE not in path.parents and not _allowed(path)
    ]


def test_national_field_names_appear_only_at_the_his_edge() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(1) or match.group(2)}"
        for path in _python_files()
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        for match in WHOLE_NAME.finditer(line)
    ]
    assert not found, "national HIS names outside settlement's his/:\n" + "\n".join(found)


def test_every_allowed_entry_exists_and_still_needs_its_place() -> None:
    for relative in ALLOWED:
        files = sorted((ROOT / relative).rglob("*.py")) if relative.endswith("/") else []
        texts = [f.read_text("utf-8") for f in files or [ROOT / relative]]
        assert any(WHOLE_NAME.search(t) for t in texts), f"{relative}: drop it from ALLOWED"


def test_the_check_sees_a_national_name_as_identifier_or_string() -> None:
    assert WHOLE_NAME.search('field="mdtrt_id"')
    assert WHOLE_NAME.search("row.psn_no")
    assert WHOLE_NAME.search('doc["output"]')
    assert not WHOLE_NAME.search("visit_mdtrt_idx")
    assert not WHOLE_NAME.search("the input of a handler")
