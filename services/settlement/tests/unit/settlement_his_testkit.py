"""An authenticated envelope of any transaction, for the tests of the edge's mappings."""

from __future__ import annotations

from typing import Any

from yidi_settlement.his.envelope import HisEnvelope


def envelope(infno: str, payload: dict[str, Any]) -> HisEnvelope:
    return HisEnvelope(
        infno=infno,
        message_id="M1",
        institution_code="H32010000001",
        visit_region="320100",
        insured_region=None,
        input=payload,
    )
