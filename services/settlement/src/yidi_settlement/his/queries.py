"""The HIS transactions every client calls beside the visit flows: 1201 institution, 1901
dictionaries, the 13xx catalogue files and their 9102 download, 5201-5206 queries and the 4101
settlement list. Input nodes are read and outputs built here, in national names; app/queries.py
answers in domain names. Registered in transactions.by_infno."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any, cast

from yidi_benefits.accumulators import Accumulators
from yidi_benefits.model import CatalogueEntry, is_inpatient
from yidi_events.application import Unit
from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import business_date, fen_to_yuan
from yidi_settlement.app.queries import ChronicLine, LineSeen, QueryService, VisitSeen
from yidi_settlement.domain import visit_record as vr
from yidi_settlement.his import downloads, outputs, settlement_list
from yidi_settlement.his.envelope import (
    HisEnvelope,
    local_time,
    moment,
    node,
    quoted,
    refuse,
    required,
    text,
)
from yidi_settlement.his.hospital_checks import section

Output = dict[str, Any]
Transaction = Callable[[Unit, HisEnvelope, datetime], Awaitable[Output]]

# --- 1201 ------------------------------------------------------------------------------------

HOSPITAL = "1"  # fixmedins_type 定点医疗机构: the registry holds hospitals only
# hosp_lv (医院等级) knows grades within a level; the registry keeps the level alone.
# 三级无等, 二级无等, 一级无等; a 三甲 is 三级甲等 (2); a township health centre (乡镇卫生院), which
# policies may price apart from 一级, has no grade of its own in hosp_lv: 一级无等.
_UNGRADED = {"3": "12", "2": "13", "1": "14", "3a": "2", "1t": "14"}


def institution_query(payload: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """1201 medinsinfo: the type, and the code or a part of the name (at least one)."""
    data = section(payload, "medinsinfo")
    kind = required(data, "fixmedins_type")
    code = text(data, "fixmedins_code", required=False)
    name = text(data, "fixmedins_name", required=False)
    if code is None and name is None:
        raise refuse(
            "fixmedins_code", "fixmedins_code or fixmedins_name is required (1201)", "his.required"
        )
    return kind, code, name


def institution(row: Mapping[str, Any]) -> Output:
    return {
        "medinsinfo": {
            "fixmedins_code": row["institution_code"],
            "fixmedins_name": row["institution_name"],
            "uscc": "",  # 非空, and not something the registry holds
            "fixmedins_type": HOSPITAL,
            "hosp_lv": _UNGRADED.get(row["hospital_level"]),
            "exp_content": None,
        }
    }


# --- 1901 ------------------------------------------------------------------------------------

SPEC_DATE = "2024-10-14"  # the edition the code tables come from (V1.1.27)
SYSTEM_USER = "nhsa-spec"


@cache
def dictionaries() -> Mapping[str, Any]:
    """type -> {name, values: [{value, label}]}: the spec's 代码表, as extracted by
    tools/extract_spec_dictionaries.py."""
    raw = (files("yidi_settlement.his") / "spec_dictionaries.json").read_text(encoding="utf-8")
    tables: Mapping[str, Any] = json.loads(raw)["dictionaries"]
    return tables


def dictionary_query(payload: Mapping[str, Any]) -> tuple[str, str | None, bool]:
    data = node(payload)
    kind = required(data, "type")
    if kind not in dictionaries():
        raise refuse(
            "type",
            f"type {kind} is not a dictionary of the interface spec (1901)",
            "his.dictionary_unknown",
            value=quoted(kind),
        )
    parent = text(data, "parent_value", required=False)
    valid = text(data, "Vali_Flag", required=False) or text(data, "vali_flag", required=False)
    return kind, parent, valid != "0"


def dictionary(kind: str, parent: str | None, valid: bool) -> Output:
    """1901 list: the dictionary's values; the spec's tables are flat (no parent value), and
    every value of them is in force, so asking for invalid ones (Vali_Flag 0) finds none."""
    if (parent not in (None, kind)) or not valid:
        return {"list": []}
    return {
        "list": [
            {
                "type": kind,
                "label": entry["label"],
                "value": entry["value"],
                "parentValue": "",
                "sort": number,
                "valiFlag": "1",
                "createUser": SYSTEM_USER,
                "createDate": SPEC_DATE,
                "version": 1,
            }
            for number, entry in enumerate(dictionaries()[kind]["values"], start=1)
        ]
    }


# --- 5201-5206 -------------------------------------------------------------------------------


def _span(data: Mapping[str, Any], *, end_required: bool) -> tuple[datetime, datetime | None]:
    start = moment("begntime", required(data, "begntime"))
    end = text(data, "endtime", required=end_required)
    stop = None if end is None else moment("endtime", end)
    if stop is not None and stop < start:
        raise refuse("endtime", "endtime is before begntime", "his.period_reversed")
    return start, stop


def _person(row: Mapping[str, Any], on: date) -> dict[str, Any]:
    birth: date = row["birth_date"]
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return {
        "psn_no": row["person_id"],
        "psn_cert_type": row["certificate_type"],
        "certno": row["certificate_no"],
        "psn_name": row["name"],
        "gend": row["gender"],
        "brdy": birth.isoformat(),
        "age": f"{age}.0",
        "psn_type": row["person_category"],
        "cvlserv_flag": "1" if row["civil_servant"] else "0",
    }


def visit_query(payload: Mapping[str, Any]) -> tuple[str, datetime, datetime, str, str | None]:
    data = node(payload)
    start, stop = _span(data, end_required=True)
    assert stop is not None
    return (
        required(data, "psn_no"),
        start,
        stop,
        required(data, "med_type"),
        text(data, "mdtrt_id", required=False),
    )


def visit(seen: VisitSeen, person: Mapping[str, Any]) -> dict[str, Any]:
    row, record = seen.row, seen.record
    began: datetime = row["began_at"]
    discharged = record.discharged
    principal = next(
        (d.diagnosis for d in reversed(record.diagnoses) if d.diagnosis.principal), None
    )
    inpatient = discharged is not None or is_inpatient(row["medical_type"])
    return {
        "mdtrt_id": row["visit_id"],
        **_person(person, business_date(began)),
        "insutype": row["insurance_type"],
        "insu_optins": row["insured_region"],
        "begntime": local_time(began),
        "endtime": local_time(seen.ended_at),
        "med_type": row["medical_type"],
        "dscg_maindiag_code": principal.code if principal else None,
        "dscg_maindiag_name": (principal.name or None) if principal else None,
        "inhosp_stas": ("0" if discharged else "1") if inpatient else None,
        "ipt_days": (
            str(max((business_date(seen.ended_at) - business_date(began)).days, 1))
            if inpatient
            else None
        ),
    }


def visit_ref(payload: Mapping[str, Any]) -> tuple[str, str]:
    data = node(payload)
    return required(data, "mdtrt_id"), required(data, "psn_no")


_STAGE = {vr.DiagnosisStage.ADMISSION: "1", vr.DiagnosisStage.DISCHARGE: "2"}  # inout_diag_type
_WESTERN = "1"  # diag_type 西医诊断: the platform codes diagnoses in ICD-10


def diagnoses(record: vr.VisitRecord) -> Output:
    """5202 diseinfo. Department and doctor are not kept by the platform: present, empty."""
    assert record.registered is not None
    reg = record.registered
    return {
        "diseinfo": [
            {
                "diag_info_id": uuid.uuid5(
                    uuid.NAMESPACE_URL, f"{reg.visit_id}/{d.stage}/{d.order}/{d.diagnosis.code}"
                ).hex[:30],
                "mdtrt_id": reg.visit_id,
                "psn_no": reg.person_id,
                "inout_diag_type": _STAGE[d.stage],
                "diag_type": _WESTERN,
                "maindiag_flag": "1" if d.diagnosis.principal else "0",
                "diag_srt_no": str(d.order),
                "diag_code": d.diagnosis.code,
                "diag_name": d.diagnosis.name,
                "diag_dept": reg.department or "",
                "dise_dor_no": "",
                "dise_dor_name": "",
                "diag_time": local_time(d.at),
            }
            for d in record.diagnoses
        ]
    }


def settlement_ref(payload: Mapping[str, Any]) -> tuple[str, str, str]:
    data = node(payload)
    return required(data, "mdtrt_id"), required(data, "psn_no"), required(data, "setl_id")


def _entry(catalogue: Mapping[str, Any] | None) -> CatalogueEntry | None:
    if catalogue is None:
        return None
    cap = catalogue["price_cap"]
    return CatalogueEntry(
        catalogue_code=catalogue["catalogue_code"],
        item_class=ItemClass(catalogue["item_class"]),
        self_pay_ratio=Decimal(catalogue["self_pay_ratio"]).normalize(),
        price_cap=None if cap is None else Decimal(cap).normalize(),
        list_type=catalogue["list_type"],
    )


def fee_line(seen: LineSeen) -> dict[str, Any]:
    """A fee line as 5204/5205 tell it: how it was split, with its catalogue entry."""
    line, catalogue = seen.line, seen.catalogue
    name = "" if catalogue is None else str(catalogue["name"])
    return {
        **outputs.fee_line_split(line, _entry(catalogue)),
        "fee_ocur_time": local_time(seen.at),
        "hilist_code": line.catalogue_code,
        "hilist_name": name,
        "list_type": "" if catalogue is None else str(catalogue["list_type"]),
        "medins_list_codg": line.hospital_item_code or line.catalogue_code,
        "medins_list_name": name,
        "spec": "",
        "dosform_name": "",
    }


def settled_lines(
    visit_id: str, settlement_id: str, medical_type: str, lines: tuple[LineSeen, ...]
) -> Output:
    """5204: rows at the output itself (the spec gives the table no node)."""
    rows = [
        {"mdtrt_id": visit_id, "setl_id": settlement_id, "med_type": medical_type, **fee_line(s)}
        for s in lines
    ]
    # The answer is a list; kept and typed like any other answer.
    return cast(Output, rows)


def chronic_query(payload: Mapping[str, Any]) -> tuple[str, datetime, datetime | None]:
    data = node(payload)
    start, stop = _span(data, end_required=False)
    return required(data, "psn_no"), start, stop


def chronic_lines(found: list[ChronicLine]) -> Output:
    return {
        "feedetail": [
            {
                **fee_line(c.seen),
                "fixmedins_code": c.visit["institution_code"],
                "fixmedins_name": c.institution_name,
                "psn_no": c.visit["person_id"],
                "med_type": c.visit["medical_type"],
            }
            for c in found
        ]
    }


# cum_type_code: the spec lists no code table for it; these are the person's year figures
# this platform keeps, named by the fund they count for.
CUMULATIVE = {
    "inpatient_admissions": "IPT_CNT",  # admissions in the year
    "outpatient_deductible_used": "OTP_DEDC",  # outpatient deductible used
    "eligible_cum": "HIFP_BASE",  # in-policy amounts above the deductibles
    "basic_paid_cum": "HIFP_PAY",  # paid by the basic fund
    "supplementary_base_cum": "HIFMI_BASE",  # the critical-illness insurance's base
    "supplementary_paid_cum": "HIFMI_PAY",  # paid by the critical-illness insurance
    "assistance_paid_cum": "MAF_PAY",  # paid by medical assistance
}


def cumulative_query(payload: Mapping[str, Any]) -> tuple[str, date | None]:
    data = node(payload)
    month = text(data, "cum_ym", required=False)
    if month is None:
        return required(data, "psn_no"), None
    if len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
        raise refuse(
            "cum_ym",
            f"cum_ym must be a month as yyyyMM, got {month!r}",
            "his.month_invalid",
            value=quoted(month),
        )
    return required(data, "psn_no"), date(int(month[:4]), int(month[4:]), 1)


def cumulative(insurance_type: str, month: date, year: Accumulators) -> Output:
    """5206 cuminfo: the person's figures of the policy year, as they stand."""
    counted = {"inpatient_admissions"}
    return {
        "cuminfo": [
            {
                "insutype": insurance_type,
                "year": str(year.policy_year),
                "cum_ym": f"{month:%Y%m}",
                "cum_type_code": code,
                "cum": f"{getattr(year, name)}.00"
                if name in counted
                else fen_to_yuan(getattr(year, name)),
            }
            for name, code in CUMULATIVE.items()
        ]
    }


