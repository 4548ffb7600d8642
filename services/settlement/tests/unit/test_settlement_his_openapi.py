"""The typed OpenAPI of the HIS endpoint comes from the spec's tables: each transaction gets a
request and a response schema with the spec's fields, required as the spec requires them, typed
as the gateway reads and writes them."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from yidi_settlement.his.openapi import REQUEST, RESPONSE, his_document, schemas


def validator(found: dict[str, Any], name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": {"schemas": found}}
    )


def envelope(infno: str, payload: Any) -> dict[str, Any]:
    return {
        "infno": infno,
        "msgid": "H32010000001202603100900000001",
        "mdtrtarea_admvs": "320100",
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": "2026-03-10T09:00:00",
        "fixmedins_code": "H32010000001",
        "fixmedins_name": "南京市第一人民医院",
        "input": payload,
    }


def test_each_transaction_has_a_request_and_a_response_discriminated_on_infno() -> None:
    found = schemas(["2207", "1201", "9001"])  # 1201 is not served today: the spec still types it
    assert {f"{REQUEST}{i}" for i in ("1201", "2207", "9001")} <= set(found)
    assert {f"{RESPONSE}{i}" for i in ("1201", "2207", "9001")} <= set(found)
    assert found[REQUEST]["discriminator"]["propertyName"] == "infno"
    assert set(found[REQUEST]["discriminator"]["mapping"]) == {"1201", "2207", "9001"}
    settle = found["His2207In_data"]
    assert {"medfee_sumamt", "mdtrt_id", "chrg_bchno", "acct_used_flag"} <= set(settle["required"])
    assert "invono" not in settle["required"]


def test_requests_are_typed_as_real_clients_send_them() -> None:
    found = schemas(["2207"])
    data = {
        "psn_no": "P1", "mdtrt_cert_type": "03", "mdtrt_cert_no": "C1", "psn_cert_type": "01",
        "certno": "C1", "med_type": "11", "medfee_sumamt": 375.0, "psn_setlway": "01",
        "mdtrt_id": "M1", "chrg_bchno": "B1", "insutype": "310", "acct_used_flag": 0,
        "fulamt_ownpay_amt": "0.00", "overlmt_selfpay": 0, "preselfpay_amt": 0,
        "inscp_scp_amt": 375.0,
    }  # fmt: skip
    check = validator(found, f"{REQUEST}2207")
    assert list(check.iter_errors(envelope("2207", {"data": data}))) == []
    assert list(check.iter_errors(envelope("2207", '{"data": {}}'))) == []  # input as a string
    wrong = {**data, "medfee_sumamt": "375,00"}
    assert [e.message for e in check.iter_errors(envelope("2207", {"data": wrong}))]
    missing = {k: v for k, v in data.items() if k != "mdtrt_id"}
    assert [e.message for e in check.iter_errors(envelope("2207", {"data": missing}))]


def test_answers_are_typed_as_the_gateway_writes_them() -> None:
    found = schemas(["2305"])
    check = validator(found, f"{RESPONSE}2305")
    refused = {"infcode": -1, "inf_refmsgid": "3201002026031009000000000001", "output": None}
    assert list(check.iter_errors(refused)) == []
    # The spec's 2305 table types hifdm_pay 字符型; every other table, and the gateway, a number.
    fund = validator(found, "His2305Out_setlinfo/properties/hifdm_pay")
    assert list(fund.iter_errors(0.00)) == []
    assert [e.message for e in fund.iter_errors("0.00")]
    moment = validator(found, "His2305Out_setlinfo/properties/setl_time")
    assert list(moment.iter_errors("2026-03-10 09:00:00")) == []
    assert [e.message for e in moment.iter_errors("2026-03-10T09:00:00")]  # written with a space


def test_the_vendors_document_keeps_the_his_operations_and_what_they_reference() -> None:
    found = schemas(["9001"])
    document = {
        "openapi": "3.1.0",
        "info": {"title": "settlement", "version": "1"},
        "paths": {
            "/fsi/x": {"post": {"tags": ["HIS gateway"], "requestBody": {"$ref": "#/components/schemas/HisRequest"}}},
            "/api/other": {"get": {"tags": ["agency"]}},
        },
        "components": {"schemas": {**found, "Unrelated": {"type": "object"}}},
    }  # fmt: skip
    his = his_document(document, "HIS gateway")
    assert list(his["paths"]) == ["/fsi/x"]
    assert "Unrelated" not in his["components"]["schemas"]
    assert {"HisRequest", "HisRequest9001", "His9001In_signIn"} <= set(his["components"]["schemas"])
