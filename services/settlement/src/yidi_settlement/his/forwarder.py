"""Forward HIS transactions owned by other services to `POST {owner_url}/internal/his`; their
refusals come back in their own field names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from yidi_events.auth.agency import issue_token
from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings

OWNERS = {
    "2501": "filing",
    "2502": "filing",
    "2503": "filing",
    "2504": "filing",
    "3101": "audit",
    "3102": "audit",
    "3201": "reconciliation",
    "3202": "reconciliation",
    "9101": "reconciliation",
    "9102": "reconciliation",
    "3203": "clearing",
    "3204": "clearing",
    "3205A": "clearing",
}


@dataclass
class Forwarder:
    settings: ServiceSettings
    timeout_s: float = 10.0

    def url_of(self, owner: str) -> str:
        return str(getattr(self.settings, f"{owner}_url")).rstrip("/")

    async def forward(
        self,
        *,
        infno: str,
        institution_code: str,
        message_id: str,
        visit_region: str,
        insured_region: str | None,
        payload: dict[str, Any],
    ) -> dict[str, Any]:
        owner = OWNERS[infno]
        token = issue_token(
            self.settings.auth_secret.get_secret_value(),
            user_id="settlement-gateway",
            region=visit_region,
            roles=["his"],
            kind="service",
        )
        body = {
            "infno": infno,
            "institution_code": institution_code,
            "message_id": message_id,
            "visit_region": visit_region,
            "insured_region": insured_region,
            "input": payload,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(
                    f"{self.url_of(owner)}/internal/his",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError as exc:
            raise DomainError(
                "his.owner_unreachable",
                f"the {owner} service did not answer {infno} ({exc.__class__.__name__}); retry later",
                field="infno",
            ) from exc
        try:
            doc = response.json()
        except ValueError:
            doc = {}
        if (
            response.status_code == 200
            and isinstance(doc, dict)
            and isinstance(doc.get("output"), dict)
        ):
            return dict(doc["output"])
        error = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(error, dict):
            raise DomainError(
                str(error.get("rule") or f"{owner}.refused"),
                str(error.get("message")),
                field=error.get("field"),
            )
        raise DomainError(
            f"{owner}.refused",
            f"the {owner} service answered {infno} with HTTP {response.status_code}",
            field="infno",
        )
