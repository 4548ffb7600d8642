"""The sandbox's e-invoice verification service (电子票据查验平台), a small FastAPI app.

Real claims are verified against the finance bureau's platform; the sandbox runs this one (the
stack starts it beside the services, the tests on a free port). Institutions issue invoices into
it and may void (作废) or red-flush (红冲) them; a verification answers what it holds:
`valid`, `voided`, `red_flushed`, or `unknown` for an invoice never issued. Nothing is persisted:
it is a sandbox's stand-in, holding what the scenario issued.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, StringConstraints

Code = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[0-9A-Za-z]+$")]
Yuan = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{2}$")]


class Issued(BaseModel):
    invoice_code: Code
    invoice_number: Code
    amount: Yuan
    issued_on: date
    issuing_institution: Code


class Question(BaseModel):
    invoice_code: Code
    invoice_number: Code
    issued_on: date | None = None
    amount: Yuan | None = None


class Recorded(BaseModel):
    invoice: Issued
    status: str = Field(default="valid")


def create_verification_app() -> FastAPI:
    app = FastAPI(title="Sandbox e-invoice verification service")
    held: dict[tuple[str, str], Recorded] = {}

    def _get(code: str, number: str) -> Recorded:
        found = held.get((code, number))
        if found is None:
            raise HTTPException(404, f"invoice {code}/{number} was never issued")
        return found

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/invoices", status_code=201)
    async def issue(invoice: Issued) -> dict[str, str]:
        key = (invoice.invoice_code, invoice.invoice_number)
        if key in held:
            raise HTTPException(409, f"invoice {key[0]}/{key[1]} was issued already")
        held[key] = Recorded(invoice=invoice)
        return {"status": "valid"}

    @app.post("/v1/invoices/{code}/{number}/void")
    async def void(code: str, number: str) -> dict[str, str]:
        _get(code, number).status = "voided"
        return {"status": "voided"}

    @app.post("/v1/invoices/{code}/{number}/red-flush")
    async def red_flush(code: str, number: str) -> dict[str, str]:
        _get(code, number).status = "red_flushed"
        return {"status": "red_flushed"}

    @app.post("/v1/invoices/verify")
    async def verify(question: Question) -> dict[str, object]:
        found = held.get((question.invoice_code, question.invoice_number))
        if found is None:
            return {"status": "unknown", "invoice": None}
        return {"status": found.status, "invoice": found.invoice.model_dump(mode="json")}

    return app
