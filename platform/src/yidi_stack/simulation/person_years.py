"""The person's year as the insured place holds it, against what every visit place settled.

For sampled persons, the insured place's year totals (filing's `GET /persons/{id}/years/{year}`)
must equal the sum of their settlements, cancellations and reversals everywhere, as the hospitals
received them: each counted once, none forgiven. Filing counts them from the settlement topic,
so the run waits a while for it to catch up and keeps what it saw last.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from yidi_stack.simulation.drive import Driver, Outcome, Record

SAMPLE = 25
WAIT_SECONDS = 90.0
PersonYear = tuple[str, str, int]  # (person, insured region, policy year)


def settled_year(records: Iterable[Record]) -> dict[str, int]:
    """The year's fund and account figures as the sum of the person's settlement records."""
    funds: dict[str, int] = defaultdict(int)
    account = 0
    for record in records:
        for name, amount in record.funds:
            funds[name] += amount
        account += record.account_paid
    return {
        "basic_paid_cum": funds["hifp_pay"],
        "supplementary_paid_cum": funds["hifob_pay"] + funds["hifmi_pay"],
        "assistance_paid_cum": funds["maf_pay"],
        "account_balance": -account,
    }


def stated_part(totals: dict[str, Any]) -> dict[str, int]:
    part = {name: int(totals[name]) for name in settled_year([])}
    # hifp_pay is the basic fund's whether it paid a stay or an outpatient pooling visit, which
    # the year counts apart (its own cap).
    part["basic_paid_cum"] += int(totals.get("outpatient_pooling_paid_cum", 0))
    # So is what it paid chronic-disease visits, counted per disease and cap period.
    part["basic_paid_cum"] += sum(int(use["fund_paid"]) for use in totals.get("chronic", []))
    return part


def by_person_year(records: Iterable[Record]) -> dict[PersonYear, list[Record]]:
    grouped: dict[PersonYear, list[Record]] = defaultdict(list)
    for record in records:
        key = (record.person_id, record.insured_region, record.business_date.year)
        grouped[key].append(record)
    return grouped


def sampled(records: Iterable[Record]) -> dict[PersonYear, list[Record]]:
    grouped = by_person_year(records)
    keys = sorted(grouped)
    step = max(1, len(keys) // SAMPLE)
    return {key: grouped[key] for key in keys[::step]}


def collect(driver: Driver, out: Outcome) -> None:
    """What the insured place states for each sampled person-year, once it agrees or the wait is
    over (the report's cross-check then says which do not)."""
    task = driver.progress.add_task("person-year totals at insured places", total=None)
    for (person_id, region, year), records in sampled(out.records).items():
        expected = settled_year(records)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            view = driver.agency("filing", region).ok(
                "GET", f"/v1/persons/{person_id}/years/{year}"
            )
            seen = stated_part(view["totals"])
            if seen == expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        out.person_years[(person_id, region, year)] = seen
        driver.progress.advance(task)
