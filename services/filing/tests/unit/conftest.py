"""The filing unit tests share their world through `filing_testkit`."""

from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib does not put test directories on sys.path; the shared testkit needs it.
sys.path.insert(0, str(Path(__file__).parent))
