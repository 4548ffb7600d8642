"""The HIS transactions other services own: for each infno, the owner, the domain command it
carries, and the edge's mappings of its input to that command and of the owner's result to the
output node. The owner sees domain names only (yidi_events.forwarded)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yidi_settlement.his import analysis, chronic, clearing, hospital_checks, referral
from yidi_settlement.his.envelope import HisEnvelope

ToCommand = Callable[[HisEnvelope], dict[str, Any]]
ToOutput = Callable[[HisEnvelope, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Owned:
    owner: str
    command: str
    to_command: ToCommand
    to_output: ToOutput


_ANALYSE = Owned("audit", analysis.ANALYSE, analysis.analysis_command, analysis.analysis_output)

OWNED: Mapping[str, Owned] = {
    "2501": Owned("filing", referral.UPLOAD, referral.upload_command, referral.filing_output),
    "2502": Owned("filing", referral.CANCEL, referral.cancel_command, referral.filing_output),
    "2503": Owned("filing", chronic.CERTIFY, chronic.certify_command, chronic.certify_output),
    "2504": Owned("filing", chronic.REVOKE, chronic.revoke_command, chronic.revoke_output),
    "3101": _ANALYSE,
    "3102": _ANALYSE,
    "3201": Owned(
        "reconciliation",
        hospital_checks.RECONCILE_TOTALS,
        hospital_checks.totals_command,
        hospital_checks.totals_output,
    ),
    "3202": Owned(
        "reconciliation",
        hospital_checks.RECONCILE_DETAILS,
        hospital_checks.details_command,
        hospital_checks.details_output,
    ),
    "9101": Owned(
        "reconciliation",
        hospital_checks.UPLOAD,
        hospital_checks.upload_command,
        hospital_checks.upload_output,
    ),
    "9102": Owned(
        "reconciliation",
        hospital_checks.DOWNLOAD,
        hospital_checks.download_command,
        hospital_checks.download_output,
    ),
    "3203": Owned("clearing", clearing.APPLY, clearing.apply_command, clearing.application_output),
    "3204": Owned(
        "clearing", clearing.WITHDRAW, clearing.withdraw_command, clearing.application_output
    ),
    "3205A": Owned(
        "clearing",
        clearing.APPLICATIONS,
        clearing.applications_query,
        clearing.applications_output,
    ),
}
