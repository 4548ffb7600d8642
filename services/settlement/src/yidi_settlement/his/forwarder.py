"""Forward HIS transactions owned by other services to `POST {owner_url}/v1/internal/his`: the
domain command (his/owned.py) goes out, the owner's domain result or refusal comes back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from yidi_events import correlation
from yidi_events.forwarded import URL_PATH, ForwardedCommand, GatewayTokens
from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings
from yidi_settlement.his.envelope import HisEnvelope
from yidi_settlement.his.owned import OWNED


@dataclass
class Forwarder:
    settings: ServiceSettings
    timeout_s: float = 10.0
    # Where the owners are reached; None is the network (tests put an owner's app in process).
    transport: httpx.AsyncBaseTransport | None = None
    # The sandbox mints its token; a deployment logs in as the gateway's service account once
    # in a token's life.
    tokens: GatewayTokens = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = GatewayTokens(self.settings)

    def url_of(self, owner: str) -> str:
        return str(getattr(self.settings, f"{owner}_url")).rstrip("/")

    async def forward(self, envelope: HisEnvelope) -> dict[str, Any]:
        """The output node of a forwarded transaction, or the owner's refusal raised."""
        infno, owned = envelope.infno, OWNED[envelope.infno]
        call = ForwardedCommand(
            name=owned.command,
            institution_code=envelope.institution_code,
            message_id=envelope.message_id,
            visit_region=envelope.visit_region,
            insured_region=envelope.insured_region,
            command=owned.to_command(envelope),
        )
        token = await self.tokens.token(envelope.visit_region)
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_s, transport=self.transport
            ) as client:
                response = await client.post(
                    f"{self.url_of(owned.owner)}{URL_PATH}",
                    json=call.model_dump(mode="json"),
                    headers={"Authorization": f"Bearer {token}", **correlation.headers()},
                )
        except httpx.HTTPError as exc:
            raise DomainError(
                "his.owner_unreachable",
                f"the {owned.owner} service did not answer {infno} ({exc.__class__.__name__}); "
                "retry later",
                field="infno",
                values={"infno": infno},
            ) from exc
        try:
            doc = response.json()
        except ValueError:
            doc = {}
        if response.status_code == 200 and isinstance(doc, dict):
            result = doc.get("result")
            if isinstance(result, dict):
                return owned.to_output(envelope, result)
        error = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(error, dict):
            values = error.get("values")
            raise DomainError(
                str(error.get("rule") or f"{owned.owner}.refused"),
                str(error.get("message")),
                field=error.get("field"),
                values={
                    str(key): value
                    for key, value in (values if isinstance(values, dict) else {}).items()
                    if isinstance(value, str | int) and not isinstance(value, bool)
                },
            )
        raise DomainError(
            f"{owned.owner}.refused",
            f"the {owned.owner} service answered {infno} with HTTP {response.status_code}",
            field="infno",
        )
