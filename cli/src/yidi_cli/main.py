"""`yidi`: the on-call operator's command (docs/operations.md).

It works through the services' APIs (`YIDI_<SERVICE>_URL`) as the logged-in operator
(`YIDI_TOKEN`, from `yidi login` as a centre user with the `operator` role; in the sandbox a token
is minted) and through the broker (`YIDI_KAFKA_BOOTSTRAP`, `--bootstrap`) for the topics; never
through a service's database.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table

from yidi_cli import topics as tops
from yidi_cli.config import Target, check
from yidi_cli.sandbox import load_sandbox
from yidi_events.auth.agency import SandboxOnly, issue_token, private_jwk
from yidi_events.runtime.kafka import ensure_topics
from yidi_events.topics import all_sources, dlq, owner, services, topic

T = TypeVar("T")
# Every service of the platform, from the topics' declaration (no service's code: an image
# holds only its own service's package, and the CLI talks to all of them through their APIs).
SERVICES = services()

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
dlq_app = typer.Typer(
    help="Inspect and replay a service topic's dead-letter queue.", no_args_is_help=True
)
clearing_app = typer.Typer(
    help="Trigger clearing steps as the provincial centre.", no_args_is_help=True
)
import_app = typer.Typer(
    help="Load reference data through the services' APIs.", no_args_is_help=True
)
topics_app = typer.Typer(help="The Yidi topics on the broker.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(dlq_app, name="dlq")
app.add_typer(clearing_app, name="clearing")
app.add_typer(import_app, name="import")

console = Console()
ServiceArg = typer.Argument(..., help=f"one of {', '.join(SERVICES)}")
SourceArg = typer.Argument(
    ...,
    help=f"one of {', '.join(all_sources())} (a service's events, or its side topic)",
)


def _target(ctx: typer.Context) -> Target:
    target = ctx.find_root().obj
    assert isinstance(target, Target)
    return target


def _run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


def _service(name: str) -> str:
    try:
        return check(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _source(name: str) -> str:
    """A service (its events topic) or a service's side topic (`filing.identity`)."""
    _service(owner(name))
    try:
        topic(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return name


def _emit_json(rows: Any) -> None:
    typer.echo(json.dumps(rows, ensure_ascii=False, default=str))


def _token(target: Target, *, region: str, roles: list[str], kind: str, user: str) -> str:
    """The token a command acts with: a login's (`YIDI_TOKEN`, from `yidi login`), or in sandbox
    mode one minted from the sandbox secret. Outside the sandbox minting refuses."""
    given = os.environ.get("YIDI_TOKEN")
    if given:
        return given
    try:
        return _mint(target, region=region, roles=roles, kind=kind, user=user)
    except SandboxOnly as exc:
        raise typer.BadParameter(f"{exc}; or set YIDI_TOKEN to the token of `yidi login`") from exc


def _mint(target: Target, *, region: str, roles: list[str], kind: str, user: str) -> str:
    return issue_token(
        target.settings.auth_secret.get_secret_value(),
        user_id=user,
        region=region,
        roles=roles,
        kind=kind,
        now=datetime.now(UTC),
    )


def _answer(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        console.print(
            f"[red]{response.request.method} {response.request.url} -> {response.status_code}[/red]"
        )
        _emit_json(body)
        raise typer.Exit(1)
    return body


def _post(
    target: Target,
    service: str,
    path: str,
    *,
    region: str,
    roles: list[str] | None = None,
    kind: str = "agency",
    timeout: float,
    content_type: str | None = None,
    **request: Any,
) -> None:
    """POST to a service's API as `yidi-cli` of the region and print the answer (exit 1 if it
    is refused): what every command that acts through an API does."""
    bearer = _token(target, region=region, roles=roles or [], kind=kind, user="yidi-cli")
    headers = {"authorization": f"Bearer {bearer}"}
    if content_type:
        headers["content-type"] = content_type
    response = httpx.post(
        f"{target.url(service)}{path}", headers=headers, timeout=timeout, **request
    )
    _emit_json(_answer(response))


@app.callback()
def main(
    ctx: typer.Context,
    bootstrap: str | None = typer.Option(
        None, help="Kafka bootstrap (default: YIDI_KAFKA_BOOTSTRAP)"
    ),
) -> None:
    ctx.obj = Target.from_env(bootstrap=bootstrap)


def _centre(target: Target) -> str:
    try:
        return target.centre()
    except ValueError as exc:  # the province file cannot be read or names no region
        raise typer.BadParameter(str(exc)) from exc


def _as_operator(target: Target, service: str, method: str, path: str) -> Any:
    """Call a service's admin API as the provincial centre's operator; the answer, or exit 1."""
    bearer = _token(
        target, region=_centre(target), roles=["operator"], kind="centre", user="yidi-cli"
    )
    response = httpx.request(
        method,
        f"{target.url(service)}{path}",
        headers={"authorization": f"Bearer {bearer}"},
        timeout=None,  # a rebuild answers when it is done
    )
    return _answer(response)


# --- topics -----------------------------------------------------------------------------------


@app.command()
def tail(
    ctx: typer.Context,
    service: str = SourceArg,
    from_beginning: bool = typer.Option(False, help="start at the oldest record"),
    limit: int = typer.Option(
        20, help="how many records (the first N from the beginning, else the last N)"
    ),
    as_json: bool = typer.Option(False, "--json", help="one JSON document instead of a table"),
) -> None:
    """Print a service's topic as readable events: type, stream, version, business date, key fields."""
    target = _target(ctx)
    name = topic(_source(service), target.settings.kafka_namespace)
    records = _run(tops.read(target.kafka(), name, from_beginning=from_beginning, limit=limit))
    rows = [tops.readable(r) for r in records]
    if as_json:
        _emit_json(rows)
        return
    table = Table(title=f"{name} ({len(rows)} records)")
    for column in ("p@offset", "event type", "stream", "v", "business date", "fields"):
        table.add_column(column, overflow="fold")
    for row in rows:
        fields = row["fields"] or row["raw"]
        table.add_row(
            f"{row['partition']}@{row['offset']}",
            row["event_type"],
            str(row["stream_id"]),
            str(row["stream_version"]),
            str(row["business_date"]),
            json.dumps(fields, ensure_ascii=False, default=str),
        )
    console.print(table)


@dlq_app.command("list")
def dlq_list(
    ctx: typer.Context,
    service: str = SourceArg,
    as_json: bool = typer.Option(False, "--json", help="one JSON document instead of a table"),
) -> None:
    """Every record on `<topic>.dlq`: where it came from, which consumer gave up, and why."""
    target = _target(ctx)
    name = dlq(topic(_source(service), target.settings.kafka_namespace))
    rows = [d.view() for d in _run(tops.dead_letters(target.kafka(), name))]
    if as_json:
        _emit_json(rows)
        return
    table = Table(title=f"{name} ({len(rows)} dead letters)")
    for column in ("p@offset", "origin", "consumer", "event type", "stream", "v", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            f"{row['partition']}@{row['offset']}",
            row["origin"],
            str(row["consumer"]),
            str(row["event_type"]),
            str(row["stream_id"]),
            str(row["stream_version"]),
            str(row["error"]),
        )
    console.print(table)


@dlq_app.command("replay")
def dlq_replay(
    ctx: typer.Context,
    service: str = SourceArg,
    offset: int | None = typer.Option(None, help="replay only the DLQ record at this offset"),
    partition: int | None = typer.Option(
        None, help="the DLQ partition of --offset (needed if ambiguous)"
    ),
) -> None:
    """Publish dead letters again to their origin topic, with their key (default: all of them):
    the consumer that dead-lettered one applies it once (after the fix: an upcaster or a code
    change); replaying it again changes nothing."""
    target = _target(ctx)
    name = dlq(topic(_source(service), target.settings.kafka_namespace))
    letters = _run(tops.dead_letters(target.kafka(), name))
    if offset is not None:
        letters = [
            d
            for d in letters
            if d.record.offset == offset and (partition is None or d.record.partition == partition)
        ]
        if len(letters) != 1:
            console.print(
                f"[red]{len(letters)} DLQ records at offset {offset}"
                + ("" if partition is None else f" of partition {partition}")
                + "; name exactly one (--partition)[/red]"
            )
            raise typer.Exit(1)
    sent = _run(tops.replay(target.kafka(), letters))
    for origin, part, at in sent:
        console.print(f"replayed to {origin}[{part}]@{at}")
    console.print(f"{len(sent)} dead letters replayed from {name}")


@topics_app.command("create")
def topics_create(
    ctx: typer.Context,
    replicas: Annotated[
        int | None,
        typer.Option(help="copies of each partition (default: 3, or as many brokers as there are)"),
    ] = None,
) -> None:
    """Create every missing topic with its declared partitions, replication and retention
    (events kept for ever, dead letters two weeks): the runbook's way back from a lost topic."""
    kafka = _target(ctx).kafka()
    created = _run(ensure_topics(kafka, replicas))
    for name in created:
        console.print(f"created {name}")
    console.print(f"{len(created)} topics created; the others existed")


@app.command()
def republish(ctx: typer.Context, service: str = ServiceArg) -> None:
    """Rewind the service's relay: its active relay publishes the whole event store again."""
    done = _as_operator(_target(ctx), _service(service), "POST", "/v1/admin/relay/republish")
    console.print(f"{service}: rewound; {done['to_publish']} events will be published again")


@app.command()
def lag(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Argument(help="services to look at (default: all)")
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="one JSON document instead of a table"),
) -> None:
    """Relay backlog (stored, not yet published) per service; consumer lag per group and topic."""
    target = _target(ctx)
    chosen = [_service(s) for s in services] if services else list(SERVICES)
    rows = [
        row for service in chosen for row in _as_operator(target, service, "GET", "/v1/admin/lag")
    ]
    if as_json:
        _emit_json(rows)
        return
    table = Table(title="relay backlog and consumer lag")
    for column in ("service", "relay / consumer group", "topic", "committed", "end", "behind"):
        table.add_column(column, overflow="fold")
    for row in rows:
        behind = row["behind"]
        table.add_row(
            row["service"],
            row["name"] if row["what"] == "consumer" else f"relay -> {row['name']}",
            row.get("topic", ""),
            str(row.get("committed", "")),
            str(row.get("end", "")),
            f"[{'red' if behind else 'green'}]{behind}[/]",
        )
    console.print(table)


@app.command()
def rebuild(
    ctx: typer.Context,
    service: str = ServiceArg,
    projection: str | None = typer.Argument(None, help="the projection (omit to list them)"),
) -> None:
    """Rebuild a projection from scratch: own read models from the event store, consumed ones
    from their source topics, beside the live tables, then swapped in. Safe while the service
    runs: it keeps answering and writing, and nothing committed meanwhile is lost."""
    target = _target(ctx)
    service = _service(service)
    if projection is None:
        for found in _as_operator(target, service, "GET", "/v1/admin/projections"):
            source = "event store" if found["kind"] == "own" else ", ".join(found["sources"])
            console.print(f"{found['name']:<36} {found['kind']:<9} from {source}")
        return
    with console.status(f"rebuilding {service} {projection} (the service keeps serving)"):
        done = _as_operator(target, service, "POST", f"/v1/admin/projections/{projection}/rebuild")
    what = "events from the store" if done["kind"] == "own" else "records from its topics"
    console.print(f"{done['projection']}: rebuilt from {done['read']} {what}")


# --- APIs -------------------------------------------------------------------------------------


@app.command()
def token(
    ctx: typer.Context,
    region: str = typer.Option(..., help="the agency's six-digit region, 320000 for the centre"),
    roles: str = typer.Option("", help="comma-separated roles, e.g. reviewer,approver"),
    kind: str = typer.Option("agency", help="agency, centre, person or service"),
    user: str = typer.Option("operator", help="the user id the token names"),
) -> None:
    """Mint a bearer token (signed with the sandbox key of YIDI_AUTH_SECRET) for exploring the
    sandbox's APIs. Refused outside sandbox mode: log in instead (`yidi login`)."""
    typer.echo(
        _token(
            _target(ctx),
            region=region,
            roles=[r for r in roles.split(",") if r],
            kind=kind,
            user=user,
        )
    )


@app.command()
def login(
    ctx: typer.Context,
    username: str = typer.Option(..., help="the login name"),
    password: str = typer.Option(..., prompt=True, hide_input=True),
) -> None:
    """Log in at the identity component (filing) and print the token (for YIDI_TOKEN)."""
    target = _target(ctx)
    response = httpx.post(
        f"{target.url('filing')}/v1/api/identity/login",
        json={"username": username, "password": password},
        timeout=30,
    )
    typer.echo(_answer(response)["access_token"])


@app.command("new-signing-key")
def new_signing_key(
    kid: str = typer.Option(..., help="the new key's id, e.g. 2026-12"),
    keep: str = typer.Option("", help="the current YIDI_AUTH_SIGNING_KEYS, kept after the new key"),
) -> None:
    """Print a JWKS for YIDI_AUTH_SIGNING_KEYS with a new Ed25519 key first (rotation: the old
    keys stay published until their tokens expire)."""
    kept = json.loads(keep)["keys"] if keep else []
    fresh = private_jwk(kid, Ed25519PrivateKey.generate())
    typer.echo(json.dumps({"keys": [fresh, *kept]}))


@clearing_app.command("run-due")
def clearing_run_due(
    ctx: typer.Context,
    period: str = typer.Argument(..., help="the month cleared, YYYY-MM"),
    roles: str = typer.Option("operator,approver", help="the centre operator's roles"),
    centre: str | None = typer.Option(
        None,
        help="the provincial centre's region code, which runs clearing (default: the province "
        "file's [clearing] provincial_centre, YIDI_PROVINCE_FILE)",
    ),
) -> None:
    """Do the period's due steps now, as the provincial centre (what the schedule does daily)."""
    target = _target(ctx)
    _post(
        target,
        "clearing",
        f"/v1/periods/{period}/run-due",
        region=centre or _centre(target),
        roles=roles.split(","),
        kind="centre",
        timeout=60,
    )


@import_app.command("sandbox")
def import_sandbox(
    ctx: typer.Context,
    folder: Annotated[
        Path | None, typer.Option(help="the sandbox folder (default: ../shared/sandbox)")
    ] = None,
    wait: bool = typer.Option(True, help="wait until settlement knows every sandbox person"),
) -> None:
    """Load the sandbox into the running services through their APIs (as `make up` does)."""
    load_sandbox(_target(ctx).url, folder, console.print, wait=wait)


@import_app.command("persons")
def import_persons(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="population file, .csv or .json"),
    ],
    agency: str = typer.Option(..., help="the insured region importing it"),
) -> None:
    """Import a population file into filing, all or nothing (row errors are listed)."""
    file_format = "csv" if file.suffix.lower() == ".csv" else "json"
    _post(
        _target(ctx),
        "filing",
        "/v1/persons/import",
        region=agency,
        timeout=300,
        json={"file_format": file_format, "content": file.read_text(encoding="utf-8-sig")},
    )


@import_app.command("catalogue")
def import_catalogue(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, help="catalogue file, .csv or .json"),
    ],
    agency: str = typer.Option(..., help="the visit region whose catalogue it is"),
    effective_from: str = typer.Option(
        date.today().isoformat(), help="first day the items apply (YYYY-MM-DD)"
    ),
) -> None:
    """Import catalogue items into settlement for a region (one transaction)."""
    _post(
        _target(ctx),
        "settlement",
        "/v1/api/catalogue/import",
        region=agency,
        timeout=300,
        content_type="text/csv" if file.suffix.lower() == ".csv" else "application/json",
        params={"region": agency, "effective_from": effective_from},
        content=file.read_bytes(),
    )


if __name__ == "__main__":
    app()
