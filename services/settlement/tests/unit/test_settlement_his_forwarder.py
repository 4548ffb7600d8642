"""Outside sandbox mode the gateway forwards with its service account's token, got by logging in
at the identity component, never minted from the shared secret."""

from __future__ import annotations

import httpx
import pytest
from settlement_his_testkit import envelope

from yidi_events.forwarded import GatewayTokens
from yidi_events.kernel import DomainError
from yidi_events.settings import ServiceSettings
from yidi_settlement.his.forwarder import Forwarder

CLAIM = {
    "clr_type": "21",
    "clr_way": "1",
    "setlym": "202603",
    "psntime": 2,
    "medfee_sumamt": "1920.50",
    "fund_appy_sum": "1500.00",
    "cash_payamt": "400.50",
    "acct_pay": "20.00",
}


def deployed(**overrides: object) -> ServiceSettings:
    return ServiceSettings.model_validate({"sandbox": False, "auth_secret": "x" * 40, **overrides})


async def test_without_a_service_account_nothing_is_forwarded() -> None:
    owners: list[httpx.Request] = []
    forwarder = Forwarder(deployed(), transport=httpx.MockTransport(owners.append))  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        await forwarder.forward(envelope("3203", CLAIM))
    assert refused.value.rule == "his.owner_unreachable"
    assert owners == []


async def test_the_owner_receives_the_token_the_login_gave() -> None:
    logins: list[httpx.Request] = []

    def identity(request: httpx.Request) -> httpx.Response:
        logins.append(request)
        return httpx.Response(200, json={"access_token": "issued-by-filing", "expires_in": 900})

    seen: list[str] = []

    def clearing(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"result": {"clearing_application_id": "A1"}})

    settings = deployed(gateway_password="gateway-account-password")
    forwarder = Forwarder(settings, transport=httpx.MockTransport(clearing))
    forwarder.tokens = GatewayTokens(settings, transport=httpx.MockTransport(identity))
    await forwarder.forward(envelope("3203", CLAIM))
    await forwarder.forward(envelope("3204", {"clr_appy_evt_id": "A1"}))
    assert seen == ["Bearer issued-by-filing"] * 2
    assert len(logins) == 1  # one login for the token's life, not one per transaction
    assert logins[0].url.path == "/v1/api/identity/login"
