"""The queries' pure parts: the visit as the queries fold it (each settlement keeps its own
lines, diagnoses replace each other), the settlement-list decision, the 4101 input checks, the
1901 dictionaries as the spec's code tables give them, the catalogue file numbers, versions,
columns and zips, and every new output against the spec's own tables."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from settlement_his_numbers import spec_gaps

from yidi_benefits.accumulators import Accumulators
from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.settlement import (
    FeeLinesCancelled,
    FeeLinesUploaded,
    ItemClass,
    SettlementCancelled,
    VisitSettled,
)
from yidi_events.kernel import DomainError, NotFound
from yidi_settlement.app.queries import ChronicLine, LineSeen, VisitSeen
from yidi_settlement.domain import settlement_list as sl
from yidi_settlement.domain import visit_record as vr
from yidi_settlement.domain.catalogue_versions import PublishedVersion
from yidi_settlement.domain.events import (
    CatalogueItemPublished,
    Diagnosis,
    PatientDischarged,
    VisitDiagnosed,
    VisitRegistered,
)
from yidi_settlement.his import downloads, queries, settlement_list
from yidi_settlement.his.typed import typed
from yidi_settlement.vectors import run_case

CASES: list[dict[str, Any]] = json.loads(
    (shared_dir() / "vectors/settlement.json").read_text(encoding="utf-8")
)
EMPLOYEE = next(c for c in CASES if c["name"].startswith("employee in-service, level 3"))
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
HOSPITAL = "H32010000001"
REGISTERED = VisitRegistered(
    visit_id="V1",
    person_id="P1",
    insured_region="320500",
    visit_region="320100",
    institution_code=HOSPITAL,
    insurance_type="310",
    medical_type="21",
    began_at=NOW,
    principal_diagnosis="I10.x00",
)
RESULT = run_case(EMPLOYEE)


def settled(settlement_id: str, at: datetime) -> VisitSettled:
    return VisitSettled(
        settlement_id=settlement_id,
        visit_id="V1",
        person_id="P1",
        insured_region="320500",
        visit_region="320100",
        institution_code=HOSPITAL,
        clearing_agency="320100",
        clearing_category="21",
        insurance_type="310",
        medical_type="21",
        filing_kind="referral",
        admitted_on=date(2026, 3, 10),
        discharged_on=date(2026, 3, 12),
        principal_diagnosis="I10.x00",
        totals=RESULT.totals,
        fund_payments=RESULT.fund_payments,
        account_balance_after=RESULT.account_balance_after,
        movement=RESULT.movement,
        message_id=f"M-{settlement_id}",
        settled_at=at,
    )


def cancelled(original: str) -> SettlementCancelled:
    s = settled(original, NOW)
    return SettlementCancelled(
        settlement_id=f"N-{original}",
        original_settlement_id=original,
        visit_id="V1",
        person_id="P1",
        insured_region="320500",
        visit_region="320100",
        institution_code=HOSPITAL,
        clearing_agency="320100",
        clearing_category="21",
        insurance_type="310",
        medical_type="21",
        totals=s.totals.negated(),
        fund_payments=s.fund_payments,
        account_balance_after=None,
        movement=s.movement.negated(),
        message_id="M-cancel",
        cancelled_at=NOW,
    )


LINE_A, LINE_B = RESULT.lines[0], RESULT.lines[1]


def uploaded(*lines: Any, at: datetime = NOW) -> FeeLinesUploaded:
    return FeeLinesUploaded(
        visit_id="V1", person_id="P1", institution_code=HOSPITAL, lines=lines, uploaded_at=at
    )


# --- the visit as the queries fold it ----------------------------------------------------------


def test_each_settlement_keeps_the_lines_that_stood_when_it_was_made() -> None:
    later = NOW + timedelta(days=1)
    record = vr.VISIT_RECORD.fold(
        [
            REGISTERED,
            uploaded(LINE_A, LINE_B),
            FeeLinesCancelled(
                visit_id="V1",
                person_id="P1",
                institution_code=HOSPITAL,
                fee_line_nos=(LINE_B.fee_line_no,),
                cancelled_at=NOW,
            ),
            settled("S1", NOW),
            cancelled("S1"),
            uploaded(LINE_B, at=later),
            settled("S2", later),
        ]
    )
    assert vr.settlement_lines(record, "V1", "S1") == (LINE_A,)
    assert vr.settlement_lines(record, "V1", "S2") == (LINE_A, LINE_B)
    assert record.cancelled == frozenset({"S1"})
    with pytest.raises(NotFound) as refused:
        vr.settlement_lines(record, "V1", "S9")
    assert refused.value.field == "settlement_id"
    # an open visit has lasted until now; a settled one ended at its last settlement
    assert vr.ended_at(record, NOW + timedelta(days=5)) == later
    assert vr.ended_at(vr.VISIT_RECORD.fold([REGISTERED]), later) == later


def test_a_diagnosis_upload_replaces_the_one_before_and_discharge_adds_its_own() -> None:
    first = (Diagnosis(code="A01", name="一", principal=True), Diagnosis(code="B02", name="二"))
    second = (Diagnosis(code="C03", name="三", principal=True),)

    def diagnosed(found: tuple[Diagnosis, ...]) -> VisitDiagnosed:
        return VisitDiagnosed(
            visit_id="V1",
            person_id="P1",
            institution_code=HOSPITAL,
            diagnoses=found,
            principal_diagnosis=found[0].code,
            diagnosed_at=NOW,
        )

    discharged = PatientDischarged(
        visit_id="V1",
        person_id="P1",
        institution_code=HOSPITAL,
        discharged_on=date(2026, 3, 12),
        discharged_at=NOW + timedelta(days=2),
        principal_diagnosis="D04",
    )
    record = vr.VISIT_RECORD.fold([REGISTERED, diagnosed(first)])
    assert [(d.diagnosis.code, d.order) for d in record.diagnoses] == [("A01", 1), ("B02", 2)]
    record = vr.VISIT_RECORD.fold([diagnosed(second), discharged], record)
    assert [(d.diagnosis.code, d.stage) for d in record.diagnoses] == [
        ("C03", vr.DiagnosisStage.ADMISSION),
        ("D04", vr.DiagnosisStage.DISCHARGE),
    ]
    assert vr.ended_at(record, NOW + timedelta(days=9)) == discharged.discharged_at


def test_a_visit_is_read_only_by_its_institution_for_its_person() -> None:
    record = vr.VISIT_RECORD.fold([REGISTERED])
    with pytest.raises(NotFound):
        vr.own_record(record, visit_id="V1", institution_code="H-OTHER")
    with pytest.raises(DomainError) as refused:
        vr.own_record(record, visit_id="V1", institution_code=HOSPITAL, person_id="P2")
    assert refused.value.rule == "visit.person_mismatch"


def test_a_fee_arose_on_its_own_day_or_when_it_was_uploaded() -> None:
    record = vr.VISIT_RECORD.fold(
        [REGISTERED, uploaded(replace(LINE_A, fee_date=date(2026, 3, 8)))]
    )
    moved = replace(LINE_A, fee_date=date(2026, 3, 8))
    assert vr.fee_time(record, moved).date() == date(2026, 3, 8)
    same_day = vr.VISIT_RECORD.fold([REGISTERED, uploaded(replace(LINE_A, fee_date=None))])
    assert vr.fee_time(same_day, replace(LINE_A, fee_date=None)) == NOW


# --- the settlement list -------------------------------------------------------------------------


def decide(state: sl.VisitLists, **changes: Any) -> list[Any]:
    command: dict[str, Any] = {
        "visit_id": "V1",
        "institution_code": HOSPITAL,
        "person_id": "P1",
        "settlement_id": "S1",
        "form": {"setlinfo": {}},
        "message_id": "M1",
        "now": NOW,
        "fresh_id": "L00000001",
        **changes,
    }
    return sl.decide_upload(state, **command)


def test_a_list_names_a_standing_settlement_of_the_hospitals_visit_and_keeps_its_id() -> None:
    state = sl.VISIT_LISTS.fold([REGISTERED, settled("S1", NOW)])
    (first,) = decide(state)
    assert first.list_id == "L00000001"
    # uploaded again: the same list id, whatever fresh id is offered
    (again,) = decide(sl.VISIT_LISTS.fold([first], state), fresh_id="L99999999")
    assert again.list_id == "L00000001"
    refusals = [
        (sl.VISIT_LISTS.fold([cancelled("S1")], state), {}, "settlement_list.no_settlement"),
        (state, {"settlement_id": "S2"}, "settlement_list.no_settlement"),
        (state, {"institution_code": "H-OTHER"}, "visit.not_found"),
        (state, {"person_id": "P2"}, "visit.person_mismatch"),
        (sl.VISIT_LISTS.fold([]), {}, "visit.not_found"),
    ]
    for folded, changes, rule in refusals:
        with pytest.raises(DomainError) as refused:
            decide(folded, **changes)
        assert refused.value.rule == rule


def test_new_list_ids_fit_the_national_field() -> None:
    ids = {sl.new_list_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 9 and i.isalnum() and i.upper() == i for i in ids)


LIST = {name: "x" for name in settlement_list.REQUIRED["setlinfo"]} | {
    "psn_no": "P1",
    "mdtrt_id": "V1",
    "setl_id": "S1",
    "setl_begn_date": "2026-03-10",
    "setl_end_date": "2026-03-12",
}


def test_the_list_input_names_the_first_required_field_missing() -> None:
    done = settlement_list.upload(
        {"setlinfo": LIST, "payinfo": [{"fund_pay_type": "310100", "fund_payamt": Decimal("1.50")}]}
    )
    assert (done.visit_id, done.person_id, done.settlement_id) == ("V1", "P1", "S1")
    assert done.form["payinfo"] == [{"fund_pay_type": "310100", "fund_payamt": "1.50"}]
    cases = [
        ({}, "setlinfo"),
        ({"setlinfo": {**LIST, "coner_tel": "null"}}, "coner_tel"),
        ({"setlinfo": LIST, "diseinfo": {"diag_code": "A"}}, "diseinfo"),
        ({"setlinfo": LIST, "oprninfo": [{"oprn_oprt_type": "1"}]}, "oprn_oprt_name"),
        ({"setlinfo": {**LIST, "setl_begn_date": "10/03/2026"}}, "setl_begn_date"),
        ({"setlinfo": {**LIST, "setl_end_date": "2026-03-09"}}, "setl_end_date"),
        (
            {"setlinfo": LIST, "payinfo": [{"fund_pay_type": "310100", "fund_payamt": "1.5.0"}]},
            "fund_payamt",
        ),
    ]
    for payload, field in cases:
        with pytest.raises(DomainError) as refused:
            settlement_list.upload(payload)
        assert refused.value.field == field


# --- 1901 ----------------------------------------------------------------------------------------


def test_the_dictionaries_are_the_spec_code_tables() -> None:
    tables = queries.dictionaries()
    for name in (
        "med_type",
        "psn_cert_type",
        "mdtrt_cert_type",
        "insutype",
        "psn_type",
        "gend",
        "med_chrgitm_type",
        "chrgitm_lv",
        "clr_type",
        "list_type",
        "fund_pay_type",
        "psn_idet_type",
    ):
        assert tables[name]["values"], name
    values = {t: {v["value"]: v["label"] for v in tables[t]["values"]} for t in tables}
    # as the spec's tables 401, 403 and the certificate table print them
    assert values["med_type"]["11"] == "普通门诊"
    assert values["med_type"]["2101"] == "普通住院"
    assert values["insutype"]["390"] == "城乡居民基本医疗保险"
    assert values["mdtrt_cert_type"] == {
        "01": "医保电子凭证",
        "02": "居民身份证",
        "03": "社会保障卡",
    }
    assert values["chrgitm_lv"] == {"01": "甲类", "02": "乙类", "03": "丙类"}
    assert values["med_chrgitm_type"]["14"] == "其他费"
    assert len(values["med_chrgitm_type"]) == 14


def test_1901_answers_every_value_with_its_order_and_refuses_an_unknown_type() -> None:
    kind, parent, valid = queries.dictionary_query(
        {"data": {"type": "chrgitm_lv", "parent_value": "", "Vali_Flag": "1"}}
    )
    answer = typed(queries.dictionary(kind, parent, valid))
    assert spec_gaps("1901", answer) == []
    assert [(r["value"], r["sort"]) for r in answer["list"]] == [("01", 1), ("02", 2), ("03", 3)]
    assert queries.dictionary(kind, parent, valid=False) == {"list": []}
    with pytest.raises(DomainError) as refused:
        queries.dictionary_query({"data": {"type": "nope"}})
    assert refused.value.field == "type"


# --- the catalogue files -------------------------------------------------------------------------


def version(code: str, txid: int, list_type: str = "101") -> PublishedVersion:
    return PublishedVersion(
        txid=txid,
        item=CatalogueItemPublished(
            visit_region="320100",
            catalogue_code=code,
            name=f"药\t{code}",
            item_class=ItemClass.B,
            self_pay_ratio=Decimal("0.1000"),
            price_cap=None,
            list_type=list_type,
            effective_from=date(2026, 1, 1),
        ),
    )


def test_a_file_number_carries_the_catalogue_and_both_bounds() -> None:
    number = downloads.file_number("1306A", 0, 36**8 - 1)
    assert number == "CAT1306A-0-zzzzzzzz"
    assert len(number) <= 30  # the spec's file_qury_no
    assert downloads.read_file_number(number) == ("1306A", 0, 36**8 - 1)
    assert downloads.read_file_number("CAT9999-1-2") is None  # not a catalogue of ours
    # reconciliation's numbers (uuid4 hex) are not ours
    assert downloads.read_file_number("0f3c9a" + "0" * 26) is None


def test_the_version_asked_is_a_number_we_sent_or_v0000() -> None:
    assert downloads.version_asked({"data": {"ver": "v0000"}}) == 0
    assert downloads.version_asked({"data": {"ver": "V0000"}}) == 0
    assert downloads.version_asked({"data": {"ver": 812}}) == 812
    for bad in ("abc", "20230101_1", "", None):
        with pytest.raises(DomainError) as refused:
            downloads.version_asked({"data": {"ver": bad}})
        assert refused.value.field == "ver"


def test_file_rows_follow_the_spec_columns_and_carry_only_the_catalogues_list_types() -> None:
    columns = downloads.columns("1301")
    assert len(columns) == 97
    assert (columns[0], columns[1], columns[82]) == ("医疗目录编码", "药品商品名", "版本号")
    table = downloads.rows("1301", [version("XA001", 700), version("T001", 701, "201")])
    (row,) = table
    assert len(row) == 97
    assert row[0] == "XA001"
    assert row[82] == "700"
    assert row[36] == "2026-01-01"  # 第37列 开始日期
    assert row[91] == "02"  # 第92列 甲乙类标识
    assert downloads.rows("1307", [version("XA001", 700)]) == []  # no data held: empty
    services = downloads.rows("1305", [version("T001", 701, "201")])
    assert services[0][0] == "T001"
    assert len(services[0]) == 19


def test_the_zip_is_one_tab_separated_text_and_the_same_versions_make_the_same_bytes() -> None:
    table = downloads.rows("1301", [version("XA001", 700), version("XB002", 705)])
    zipped = downloads.zipped("CAT1301-0-k0", table)
    assert zipped == downloads.zipped("CAT1301-0-k0", table)
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        (member,) = archive.namelist()
        lines = archive.read(member).decode("utf-8").splitlines()
    assert member == "CAT1301-0-k0.txt"
    assert [line.split("\t")[0] for line in lines] == ["XA001", "XB002"]
    assert lines[0].split("\t")[1] == "药 XA001"  # a tab inside a value cannot split the row


def test_file_answers_carry_every_non_null_field_typed() -> None:
    answer = typed(downloads.file_answer("1302", 0, 900, 3, NOW))
    assert spec_gaps("1302", answer) == []
    assert answer["dld_end_time"] == "2026-03-17"
    assert answer["file_qury_no"] == downloads.file_number("1302", 0, 900)


# --- the other outputs against the spec's tables -------------------------------------------------

PERSON = {
    "person_id": "P1",
    "name": "张三",
    "certificate_type": "01",
    "certificate_no": "320102198001011234",
    "gender": "1",
    "birth_date": date(1980, 3, 11),
    "person_category": "1101",
    "civil_servant": False,
}
CATALOGUE = {
    "catalogue_code": LINE_A.catalogue_code,
    "name": "阿莫西林",
    "item_class": "02",
    "self_pay_ratio": Decimal("0.1000"),
    "price_cap": None,
    "list_type": "101",
}


def test_1201_answers_the_registry_row() -> None:
    kind, code, name = queries.institution_query(
        {"medinsinfo": {"fixmedins_type": "1", "fixmedins_code": HOSPITAL}}
    )
    assert (kind, code, name) == ("1", HOSPITAL, None)
    row = {"institution_code": HOSPITAL, "institution_name": "南京一院", "hospital_level": "3"}
    answer = typed(queries.institution(row))
    assert spec_gaps("1201", answer) == []
    assert answer["medinsinfo"]["hosp_lv"] == "12"  # 三级, grade not kept: 三级无等
    with pytest.raises(DomainError):
        queries.institution_query({"medinsinfo": {"fixmedins_type": "1"}})


def test_5201_5202_5204_5205_5206_carry_every_non_null_field_typed() -> None:
    record = vr.VISIT_RECORD.fold([REGISTERED, uploaded(LINE_A, LINE_B), settled("S1", NOW)])
    row = {
        "visit_id": "V1",
        "insurance_type": "310",
        "insured_region": "320500",
        "medical_type": "21",
        "began_at": NOW,
        "institution_code": HOSPITAL,
        "person_id": "P1",
    }
    seen = VisitSeen(row=row, record=record, ended_at=NOW + timedelta(days=2))
    visits = typed({"mdtrtinfo": [queries.visit(seen, PERSON)]})
    assert spec_gaps("5201", visits) == []
    found = visits["mdtrtinfo"][0]
    assert str(found["age"]) == "45.0"  # 2026-03-10 is the day before the 46th birthday
    assert found["ipt_days"] == Decimal(2)
    assert found["inhosp_stas"] == "1"

    assert spec_gaps("5202", typed(queries.diagnoses(record))) == []

    lines = [
        LineSeen(line=LINE_A, at=NOW, catalogue=CATALOGUE),
        LineSeen(line=LINE_B, at=NOW, catalogue=None),
    ]
    fee_rows = typed(queries.settled_lines("V1", "S1", "21", tuple(lines)))
    assert spec_gaps("5204", fee_rows) == []
    assert fee_rows[0]["hilist_name"] == "阿莫西林"
    # the class the line was settled under, whatever the catalogue says now
    assert LINE_A.item_class is not None
    assert fee_rows[0]["chrgitm_lv"] == LINE_A.item_class.value
    assert fee_rows[1]["list_type"] == ""
    assert fee_rows[1]["selfpay_prop"] == Decimal(1)

    chronic = typed(
        queries.chronic_lines([ChronicLine(visit=row, institution_name="南京一院", seen=lines[0])])
    )
    assert spec_gaps("5205", chronic) == []

    year = Accumulators(policy_year=2026, inpatient_admissions=2, basic_paid_cum=123_45)
    cum = typed(queries.cumulative("310", date(2026, 3, 1), year))
    assert spec_gaps("5206", cum) == []
    figures = {r["cum_type_code"]: str(r["cum"]) for r in cum["cuminfo"]}
    assert figures["HIFP_PAY"] == "123.45"
    assert figures["IPT_CNT"] == "2.00"
    assert {r["cum_ym"] for r in cum["cuminfo"]} == {"202603"}


def test_5206_reads_the_month_and_refuses_one_that_is_not() -> None:
    assert queries.cumulative_query({"data": {"psn_no": "P1", "cum_ym": "202602"}}) == (
        "P1",
        date(2026, 2, 1),
    )
    assert queries.cumulative_query({"data": {"psn_no": "P1"}}) == ("P1", None)
    with pytest.raises(DomainError) as refused:
        queries.cumulative_query({"data": {"psn_no": "P1", "cum_ym": "202613"}})
    assert refused.value.field == "cum_ym"


def test_a_period_that_ends_before_it_begins_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        queries.visit_query(
            {
                "data": {
                    "psn_no": "P1",
                    "med_type": "11",
                    "begntime": "2026-03-10 00:00:00",
                    "endtime": "2026-03-09T00:00:00",
                }
            }
        )
    assert refused.value.field == "endtime"
