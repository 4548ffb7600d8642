"""A generated province: insured persons, their filings and each day's visits, from one seed.

Pure and repeatable: `Province.generate(persons, days, seed)` gives the same province for the same
arguments, so `make run` and the end-to-end suite drive exactly the same traffic for a seed.
Records use the national names the filing import and the HIS gateway speak.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from yidi_events.kernel import fen_to_yuan

NANJING, WUXI, SUZHOU, SUQIAN, SHANGLUO = "320100", "320200", "320500", "321300", "611000"
CITIES = {
    NANJING: "南京",
    WUXI: "无锡",
    SUZHOU: "苏州",
    SUQIAN: "宿迁",
    SHANGLUO: "商洛",
}
# Share of the generated population insured in each city, and each city's pull as a visit place.
INSURED_WEIGHT = {NANJING: 30, SUZHOU: 25, WUXI: 20, SUQIAN: 15, SHANGLUO: 10}
VISIT_WEIGHT = {NANJING: 45, SUZHOU: 20, WUXI: 15, SUQIAN: 10, SHANGLUO: 10}
NETWORKED = {
    NANJING: ("H32010000001", "H32010000002"),
    WUXI: ("H32020000001",),
    SUZHOU: ("H32050000001",),
    SUQIAN: ("H32130000001",),
    SHANGLUO: ("H61100000001",),
}
FILING_VALID_FROM = "2026-01-01"
# Malignant neoplasms are on the unconditional-referral catalogue: no referral opinion needed.
REFERRAL_DIAGNOSES = ("C34.900", "C50.900", "C18.900", "C16.900")
STAY_DIAGNOSES = ("J18.900", "K35.800", "I63.900", "S72.000", "N20.000")
# Retail pharmacy purchases go to the sandbox's one pharmacy, in Nanjing: its buyers are persons
# insured elsewhere whose filing covers Nanjing (a referral names a hospital, so not those).
PHARMACY_INSTITUTION = "P32010000001"
PHARMACY_CITY = NANJING
PHARMACY_CANCEL_SHARE = 0.03  # the pharmacy cancels the purchase (2103) right after
# Maternity admissions (med type 52): women of childbearing age on the simulated year, a
# delivery diagnosis (single spontaneous delivery, caesarean, other single delivery).
MATERNITY_DIAGNOSES = ("O80.000", "O82.000", "O83.900")
MATERNITY_AGES = range(20, 46)
SIMULATED_YEAR = 2026

# Visit kinds and their shares of a day (issue 8: 64% outpatient, 27% pharmacy, 5% inpatient,
# the rest chronic-disease outpatient).
OUTPATIENT, PHARMACY, CHRONIC, INPATIENT, EMERGENCY, MATERNITY = (
    "outpatient",
    "pharmacy",
    "chronic",
    "inpatient",
    "emergency",
    "maternity",
)
MED_TYPE = {
    OUTPATIENT: "11",
    PHARMACY: "41",
    CHRONIC: "14",
    INPATIENT: "21",
    EMERGENCY: "13",
    MATERNITY: "52",
}
STAYS = (INPATIENT, MATERNITY)  # admitted, discharged and settled as a stay (2401 ... 2304)
_KIND_WEIGHTS = ((OUTPATIENT, 63), (PHARMACY, 27), (INPATIENT, 5), (CHRONIC, 4), (MATERNITY, 1))
UNFILED_SHARE = 0.02  # insured persons without a filing: only an emergency settles directly

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建国志强红梅小红大山文华玉兰海燕"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(region: str, birth: date, sequence: int, male: bool) -> str:
    """A valid 18-character resident ID: region, birth date, sequence, gender digit, check char."""
    gender_digit = (sequence % 5) * 2 + (1 if male else 0)
    first17 = f"{region}{birth:%Y%m%d}{sequence % 100:02d}{gender_digit}"
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


@dataclass(frozen=True)
class Line:
    code: str
    cnt: int
    price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.cnt * self.price_fen

    def wire(self) -> dict[str, str]:
        return {
            "code": self.code,
            "cnt": str(self.cnt),
            "pric": fen_to_yuan(self.price_fen),
            "amount": fen_to_yuan(self.amount_fen),
        }


@dataclass(frozen=True)
class Visit:
    """One planned visit: who, where, what kind, which fee lines; and what happens to it after."""

    person_id: str
    institution: str
    kind: str
    lines: tuple[Line, ...]
    stay_days: int = 0
    diagnosis: str = ""
    cancel: bool = False  # the hospital cancels the settlement (2208, a pharmacy 2103) right after
    reverse: bool = False  # the hospital reverses a follow-up 2201 by its msgid (2601)
    fraud: str = ""  # "split_stay" | "duplicate_fee": a planted pattern audit must catch
    stay_offset_days: int = 0  # admitted this many days before the stay's length (split stay)

    @property
    def medical_type(self) -> str:
        return MED_TYPE[self.kind]


def maternity_eligible(person: dict[str, Any]) -> bool:
    """A woman of childbearing age in the simulated year."""
    age = SIMULATED_YEAR - int(person["brdy"][:4])
    return person["gend"] == "2" and age in MATERNITY_AGES


def pharmacy_buyer(filing: dict[str, Any]) -> bool:
    """A filing that lets its person buy at the Nanjing pharmacy."""
    return bool(filing["visit_region"] == PHARMACY_CITY and filing["kind"] != "referral")


@dataclass
class Province:
    seed: int
    persons: list[dict[str, Any]] = field(default_factory=list)
    filings: list[dict[str, Any]] = field(default_factory=list)
    days: list[list[Visit]] = field(default_factory=list)

    @property
    def by_id(self) -> dict[str, dict[str, Any]]:
        return {p["psn_no"]: p for p in self.persons}

    def chronic_certifications(self) -> list[tuple[str, str, str]]:
        """(person, disease code, evidence institution) for every chronic visitor: the hospital
        of their first chronic visit assessed the disease."""
        first: dict[str, tuple[str, str]] = {}
        for day in self.days:
            for v in day:
                if v.kind == CHRONIC and v.person_id not in first:
                    first[v.person_id] = (v.diagnosis, v.institution)
        return [(person, code, where) for person, (code, where) in sorted(first.items())]

    def summary(self) -> dict[str, Counter[str]]:
        return {
            "persons by insured city": Counter(CITIES[p["insuplc_admdvs"]] for p in self.persons),
            "persons by scheme": Counter(
                "employee (310)" if p["insutype"] == "310" else "resident (390)"
                for p in self.persons
            ),
            "filings by kind": Counter(
                f["kind"] + (f"/{f['long_term_type']}" if f.get("long_term_type") else "")
                for f in self.filings
            ),
            "visits by kind": Counter(v.kind for day in self.days for v in day),
        }

    @classmethod
    def generate(cls, *, persons: int, days: int, seed: int) -> Province:
        rng = random.Random(seed)
        province = cls(seed=seed)
        visit_city: dict[str, str] = {}
        referral_to: dict[str, str] = {}
        used_ids: set[str] = set()
        regions = list(INSURED_WEIGHT)
        for n in range(persons):
            region = rng.choices(regions, weights=list(INSURED_WEIGHT.values()))[0]
            employee = rng.random() < 0.6
            retired = employee and rng.random() < 0.3
            if retired:
                birth_year = rng.randint(1946, 1965)
            elif employee:
                birth_year = rng.randint(1968, 2004)
            else:
                birth_year = rng.randint(1940, 2018)
            male = rng.random() < 0.5
            while True:
                birth = date(birth_year, 1, 1) + timedelta(days=rng.randint(0, 364))
                certno = resident_id(region, birth, rng.randint(0, 99), male)
                if certno not in used_ids:
                    used_ids.add(certno)
                    break
            person_id = f"{region}9{n:013d}"
            province.persons.append(
                {
                    "psn_no": person_id,
                    "psn_name": rng.choice(_SURNAMES)
                    + "".join(rng.choices(_GIVEN, k=rng.randint(1, 2))),
                    "psn_cert_type": "01",
                    "certno": certno,
                    "gend": "1" if male else "2",
                    "brdy": birth.isoformat(),
                    "insuplc_admdvs": region,
                    "insutype": "310" if employee else "390",
                    "psn_type": "1201" if retired else ("1101" if employee else "1501"),
                    "psn_insu_stas": "1",
                    "cvlserv_flag": "1" if employee and rng.random() < 0.05 else "0",
                    "identities": ["dibao"] if not employee and rng.random() < 0.04 else [],
                    "acct_balance": fen_to_yuan(rng.randint(200, 8000) * 100)
                    if employee
                    else "0.00",
                    "card_sn": f"SG{n:08d}",
                    "death_date": None,
                }
            )
            others = [c for c in VISIT_WEIGHT if c != region]
            city = rng.choices(others, weights=[VISIT_WEIGHT[c] for c in others])[0]
            visit_city[person_id] = city
            if rng.random() < UNFILED_SHARE:
                continue
            filing: dict[str, Any] = {
                "person_id": person_id,
                "visit_region": city,
                "valid_from": FILING_VALID_FROM,
                "carried_over": True,
            }
            roll = rng.random()
            if retired and roll < 0.6:
                filing |= {"kind": "long_term", "long_term_type": "retiree_resettled"}
            elif roll < 0.4:
                filing |= {
                    "kind": "long_term",
                    "long_term_type": "resident_worker" if employee else "long_term_resident",
                }
            elif roll < 0.65:
                destination = rng.choice(NETWORKED[city])
                referral_to[person_id] = destination
                filing |= {
                    "kind": "referral",
                    "destination_institution": destination,
                    "diagnosis": rng.choice(REFERRAL_DIAGNOSES),
                    "valid_to": "2026-12-31",
                }
            else:
                filing |= {"kind": "other_temporary", "valid_to": "2026-12-31"}
            if filing["kind"] == "long_term":
                filing["supporting_documents"] = True
            province.filings.append(filing)

        filed = {f["person_id"] for f in province.filings}
        unfiled = [p["psn_no"] for p in province.persons if p["psn_no"] not in filed]
        candidates = sorted(filed)
        buyers = sorted(f["person_id"] for f in province.filings if pharmacy_buyer(f))
        # Each person stays in hospital at most once (and the fraud persons only in their
        # planted pattern), so only the planted patterns raise stay-related flags.
        inpatients = rng.sample(candidates, k=len(candidates))
        fraud_persons = inpatients[:2]
        inpatients = inpatients[2:]
        by_id = province.by_id
        mothers = [p for p in inpatients if maternity_eligible(by_id[p])]

        def hospital(person_id: str) -> str:
            return referral_to.get(person_id) or rng.choice(NETWORKED[visit_city[person_id]])

        def stay(kind: str) -> Visit | None:
            """The next admission of that kind, by a person not yet admitted (None: nobody)."""
            pool = mothers if kind == MATERNITY else inpatients
            if not pool:
                return None
            person_id = pool.pop()
            other = inpatients if kind == MATERNITY else mothers
            if person_id in other:
                other.remove(person_id)
            return Visit(
                person_id,
                hospital(person_id),
                kind,
                _stay_lines(rng),
                stay_days=rng.randint(1, 4) if kind == MATERNITY else rng.randint(0, 4),
                diagnosis=rng.choice(MATERNITY_DIAGNOSES if kind == MATERNITY else STAY_DIAGNOSES),
            )

        per_day = max(24, persons // 10)
        for number in range(days):
            visits: list[Visit] = []
            if number == 0 and (admission := stay(MATERNITY)):
                visits.append(admission)  # at least one maternity admission in any province
            for _ in range(per_day):
                kind = rng.choices(
                    [k for k, _ in _KIND_WEIGHTS], weights=[w for _, w in _KIND_WEIGHTS]
                )[0]
                if kind in STAYS:
                    admission = stay(kind)
                    if admission:
                        visits.append(admission)
                        continue
                    kind = OUTPATIENT
                if kind == PHARMACY and buyers:
                    person_id = rng.choice(buyers)
                    visits.append(
                        Visit(
                            person_id,
                            PHARMACY_INSTITUTION,
                            PHARMACY,
                            _visit_lines(rng, PHARMACY),
                            cancel=rng.random() < PHARMACY_CANCEL_SHARE,
                        )
                    )
                    continue
                if kind == CHRONIC:
                    person_id = rng.choice(candidates)
                    visits.append(chronic_visit(rng, person_id, hospital(person_id)))
                    continue
                person_id = rng.choice(candidates)
                visits.append(
                    Visit(
                        person_id,
                        hospital(person_id),
                        OUTPATIENT if kind == PHARMACY else kind,  # no buyer: a hospital visit
                        _visit_lines(rng, kind),
                        cancel=kind == OUTPATIENT and rng.random() < 0.015,
                    )
                )
            if unfiled:  # an insured person taken ill away from home without a filing
                for person_id in rng.sample(unfiled, k=min(len(unfiled), 2)):
                    visits.append(
                        Visit(
                            person_id,
                            rng.choice(NETWORKED[visit_city[person_id]]),
                            EMERGENCY,
                            _visit_lines(rng, OUTPATIENT),
                        )
                    )
            province.days.append(visits)

        # One reversal (2601) on the first day, at a hospital other than the one whose 3201
        # figure goes wrong, so that hospital's 3202 detail file lists every record by id.
        first = province.days[0]
        for index, visit in enumerate(first):
            if visit.kind == OUTPATIENT and not visit.cancel and visit.institution != WRONG_3201:
                first[index] = Visit(
                    visit.person_id, visit.institution, visit.kind, visit.lines, reverse=True
                )
                break
        # No purchase is reversed (2601 of a 2102): reconciliation's agency day keeps the reversed
        # purchase and its negative record (two records, no money) while the pharmacy, which
        # never saw the answer, keeps neither, so the day's counts could not agree; the same
        # holds for a hospital's 2207, which is why the hospitals' reversal is of a 2201.
        # Planted fraud: a split stay (readmitted to the same hospital within 15 days for the
        # same diagnosis category) and a stay charged the same drug line twice.
        split, duplicate = fraud_persons
        readmitted_at = hospital(split)  # both stays at one hospital, or it is no split stay
        for offset, diagnosis in ((6, "J18.900"), (2, "J18.100")):
            first.append(
                Visit(
                    split,
                    readmitted_at,
                    INPATIENT,
                    _stay_lines(rng),
                    stay_days=2,
                    diagnosis=diagnosis,
                    fraud="split_stay",
                    stay_offset_days=offset - 2,
                )
            )
        twice = Line("XA001", 40, 2550)
        first.append(
            Visit(
                duplicate,
                hospital(duplicate),
                INPATIENT,
                (twice, twice, Line("T001", 2, 18000)),
                stay_days=1,
                diagnosis="K35.800",
                fraud="duplicate_fee",
            )
        )
        return province


WRONG_3201 = "H32010000001"  # the hospital whose first 3201 carries a wrong figure

# The terms the province's insured places add to their sandbox policies from the first simulated
# day (the sandbox's have none): outpatient pooling, which pools pharmacy purchases at the
# level-1 ratio, and maternity admissions paid up to a limit by hospital level. Employees' terms
# are richer than residents', as real places' are.
POOLING = {
    "310": {
        "deductible": "200.00",
        "ratio": {"1": "0.7000", "2": "0.6000", "3": "0.5000"},
        "annual_cap": "3000.00",
    },
    "390": {
        "deductible": "100.00",
        "ratio": {"1": "0.6000", "2": "0.5000", "3": "0.4000"},
        "annual_cap": "1500.00",
    },
}
CHRONIC_TERMS = {
    "310": {"deductible": "0.00", "ratio": {"1": "0.8500", "2": "0.8000", "3": "0.7500"}},
    "390": {"deductible": "0.00", "ratio": {"1": "0.7000", "2": "0.6500", "3": "0.6000"}},
}
CHRONIC_CAPS = {"M03900": "2400.00", "M01600": "3600.00"}  # a year's fund payment per disease
MATERNITY_LIMITS = {
    "310": {"1": "3000.00", "2": "4000.00", "3": "5000.00"},
    "390": {"1": "2000.00", "2": "2500.00", "3": "3000.00"},
}


def province_policy(document: dict[str, Any], effective_from: date) -> dict[str, Any]:
    """A sandbox policy document as the insured place republishes it for the simulated month:
    the parts it already has are kept; the outpatient pooling, pharmacy and maternity parts it
    lacks (and its chronic-disease terms) are added, effective from `effective_from`."""
    insutype = document["insutype"]
    added = {
        "outpatient_pooling": POOLING[insutype],
        "pharmacy": {"level": "1"},
        "maternity": {"limit": MATERNITY_LIMITS[insutype]},
        "chronic_diseases": {
            code: {
                "name": name,
                **CHRONIC_TERMS[insutype],
                "cap": CHRONIC_CAPS[code],
                "cap_period": "year",
            }
            for code, name in CHRONIC_DISEASES
        },
    }
    revised = document | {"effective_from": effective_from.isoformat(), "effective_to": None}
    for part, terms in added.items():
        if revised.get(part) is None:
            revised[part] = terms
    return revised


# The province's certified chronic diseases (national codes of the 门慢门特 catalogue): each
# chronic-disease visitor is certified at the insured place for one of them before the run, and
# settles under its terms, which the insured places' policies add (CHRONIC_TERMS).
CHRONIC_DISEASES = (("M03900", "高血压"), ("M01600", "糖尿病"))


def chronic_disease_of(person_id: str) -> tuple[str, str]:
    """The disease a person's chronic visits are for: fixed per person, so every visit of theirs
    names the one disease they are certified for."""
    return CHRONIC_DISEASES[int(person_id[-4:]) % len(CHRONIC_DISEASES)]


def chronic_visit(rng: random.Random, person_id: str, institution: str) -> Visit:
    """A chronic-disease outpatient visit (med type 14) for the disease the person is certified
    for (the run certifies every chronic visitor at the insured place first)."""
    code, _ = chronic_disease_of(person_id)
    return Visit(person_id, institution, CHRONIC, _visit_lines(rng, CHRONIC), diagnosis=code)


def _visit_lines(rng: random.Random, kind: str) -> tuple[Line, ...]:
    codes: tuple[str, ...]
    if kind == PHARMACY:
        codes = ("XA001", "XB002", "M001")
    elif kind == CHRONIC:
        codes = ("XB002", "XA001", "M001")
    else:
        codes = ("XA001", "XB003", "T001", "C001", "XB002")
    chosen = rng.sample(codes, k=rng.randint(1, min(3, len(codes))))
    return tuple(
        Line(c, rng.randint(1, 6), rng.randint(8, 120) * 100 + 50 * rng.randint(0, 1))
        for c in chosen
    )


def _stay_lines(rng: random.Random) -> tuple[Line, ...]:
    return (
        Line("B001", rng.randint(1, 6), rng.randint(40, 80) * 100),
        Line("XB002", rng.randint(2, 12), rng.randint(50, 320) * 100),
        Line("T001", 1, rng.randint(150, 2400) * 100),
    )
