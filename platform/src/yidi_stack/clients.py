"""Clients that speak to a running platform the way its users do: a hospital's HIS (signed
national envelopes to the gateway: `yidi_cli.his.HisClient`), agency staff (bearer tokens on the
service APIs), and the simulated clock they all read and move.

The end-to-end suite and the `make run` simulation both use these, so what they prove is what a
hospital or an agency would see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from yidi_cli.his import CLOCK, Clock
from yidi_events.auth.agency import issue_token
from yidi_events.settings import ServiceSettings
from yidi_stack.platform import SERVICES, Platform


@dataclass
class SimClock(Clock):
    """The platform's simulated time: every service runs a controlled clock; moving it moves all."""

    def set(self, moment: datetime) -> None:
        """Move every service's clock to `moment`. A moment the clock passed within the last
        minute means "now" (real time keeps running); anything earlier is refused by the services."""
        if timedelta(0) <= self.now() - moment < timedelta(minutes=1):
            return
        for service in SERVICES:
            response = self.http.post(self.url(service) + CLOCK, json={"now": moment.isoformat()})
            response.raise_for_status()

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


@dataclass
class AgencyClient:
    """A member of an agency's staff calling one service's API with a bearer token."""

    platform: Platform
    service: str
    token: str
    http: httpx.Client

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(
            method,
            self.platform.url(self.service) + path,
            headers={"authorization": f"Bearer {self.token}"},
            **kwargs,
        )

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()


def agency(
    platform: Platform,
    service: str,
    region: str,
    *,
    user: str = "staff",
    roles: tuple[str, ...] = (),
    kind: str = "agency",
    http: httpx.Client,
) -> AgencyClient:
    secret = ServiceSettings().auth_secret.get_secret_value()
    token = issue_token(
        secret, user_id=user, region=region, roles=roles, kind=kind, now=datetime.now(UTC)
    )
    return AgencyClient(platform, service, token, http)
