"""Hospitals' HIS secrets and account details on PostgreSQL, written in the hospital's unit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert

from yidi_events.application import Unit
from yidi_settlement.adapters.tables import hospital_accounts, hospital_secrets


class SqlHospitalSecrets:
    async def set_secret(self, unit: Unit, institution_code: str, secret: str) -> None:
        stmt = insert(hospital_secrets).values(institution_code=institution_code, his_secret=secret)
        await unit.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"his_secret": secret}
            )
        )

    async def set_account(self, unit: Unit, institution_code: str, account: dict[str, Any]) -> None:
        stmt = insert(hospital_accounts).values(institution_code=institution_code, account=account)
        await unit.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["institution_code"], set_={"account": account}
            )
        )
