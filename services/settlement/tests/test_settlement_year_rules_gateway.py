"""Through the HIS gateway of the real service: a date in the future is refused and changes
nothing, a re-referral during a stay leaves the first hospital's settlement under the old version,
an emergency settles at the emergency level whatever filings the person holds and in whatever
order they came, and a stay across New Year splits each line on its own day's catalogue.

Every figure is worked by hand from the sandbox policies and catalogue (DOMAIN.md section 2)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from settlement_his_numbers import as_text

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.filing import FilingChanged, FilingChannel
from yidi_events.contracts.policy import FilingKind

SANDBOX = shared_dir() / "sandbox"
PERSONS = {p["psn_no"][-1]: p for p in json.loads((SANDBOX / "persons.json").read_text("utf-8"))}
FILINGS = {f["psn_no"][-1]: f for f in json.loads((SANDBOX / "filings.json").read_text("utf-8"))}
POLICIES = json.loads((SANDBOX / "policies.json").read_text("utf-8"))
FIRST, SECOND = "H32010000001", "H32010000002"  # Nanjing, levels 3 and 2
MARCH = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 on 10 March in Nanjing
MONEY = ("medfee_sumamt", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc", "hifp_pay")
PAID = ("maf_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


async def _setup(h: Any, *persons: str, policies: list[dict[str, Any]] = POLICIES) -> None:
    await h.load_sandbox()
    for doc in policies:
        await h.policy(doc)
    for n in persons:
        await h.person(PERSONS[n])


def _voucher(p: dict[str, Any]) -> dict[str, str]:
    return {"mdtrt_cert_type": "03", "mdtrt_cert_no": p["certno"], "card_sn": p["card_sn"]}


async def _admit(
    h: Any, p: dict[str, Any], hospital: str, began: str, med_type: str = "21"
) -> dict[str, Any]:
    data = {
        "psn_no": p["psn_no"],
        "insutype": p["insutype"],
        "begntime": began,
        "med_type": med_type,
        **_voucher(p),
    }
    answer: dict[str, Any] = await h.his(
        "2401", {"mdtrtinfo": data}, hospital, insured=p["insuplc_admdvs"]
    )
    return answer


async def _admitted(h: Any, p: dict[str, Any], hospital: str, began: str, **kw: Any) -> str:
    answer = await _admit(h, p, hospital, began, **kw)
    assert answer["infcode"] == 0, answer["err_msg"]
    visit_id: str = answer["output"]["result"]["mdtrt_id"]
    return visit_id


def _fee(n: str, visit_id: str, p: dict[str, Any], code: str, at: str) -> dict[str, Any]:
    """Ten units at 100.00: a 1,000.00 line."""
    return {
        "feedetl_sn": n,
        "mdtrt_id": visit_id,
        "psn_no": p["psn_no"],
        "med_list_codg": code,
        "cnt": "10",
        "pric": "100.00",
        "det_item_fee_sumamt": "1000.00",
        "fee_ocur_time": at,
    }


def _discharge(visit_id: str, p: dict[str, Any], at: str) -> dict[str, Any]:
    return {"dscginfo": {"psn_no": p["psn_no"], "mdtrt_id": visit_id, "endtime": at}}


async def _settle(h: Any, visit_id: str, p: dict[str, Any], hospital: str) -> dict[str, str]:
    data = {"psn_no": p["psn_no"], "mdtrt_id": visit_id, "acct_used_flag": "1", **_voucher(p)}
    out = await h.ok("2304", {"data": data}, hospital, insured=p["insuplc_admdvs"])
    info: dict[str, str] = out["setlinfo"]
    return info


async def _stay(h: Any, p: dict[str, Any], hospital: str, began: str, **kw: Any) -> dict[str, str]:
    """An admission with three 1,000.00 class A lines (XA001), discharged the same day."""
    visit_id = await _admitted(h, p, hospital, began, **kw)
    rows = [_fee(n, visit_id, p, "XA001", began) for n in ("1", "2", "3")]
    await h.ok("2301", {"feedetail": rows}, hospital, insured=p["insuplc_admdvs"])
    await h.ok("2402", _discharge(visit_id, p, began), hospital)
    return await _settle(h, visit_id, p, hospital)


def _figures(info: dict[str, Any], names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(as_text(info[n]) for n in names)


# --- dates --------------------------------------------------------------------------------------


async def test_a_date_in_the_future_is_refused_naming_the_field_and_nothing_changes(
    make_harness: Any,
) -> None:
    async with make_harness(MARCH) as h:
        await _setup(h, "1")
        p = PERSONS["1"]
        await h.filing(FILINGS["1"])
        visit_id = await _admitted(h, p, FIRST, "2026-03-10 09:00:00")
        before = await h.counts()
        refusals = [
            ("2402", _discharge(visit_id, p, "2099-12-31 10:00:00"), "endtime"),
            (
                "2301",
                {"feedetail": [_fee("1", visit_id, p, "XA001", "2099-12-31 10:00:00")]},
                "fee_ocur_time",
            ),
            ("2402", _discharge(visit_id, p, "2026-03-09 10:00:00"), "endtime"),
            (
                "2301",
                {"feedetail": [_fee("1", visit_id, p, "XA001", "2026-03-09 10:00:00")]},
                "fee_ocur_time",
            ),
        ]
        messages = []
        for infno, payload, field in refusals:
            answer = await h.his(infno, payload, FIRST, insured=p["insuplc_admdvs"])
            assert answer["infcode"] == -1
            assert answer["output"] is None
            assert answer["err_msg"].startswith(f"{field}："), answer["err_msg"]
            messages.append(answer["err_msg"])
        assert messages[0] == (
            "endtime：日期晚于当前日期，收到 2099-12-31，最晚 2026-03-10（visit.date_in_future）"
        )
        assert messages[2] == (
            "endtime：日期早于入院日期，收到 2026-03-09，入院 2026-03-10"
            "（visit.date_before_admission）"
        )
        assert await h.counts() == before
        # Today's discharge, dated five minutes ahead of our clock at 23:57, is a clock's skew.
        h.runtime.clock.set(datetime(2026, 3, 10, 15, 57, tzinfo=UTC))
        await h.ok("2402", _discharge(visit_id, p, "2026-03-11 00:01:00"), FIRST)


# --- the filing version in force at admission -----------------------------------------------------


async def test_a_re_referral_during_a_stay_leaves_the_first_hospital_under_the_old_version(
    make_harness: Any,
) -> None:
    async with make_harness(MARCH) as h:
        await _setup(h, "2")
        p = PERSONS["2"]  # Suqian 321300 employee in service, referred to the first hospital
        await h.filing(FILINGS["2"], filing_id="F2")
        visit_id = await _admitted(h, p, FIRST, "2026-03-10 09:00:00")
        rows = [_fee(n, visit_id, p, "XA001", "2026-03-10 10:00:00") for n in ("1", "2", "3")]
        await h.ok("2301", {"feedetail": rows}, FIRST, insured=p["insuplc_admdvs"])
        # Re-referred to the second hospital on 12 March, during the stay.
        h.runtime.clock.set(datetime(2026, 3, 12, 1, 0, tzinfo=UTC))
        await h.feed(
            FilingChanged(
                filing_id="F2",
                person_id=p["psn_no"],
                kind=FilingKind.REFERRAL,
                long_term_type=None,
                insured_region="321300",
                visit_region="320100",
                destination_institution=SECOND,
                diagnosis="C34.900",
                valid_from=date(2026, 1, 1),
                valid_to=date(2026, 12, 31),
                promise_based=False,
                channel=FilingChannel.COUNTER,
                changed_on=date(2026, 3, 12),
                reason="再次转院",
            ),
            f"person-{p['psn_no']}",
        )
        h.runtime.clock.set(datetime(2026, 3, 15, 1, 0, tzinfo=UTC))
        await h.ok("2402", _discharge(visit_id, p, "2026-03-15 08:00:00"), FIRST)
        info = await _settle(h, visit_id, p, FIRST)
        # 3,000.00 in policy; level-3 first admission deductible 1,000.00; the basic fund pays
        # the 2,000.00 above it at 85% less the referral's 5 points = 80%: 1,600.00. The share
        # 1,400.00 is under the 5,000.00 large-amount deductible; the account pays its 800.00,
        # cash 600.00.
        assert _figures(info, MONEY) == ("3000.00", "0.00", "3000.00", "1000.00", "1600.00")
        assert _figures(info, PAID) == ("0.00", "1600.00", "800.00", "600.00")
        # Admissions from the change day on: the second hospital, not the first.
        refused = await _admit(h, p, FIRST, "2026-03-15 09:00:00")
        assert refused["err_msg"].endswith("（eligibility.no_filing）"), refused["err_msg"]
        assert "就医地 320100，机构 H32010000001，就诊日期 2026-03-15" in refused["err_msg"]
        await _admitted(h, p, SECOND, "2026-03-15 09:00:00")


# --- the filing of an emergency, and of several filings ----------------------------------------

# Shangluo's resident policy with the national default cuts: emergency 0, referral 10, other 20.
DEFAULT_CUTS = [
    {
        **d,
        "filing_cut_points": {
            "long_term": 0,
            "emergency": 0,
            "referral": 10,
            "other_temporary": 20,
        },
    }
    if (d["insuplc_admdvs"], d["insutype"]) == ("611000", "390")
    else d
    for d in POLICIES
]
# Person 3 (Shangluo resident 1501, 低保) at the first hospital (level 3, resident ratio 70%):
# 3,000.00 in policy, 500.00 deductible, 2,500.00 eligible; assistance pays 70% of the share.
EMERGENCY_LEVEL = ("1750.00", "875.00", "2625.00", "375.00")  # 70%: share 1,250.00
REFERRAL_LEVEL = ("1500.00", "1050.00", "2550.00", "450.00")  # 60%: share 1,500.00


async def test_an_emergency_with_an_other_temporary_filing_settles_at_the_emergency_level(
    make_harness: Any,
) -> None:
    async with make_harness(MARCH) as h:
        await _setup(h, "3", policies=DEFAULT_CUTS)
        p = PERSONS["3"]
        await h.filing(FILINGS["3"])  # other_temporary, Nanjing
        # 急诊转住院 (med_type 24): cut 0, not the other temporary filing's 20 points (1,250.00).
        info = await _stay(h, p, FIRST, "2026-03-10 09:00:00", med_type="24")
        assert _figures(info, ("hifp_pay", "maf_pay", "fund_pay_sumamt", "psn_cash_pay")) == (
            EMERGENCY_LEVEL
        )


@pytest.mark.parametrize("order", ["other_temporary first", "referral first"])
async def test_with_two_filings_the_answer_does_not_depend_on_their_order(
    make_harness: Any, order: str
) -> None:
    async with make_harness(MARCH) as h:
        await _setup(h, "3", policies=DEFAULT_CUTS)
        p = PERSONS["3"]
        other = {**FILINGS["3"]}
        referral = {**FILINGS["3"], "filing_kind": "referral", "diag_code": "J45.900"}
        filings = [("F-OT", other), ("F-RF", referral)]
        for filing_id, f in filings if order == "other_temporary first" else filings[::-1]:
            await h.filing(f, filing_id=filing_id)
        names = ("hifp_pay", "maf_pay", "fund_pay_sumamt", "psn_cash_pay")
        emergency = await _stay(h, p, FIRST, "2026-03-10 09:00:00", med_type="24")
        assert _figures(emergency, names) == EMERGENCY_LEVEL
        # An ordinary admission: the referral's 10 points, more favourable than 20.
        ordinary = await _stay(h, p, FIRST, "2026-03-10 14:00:00")
        assert _figures(ordinary, names) == REFERRAL_LEVEL


# --- the catalogue of each line's fee date --------------------------------------------------------


async def test_a_stay_across_new_year_splits_each_line_on_its_own_days_catalogue(
    make_harness: Any,
) -> None:
    async with make_harness(datetime(2026, 12, 30, 1, 0, tzinfo=UTC)) as h:
        await _setup(h, "1")
        p = PERSONS["1"]  # Suzhou employee, retired, long-term filer in Nanjing, 3,500.00
        await h.filing(FILINGS["1"])
        # From 1 January XB002 (class B) is 30% self-paid first, not 10%.
        response = await h.client.post(
            "/v1/api/catalogue/import",
            headers={**h.token(), "content-type": "application/json"},
            params={"region": "320100", "effective_from": "2027-01-01"},
            content=json.dumps(
                {
                    "XB002": {
                        "chrgitm_lv": "02",
                        "selfpay_prop": "0.3000",
                        "pric_uplmt_amt": None,
                        "list_type": "101",
                    }
                }
            ),
        )
        assert response.status_code == 200, response.text
        visit_id = await _admitted(h, p, FIRST, "2026-12-30 09:00:00")

        async def upload(*rows: dict[str, Any]) -> list[tuple[str, str, str]]:
            out = await h.ok("2301", {"feedetail": list(rows)}, FIRST, insured="320500")
            return [
                (r["feedetl_sn"], as_text(r["preselfpay_amt"]), as_text(r["inscp_scp_amt"]))
                for r in out["result"]
            ]

        december = await upload(_fee("1", visit_id, p, "XB002", "2026-12-30 10:00:00"))
        h.runtime.clock.set(datetime(2027, 1, 2, 1, 0, tzinfo=UTC))
        january = await upload(
            _fee("2", visit_id, p, "XB002", "2027-01-01 10:00:00"),
            # Charged on 31 December, uploaded in January: still December's catalogue.
            _fee("3", visit_id, p, "XB002", "2026-12-31 22:00:00"),
        )
        assert december + january == [
            ("1", "100.00", "900.00"),
            ("2", "300.00", "700.00"),
            ("3", "100.00", "900.00"),
        ]
        await h.ok("2402", _discharge(visit_id, p, "2027-01-02 09:00:00"), FIRST)
        info = await _settle(h, visit_id, p, FIRST)
        # The settled split is the uploaded one: 500.00 pre-self-paid, 2,500.00 in policy. In
        # 2027 (the discharge's year) a first admission: 1,000.00 deductible, the basic fund pays
        # 90% (retired, level 3) of 1,500.00 = 1,350.00; the account pays the other 1,650.00.
        assert _figures(info, MONEY) == ("3000.00", "500.00", "2500.00", "1000.00", "1350.00")
        assert _figures(info, PAID) == ("0.00", "1350.00", "1650.00", "0.00")
        assert (await h.accumulators(p["psn_no"], 2027)).inpatient_admissions == 1
        assert (await h.accumulators(p["psn_no"], 2026)).inpatient_admissions == 0
