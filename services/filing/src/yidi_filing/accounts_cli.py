"""Open agency accounts straight into the identity store, for the first operator of a deployment
(no one can log in yet to open accounts through the API) and for tests of the platform outside
sandbox mode:

    python -m yidi_filing.accounts_cli users.json    # YIDI_DATABASE_URL names filing's database

The file is a list in the format of ../shared/sandbox/users.json. Accounts already opened are
skipped; everything goes through the write path like the API's registrations.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from yidi_events.kernel import Conflict
from yidi_events.province import provincial_centre
from yidi_events.settings import ServiceSettings
from yidi_filing.adapters.accounts import PostgresAccounts
from yidi_filing.app.accounts import register
from yidi_filing.bootstrap import build_runtime
from yidi_filing.domain.accounts import NewUser

OPERATOR = "bootstrap"


async def open_accounts(settings: ServiceSettings, users: list[dict[str, Any]]) -> int:
    runtime = build_runtime(settings)
    store = PostgresAccounts(runtime.engine)
    centre = provincial_centre(settings.province())
    opened = 0
    try:
        for user in users:
            try:
                await register(
                    runtime.write,
                    store,
                    OPERATOR,
                    NewUser(
                        username=user["username"],
                        display_name=user["display_name"],
                        region=user["region"],
                        kind=user["kind"],
                        roles=tuple(user["roles"]),
                        password=user["password"],
                    ),
                    centre_region=centre,
                )
                opened += 1
            except Conflict:
                continue  # opened before
    finally:
        await runtime.engine.dispose()
    return opened


def main(argv: list[str]) -> int:
    users = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    print(f"{asyncio.run(open_accounts(ServiceSettings(), users))} accounts opened")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
