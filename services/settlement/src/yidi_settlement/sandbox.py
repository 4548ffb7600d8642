"""Load the settlement service's share of ../shared/sandbox through its own agency API:
every hospital of hospitals.json and retail pharmacy of pharmacies.json (with its HIS secret and
gateway credentials) and catalog.json for every visit city.

`make up` calls `load(base_url, sandbox_dir)` once the service is healthy; a second run is a
no-op for institutions already registered (409) and republishes the catalogue identically.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from yidi_events.auth.agency import issue_token
from yidi_events.settings import ServiceSettings
from yidi_settlement.his import reference

CATALOGUE_FROM = date(2026, 1, 1)


def load(base_url: str, sandbox_dir: Path) -> str:
    return asyncio.run(load_async(base_url, sandbox_dir))


async def load_async(
    base_url: str, sandbox_dir: Path, client: httpx.AsyncClient | None = None
) -> str:
    token = issue_token(
        ServiceSettings().auth_secret.get_secret_value(),
        user_id="sandbox",
        region="320000",
        roles=["hospital_admin"],
        kind="centre",
    )
    headers = {"Authorization": f"Bearer {token}"}
    hospitals: list[dict[str, Any]] = json.loads(
        (sandbox_dir / "hospitals.json").read_text("utf-8")
    )
    pharmacies_file = sandbox_dir / "pharmacies.json"
    pharmacies: list[dict[str, Any]] = (
        json.loads(pharmacies_file.read_text("utf-8")) if pharmacies_file.exists() else []
    )
    catalogue = (sandbox_dir / "catalog.json").read_text("utf-8")
    own = client is None
    http = client or httpx.AsyncClient(base_url=base_url, timeout=30)
    registered = 0
    try:
        for h in hospitals:
            response = await http.post(
                "/v1/api/hospitals", headers=headers, json=reference.hospital_registration(h)
            )
            if response.status_code == 201:
                registered += 1
            elif response.status_code != 409:
                raise RuntimeError(f"hospital {reference.hospital_code(h)}: {response.text}")
        pharmacies_registered = 0
        for p in pharmacies:
            response = await http.post(
                "/v1/api/hospitals", headers=headers, json=reference.pharmacy_registration(p)
            )
            if response.status_code == 201:
                pharmacies_registered += 1
            elif response.status_code != 409:
                raise RuntimeError(f"pharmacy {reference.hospital_code(p)}: {response.text}")
        regions = sorted({reference.hospital_region(h) for h in [*hospitals, *pharmacies]})
        items = 0
        for region in regions:
            response = await http.post(
                "/v1/api/catalogue/import",
                headers={**headers, "content-type": "application/json"},
                params={"region": region, "effective_from": CATALOGUE_FROM.isoformat()},
                content=catalogue.encode(),
            )
            if response.status_code != 200:
                raise RuntimeError(f"catalogue {region}: {response.text}")
            items += int(response.json()["imported"])
    finally:
        if own:
            await http.aclose()
    return (
        f"{registered} hospitals registered, {pharmacies_registered} pharmacies registered, "
        f"{items} catalogue items in {len(regions)} visit cities"
    )
