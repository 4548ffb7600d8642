"""The e-invoice verification service over HTTP (httpx): one question per invoice.

`POST {base}/v1/invoices/verify` with the invoice's code, number, date and amount in yuan (as the
verification platforms take them); the answer names its status and what the issuer recorded. A
service that cannot be reached is an outage (503 to the caller), never a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import httpx

from yidi_events.contracts.reimbursement import ClaimInvoice
from yidi_events.kernel import DomainError, fen_to_yuan, yuan_to_fen
from yidi_reimbursement.domain.verification import Verdict, Verification


class VerificationUnavailable(DomainError):
    status = 503


class HttpInvoiceVerifier:
    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def verify(self, invoices: Sequence[ClaimInvoice]) -> list[Verification]:
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
                return [await self._one(client, invoice) for invoice in invoices]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise VerificationUnavailable(
                "reimbursement.verification_unavailable",
                f"the e-invoice verification service did not answer: {type(exc).__name__}",
                field="invoices",
            ) from exc

    async def _one(self, client: httpx.AsyncClient, invoice: ClaimInvoice) -> Verification:
        response = await client.post(
            "/v1/invoices/verify",
            json={
                "invoice_code": invoice.invoice_code,
                "invoice_number": invoice.invoice_number,
                "issued_on": invoice.issued_on.isoformat(),
                "amount": fen_to_yuan(invoice.amount),
            },
        )
        response.raise_for_status()
        body = response.json()
        verdict = Verdict(body["status"])
        recorded = body.get("invoice")
        if verdict is Verdict.UNKNOWN or not recorded:
            return Verification(verdict=verdict)
        return Verification(
            verdict=verdict,
            amount=yuan_to_fen(recorded["amount"]),
            issued_on=date.fromisoformat(recorded["issued_on"]),
            issuing_institution=str(recorded["issuing_institution"]),
        )
