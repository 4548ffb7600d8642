"""Fixtures of the reimbursement service tests; the builders live in reimbursement_testkit."""

from __future__ import annotations

import sys
from pathlib import Path

# --import-mode=importlib does not put test directories on sys.path; the shared builders need it.
sys.path.insert(0, str(Path(__file__).parent))

from reimbursement_testkit import stack, verifier

__all__ = ["stack", "verifier"]
