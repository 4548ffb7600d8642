"""The typed clearing API answers every field of the fact or row it shows: a response model drops
what it does not declare, so a field missing from a model would vanish from the bodies the console
and the CLI read; and a model holds no field its fact or row never had."""

from __future__ import annotations

from dataclasses import fields

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from yidi_clearing.adapters import tables as t
from yidi_clearing.domain import events as e
from yidi_clearing.entrypoints import models as m

IDS = {"settlement_ids", "audit_deduction_ids", "clawback_ids"}
COUNTS = {"settlement_count", "audit_deduction_count", "clawback_count"}
LINE_STATE = {"status", "confirmed_by", "disputed_by"}


def _names(fact: type) -> set[str]:
    return {f.name for f in fields(fact)}


def _columns(table: sa.Table, *left_out: str) -> set[str]:
    return {c.name for c in table.columns} - set(left_out)


VIEWS = [
    # the statement: a part's ids are counted in the statement and listed in a line's detail
    (m.PartView, _names(e.StatementPart) - IDS | COUNTS),
    (m.PartDetail, _names(e.StatementPart) | {"settlements", "deductions"}),
    (m.LineView, _names(e.StatementLine) | LINE_STATE),
    (m.LineDetail, _names(e.StatementLine) | LINE_STATE),
    (m.HeldView, _names(e.HeldItem)),
    (m.AdjustmentView, _names(e.AdjustmentProposed) | {"approved_by"}),
    # the drill-down: a settlement without its agencies (the line names them) or its close event
    (
        m.SettlementDetail,
        _columns(t.settlement_inputs, "insured_agency", "visit_agency", "close_event_id"),
    ),
    (m.DeductionDetail, _columns(t.deduction_inputs)),
    # netting and cash
    (m.PositionView, _names(e.NetPosition)),
    (m.RemittanceView, _names(e.RemittanceRecorded)),
    (m.DisbursementRequestView, _names(e.DisbursementRequested) | {"paid"}),
    (m.DisbursementView, _names(e.DisbursementRecorded) | {"paid"}),
    # the ledger: a line of an account, without the account and the line's place in its entry
    (m.Movement, _columns(t.journal_lines, "account", "stream_version", "line_no") | {"balance"}),
    # hospital clearing: the row but its stream, with the calendar
    (m.ApplicationView, _columns(t.hospital_applications, "stream_id") | {"deadlines", "late"}),
]


@pytest.mark.parametrize(("model", "shown"), VIEWS, ids=[v[0].__name__ for v in VIEWS])
def test_each_view_declares_every_field_it_shows(model: type[BaseModel], shown: set[str]) -> None:
    assert set(model.model_fields) == shown


def test_a_nullable_column_is_optional_in_its_view() -> None:
    for model, table in [
        (m.DeductionDetail, t.deduction_inputs),
        (m.ApplicationView, t.hospital_applications),
    ]:
        nullable = {c.name for c in table.columns if c.nullable}
        optional = {n for n, f in model.model_fields.items() if "None" in str(f.annotation)}
        assert nullable <= optional, model.__name__


def test_the_statement_read_adds_to_the_generated_one() -> None:
    # GET answers what POST did, plus the day it was made and the inputs held out of it.
    generated = set(m.GeneratedStatement.model_fields)
    assert set(m.StatementView.model_fields) == generated | {"generated_on", "held"}
