"""`POST /v1/internal/his`: the hospital checks the settlement gateway forwards here (3201 totals,
3202 detail, 9101 upload, 9102 download), as domain commands (docs/integration.md)."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from yidi_events.forwarded import ForwardedCommand, forwarded_router
from yidi_events.kernel import DomainError
from yidi_reconciliation.adapters.detail_file import inline_rows
from yidi_reconciliation.app.hospital import Hospitals
from yidi_reconciliation.domain.hospital_detail import StoredFile
from yidi_reconciliation.domain.hospital_totals import StatementScope, TotalsClaim


class Scope(BaseModel):
    clearing_agency: str
    start_date: date
    end_date: date
    include_refunds: bool = True
    insurance_type: str | None = None
    clearing_category: str | None = None

    def of(self, institution_code: str) -> StatementScope:
        return StatementScope(institution_code=institution_code, **self.model_dump())


class TotalsCommand(BaseModel):
    scope: Scope
    count: int
    total_fee: int
    fund_total: int
    account_paid: int


class DetailsCommand(BaseModel):
    """The uploaded file's query number, or the rows sent inline (None: a row not an object)."""

    scope: Scope
    file_query_no: str | None = None
    rows: list[dict[str, str] | None] | None = None


class UploadCommand(BaseModel):
    filename: str
    content: str  # base64


class DownloadCommand(BaseModel):
    file_query_no: str


def _file(stored: StoredFile) -> dict[str, Any]:
    return {
        "file_query_no": stored.file_query_no,
        "filename": stored.filename,
        "download_until": stored.download_until.isoformat(),
    }


def his_router(hospitals: Hospitals) -> APIRouter:
    async def totals(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        command = TotalsCommand.model_validate(call.command)
        claim = TotalsClaim(
            scope=command.scope.of(call.institution_code),
            count=command.count,
            total_fee=command.total_fee,
            fund_total=command.fund_total,
            account_paid=command.account_paid,
        )
        result = await hospitals.reconcile_totals(claim)
        return {
            "clearing_agency": claim.scope.clearing_agency,
            "start_date": claim.scope.start_date.isoformat(),
            "end_date": claim.scope.end_date.isoformat(),
            "balanced": result.balanced,
            "description": result.description,
            "differences": [
                {"figure": d.figure, "platform": d.platform, "hospital": d.hospital}
                for d in result.differences
            ],
        }

    async def details(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        command = DetailsCommand.model_validate(call.command)
        if command.rows is None and command.file_query_no is None:
            raise DomainError(
                "reconciliation.detail_missing",
                "Name the uploaded file_query_no or send the rows.",
                field="file_query_no",
            )
        outcome = await hospitals.reconcile_details(
            command.scope.of(call.institution_code),
            command.file_query_no,
            None if command.rows is None else inline_rows(command.rows),
        )
        return _file(outcome.file)

    async def upload(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        command = UploadCommand.model_validate(call.command)
        try:
            content = base64.b64decode(command.content, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                "his.field_invalid", "content must be the file's bytes in base64.", field="content"
            ) from None
        stored = await hospitals.upload(call.institution_code, command.filename, content)
        return _file(stored)

    async def download(call: ForwardedCommand, request: Request) -> dict[str, Any]:
        file_query_no = DownloadCommand.model_validate(call.command).file_query_no
        stored = await hospitals.download(call.institution_code, file_query_no)
        return {
            "file_query_no": stored.file_query_no,
            "filename": stored.filename,
            "content": base64.b64encode(stored.content).decode("ascii"),
        }

    return forwarded_router(
        "reconciliation",
        {
            "hospital.reconcile_totals": totals,
            "hospital.reconcile_details": details,
            "hospital.upload_file": upload,
            "hospital.download_file": download,
        },
    )
