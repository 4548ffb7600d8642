"""The Kafka users and ACLs in deploy/ are the ones the services' definitions imply, and they keep
each service to its own topic: it writes its facts and the dead letters of what it consumes, and
reads only the topics it subscribes to."""

from __future__ import annotations

import re

import yaml

from yidi_events.topics import topic
from yidi_stack import acls


def test_the_committed_acl_manifests_are_current() -> None:
    assert acls.main(["check"]) == 0, "run `make docs`"


def _by_user() -> dict[str, acls.Grant]:
    return {g.user: g for g in acls.grants()}


def test_each_service_writes_only_its_own_topic_and_the_dlqs_of_what_it_consumes() -> None:
    # Worked from docs/ARCHITECTURE's table of who consumes whom.
    consumes = {
        "filing": ["audit", "reimbursement", "settlement"],
        "settlement": ["audit", "filing", "filing.identity"],
        "reconciliation": ["settlement"],
        "clearing": ["audit", "reconciliation"],
        "audit": ["filing", "settlement"],
        "reimbursement": ["filing", "settlement"],
    }
    grants = _by_user()
    for service, sources in consumes.items():
        grant = grants[f"yidi-{service}"]
        own = [f"yidi.{service}.events"] + (["yidi.filing.identity"] if service == "filing" else [])
        assert grant.reads == tuple(topic(s) for s in sources), service
        assert sorted(grant.writes) == sorted([*own, *(f"{topic(s)}.dlq" for s in sources)]), (
            service
        )
        assert all(g.startswith(f"{service}.") for g in grant.groups), service


def test_no_service_may_write_another_services_facts() -> None:
    for grant in acls.grants():
        if grant.user == acls.OPERATOR:
            continue
        service = grant.user.removeprefix("yidi-")
        facts = [t for t in grant.writes if t.endswith(".events")]
        assert facts == [f"yidi.{service}.events"], grant.user


def test_only_settlement_reads_and_only_filing_writes_persons_identity() -> None:
    # Identity (name, certificate, card serial, birth date, gender) is on this topic alone
    # (docs/integration.md, "Personal data on the wire"); the operator reads everything.
    identity = "yidi.filing.identity"
    services = [g for g in acls.grants() if g.user != acls.OPERATOR]
    assert [g.user for g in services if identity in g.reads] == ["yidi-settlement"]
    assert [g.user for g in services if identity in g.writes] == ["yidi-filing"]


def test_the_strimzi_users_and_the_script_grant_the_same() -> None:
    strimzi: set[tuple[str, str, str, str]] = set()
    for doc in yaml.safe_load_all(acls.STRIMZI.read_text()):
        for acl in doc["spec"]["authorization"]["acls"]:
            for operation in acl["operations"]:
                resource = acl["resource"]
                strimzi.add(
                    (doc["metadata"]["name"], resource["type"], resource["name"], operation)
                )
    script: set[tuple[str, str, str, str]] = set()
    pattern = re.compile(r"--allow-principal User:(\S+) (.*) --(topic|group) (\S+)$")
    for line in acls.SCRIPT.read_text().splitlines():
        found = pattern.search(line)
        if found:
            user, ops, kind, name = found.groups()
            script |= {(user, kind, name, op) for op in re.findall(r"--operation (\w+)", ops)}
    assert strimzi == script
    assert {u for u, *_ in strimzi} == {f"yidi-{s}" for s in acls.DEFINITIONS} | {acls.OPERATOR}
