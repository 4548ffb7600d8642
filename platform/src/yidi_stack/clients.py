"""Clients that speak to a running platform the way its users do: a hospital's HIS (signed
national envelopes to the gateway) and agency staff (bearer tokens on the service APIs).

The end-to-end suite and the `make run` simulation both use these, so what they prove is what a
hospital or an agency would see.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from yidi_events.auth.agency import issue_token
from yidi_events.auth.his import sign
from yidi_events.kernel.time import SHANGHAI
from yidi_events.settings import ServiceSettings
from yidi_stack.platform import SERVICES, Platform

GATEWAY = "/fsi/api/rsfComIfsService/callService"


class HisError(Exception):
    def __init__(self, infno: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{infno}: {answer.get('err_msg')}")
        self.infno = infno
        self.answer = answer


@dataclass
class SimClock:
    """The platform's simulated time: every service runs a controlled clock; moving it moves all."""

    platform: Platform
    http: httpx.Client

    def now(self) -> datetime:
        response = self.http.get(f"{self.platform.url('settlement')}/admin/clock")
        if response.status_code == 404:  # the services run on the system clock
            return datetime.now(UTC)
        return datetime.fromisoformat(response.json()["now"])

    def set(self, moment: datetime) -> None:
        """Move every service's clock to `moment`. A moment the clock passed within the last
        minute means "now" (real time keeps running); anything earlier is refused by the services."""
        if timedelta(0) <= self.now() - moment < timedelta(minutes=1):
            return
        for service in SERVICES:
            response = self.http.post(
                f"{self.platform.url(service)}/admin/clock", json={"now": moment.isoformat()}
            )
            response.raise_for_status()

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


_sequence = itertools.count(1)


@dataclass
class HisClient:
    """One hospital's HIS: signs with its secret, numbers its msgids as the interface says."""

    platform: Platform
    institution_code: str
    secret: str
    visit_region: str
    clock: SimClock
    http: httpx.Client
    last_message_id: str = field(default="", init=False)

    def envelope(
        self, infno: str, payload: dict[str, Any], insured_region: str | None
    ) -> dict[str, Any]:
        now = self.clock.now()
        local = now.astimezone(SHANGHAI)
        message_id = f"{self.institution_code}{local:%Y%m%d%H%M%S}{next(_sequence) % 10000:04d}"
        self.last_message_id = message_id
        return {
            "infno": infno,
            "msgid": message_id,
            "mdtrtarea_admvs": self.visit_region,
            "insuplc_admdvs": insured_region or "",
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "his-op",
            "opter_name": "HIS",
            "inf_time": f"{local:%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.institution_code,
            "fixmedins_name": self.institution_code,
            "sign_no": "",
            "input": payload,
        }

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(envelope, ensure_ascii=False).encode()
        headers = sign(self.secret, self.institution_code, body, self.clock.now())
        response = self.http.post(
            self.platform.url("settlement") + GATEWAY,
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
        answer: dict[str, Any] = response.json()
        return answer

    def call(self, infno: str, payload: dict[str, Any], insured_region: str | None = None) -> Any:
        """Send one transaction; return its `output`, or raise HisError with the platform's answer."""
        answer = self.send(self.envelope(infno, payload, insured_region))
        if answer.get("infcode") != 0:
            raise HisError(infno, answer)
        return answer.get("output")


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
