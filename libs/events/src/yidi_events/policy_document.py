"""The JSON document a benefit policy is written in: yuan strings, 4-place ratio strings.

The format of `shared/sandbox/policies.json` (what an agency uploads to filing) and of the
policies in `shared/vectors/settlement.json` (what settlement's gateway vectors and its own policy
table hold), so both services read it and it lives beside, not inside, the published contract
(`yidi_events.contracts.policy`, which `filing.PolicyPublished` carries).

A malformed document raises `DomainError(rule="policy.format", field=<path>)`, the path naming the
exact place at fault, e.g. `basic.bands[1].ratio.retired.2`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from yidi_events.contracts.policy import (
    BASE_LEVELS,
    AssistanceIdentity,
    AssistancePolicy,
    AssistanceTerms,
    BasicBand,
    BasicFundPolicy,
    BenefitPolicy,
    ChronicDiseaseTerms,
    ChronicPeriod,
    CivilServantPolicy,
    DeductiblePolicy,
    FilingKind,
    HospitalLevel,
    InpatientDeductible,
    InsuranceType,
    MaternityPolicy,
    OutpatientPoolingPolicy,
    PersonGroup,
    PharmacyPolicy,
    PolicyYearStart,
    SupplementaryBand,
    SupplementaryBase,
    SupplementaryPolicy,
    SupplementaryTilt,
)
from yidi_events.kernel.errors import DomainError
from yidi_events.kernel.money import Fen, fen_to_yuan, parse_ratio, yuan_to_fen
from yidi_events.kernel.regions import validate_region

RULE = "policy.format"
_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)


# --- parsing ---------------------------------------------------------------------------------


def _fail(path: str, message: str) -> DomainError:
    return DomainError(RULE, f"benefit policy: {message}", field=path)


def _get(doc: Mapping[str, Any], key: str, path: str) -> Any:
    if not isinstance(doc, Mapping):
        raise _fail(path, f"{path or 'the document'} must be an object")
    if key not in doc:
        where = f"{path}.{key}" if path else key
        raise _fail(where, f"{where} is missing")
    return doc[key]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(path: str, value: Any, fn: Callable[[Any], _T], what: str) -> _T:
    try:
        return fn(value)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise _fail(path, f"{path} must be {what}, got {value!r}") from exc


def _yuan(path: str, value: Any) -> Fen:
    if not isinstance(value, str):
        raise _fail(path, f"{path} must be a yuan string, got {value!r}")
    fen = _convert(path, value, yuan_to_fen, "a yuan amount with two decimals")
    if fen < 0:
        raise _fail(path, f"{path} must not be negative")
    return fen


def _ratio(path: str, value: Any) -> Decimal:
    if not isinstance(value, str):
        raise _fail(path, f"{path} must be a ratio string such as '0.8500', got {value!r}")
    return _convert(path, value, parse_ratio, "a ratio between 0 and 1 with four places")


def _enum(path: str, value: Any, kind: type[_E]) -> _E:
    return _convert(path, value, kind, f"one of {', '.join(m.value for m in kind)}")


def _date(path: str, value: Any) -> date:
    if not isinstance(value, str):
        raise _fail(path, f"{path} must be an ISO date string, got {value!r}")
    return _convert(path, value, date.fromisoformat, "an ISO date (YYYY-MM-DD)")


def _object(path: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"{path} must be an object")
    return value


def _list(path: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, f"{path} must be a list")
    return value


def _levels(path: str, doc: Any, parse: Callable[[str, Any], _T]) -> dict[HospitalLevel, _T]:
    obj = _object(path, doc)
    out: dict[HospitalLevel, _T] = {}
    for level in BASE_LEVELS:
        out[level] = parse(_join(path, level.value), _get(obj, level.value, path))
    # A level beyond the three is priced apart only where the policy says so (else its base).
    for level in HospitalLevel:
        if level not in BASE_LEVELS and level.value in obj:
            out[level] = parse(_join(path, level.value), obj[level.value])
    extra = set(obj) - {lv.value for lv in HospitalLevel}
    if extra:
        known = ", ".join(repr(lv.value) for lv in HospitalLevel)
        raise _fail(_join(path, sorted(extra)[0]), f"hospital levels are {known} only")
    return out


def _inpatient(path: str, value: Any) -> InpatientDeductible:
    pair = _list(path, value)
    if len(pair) != 2:
        raise _fail(path, f"{path} must be [first admission, later admissions]")
    first = _yuan(f"{path}[0]", pair[0])
    later = _yuan(f"{path}[1]", pair[1])
    return InpatientDeductible(first_admission=first, later_admissions=later)


def _upto(path: str, value: Any, previous: Fen | None, last: bool) -> Fen | None:
    if value is None:
        if not last:
            raise _fail(path, "only the last band may be unbounded (upto null)")
        return None
    upto = _yuan(path, value)
    if previous is not None and upto <= previous:
        raise _fail(path, "band bounds must increase")
    if last:
        raise _fail(path, "the last band must be unbounded (upto null)")
    return upto


def _basic(path: str, doc: Any) -> BasicFundPolicy:
    obj = _object(path, doc)
    cap = _yuan(_join(path, "annual_cap"), _get(obj, "annual_cap", path))
    raw = _list(_join(path, "bands"), _get(obj, "bands", path))
    if not raw:
        raise _fail(_join(path, "bands"), "at least one band is needed")
    bands: list[BasicBand] = []
    previous: Fen | None = None
    groups: set[PersonGroup] | None = None
    for i, item in enumerate(raw):
        where = f"{path}.bands[{i}]"
        band = _object(where, item)
        upto = _upto(f"{where}.upto", _get(band, "upto", where), previous, i == len(raw) - 1)
        ratio_doc = _object(f"{where}.ratio", _get(band, "ratio", where))
        ratios: dict[PersonGroup, dict[HospitalLevel, Decimal]] = {}
        for name, per_level in ratio_doc.items():
            group = _enum(f"{where}.ratio.{name}", name, PersonGroup)
            ratios[group] = _levels(f"{where}.ratio.{name}", per_level, _ratio)
        if not ratios:
            raise _fail(f"{where}.ratio", "a band needs the ratios of at least one person group")
        if groups is not None and set(ratios) != groups:
            raise _fail(f"{where}.ratio", "every band must cover the same person groups")
        groups = set(ratios)
        bands.append(BasicBand(upto=upto, ratios=ratios))
        previous = upto
    return BasicFundPolicy(annual_cap=cap, bands=tuple(bands))


def _supplementary(path: str, doc: Any) -> SupplementaryPolicy:
    obj = _object(path, doc)
    deductible = _yuan(_join(path, "deductible"), _get(obj, "deductible", path))
    cap = _yuan(_join(path, "annual_cap"), _get(obj, "annual_cap", path))
    raw = _list(_join(path, "bands"), _get(obj, "bands", path))
    if not raw:
        raise _fail(_join(path, "bands"), "at least one band is needed")
    bands: list[SupplementaryBand] = []
    previous: Fen | None = None
    for i, item in enumerate(raw):
        where = f"{path}.bands[{i}]"
        band = _object(where, item)
        upto = _upto(f"{where}.upto", _get(band, "upto", where), previous, i == len(raw) - 1)
        ratio = _ratio(f"{where}.ratio", _get(band, "ratio", where))
        bands.append(SupplementaryBand(upto=upto, ratio=ratio))
        previous = upto
    raw_base = obj.get("base")
    base = (
        SupplementaryBase.PERSONAL_SHARE
        if raw_base is None
        else _enum(_join(path, "base"), raw_base, SupplementaryBase)
    )
    raw_tilt = obj.get("tilt")
    tilt = None if raw_tilt is None else _tilt(_join(path, "tilt"), raw_tilt)
    return SupplementaryPolicy(
        deductible=deductible, bands=tuple(bands), annual_cap=cap, base=base, tilt=tilt
    )


def _identities(path: str, value: Any) -> tuple[AssistanceIdentity, ...]:
    items = _list(path, value)
    return tuple(_enum(f"{path}[{i}]", v, AssistanceIdentity) for i, v in enumerate(items))


def _points_value(where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _fail(where, f"{where} must be a number of percentage points")
    points = _convert(where, str(value), Decimal, "a number of percentage points")
    if not points.is_finite() or points < 0 or points > 100:
        raise _fail(where, f"{where} must lie between 0 and 100 percentage points")
    return points


def _tilt(path: str, doc: Any) -> SupplementaryTilt:
    obj = _object(path, doc)
    # "No cap" and "not set" differ: annual_cap null lifts the cap, an absent one keeps the
    # layer's own.
    cap_lifted = "annual_cap" in obj and obj["annual_cap"] is None
    raw_cap = obj.get("annual_cap")
    return SupplementaryTilt(
        identities=_identities(_join(path, "identities"), _get(obj, "identities", path)),
        deductible=_yuan(_join(path, "deductible"), _get(obj, "deductible", path)),
        extra_points=_points_value(_join(path, "extra_points"), obj.get("extra_points", 0)),
        annual_cap=None if raw_cap is None else _yuan(_join(path, "annual_cap"), raw_cap),
        cap_lifted=cap_lifted,
    )


def _outpatient_pooling(path: str, doc: Any) -> OutpatientPoolingPolicy:
    obj = _object(path, doc)
    return OutpatientPoolingPolicy(
        deductible=_yuan(_join(path, "deductible"), _get(obj, "deductible", path)),
        ratios=_levels(_join(path, "ratio"), _get(obj, "ratio", path), _ratio),
        annual_cap=_yuan(_join(path, "annual_cap"), _get(obj, "annual_cap", path)),
    )


def _pharmacy(path: str, doc: Any, pooling: OutpatientPoolingPolicy | None) -> PharmacyPolicy:
    obj = _object(path, doc)
    if pooling is None:
        raise _fail(path, f"{path} pools purchases by outpatient_pooling, which the policy lacks")
    raw_ratio, raw_level = obj.get("ratio"), obj.get("level")
    if (raw_ratio is None) == (raw_level is None):
        raise _fail(path, f"{path} needs exactly one of ratio (its own) or level (a pooling ratio)")
    return PharmacyPolicy(
        ratio=None if raw_ratio is None else _ratio(_join(path, "ratio"), raw_ratio),
        level=None if raw_level is None else _enum(_join(path, "level"), raw_level, HospitalLevel),
    )


def _maternity(path: str, doc: Any) -> MaternityPolicy:
    obj = _object(path, doc)
    return MaternityPolicy(limits=_levels(_join(path, "limit"), _get(obj, "limit", path), _yuan))


def _chronic_diseases(path: str, doc: Any) -> dict[str, ChronicDiseaseTerms]:
    out: dict[str, ChronicDiseaseTerms] = {}
    for code, raw in _object(path, doc).items():
        where = f"{path}.{code}"
        if not isinstance(code, str) or not code.strip() or len(code) > 30:
            raise _fail(where, f"{where}: a disease code is 1 to 30 characters")
        obj = _object(where, raw)
        name = _get(obj, "name", where)
        if not isinstance(name, str) or not name.strip():
            raise _fail(_join(where, "name"), f"{where}.name must be the disease's name")
        # The cap key is required: null is "no cap", an absent key is a forgotten one.
        raw_cap = _get(obj, "cap", where)
        shares = obj.get("shares_inpatient_deductible", False)
        if not isinstance(shares, bool):
            raise _fail(
                _join(where, "shares_inpatient_deductible"),
                f"{where}.shares_inpatient_deductible must be true or false",
            )
        out[code] = ChronicDiseaseTerms(
            name=name,
            deductible=_yuan(_join(where, "deductible"), _get(obj, "deductible", where)),
            ratios=_levels(_join(where, "ratio"), _get(obj, "ratio", where), _ratio),
            cap=None if raw_cap is None else _yuan(_join(where, "cap"), raw_cap),
            cap_period=_enum(
                _join(where, "cap_period"), obj.get("cap_period", "year"), ChronicPeriod
            ),
            shares_inpatient_deductible=shares,
        )
    return out


def _assistance(path: str, doc: Any) -> AssistancePolicy:
    a_doc = _object(path, doc)
    identities = _identities(_join(path, "identities"), _get(a_doc, "identities", path))
    by_identity: dict[AssistanceIdentity, AssistanceTerms] = {}
    raw_by = a_doc.get("by_identity")
    for name, terms in (
        {} if raw_by is None else _object(_join(path, "by_identity"), raw_by)
    ).items():
        where = f"{path}.by_identity.{name}"
        identity = _enum(where, name, AssistanceIdentity)
        if identity not in identities:
            raise _fail(where, f"{where} names an identity the policy does not assist")
        t_doc = _object(where, terms)
        by_identity[identity] = AssistanceTerms(
            ratio=_ratio(_join(where, "ratio"), _get(t_doc, "ratio", where)),
            annual_cap=_yuan(_join(where, "annual_cap"), _get(t_doc, "annual_cap", where)),
        )
    return AssistancePolicy(
        identities=identities,
        ratio=_ratio(_join(path, "ratio"), _get(a_doc, "ratio", path)),
        annual_cap=_yuan(_join(path, "annual_cap"), _get(a_doc, "annual_cap", path)),
        by_identity=by_identity,
    )


def _cut_points(path: str, doc: Any) -> dict[FilingKind, Decimal]:
    obj = _object(path, doc)
    out: dict[FilingKind, Decimal] = {}
    for kind in FilingKind:
        where = _join(path, kind.value)
        out[kind] = _points_value(where, _get(obj, kind.value, path))
    return out


def _year_start(path: str, value: Any) -> PolicyYearStart:
    if not isinstance(value, str):
        raise _fail(path, f"{path} must be a month and day 'MM-DD', got {value!r}")
    # Any day of a leap year may start a policy year: years only compare (month, day) with it.
    day = _convert(path, f"2000-{value}", date.fromisoformat, "a month and day 'MM-DD'")
    return PolicyYearStart(month=day.month, day=day.day)


def parse_policy_document(doc: dict[str, Any]) -> BenefitPolicy:
    """Parse one policy document (yuan strings, 4-place ratio strings) into a BenefitPolicy."""
    root = _object("", doc) if isinstance(doc, Mapping) else None
    if root is None:
        raise _fail("", "the policy document must be an object")
    region = _get(root, "insuplc_admdvs", "")
    region = _convert("insuplc_admdvs", region, validate_region, "a six-digit region code")
    insurance_type = _enum("insutype", _get(root, "insutype", ""), InsuranceType)
    effective_from = _date("effective_from", _get(root, "effective_from", ""))
    raw_to = _get(root, "effective_to", "")
    effective_to = None if raw_to is None else _date("effective_to", raw_to)
    if effective_to is not None and effective_to < effective_from:
        raise _fail("effective_to", "effective_to is before effective_from")

    ded = _object("deductible", _get(root, "deductible", ""))
    deductible = DeductiblePolicy(
        outpatient_annual=_yuan(
            "deductible.outpatient_annual", _get(ded, "outpatient_annual", "deductible")
        ),
        inpatient=_levels("deductible.inpatient", _get(ded, "inpatient", "deductible"), _inpatient),
    )
    basic = _basic("basic", _get(root, "basic", ""))
    cuts = _cut_points("filing_cut_points", _get(root, "filing_cut_points", ""))
    # null: the place has no large-amount / critical-illness layer; the key itself stays required
    # so that a forgotten layer is not read as an absent one.
    raw_supp = _get(root, "supplementary", "")
    supplementary = None if raw_supp is None else _supplementary("supplementary", raw_supp)

    civil: CivilServantPolicy | None = None
    raw_civil = root.get("civil_servant")
    if raw_civil is not None:
        civil_doc = _object("civil_servant", raw_civil)
        ratio = _ratio("civil_servant.ratio", _get(civil_doc, "ratio", "civil_servant"))
        civil = CivilServantPolicy(ratio=ratio)

    raw_assist = root.get("assistance")
    assistance = None if raw_assist is None else _assistance("assistance", raw_assist)
    raw_pool = root.get("outpatient_pooling")
    raw_in_province = root.get("in_province_cut_points")
    raw_maternity = root.get("maternity")
    other_inpatient = root.get("other_inpatient", False)
    if not isinstance(other_inpatient, bool):
        raise _fail("other_inpatient", "other_inpatient must be true or false")

    raw_start = root.get("policy_year_start")
    pool = None if raw_pool is None else _outpatient_pooling("outpatient_pooling", raw_pool)
    raw_pharmacy = root.get("pharmacy")
    raw_chronic = root.get("chronic_diseases")
    return BenefitPolicy(
        insured_region=region,
        insurance_type=insurance_type,
        effective_from=effective_from,
        effective_to=effective_to,
        deductible=deductible,
        basic=basic,
        filing_cut_points=cuts,
        supplementary=supplementary,
        civil_servant=civil,
        assistance=assistance,
        policy_year_start=PolicyYearStart()
        if raw_start is None
        else _year_start("policy_year_start", raw_start),
        outpatient_pooling=pool,
        in_province_cut_points=None
        if raw_in_province is None
        else _cut_points("in_province_cut_points", raw_in_province),
        maternity=None if raw_maternity is None else _maternity("maternity", raw_maternity),
        other_inpatient=other_inpatient,
        pharmacy=None if raw_pharmacy is None else _pharmacy("pharmacy", raw_pharmacy, pool),
        chronic_diseases={}
        if raw_chronic is None
        else _chronic_diseases("chronic_diseases", raw_chronic),
    )


# --- writing ---------------------------------------------------------------------------------


def _yuan_or_none(fen: Fen | None) -> str | None:
    return None if fen is None else fen_to_yuan(fen)


def _ratio_text(ratio: Decimal) -> str:
    return str(ratio.quantize(Decimal("0.0001")))


def _points(points: Decimal) -> int | str:
    # Whole points are written as JSON integers, as the shared documents do.
    return int(points) if points == points.to_integral_value() else str(points)


def policy_document(policy: BenefitPolicy) -> dict[str, Any]:
    """The JSON document of a policy; `parse_policy_document(policy_document(p)) == p`."""
    start = policy.policy_year_start
    # A calendar policy year is written as documents always were: the field is optional.
    year_start = (
        {}
        if start == PolicyYearStart()
        else {"policy_year_start": f"{start.month:02d}-{start.day:02d}"}
    )
    return {
        "insuplc_admdvs": policy.insured_region,
        "insutype": policy.insurance_type.value,
        "effective_from": policy.effective_from.isoformat(),
        "effective_to": None if policy.effective_to is None else policy.effective_to.isoformat(),
        "deductible": {
            "outpatient_annual": fen_to_yuan(policy.deductible.outpatient_annual),
            "inpatient": {
                level.value: [fen_to_yuan(d.first_admission), fen_to_yuan(d.later_admissions)]
                for level, d in policy.deductible.inpatient.items()
            },
        },
        "basic": {
            "annual_cap": fen_to_yuan(policy.basic.annual_cap),
            "bands": [
                {
                    "upto": _yuan_or_none(band.upto),
                    "ratio": {
                        group.value: {lv.value: _ratio_text(r) for lv, r in per_level.items()}
                        for group, per_level in band.ratios.items()
                    },
                }
                for band in policy.basic.bands
            ],
        },
        "filing_cut_points": {k.value: _points(v) for k, v in policy.filing_cut_points.items()},
        "supplementary": None
        if policy.supplementary is None
        else _supplementary_document(policy.supplementary),
        "civil_servant": None
        if policy.civil_servant is None
        else {"ratio": _ratio_text(policy.civil_servant.ratio)},
        "assistance": None
        if policy.assistance is None
        else _assistance_document(policy.assistance),
        **year_start,
        **_scheme_documents(policy),
    }


def _levels_document(values: Mapping[HospitalLevel, _T], text: Callable[[_T], Any]) -> Any:
    return {level.value: text(value) for level, value in values.items()}


def _supplementary_document(supp: SupplementaryPolicy) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "deductible": fen_to_yuan(supp.deductible),
        "bands": [
            {"upto": _yuan_or_none(b.upto), "ratio": _ratio_text(b.ratio)} for b in supp.bands
        ],
        "annual_cap": fen_to_yuan(supp.annual_cap),
    }
    # Written only when they differ from what documents without them mean.
    if supp.base is not SupplementaryBase.PERSONAL_SHARE:
        doc["base"] = supp.base.value
    if supp.tilt is not None:
        tilt = supp.tilt
        tilt_doc: dict[str, Any] = {
            "identities": [i.value for i in tilt.identities],
            "deductible": fen_to_yuan(tilt.deductible),
            "extra_points": _points(tilt.extra_points),
        }
        if tilt.cap_lifted:
            tilt_doc["annual_cap"] = None
        elif tilt.annual_cap is not None:
            tilt_doc["annual_cap"] = fen_to_yuan(tilt.annual_cap)
        doc["tilt"] = tilt_doc
    return doc


def _assistance_document(aid: AssistancePolicy) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "identities": [i.value for i in aid.identities],
        "ratio": _ratio_text(aid.ratio),
        "annual_cap": fen_to_yuan(aid.annual_cap),
    }
    if aid.by_identity:
        doc["by_identity"] = {
            identity.value: {
                "ratio": _ratio_text(terms.ratio),
                "annual_cap": fen_to_yuan(terms.annual_cap),
            }
            for identity, terms in aid.by_identity.items()
        }
    return doc


def _scheme_documents(policy: BenefitPolicy) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    pool = policy.outpatient_pooling
    if pool is not None:
        doc["outpatient_pooling"] = {
            "deductible": fen_to_yuan(pool.deductible),
            "ratio": _levels_document(pool.ratios, _ratio_text),
            "annual_cap": fen_to_yuan(pool.annual_cap),
        }
    if policy.in_province_cut_points is not None:
        doc["in_province_cut_points"] = {
            k.value: _points(v) for k, v in policy.in_province_cut_points.items()
        }
    if policy.maternity is not None:
        doc["maternity"] = {"limit": _levels_document(policy.maternity.limits, fen_to_yuan)}
    if policy.other_inpatient:
        doc["other_inpatient"] = True
    if policy.pharmacy is not None:
        ph = policy.pharmacy
        doc["pharmacy"] = (
            {"ratio": _ratio_text(ph.ratio)}
            if ph.ratio is not None
            else {"level": None if ph.level is None else ph.level.value}
        )
    if policy.chronic_diseases:
        doc["chronic_diseases"] = {
            code: {
                "name": terms.name,
                "deductible": fen_to_yuan(terms.deductible),
                "ratio": _levels_document(terms.ratios, _ratio_text),
                "cap": _yuan_or_none(terms.cap),
                "cap_period": terms.cap_period.value,
                "shares_inpatient_deductible": terms.shares_inpatient_deductible,
            }
            for code, terms in policy.chronic_diseases.items()
        }
    return doc
