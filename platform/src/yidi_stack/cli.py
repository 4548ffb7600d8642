"""`yidi-stack`: start, stop and exercise the whole platform on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from yidi_cli.sandbox import load_sandbox, sandbox_dir
from yidi_stack.platform import SERVICES, Platform

# Everything this command starts is the sandbox, and it mints sandbox tokens itself (the
# simulation's agencies); a value set by the caller wins.
os.environ.setdefault("YIDI_SANDBOX", "1")

app = typer.Typer(
    help="Run Yidi on one machine (embedded PostgreSQL and broker).", no_args_is_help=True
)


def _console(platform: Platform) -> None:
    """Where the officers' console is and two sandbox logins to try it with (users.json has
    the rest): a city's filing reviewer and the centre's first clearing approver."""
    import json

    users = {u["username"]: u for u in json.loads((sandbox_dir() / "users.json").read_text())}
    typer.echo(f"agency console: {platform.console_url}")
    for name in ("sz.reviewer", "js.approver1"):
        if name in users:
            user = users[name]
            typer.echo(f"  login {name} / {user['password']}  ({user['display_name']})")


def _platform() -> Platform:
    # One folder holds every byte of state (data, logs, pids); `make down` and `make clean` use it.
    # The calendar's work (day statements, clearing steps, batches, expiries) runs by itself here.
    return Platform(
        Path(os.environ.get("YIDI_STATE_DIR", ".state")).resolve(),
        extra_env={"YIDI_SCHEDULES_ENABLED": "true"},
    )


@app.command()
def up() -> None:
    """Start everything from a clean state, with the sandbox data loaded."""
    platform = _platform()
    try:
        platform.up(say=typer.echo)
        load_sandbox(platform.url, say=typer.echo)
    except Exception:
        platform.down(quiet=True)
        raise
    _console(platform)
    typer.echo("Yidi is up. `make down` stops it.")


@app.command()
def acls(check: bool = typer.Option(False, help="Only say whether deploy/ is current.")) -> None:
    """Write the Kafka users and ACLs (deploy/k8s/kafka-users.yaml, deploy/compose/kafka-acls.sh)
    derived from each service's subscriptions."""
    from yidi_stack import acls as generator

    raise typer.Exit(generator.main(["check" if check else "write"]))


@app.command()
def down() -> None:
    """Stop every process `up` started."""
    _platform().down(say=typer.echo)


@app.command()
def clean() -> None:
    """Stop everything and remove every file the platform left, inside and outside the checkout."""
    import shutil

    from yidi_stack.embedded import remove_pg_copy

    platform = _platform()
    platform.down(quiet=True)
    shutil.rmtree(platform.state, ignore_errors=True)
    remove_pg_copy()
    typer.echo(f"removed {platform.state} and the runtime copies of this checkout")


@app.command()
def status() -> None:
    """Show each service's health."""
    import httpx

    platform = _platform()
    for service in SERVICES:
        try:
            ready = httpx.get(f"{platform.url(service)}/readyz", timeout=2).json()
        except httpx.HTTPError as exc:
            ready = {"ready": False, "error": exc.__class__.__name__}
        typer.echo(f"{service:<15} {ready}")


@app.command()
def run(
    keep: bool = typer.Option(False, help="Leave the platform running afterwards for exploring."),
    persons: int = typer.Option(3000, min=50, help="Generated insured persons."),
    days: int = typer.Option(3, min=1, max=28, help="Simulated days of traffic (one month)."),
    seed: int = typer.Option(2026, help="Random seed: the same seed gives the same run."),
) -> None:
    """Start the platform, drive a simulated province through it, print what happened."""
    # Simulated time: every service runs the controlled clock the run moves day by day; the
    # run itself does the calendar's work (issuing days, clearing), so schedules stay off.
    platform = Platform(
        Path(os.environ.get("YIDI_STATE_DIR", ".state")).resolve(),
        extra_env={
            "YIDI_CLOCK": "controlled",
            "YIDI_CLOCK_START": "2026-03-02T09:00:00+08:00",
            "YIDI_LOG_LEVEL": "WARNING",
        },
    )
    try:
        platform.up(say=typer.echo)
        load_sandbox(platform.url, say=typer.echo)
        from yidi_stack.simulation import simulate

        simulate(platform, persons=persons, days=days, seed=seed)
        if keep:
            _console(platform)
            typer.echo("the platform is still running (simulated clock); `make down` stops it")
    finally:
        if not keep:
            platform.down(quiet=True)
            typer.echo("stopped; nothing left running (use --keep to explore)")


@app.command()
def bench(
    seconds: float = typer.Option(5.0, help="Seconds per measurement."),
    only: str = typer.Option(
        "settle,recon,clearing,rebuild", help="Comma-separated parts to run (to iterate on one)."
    ),
    recon_settlements: int = typer.Option(1_000_000, help="Settlements in the reconciled day."),
    clearing_agencies: int = typer.Option(400, help="Agencies in the cleared month."),
    clearing_settlements: int = typer.Option(20_000, help="Settlements in the cleared month."),
    rebuild_events: int = typer.Option(20_000, help="Events per rebuilt projection."),
    soak_seconds: float = typer.Option(
        180.0, help="Seconds of the overload run (2207 at c128 on two gateway workers)."
    ),
) -> None:
    """Measure and print; writes .bench/latest.json. Fails only on a wrong result, never on a
    time."""
    from yidi_stack.bench.generated import PARTS, Sizes
    from yidi_stack.bench.runner import run as run_bench

    parts = frozenset(p.strip() for p in only.split(",") if p.strip())
    if unknown := parts - PARTS:
        raise typer.BadParameter(f"unknown parts {sorted(unknown)}; the parts are {sorted(PARTS)}")
    sizes = Sizes(recon_settlements, clearing_agencies, clearing_settlements, rebuild_events)
    run_bench(
        Path(".bench").resolve(),
        seconds=seconds,
        say=typer.echo,
        only=parts,
        sizes=sizes,
        soak_seconds=soak_seconds,
    )


if __name__ == "__main__":
    app()
