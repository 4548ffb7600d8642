"""3101/3102 at the edge: the national request becomes the `encounters.analyse` command, and
the owner's warnings become `result[]` rows."""

from __future__ import annotations

from typing import Any

import pytest
from settlement_his_testkit import envelope

from yidi_events.kernel import DomainError
from yidi_settlement.his.analysis import analysis_command, analysis_output

PERSON = "32050000000000000001"


def _input(**encounter: Any) -> dict[str, Any]:
    base = {
        "mdtrt_id": "MD-NEW",
        "medins_id": "H32010000001",
        "medins_admdvs": "320100",
        "med_type": "21",
        "insutype": "310",
        "adm_date": "2026-03-18 09:30:00",
        "dscg_main_dise_codg": "C34.900",
        "medfee_sumamt": 12000.5,
        "fsi_order_dtos": [
            {
                "rx_id": "R1",
                "hilist_code": "BED",
                "chrg_type": "01",
                "drord_begn_date": "2026-03-18 10:00:00",
                "cnt": 1,
                "pric": "60.00",
                "sumamt": "60.00",
            }
        ],
    }
    base.update(encounter)
    patient = {
        "patn_id": PERSON,
        "poolarea": "320500",
        "curr_mdtrt_id": "MD-NEW",
        "fsi_encounter_dtos": [base],
    }
    return {"data": {"task_id": "TASK-1", "patient_dtos": [patient]}}


def test_3101_request_maps_to_a_proposed_encounter() -> None:
    command = analysis_command(envelope("3101", _input()))
    (enc,) = command["encounters"]
    assert (enc["person_id"], enc["visit_id"], enc["insured_region"], enc["visit_region"]) == (
        PERSON,
        "MD-NEW",
        "320500",
        "320100",
    )
    assert enc["admitted_on"] == enc["discharged_on"] == "2026-03-18"
    assert enc["total_fee"] == 1_200_050
    (line,) = enc["fee_lines"]
    assert (line["charge_category"], line["amount"], line["fee_date"]) == ("01", 6000, "2026-03-18")
    assert command["rule_ids"] is None


def test_3101_request_without_the_current_encounter_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        analysis_command(envelope("3101", _input(mdtrt_id="OTHER")))
    assert refused.value.field == "curr_mdtrt_id"
    with pytest.raises(DomainError) as bad_amount:
        analysis_command(envelope("3101", _input(medfee_sumamt="12.345")))
    assert bad_amount.value.field == "medfee_sumamt"


def test_warnings_map_to_result_rows_of_the_task() -> None:
    warning = {
        "flag_id": "F1",
        "rule_id": "audit.split_hospitalization",
        "rule_name": "split stay",
        "detail": "readmitted within 15 days",
        "person_id": PERSON,
        "visit_id": "MD-NEW",
        "amount_at_issue": 500_000,
        "severity": "suspected",
        "evidence": "audit.split_hospitalization v1: settlements S1",
    }
    (row,) = analysis_output(envelope("3101", _input()), {"warnings": [warning]})["result"]
    assert row["rule_id"] == "audit.split_hospitalization"
    assert (row["patn_id"], row["mdtrt_id"], row["task_id"]) == (PERSON, "MD-NEW", "TASK-1")
    assert (row["sev_deg"], row["vola_amt"], row["jr_id"]) == ("2", "5000.00", "F1")
    assert "S1" in row["vola_evid"]
