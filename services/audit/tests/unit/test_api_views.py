"""The typed audit API answers every column of the read model it reads: a response model filters
what it does not declare, so a column missing from a model would vanish from the agencies' bodies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from yidi_audit.adapters import tables as t
from yidi_audit.entrypoints.models import (
    BatchItemView,
    BatchView,
    CaseView,
    ClawbackView,
    ComplaintView,
    FeeDeductionView,
    FlagView,
    SuspensionView,
    SuspicionReportView,
    TicketView,
)

VIEWS = [
    (TicketView, t.tickets),
    (ComplaintView, t.complaints),
    (FlagView, t.flags),
    (CaseView, t.cases),
    (SuspensionView, t.suspensions),
    (SuspicionReportView, t.suspicion_reports),
    (ClawbackView, t.clawbacks),
    (FeeDeductionView, t.fee_deductions),
    (BatchView, t.batches),
    (BatchItemView, t.batch_items),
]


@pytest.mark.parametrize(("model", "table"), VIEWS)
def test_each_view_declares_every_column_of_its_table(
    model: type[BaseModel], table: sa.Table
) -> None:
    assert set(model.model_fields) == {c.name for c in table.columns}
    nullable = {c.name for c in table.columns if c.nullable}
    optional = {
        name
        for name, f in model.model_fields.items()
        if not f.is_required() or "None" in str(f.annotation)
    }
    assert nullable <= optional
