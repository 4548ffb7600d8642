"""Settlement through the HIS gateway, measured the way a hospital drives it.

Visits are registered (2201) and their 10 fee lines uploaded (2204) before a run; the 2207s are
built in advance and signed right before the run (the signature window is 300 s), then replayed by
wrk so the load generator is not the bottleneck. Whole visits (2201 + 2204 + 2207 chained, which
wrk cannot do because each call needs the previous answer's mdtrt_id) are driven by a Python
asyncio load in several processes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from yidi_cli.his import GATEWAY
from yidi_events.auth.his import sign
from yidi_events.kernel.time import SHANGHAI

HOSPITAL = "H32010000001"
VISIT_REGION = "320100"
# Ten fee lines, all in the catalogue except the last (a fully own-paid line exercises that path).
FEE_LINES = [
    ("XA001", "2", "45.00", "90.00"),
    ("XB002", "1", "30.00", "30.00"),
    ("XB003", "1", "65.00", "65.00"),
    ("T001", "1", "120.00", "120.00"),
    ("B001", "1", "40.00", "40.00"),
    ("M001", "3", "12.00", "36.00"),
    ("C001", "1", "20.00", "20.00"),
    ("XA001", "1", "45.00", "45.00"),
    ("M001", "1", "12.00", "12.00"),
    ("ZZZ999", "1", "8.00", "8.00"),
]
TOTAL = "466.00"

_msg = itertools.count(1)


@dataclass(frozen=True)
class Gateway:
    url: str
    secret: str
    persons: tuple[dict[str, str], ...]
    tag: str = "0"  # distinguishes msgids made by separate processes

    def body(self, infno: str, payload: dict[str, Any], insured: str) -> bytes:
        local = datetime.now(UTC).astimezone(SHANGHAI)
        envelope = {
            "infno": infno,
            "msgid": f"{HOSPITAL}{local:%Y%m%d%H%M%S}B{self.tag}{next(_msg):09d}",
            "mdtrtarea_admvs": VISIT_REGION,
            "insuplc_admdvs": insured,
            "recer_sys_code": "YBXT",
            "infver": "V1.0",
            "opter_type": "1",
            "opter": "bench",
            "opter_name": "bench",
            "inf_time": f"{local:%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": HOSPITAL,
            "fixmedins_name": HOSPITAL,
            "sign_no": "",
            "input": payload,
        }
        return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            **sign(self.secret, HOSPITAL, body, datetime.now(UTC)),
            "content-type": "application/json",
        }


def _voucher(person: dict[str, str]) -> dict[str, str]:
    return {"mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"]}


def settle_body(gw: Gateway, person: dict[str, str], visit_id: str) -> bytes:
    payload = {
        "data": {
            "psn_no": person["psn_no"],
            **_voucher(person),
            "med_type": "11",
            "medfee_sumamt": TOTAL,
            "psn_setlway": "01",
            "mdtrt_id": visit_id,
            "chrg_bchno": "B1",
            "acct_used_flag": "1",
            "insutype": person["insutype"],
            "invono": "",
        }
    }
    return gw.body("2207", payload, person["insuplc_admdvs"])


BUSY_RESENDS = 20


async def _call(
    http: httpx.AsyncClient, gw: Gateway, infno: str, payload: dict[str, Any], insured: str
) -> dict[str, Any]:
    body = gw.body(infno, payload, insured)
    for attempt in range(BUSY_RESENDS):
        response = await http.post(gw.url + GATEWAY, content=body, headers=gw.headers(body))
        answer: dict[str, Any] = response.json()
        if not str(answer.get("err_msg") or "").endswith("（his.busy）"):
            break
        # As a HIS does: the same message again, after a pause (the gateway shed it or lost a
        # race; nothing was recorded).
        await asyncio.sleep(0.2 * (attempt + 1))
    if answer.get("infcode") != 0:
        raise RuntimeError(f"{infno}: {answer.get('err_msg')}")
    return answer


async def open_visit(http: httpx.AsyncClient, gw: Gateway, person: dict[str, str]) -> str:
    """2201 then 2204 with the ten fee lines; returns the mdtrt_id."""
    local = datetime.now(UTC).astimezone(SHANGHAI)
    stamp = f"{local:%Y-%m-%d %H:%M:%S}"
    insured = person["insuplc_admdvs"]
    registered = await _call(
        http,
        gw,
        "2201",
        {
            "data": {
                "psn_no": person["psn_no"],
                "insutype": person["insutype"],
                "begntime": stamp,
                **_voucher(person),
                "ipt_otp_no": f"OPB{gw.tag}{next(_msg):09d}",
                "atddr_no": "D001",
                "dr_name": "医生",
                "dept_code": "A01",
                "dept_name": "内科",
                "caty": "A01",
            }
        },
        insured,
    )
    visit_id: str = registered["output"]["data"]["mdtrt_id"]
    lines = [
        {
            "feedetl_sn": str(n),
            "mdtrt_id": visit_id,
            "psn_no": person["psn_no"],
            "chrg_bchno": "B1",
            "med_list_codg": code,
            "medins_list_codg": code,
            "det_item_fee_sumamt": amount,
            "cnt": cnt,
            "pric": pric,
            "fee_ocur_time": stamp,
        }
        for n, (code, cnt, pric, amount) in enumerate(FEE_LINES, start=1)
    ]
    await _call(http, gw, "2204", {"feedetail": lines}, insured)
    return visit_id


async def prepare(gw: Gateway, count: int, *, concurrency: int = 16) -> list[tuple[str, bytes]]:
    """`count` open visits, each with its (unsigned) 2207 body; returns (path, body) pairs."""
    out: list[tuple[str, bytes]] = []
    turn = itertools.count()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def worker() -> None:
            while (n := next(turn)) < count:
                person = gw.persons[n % len(gw.persons)]
                visit_id = await open_visit(http, gw, person)
                out.append((GATEWAY, settle_body(gw, person, visit_id)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def signed(
    gw: Gateway, prepared: list[tuple[str, bytes]]
) -> list[tuple[str, dict[str, str], bytes]]:
    return [(path, gw.headers(body), body) for path, body in prepared]


# -- whole visits in several processes --------------------------------------------------------


def _visits_process(gw: Gateway, concurrency: int, seconds: float) -> tuple[int, int, list[float]]:
    return asyncio.run(_visits(gw, concurrency, seconds))


async def _visits(gw: Gateway, concurrency: int, seconds: float) -> tuple[int, int, list[float]]:
    done = 0
    failed = 0
    latencies: list[float] = []
    stop_at = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def worker(i: int) -> None:
            nonlocal done, failed
            n = i
            while time.monotonic() < stop_at:
                person = gw.persons[n % len(gw.persons)]
                n += concurrency
                started = time.monotonic()
                try:
                    visit_id = await open_visit(http, gw, person)
                    body = settle_body(gw, person, visit_id)
                    response = await http.post(
                        gw.url + GATEWAY, content=body, headers=gw.headers(body)
                    )
                    if response.json().get("infcode") != 0:
                        raise RuntimeError(response.text)
                except Exception:  # counted and reported: a benchmark goes on
                    failed += 1
                    continue
                done += 1
                latencies.append(time.monotonic() - started)

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done, failed, latencies


def whole_visits(
    gw: Gateway, *, concurrency: int, seconds: float, processes: int = 2
) -> dict[str, Any]:
    """Visits per second (2201 + 2204 + 2207) at `concurrency` spread over `processes`."""
    per = max(1, concurrency // processes)
    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(
                _visits_process,
                Gateway(gw.url, gw.secret, gw.persons, tag=f"{9 - p}"),
                per,
                seconds,
            )
            for p in range(processes)
        ]
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    done = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    return {
        "visits": done,
        "errors": failed,
        # Visits finished by the end of the run window over the window (started processes add a
        # second or so before the window that this does not count).
        "per_s": done / max(seconds, elapsed - 2.0) if done else 0.0,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)
        if latencies
        else None,
    }
