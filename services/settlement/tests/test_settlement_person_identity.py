"""A person's identity arrives on its own topic (filing.PersonIdentified on yidi.filing.identity),
their other facts on yidi.filing.events: the two are joined on the person id, whichever comes
first, and 1101 and the identity voucher work once both are here."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from yidi_cli.sandbox import shared_dir
from yidi_events.contracts.filing import InsuranceType, PersonIdentified, PersonUpdated
from yidi_settlement.adapters.tables import person_identities, persons

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
NANJING = "H32010000001"
PERSON = json.loads((shared_dir() / "sandbox" / "persons.json").read_text("utf-8"))[0]


def voucher(p: dict[str, Any], **changes: str) -> dict[str, str]:
    return {
        "mdtrt_cert_type": "03",
        "mdtrt_cert_no": p["certno"],
        "card_sn": p["card_sn"],
    } | changes


async def rows(h: Any) -> tuple[Any, Any]:
    async with h.runtime.engine.connect() as conn:
        person = (await conn.execute(sa.select(persons))).mappings().one()
        identity = (await conn.execute(sa.select(person_identities))).mappings().one()
    return dict(person), dict(identity)


async def person_info(h: Any, **changes: str) -> dict[str, Any]:
    return await h.his("1101", {"data": voucher(PERSON, **changes)}, NANJING, insured="320500")


async def test_identity_before_or_after_the_enrolment_ends_with_the_same_person(
    make_harness: Any,
) -> None:
    seen = []
    for identity_first in (False, True):
        async with make_harness(START) as h:
            await h.hospital(NANJING, "320100", "3")
            await h.person(PERSON, identity_first=identity_first)
            answer = await person_info(h)
            assert answer["infcode"] == 0, answer["err_msg"]
            seen.append((await rows(h), answer["output"]["baseinfo"]))
    assert seen[0] == seen[1]
    (_, identity), base = seen[0]
    # As the sandbox's persons.json states them.
    assert identity["name"] == "张建国"
    assert identity["certificate_no"] == "320500195603120111"
    assert base["psn_name"] == "张建国"
    assert base["certno"] == "320500195603120111"
    assert base["brdy"] == "1956-03-12"


async def test_a_person_is_known_only_once_both_halves_arrived_and_vouchers_are_checked(
    make_harness: Any,
) -> None:
    async with make_harness(START) as h:
        await h.hospital(NANJING, "320100", "3")
        stream = f"person-{PERSON['psn_no']}.identity"
        await h.feed(
            PersonIdentified(
                person_id=PERSON["psn_no"],
                name=PERSON["psn_name"],
                certificate_type="01",
                certificate_no=PERSON["certno"],
                gender="1",
                birth_date=date(1956, 3, 12),
                card_serial=PERSON["card_sn"],
            ),
            stream,
        )
        # The identity alone is no insured person (no region, no insurance, no account).
        answer = await person_info(h)
        assert answer["infcode"] == -1
        assert "person.not_found" in answer["err_msg"]

        await h.person(PERSON)  # enrolment (and the same identity again: a replace)
        assert (await person_info(h))["infcode"] == 0
        refused = await person_info(h, card_sn="SC99999999")
        assert refused["infcode"] == -1
        assert "eligibility.identity_mismatch" in refused["err_msg"]

        # An update's identity carries no certificate: the one stated at enrolment stands.
        await h.feed(
            PersonUpdated(
                person_id=PERSON["psn_no"],
                insured_region="320500",
                insurance_type=InsuranceType(PERSON["insutype"]),
                person_category=PERSON["psn_type"],
                civil_servant=False,
                assistance_identities=(),
                updated_on=date(2026, 3, 9),
            ),
            f"person-{PERSON['psn_no']}",
        )
        await h.feed(
            PersonIdentified(
                person_id=PERSON["psn_no"],
                name="张建國",
                certificate_type=None,
                certificate_no=None,
                gender="1",
                birth_date=date(1956, 3, 12),
                card_serial="SC00000009",
            ),
            stream,
        )
        _, identity = await rows(h)
        assert (identity["name"], identity["card_serial"]) == ("张建國", "SC00000009")
        assert identity["certificate_no"] == "320500195603120111"
        answer = await person_info(h, card_sn="SC00000009")
        assert answer["infcode"] == 0, answer["err_msg"]
        assert answer["output"]["baseinfo"]["psn_name"] == "张建國"
