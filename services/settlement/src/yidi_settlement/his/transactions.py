"""The transactions this gateway serves, by infno: map the input to a command, run the app
handler inside the message's unit, map its answer to the output node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from uuid6 import uuid7

from yidi_events.application import Unit
from yidi_events.kernel import business_date
from yidi_settlement.app.reference import ReferenceService
from yidi_settlement.app.visits import VisitService
from yidi_settlement.his import inputs, outputs
from yidi_settlement.his.catalogue_queries import CatalogueQueryTransactions
from yidi_settlement.his.envelope import HisEnvelope, local_time, node, text
from yidi_settlement.his.queries import QueryTransactions

Output = dict[str, Any]
Transaction = Callable[[Unit, HisEnvelope, datetime], Awaitable[Output]]


@dataclass
class Transactions:
    visits: VisitService
    reference: ReferenceService
    queries: QueryTransactions
    catalogue: CatalogueQueryTransactions

    def by_infno(self) -> dict[str, Transaction]:
        return {
            "9001": self._sign_in,
            "9002": self._sign_out,
            "1101": self._person_info,
            "2001": self._benefit_check,
            "2201": self._register,
            "2401": self._register,
            "2202": self._cancel_registration,
            "2404": self._cancel_registration,
            "2203": self._diagnose,
            "2203A": self._diagnose,
            "2204": self._upload,
            "2301": self._upload,
            "2205": self._cancel_lines,
            "2302": self._cancel_lines,
            "2402": self._discharge,
            "2403": self._change_admission,
            "2405": self._cancel_discharge,
            "2206": self._pre_settle,
            "2303": self._pre_settle,
            "2207": self._settle,
            "2304": self._settle,
            "2208": self._cancel_settlement,
            "2305": self._cancel_settlement,
            "2601": self._reverse,
            "5203": self._query,
            "3301": self._map_item,
            "3302": self._unmap_item,
            "1304": self.catalogue.ethnic_medicines,
            "1312": self.catalogue.insurance_list,
            "1316": self.catalogue.catalogue_match,
            "1317": self.catalogue.hospital_matches,
            "1318": self.catalogue.price_caps,
            "1319": self.catalogue.self_pay_ratios,
            **self.queries.by_infno(),  # 1201, 1901, 13xx, 9102 (catalogue files), 52xx, 4101
            # retail pharmacies (his/institutions.py keeps them to pharmacies)
            "2101": self._pre_purchase,
            "2102": self._purchase,
            "2103": self._cancel_settlement,
        }

    async def _sign_in(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        await self.visits.sign_in(unit, env.institution_code, business_date(now))
        return {"signinoutb": {"sign_time": local_time(now), "sign_no": uuid7().hex[:30]}}

    async def _sign_out(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return {"signoutoutb": {"sign_time": local_time(now)}}

    async def _person_info(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        today = business_date(now)
        person = await self.visits.identify(unit, inputs.person_query(env.input), today)
        return outputs.person(person.row, person.at_settlement.account_balance, today)

    async def _benefit_check(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        person_id, on = inputs.benefit_check(env.input)
        check = await self.visits.check_benefits(
            unit,
            institution=env.institution_code,
            person_id=person_id,
            on=on,
            today=business_date(now),
        )
        return outputs.benefit_check(check)

    async def _register(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        command = inputs.registration(env)
        done = await self.visits.register(
            unit,
            institution=env.institution_code,
            command=command,
            message_id=env.message_id,
            now=now,
        )
        if env.infno == "2401":
            return {"result": {"mdtrt_id": done.visit_id, "psn_no": command.person_id}}
        # the HIS's own visit number comes back with the platform's (2201 output, 非空)
        return {
            "data": {
                "mdtrt_id": done.visit_id,
                "psn_no": command.person_id,
                "ipt_otp_no": text(node(env.input), "ipt_otp_no", required=False) or "",
            }
        }

    async def _cancel_registration(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref = inputs.visit_ref(node(env.input))
        await self.visits.cancel_registration(
            unit, institution=env.institution_code, ref=ref, now=now
        )
        return {"data": {"mdtrt_id": ref.visit_id}}

    async def _diagnose(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref, diagnoses = inputs.diagnoses(env.input)
        await self.visits.diagnose(
            unit,
            institution=env.institution_code,
            ref=ref,
            diagnoses=diagnoses,
            now=now,
            disease_code=inputs.disease_code(env.input),
        )
        return {"data": {"mdtrt_id": ref.visit_id}}

    async def _upload(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref, lines = inputs.fee_lines_upload(env.input)
        splits = await self.visits.upload_fee_lines(
            unit,
            institution=env.institution_code,
            ref=ref,
            lines=lines,
            message_id=env.message_id,
            now=now,
        )
        return {"result": [outputs.fee_line_split(s, entry) for s, entry in splits]}

    async def _cancel_lines(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref, nos, batch = inputs.fee_cancel(env)
        count = await self.visits.cancel_fee_lines(
            unit,
            institution=env.institution_code,
            ref=ref,
            fee_line_nos=nos,
            now=now,
            charge_batch=batch,
        )
        return {"data": {"mdtrt_id": ref.visit_id, "cancelled": count}}

    async def _discharge(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        command = inputs.discharge(env.input)
        await self.visits.discharge(
            unit, institution=env.institution_code, command=command, now=now
        )
        return {"result": {"mdtrt_id": command.ref.visit_id}}

    async def _change_admission(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        command = inputs.admission_change(env.input)
        await self.visits.change_admission(
            unit, institution=env.institution_code, command=command, now=now
        )
        return {"data": {"mdtrt_id": command.ref.visit_id}}

    async def _cancel_discharge(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref = inputs.visit_ref(node(env.input))
        await self.visits.cancel_discharge(unit, institution=env.institution_code, ref=ref, now=now)
        return {"data": {"mdtrt_id": ref.visit_id}}

    async def _settlement(
        self, unit: Unit, env: HisEnvelope, now: datetime, commit: bool
    ) -> Output:
        command = inputs.settle(env.input)
        done = await self.visits.settle(
            unit,
            institution=env.institution_code,
            command=command,
            message_id=env.message_id,
            now=now,
            commit=commit,
        )
        return outputs.settlement(
            done,
            settled_at=now,
            message_id=env.message_id,
            voucher_type=command.voucher.voucher_type if command.voucher else None,
        )

    async def _pre_settle(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return await self._settlement(unit, env, now, commit=False)

    async def _settle(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return await self._settlement(unit, env, now, commit=True)

    async def _purchasing(
        self, unit: Unit, env: HisEnvelope, now: datetime, commit: bool
    ) -> Output:
        command = inputs.purchase(env)
        done = await self.visits.purchase(
            unit,
            institution=env.institution_code,
            command=command,
            message_id=env.message_id,
            now=now,
            commit=commit,
        )
        voucher = command.registration.voucher
        return outputs.purchase(
            done,
            settled_at=now,
            message_id=env.message_id,
            voucher_type=voucher.voucher_type if voucher else None,
        )

    async def _pre_purchase(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return await self._purchasing(unit, env, now, commit=False)

    async def _purchase(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return await self._purchasing(unit, env, now, commit=True)

    async def _cancel_settlement(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        ref, settlement_id = inputs.settlement_cancel(env.input)
        cancellation_id = await self.visits.cancel_settlement(
            unit,
            institution=env.institution_code,
            ref=ref,
            settlement_id=settlement_id,
            message_id=env.message_id,
            now=now,
        )
        return outputs.settlement_record(
            await self.visits.settlement_record(unit, env.institution_code, cancellation_id)
        )

    async def _query(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        settlement_id = inputs.settlement_query(env.input)
        return outputs.settlement_query(
            await self.visits.settlement_query(unit, env.institution_code, settlement_id)
        )

    async def _reverse(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        reversal = inputs.reversal(env.input)
        undone = await self.visits.reverse(
            unit,
            institution=env.institution_code,
            reversal=reversal,
            message_id=env.message_id,
            now=now,
        )
        return {
            "data": {
                "omsgid": reversal.original_message_id,
                "oinfno": reversal.original_transaction,
                "reversed": undone,
            }
        }

    async def _map_item(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        item, code, _ = inputs.item_mapping(env.input)
        await self.reference.map_item(unit, env.institution_code, item, code, now)
        return {"data": {"fixmedins_hilist_id": item, "med_list_codg": code}}

    async def _unmap_item(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        item, code, _ = inputs.item_mapping(env.input)
        await self.reference.unmap_item(unit, env.institution_code, item, now)
        return {"data": {"fixmedins_hilist_id": item, "med_list_codg": code}}
