"""A hospital's HIS as the platform sees it: signed national envelopes to settlement's gateway,
stamped with the platform's own time. `yidi import sandbox` waits with it until settlement knows
the sandbox persons; the platform's simulation and tests drive whole visits with it.

Services are found by a url-of-service function (`Target.url`, `Platform.url`), so the same
client speaks to the one-machine platform and to a deployed one.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from yidi_events.auth.his import sign
from yidi_events.kernel.time import SHANGHAI

GATEWAY = "/fsi/api/rsfComIfsService/callService"
CLOCK = "/v1/admin/clock"


class HisError(Exception):
    def __init__(self, infno: str, answer: dict[str, Any]) -> None:
        super().__init__(f"{infno}: {answer.get('err_msg')}")
        self.infno = infno
        self.answer = answer


@dataclass
class Clock:
    """The platform's time as settlement tells it: signatures are checked against the services'
    clock, which runs simulated time in simulations and tests."""

    url: Callable[[str], str]
    http: httpx.Client

    def now(self) -> datetime:
        response = self.http.get(self.url("settlement") + CLOCK)
        if response.status_code == 404:  # the services run on the system clock
            return datetime.now(UTC)
        return datetime.fromisoformat(response.json()["now"])


_sequence = itertools.count(1)


@dataclass
class HisClient:
    """One hospital's HIS: signs with its secret, numbers its msgids as the interface says."""

    url: Callable[[str], str]
    institution_code: str
    secret: str
    visit_region: str
    clock: Clock
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
        # An amount read back from an answer (a Decimal) goes out as its exact text, as most
        # clients send amounts: the stdlib cannot write a Decimal as a JSON number exactly.
        body = json.dumps(envelope, ensure_ascii=False, default=_exact_text).encode()
        headers = sign(self.secret, self.institution_code, body, self.clock.now())
        response = self.http.post(
            self.url("settlement") + GATEWAY,
            content=body,
            headers={**headers, "content-type": "application/json"},
        )
        if response.headers.get("content-type") == "application/octet-stream":
            return {"infcode": 0, "output": response.content}  # 9102's file, as a stream
        # amounts are JSON numbers with two decimals: read them exactly, as BigDecimal clients do
        answer: dict[str, Any] = json.loads(response.content, parse_float=Decimal)
        return answer

    def call(self, infno: str, payload: dict[str, Any], insured_region: str | None = None) -> Any:
        """Send one transaction; return its `output`, or raise HisError with the platform's answer."""
        answer = self.send(self.envelope(infno, payload, insured_region))
        if answer.get("infcode") != 0:
            raise HisError(infno, answer)
        return answer.get("output")


def _exact_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