# --- the transactions ------------------------------------------------------------------------


@dataclass
class QueryTransactions:
    service: QueryService

    def by_infno(self) -> dict[str, Transaction]:
        catalogue: dict[str, Transaction] = dict.fromkeys(
            downloads.CATALOGUE_FILES, self._catalogue
        )
        return {
            "1201": self._institution,
            "1901": self._dictionary,
            **catalogue,
            downloads.DOWNLOAD_INFNO: self._download,
            "5201": self._visits,
            "5202": self._diagnoses,
            "5204": self._fee_lines,
            "5205": self._chronic,
            "5206": self._cumulative,
            "5301": self._chronic_certificates,
            "4101": self._settlement_list,
            "4101A": self._settlement_list,
        }

    async def _institution(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        kind, code, name = institution_query(env.input)
        if kind != HOSPITAL:
            raise refuse(
                "fixmedins_type",
                f"the registry holds hospitals (1) only, not {kind}",
                "his.code",
                value=quoted(kind),
                allowed="1",
            )
        return institution(await self.service.institution(unit, code, name))

    async def _dictionary(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        return dictionary(*dictionary_query(env.input))

    async def _catalogue(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        after = downloads.version_asked(env.input)
        before, versions = await self.service.catalogue_versions(
            unit, env.institution_code, after, None, now
        )
        count = len(downloads.rows(env.infno, versions))
        return downloads.file_answer(env.infno, after, before, count, now)

    async def _download(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        number = downloads.download_number(env)
        found = None if number is None else downloads.read_file_number(number)
        if number is None or found is None:
            raise refuse(
                "file_qury_no",
                f"file_qury_no {number} is not a file of this platform",
                "his.file_unknown",
                value=quoted(number),
            )
        infno, after, before = found
        _, versions = await self.service.catalogue_versions(
            unit, env.institution_code, after, before, now
        )
        return downloads.download_answer(number, downloads.rows(infno, versions))

    async def _visits(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        person_id, start, stop, medical_type, visit_id = visit_query(env.input)
        person = await self.service.person(unit, person_id, now)
        seen = await self.service.visits(
            unit,
            institution=env.institution_code,
            person_id=person_id,
            began_from=start,
            began_to=stop,
            medical_type=medical_type,
            visit_id=visit_id,
            now=now,
        )
        return {"mdtrtinfo": [visit(s, person.row) for s in seen]}

    async def _diagnoses(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        visit_id, person_id = visit_ref(env.input)
        return diagnoses(
            await self.service.diagnoses(unit, env.institution_code, visit_id, person_id)
        )

    async def _fee_lines(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        visit_id, person_id, settlement_id = settlement_ref(env.input)
        found = await self.service.settled_lines(
            unit, env.institution_code, visit_id, person_id, settlement_id
        )
        return settled_lines(visit_id, settlement_id, found.settlement.medical_type, found.lines)

    async def _chronic(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        person_id, start, stop = chronic_query(env.input)
        await self.service.person(unit, person_id, now)  # an unknown person is refused
        return chronic_lines(await self.service.chronic_medicines(unit, person_id, start, stop))

    async def _chronic_certificates(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        person_id = required(node(env.input), "psn_no")
        held = await self.service.chronic_certificates(unit, person_id, now)
        return {
            "feedetail": [
                {
                    "opsp_dise_code": c.disease_code,
                    "opsp_dise_name": c.disease_name,
                    "begndate": c.valid_from.isoformat(),
                    "enddate": None if c.valid_to is None else c.valid_to.isoformat(),
                }
                for c in held
            ]
        }

    async def _cumulative(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        person_id, month = cumulative_query(env.input)
        on = month or business_date(now)
        person, year = await self.service.person_year(unit, person_id, on, now)
        return cumulative(person.row["insurance_type"], on, year)

    async def _settlement_list(self, unit: Unit, env: HisEnvelope, now: datetime) -> Output:
        upload = settlement_list.upload(env.input)
        list_id = await self.service.upload_settlement_list(
            unit,
            institution=env.institution_code,
            visit_id=upload.visit_id,
            person_id=upload.person_id,
            settlement_id=upload.settlement_id,
            form=upload.form,
            message_id=env.message_id,
            now=now,
        )
        return {"data": {"setl_list_id": list_id}}
