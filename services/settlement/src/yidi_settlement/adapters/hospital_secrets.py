"""Hospitals' HIS secrets, gateway credentials and account details on PostgreSQL, written in the hospital's unit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from yidi_events.application import Unit
from yidi_events.kernel import Conflict
from yidi_settlement.adapters.tables import hospital_accounts, hospital_secrets

_IDENTITIES = ("tif_paasid", "csb_access_key")


class SqlHospitalSecrets:
    async def set_secret(self, unit: Unit, institution_code: str, secret: str) -> None:
        stmt = insert(hospital_secrets).values(institution_code=institution_code, his_secret=secret)
        await unit.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"his_secret": secret}
            )
        )

    async def set_credentials(
        self, unit: Unit, institution_code: str, credentials: Mapping[str, str]
    ) -> None:
        # The row exists: the HIS secret is written first, in the same unit.
        if not credentials:
            return
        taken = await unit.conn.scalar(
            sa.select(hospital_secrets.c.institution_code).where(
                hospital_secrets.c.institution_code != institution_code,
                sa.or_(
                    *(
                        hospital_secrets.c[name] == credentials[name]
                        for name in _IDENTITIES
                        if name in credentials
                    ),
                    sa.false(),
                ),
            )
        )
        if taken is not None:
            # An id names one institution: the gateway finds the hospital by it.
            raise Conflict(
                "hospital.gateway_credential_taken",
                "the TIF paasid or CSB access key is already another institution's",
                field="tif_paasid" if "tif_paasid" in credentials else "csb_access_key",
            )
        await unit.conn.execute(
            hospital_secrets.update()
            .where(hospital_secrets.c.institution_code == institution_code)
            .values(**credentials)
        )

    async def set_account(self, unit: Unit, institution_code: str, account: dict[str, Any]) -> None:
        stmt = insert(hospital_accounts).values(institution_code=institution_code, account=account)
        await unit.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"account": account}
            )
        )
