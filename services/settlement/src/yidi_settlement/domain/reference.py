"""Visit-place reference data as aggregates: a hospital of the registry (`hospital-<code>`), a
catalogue code of a region (`catalogue-<region>-<code>`, one event per published version) and a
hospital's item mappings (`hospital-items-<code>`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from yidi_events.application import Aggregate
from yidi_events.contracts.policy import HospitalLevel
from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import Conflict, DomainError, NotFound, validate_region
from yidi_settlement.domain.events import (
    CatalogueItemPublished,
    HospitalCredentialsChanged,
    HospitalItemMapped,
    HospitalItemUnmapped,
    HospitalRegistered,
    HospitalUpdated,
)

# --- a hospital ----------------------------------------------------------------------------------


class InstitutionKind(StrEnum):
    """What a designated institution of the registry is: it decides which of the gateway's
    transactions it may send (a pharmacy sells drugs over the counter, it admits nobody)."""

    HOSPITAL = "hospital"  # 定点医疗机构
    PHARMACY = "pharmacy"  # 定点零售药店


@dataclass(frozen=True, kw_only=True)
class Hospital:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str
    networked: bool
    clearing_agency: str
    suspended: bool = False
    suspended_until: date | None = None
    kind: InstitutionKind = InstitutionKind.HOSPITAL


def evolve_hospital(state: Hospital | None, event: Any) -> Hospital | None:
    match event:
        case HospitalRegistered():
            return Hospital(
                institution_code=event.institution_code,
                institution_name=event.institution_name,
                region=event.region,
                hospital_level=event.hospital_level,
                networked=event.networked,
                clearing_agency=event.clearing_agency,
                kind=InstitutionKind(event.kind),
            )
        case HospitalUpdated():
            return Hospital(
                institution_code=event.institution_code,
                institution_name=event.institution_name,
                region=event.region,
                hospital_level=event.hospital_level,
                networked=event.networked,
                clearing_agency=event.clearing_agency,
                suspended=event.suspended,
                suspended_until=event.suspended_until,
                kind=InstitutionKind.HOSPITAL if state is None else state.kind,
            )
    return state


def _no_hospital() -> Hospital | None:
    return None


HOSPITAL = Aggregate(_no_hospital, evolve_hospital)


def hospital_stream(institution_code: str) -> str:
    return f"hospital-{institution_code}"


@dataclass(frozen=True, kw_only=True)
class GatewayCredentials:
    """The provincial gateways' credentials (TIF paasid/token, CSB access/secret key), kept
    beside the HIS secret; None keeps the current value (or leaves the profile unset)."""

    tif_paasid: str | None = None
    tif_token: str | None = None
    csb_access_key: str | None = None
    csb_secret_key: str | None = None

    def given(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value is not None}


CREDENTIAL_NAMES = tuple(field.name for field in fields(GatewayCredentials))


@dataclass(frozen=True, kw_only=True)
class HospitalDetails:
    institution_code: str
    institution_name: str
    region: str
    hospital_level: str | None  # None: a pharmacy, which has none
    networked: bool
    clearing_agency: str | None = None
    his_secret: str | None = None
    credentials: GatewayCredentials = GatewayCredentials()
    account: dict[str, Any] | None = None
    kind: InstitutionKind = InstitutionKind.HOSPITAL


@dataclass(frozen=True, kw_only=True)
class HospitalChange:
    """What an update changes; None keeps the current value."""

    name: str | None = None
    level: str | None = None
    networked: bool | None = None
    suspended: bool | None = None
    suspended_until: date | None = None
    clearing_agency: str | None = None
    his_secret: str | None = None
    credentials: GatewayCredentials = GatewayCredentials()
    account: dict[str, Any] | None = None


def _check_level(level: str) -> None:
    # A policy prices the levels beyond three (乡镇卫生院 1t, 三甲 3a) apart or as their base.
    if level not in {lv.value for lv in HospitalLevel}:
        known = ", ".join(lv.value for lv in HospitalLevel)
        raise DomainError(
            "hospital.level",
            f"hospital level must be one of {known}, got {level!r}",
            field="hospital_level",
        )


def _check_region(region: str, field: str) -> None:
    try:
        validate_region(region)
    except ValueError as exc:
        raise DomainError("hospital.region", str(exc), field=field) from exc


def _check_secret(secret: str | None) -> None:
    if not secret or len(secret) < 16:
        raise DomainError(
            "hospital.his_secret",
            "a HIS secret of at least 16 characters is required",
            field="his_secret",
        )


def _check_credentials(credentials: GatewayCredentials) -> None:
    for name, value in credentials.given().items():
        if not value.strip() or len(value) > 200:
            raise DomainError(
                "hospital.gateway_credential",
                f"{name} must be 1 to 200 characters, not blank",
                field=name,
            )


def registered(state: Hospital | None, institution_code: str) -> Hospital:
    if state is None:
        raise NotFound(
            "hospital.not_found",
            f"hospital {institution_code} is not registered",
            field="institution_code",
        )
    return state


def _credentials_changed(
    code: str,
    his_secret: str | None,
    credentials: GatewayCredentials,
    account: dict[str, Any] | None,
    by: str,
    now: datetime,
) -> list[HospitalCredentialsChanged]:
    changed = (
        (("his_secret",) if his_secret is not None else ())
        + tuple(sorted(credentials.given()))
        + (("account",) if account is not None else ())
    )
    if not changed:
        return []
    return [
        HospitalCredentialsChanged(
            institution_code=code, changed=changed, changed_by=by, changed_at=now
        )
    ]


def _registry_level(details: HospitalDetails) -> str:
    """The level the registry keeps: a hospital's own; a pharmacy has none and its purchases are
    priced by the policy's pharmacy part (a ratio or the level it names), never by this one, so
    it keeps the base level."""
    if details.hospital_level is not None:
        _check_level(details.hospital_level)
        return details.hospital_level
    if details.kind is InstitutionKind.HOSPITAL:
        raise DomainError(
            "hospital.level", "a hospital registers with its hospital_level", field="hospital_level"
        )
    return HospitalLevel.ONE.value


def decide_register_hospital(
    state: Hospital | None, details: HospitalDetails, now: datetime, *, by: str
) -> list[Any]:
    level = _registry_level(details)
    _check_region(details.region, "region")
    if state is not None:
        raise Conflict(
            "hospital.already_registered",
            f"hospital {details.institution_code} is already registered",
            field="institution_code",
        )
    _check_secret(details.his_secret)
    _check_credentials(details.credentials)
    return [
        HospitalRegistered(
            institution_code=details.institution_code,
            institution_name=details.institution_name,
            region=details.region,
            hospital_level=level,
            networked=details.networked,
            clearing_agency=details.clearing_agency or details.region,
            registered_at=now,
            registered_by=by,
            kind=details.kind.value,
        ),
        *_credentials_changed(
            details.institution_code,
            details.his_secret,
            details.credentials,
            details.account,
            by,
            now,
        ),
    ]


def decide_update_hospital(
    state: Hospital | None,
    institution_code: str,
    change: HospitalChange,
    now: datetime,
    *,
    by: str,
) -> list[Any]:
    current = registered(state, institution_code)
    if change.level is not None:
        _check_level(change.level)
    if change.his_secret is not None:
        _check_secret(change.his_secret)
    _check_credentials(change.credentials)
    suspended = current.suspended if change.suspended is None else change.suspended
    return [
        HospitalUpdated(
            institution_code=institution_code,
            institution_name=change.name or current.institution_name,
            region=current.region,
            hospital_level=change.level or current.hospital_level,
            networked=current.networked if change.networked is None else change.networked,
            suspended=suspended,
            clearing_agency=change.clearing_agency or current.clearing_agency,
            updated_at=now,
            suspended_until=change.suspended_until if change.suspended else None,
            updated_by=by,
        ),
        *_credentials_changed(
            institution_code, change.his_secret, change.credentials, change.account, by, now
        ),
    ]


# --- a catalogue code ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CatalogueItem:
    visit_region: str
    catalogue_code: str
    name: str
    item_class: ItemClass
    self_pay_ratio: Decimal
    price_cap: Decimal | None
    list_type: str
    effective_from: date
    effective_to: date | None = None


def _publish(versions: tuple[CatalogueItemPublished, ...], event: Any) -> Any:
    return (*versions, event) if isinstance(event, CatalogueItemPublished) else versions


CATALOGUE_CODE: Aggregate[tuple[CatalogueItemPublished, ...]] = Aggregate(tuple, _publish)


def catalogue_stream(visit_region: str, catalogue_code: str) -> str:
    return f"catalogue-{visit_region}-{catalogue_code}"


def decide_publish_item(item: CatalogueItem) -> list[Any]:
    """A new version of a catalogue code; versions are kept side by side by effective date."""
    _check_region(item.visit_region, "visit_region")
    if not 0 <= item.self_pay_ratio <= 1:
        raise DomainError(
            "catalogue.self_pay_ratio", "self_pay_ratio must lie in [0, 1]", field="self_pay_ratio"
        )
    if item.price_cap is not None and item.price_cap < 0:
        raise DomainError("catalogue.price_cap", "price_cap cannot be negative", field="price_cap")
    if item.effective_to is not None and item.effective_to < item.effective_from:
        raise DomainError(
            "catalogue.effective_to", "effective_to is before effective_from", field="effective_to"
        )
    return [
        CatalogueItemPublished(
            visit_region=item.visit_region,
            catalogue_code=item.catalogue_code,
            name=item.name,
            item_class=item.item_class,
            self_pay_ratio=item.self_pay_ratio.quantize(Decimal("0.0001")),
            price_cap=item.price_cap,
            list_type=item.list_type,
            effective_from=item.effective_from,
            effective_to=item.effective_to,
        )
    ]


# --- a hospital's item mappings ------------------------------------------------------------------

Mappings = dict[str, str]  # hospital item code -> catalogue code


def evolve_mappings(state: Mappings, event: Any) -> Mappings:
    match event:
        case HospitalItemMapped():
            return {**state, event.hospital_item_code: event.catalogue_code}
        case HospitalItemUnmapped():
            return {k: c for k, c in state.items() if k != event.hospital_item_code}
    return state


HOSPITAL_ITEMS: Aggregate[Mappings] = Aggregate(dict, evolve_mappings)


def items_stream(institution_code: str) -> str:
    return f"hospital-items-{institution_code}"


def decide_map_item(
    hospital: Hospital,
    published: tuple[CatalogueItemPublished, ...],
    *,
    hospital_item_code: str,
    catalogue_code: str,
    tags: tuple[str, ...],
    now: datetime,
) -> list[Any]:
    """A hospital item maps to a code of the catalogue of the hospital's own region."""
    if not published:
        raise NotFound(
            "catalogue.not_found",
            f"{catalogue_code} is not in the {hospital.region} catalogue",
            field="catalogue_code",
            values={"code": catalogue_code},
        )
    return [
        HospitalItemMapped(
            institution_code=hospital.institution_code,
            hospital_item_code=hospital_item_code,
            catalogue_code=catalogue_code,
            mapped_at=now,
            tags=tags,
        )
    ]


def decide_unmap_item(
    mappings: Mappings, *, institution_code: str, hospital_item_code: str, now: datetime
) -> list[Any]:
    code = mappings.get(hospital_item_code)
    if code is None:
        raise NotFound(
            "catalogue.mapping_not_found",
            f"hospital item {hospital_item_code} is not mapped",
            field="hospital_item_code",
        )
    return [
        HospitalItemUnmapped(
            institution_code=institution_code,
            hospital_item_code=hospital_item_code,
            catalogue_code=code,
            unmapped_at=now,
        )
    ]
