"""Load the filing service's share of ../shared/sandbox through its own API.

- persons.json: national names, imported per insured region with that agency's token (the
  population import maps the names once);
- filings.json: recorded at each insured agency's counter as filings carried over from its
  records (they began on 2026-01-01); long-term ones have their documents on file. Person 8's
  referral to any Nanjing hospital relies on Shangluo's (611000) whole-city referral setting and,
  without a referral opinion, waits for Shangluo's reviewer, who approves it explicitly;
- policies.json: each document published by its insured region;
- users.json: the agencies' and the centre's logins, into the identity store (argon2 hashes).
Already loaded data is skipped, so loading twice changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from yidi_events.auth.agency import issue_token
from yidi_events.settings import ServiceSettings


def _headers(region: str, *roles: str, kind: str = "agency") -> dict[str, str]:
    secret = ServiceSettings().auth_secret.get_secret_value()
    token = issue_token(
        secret, user_id=f"sandbox-{region}", region=region, roles=roles or ["clerk"], kind=kind
    )
    return {"authorization": f"Bearer {token}"}


def _check(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def filing_request(record: dict[str, Any]) -> dict[str, Any]:
    """A filings.json record (national names) as a counter filing of the agency API."""
    kind = record["filing_kind"]
    return {
        "person_id": record["psn_no"],
        "kind": kind,
        "long_term_type": record.get("long_term_type"),
        "visit_region": record["mdtrtarea_admvs"],
        "destination_institution": record.get("dest_fixmedins_code"),
        "diagnosis": record.get("diag_code"),
        "valid_from": record["begndate"],
        "valid_to": record.get("enddate"),
        "promise_based": bool(record.get("promise_based")),
        "supporting_documents": kind == "long_term",
        "carried_over": True,
    }


async def load_users(client: httpx.AsyncClient, sandbox_dir: Path) -> int:
    users = json.loads((sandbox_dir / "users.json").read_text(encoding="utf-8"))
    operator = _headers("320000", "operator", kind="centre")
    opened = 0
    for user in users:
        body = {
            "username": user["username"],
            "display_name": user["display_name"],
            "region": user["region"],
            "kind": user["kind"],
            "roles": user["roles"],
            "password": user["password"],
        }
        answer = await client.post("/v1/api/identity/users", json=body, headers=operator)
        if answer.status_code == 409:
            continue  # loaded before
        _check(answer)
        opened += 1
    return opened


async def load_into(client: httpx.AsyncClient, sandbox_dir: Path) -> str:
    users = await load_users(client, sandbox_dir)
    persons = json.loads((sandbox_dir / "persons.json").read_text(encoding="utf-8"))
    filings = json.loads((sandbox_dir / "filings.json").read_text(encoding="utf-8"))
    policies = json.loads((sandbox_dir / "policies.json").read_text(encoding="utf-8"))

    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person in persons:
        region = person["insuplc_admdvs"]
        known = await client.get(f"/v1/persons/{person['psn_no']}", headers=_headers(region))
        if known.status_code == 404:
            by_region[region].append(person)
    enrolled = 0
    for region, rows in sorted(by_region.items()):
        body = {"file_format": "json", "content": json.dumps(rows, ensure_ascii=False)}
        enrolled += _check(
            await client.post("/v1/persons/import", json=body, headers=_headers(region))
        )["enrolled"]

    approved = 0
    for record in filings:
        region = record["insuplc_admdvs"]
        mine = await client.get(
            "/v1/filings", params={"person_id": record["psn_no"]}, headers=_headers(region)
        )
        if _check_list(mine):
            continue
        filing = _check(
            await client.post("/v1/filings", json=filing_request(record), headers=_headers(region))
        )
        if filing["status"] == "pending":
            filing = _check(
                await client.post(
                    f"/v1/filings/{filing['filing_id']}/approve",
                    headers=_headers(region, "reviewer"),
                )
            )
        if filing["status"] != "approved":
            raise RuntimeError(f"sandbox filing of {record['psn_no']} is {filing['status']}")
        approved += 1

    published = 0
    for document in policies:
        result = _check(
            await client.post(
                "/v1/policies", json=document, headers=_headers(document["insuplc_admdvs"])
            )
        )
        published += 1 if result["published"] else 0
    return (
        f"{users} users opened, {enrolled} persons enrolled, {approved} filings approved, "
        f"{published} policies published"
    )


def _check_list(response: httpx.Response) -> list[Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: list[Any] = response.json()
    return body


def load(base_url: str, sandbox_dir: Path) -> str:
    async def run() -> str:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            return await load_into(client, sandbox_dir)

    return asyncio.run(run())
