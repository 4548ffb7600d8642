"""Reference data in national names: catalogue files (the agency's bulk import) and the sandbox's
hospital registry rows, mapped to the domain's."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from yidi_events.contracts.settlement import ItemClass
from yidi_events.kernel import DomainError
from yidi_settlement.app.reference import CREDENTIAL_NAMES, CatalogueItem


def catalogue_items(
    raw: str, content_type: str, region: str, effective_from: date
) -> list[CatalogueItem]:
    """JSON: {code: {chrgitm_lv, selfpay_prop, pric_uplmt_amt, list_type}} (the sandbox shape) or a
    list of rows with `med_list_codg`; CSV: a header row with the same national column names."""
    rows: list[dict[str, Any]]
    if "csv" in content_type or not raw.lstrip().startswith(("{", "[")):
        rows = list(csv.DictReader(io.StringIO(raw)))
    else:
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise DomainError(
                "catalogue.import_format", f"the file is not valid JSON: {exc}", field="body"
            ) from exc
        rows = (
            [{"med_list_codg": k, **v} for k, v in doc.items()]
            if isinstance(doc, dict)
            else list(doc)
        )
    items = []
    for number, row in enumerate(rows, start=1):
        try:
            cap = row.get("pric_uplmt_amt")
            items.append(
                CatalogueItem(
                    visit_region=region,
                    catalogue_code=str(row["med_list_codg"]),
                    name=str(row.get("name") or row.get("med_list_name") or ""),
                    item_class=ItemClass(str(row["chrgitm_lv"])),
                    self_pay_ratio=Decimal(str(row.get("selfpay_prop") or "0")),
                    price_cap=None if cap in (None, "") else Decimal(str(cap)),
                    list_type=str(row.get("list_type") or ""),
                    effective_from=effective_from,
                )
            )
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise DomainError(
                "catalogue.import_row", f"row {number}: {exc!r}", field=f"rows[{number}]"
            ) from exc
    if not items:
        raise DomainError("catalogue.import_empty", "the file has no catalogue rows", field="body")
    return items


def hospital_registration(row: Mapping[str, Any]) -> dict[str, Any]:
    """A hospital registry row (fixmedins_code, admdvs, hosp_lv...) as the agency API's body."""
    return {
        "institution_code": row["fixmedins_code"],
        "institution_name": row["fixmedins_name"],
        "region": row["admdvs"],
        "hospital_level": row["hosp_lv"],
        "networked": row["networked"],
        "his_secret": row["his_secret"],
        **{name: row[name] for name in CREDENTIAL_NAMES if row.get(name)},
    }


def pharmacy_registration(row: Mapping[str, Any]) -> dict[str, Any]:
    """A retail pharmacy registry row (fixmedins_code, admdvs, no hosp_lv) as the agency API's
    body: registered like a hospital, of kind pharmacy."""
    return {
        "institution_code": row["fixmedins_code"],
        "institution_name": row["fixmedins_name"],
        "region": row["admdvs"],
        "networked": row["networked"],
        "his_secret": row["his_secret"],
        "kind": "pharmacy",
        **{name: row[name] for name in CREDENTIAL_NAMES if row.get(name)},
    }


def hospital_code(row: Mapping[str, Any]) -> str:
    return str(row["fixmedins_code"])


def hospital_region(row: Mapping[str, Any]) -> str:
    return str(row["admdvs"])
