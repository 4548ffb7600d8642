"""The OpenAPI document the gateway serves types every transaction it serves, read from the
served table itself; every request and answer of this suite is validated against it (Client.call),
and docs/his/openapi.json is the HIS part of it (tests/test_api_docs.py fails when stale)."""

from __future__ import annotations

import json

from conformance import ROOT, Stack

from yidi_settlement.his.owned import OWNED


async def test_every_served_transaction_has_its_request_and_response_schema(world: Stack) -> None:
    served = {*world.h.app.state.gateway.transactions.by_infno(), *OWNED}
    document = (await world.h.client.get("/openapi.json")).json()
    components = document["components"]["schemas"]
    assert set(components["HisRequest"]["discriminator"]["mapping"]) == served
    for infno in served:
        assert components[f"HisRequest{infno}"]["properties"]["infno"]["const"] == infno
        assert f"HisResponse{infno}" in components
    paths = [
        p
        for p, ops in document["paths"].items()
        if "HIS gateway" in ops.get("post", {}).get("tags", [])
    ]
    assert {"/fsi/api/rsfComIfsService/callService", "/CSB/hsa-fsi-{infno}"} <= set(paths)
    assert any(p.endswith("/hsa/hgs/{infno}") for p in paths)
    for path in paths:
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": "#/components/schemas/HisRequest"}

    kit = json.loads((ROOT / "docs/his/openapi.json").read_text("utf-8"))
    assert set(kit["paths"]) == set(paths)
    assert {n: kit["components"]["schemas"][n] for n in components if n.startswith("His")} == {
        n: s for n, s in components.items() if n.startswith("His")
    }
