"""The arrows of the house hold (pyproject.toml's import-linter contracts): no service imports
another, the operator CLI (`yidi_cli`) or the top floor (`yidi_stack`); `yidi_events` imports none
of them; the CLI imports no service and not the top floor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 broken" in done.stdout
