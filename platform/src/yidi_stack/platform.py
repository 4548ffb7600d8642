"""The whole platform on one machine: embedded PostgreSQL (a database per service), the broker,
the topics, and the five services under uvicorn, all on 127.0.0.1, state under one folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from yidi_events.definition import services
from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings
from yidi_stack.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    _alive,
    _terminate,
    free_port,
    reachable_by_pg,
    runtime_dir,
    wait_for_port,
)
from yidi_stack.infra import run_sync

# The services are the installed ones, as each declares itself (yidi_events.definition).
DEFINITIONS = services()
SERVICES = tuple(DEFINITIONS)
DEFAULT_PORTS = {name: d.port for name, d in DEFINITIONS.items()}
VERIFICATION = "invoice-verification"  # the sandbox's stand-in, not a service of the platform


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"YIDI_{name.upper()}_PORT", default))


# The service hospitals call. With more than one gateway worker it runs as that many uvicorn
# workers on its port that serve requests only, and one process more (its "-background") that
# runs its relay, consumers and schedules, so no worker's event loop does anything but answer.
GATEWAY_SERVICE = "settlement"
SERVE_ONLY = {
    "YIDI_RELAY_ENABLED": "false",
    "YIDI_CONSUMERS_ENABLED": "false",
    "YIDI_SCHEDULES_ENABLED": "false",
}


@dataclass(frozen=True)
class Launch:
    """One process a service runs as."""

    key: str  # its name in services.json and its log's
    env: Mapping[str, str] = field(default_factory=dict)  # on top of the service's environment
    workers: int = 1
    on_service_port: bool = True  # else a free port of its own (its /healthz and /metrics only)


def launches(service: str, gateway_workers: int) -> tuple[Launch, ...]:
    """The processes `service` runs as: one, unless it is the gateway given several workers."""
    if service != GATEWAY_SERVICE or gateway_workers <= 1:
        return (Launch(service),)
    return (
        Launch(f"{service}-background", on_service_port=False),
        Launch(service, env=SERVE_ONLY, workers=gateway_workers),
    )


# --- the agency console (issue 24) -----------------------------------------------------------
# A web application beside the services, not one of them: no database, no topics, no events;
# it calls the services' APIs with the officer's token. The platform starts it last.
CONSOLE = "console"
CONSOLE_PORT = 8006


def console_factory() -> str:
    from yidi_console.app import create

    return f"{create.__module__}:{create.__name__}"


# --- end of the console block --------------------------------------------------------------


def gateway_workers_from_env() -> int:
    given = os.environ.get("YIDI_GATEWAY_WORKERS", "1")
    if not given.isdigit() or int(given) < 1:
        raise ValueError(f"YIDI_GATEWAY_WORKERS must be a whole number of 1 or more, not {given!r}")
    return int(given)


@dataclass
class Platform:
    state: Path
    pg_port: int = field(default_factory=lambda: _port("pg", 55432))
    broker_port: int = field(default_factory=lambda: _port("broker", 59092))
    ports: dict[str, int] = field(
        default_factory=lambda: {s: _port(s, p) for s, p in DEFAULT_PORTS.items()}
    )
    extra_env: dict[str, str] = field(default_factory=dict)
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    """One service's own variables on top (the identity's signing keys are filing's alone)."""
    gateway_workers: int = field(default_factory=gateway_workers_from_env)
    """One (the default) keeps the gateway, its relay and its consumers in one process, which
    the fault tests' crash points expect; see GATEWAY_SERVICE."""
    console_port: int = field(default_factory=lambda: _port(CONSOLE, CONSOLE_PORT))
    verification_port: int = field(default_factory=lambda: _port("verification", 8096))
    """The sandbox's e-invoice verification service (reimbursement verifies invoices there)."""

    @classmethod
    def simulated(cls, state: Path, start: datetime, **env: str) -> Platform:
        """A platform of its own on free ports with the controlled clock at `start` and quiet
        logs: what an end-to-end suite starts beside any other one running."""
        return cls(
            state,
            pg_port=free_port(),
            broker_port=free_port(),
            ports={s: free_port() for s in SERVICES},
            verification_port=free_port(),
            console_port=free_port(),
            extra_env={
                "YIDI_CLOCK": "controlled",
                "YIDI_CLOCK_START": start.isoformat(),
                "YIDI_LOG_LEVEL": "WARNING",
                **env,
            },
        )

    @property
    def pg(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.state / "pg", self.pg_port)

    def _place_pg_data(self) -> None:
        # As root PostgreSQL runs as an unprivileged user; when it cannot reach the state folder
        # (a clone under /root or in a `mktemp -d` folder), its files live in a folder of this
        # checkout's under the runtime folder, linked from the state folder. `down` removes it.
        if reachable_by_pg(self.state):
            return
        tag = hashlib.sha1(str(self.state).encode()).hexdigest()[:10]
        outside = runtime_dir() / f"yidi-pg-{os.geteuid()}-{tag}"
        shutil.rmtree(outside, ignore_errors=True)
        outside.mkdir(mode=0o755)
        (self.state / "pg").symlink_to(outside, target_is_directory=True)

    def _remove_pg_data_outside(self) -> None:
        link = self.state / "pg"
        if link.is_symlink():
            shutil.rmtree(link.resolve(), ignore_errors=True)
            link.unlink()

    @property
    def broker(self) -> EmbeddedBroker:
        return EmbeddedBroker(self.state / "broker", self.broker_port)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def dsn(self, service: str) -> str:
        return self.pg.dsn_for(f"yidi_{service}")

    def runtime(self, service: str) -> Runtime:
        """The service's own runtime, as its bootstrap builds it (consumers, relay, store), on
        this platform's database and broker, with nothing running: what a test drives by hand
        (snapshots and rebuilds to compare with the running service's)."""
        settings = ServiceSettings(
            database_url=self.dsn(service),
            kafka_bootstrap=self.broker.bootstrap,
            db_pool_size=2,
            relay_enabled=False,
            consumers_enabled=False,
            schedules_enabled=False,
        )
        return DEFINITIONS[service].build_runtime(settings)

    def env(self, service: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                # The one-machine platform is the sandbox: sandbox users, sandbox secrets.
                "YIDI_SANDBOX": "1",
                "YIDI_DATABASE_URL": self.dsn(service),
                "YIDI_KAFKA_BOOTSTRAP": self.broker.bootstrap,
                **{f"YIDI_{s.upper()}_URL": self.url(s) for s in SERVICES},
                "YIDI_REIMBURSEMENT_VERIFICATION_URL": self.verification_url,
                **self.extra_env,
                **self.service_env.get(service, {}),
            }
        )
        return env

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self, say: Callable[[str], None] = print) -> None:
        """Start everything from a clean state; on any failure stop what was started."""
        self.down(quiet=True)
        shutil.rmtree(self.state, ignore_errors=True)
        try:
            self._up(say)
        except BaseException:
            self.down(quiet=True)
            raise

    def _up(self, say: Callable[[str], None]) -> None:
        (self.state / "logs").mkdir(parents=True)
        os.chmod(self.state, 0o755)
        self._place_pg_data()
        pg = self.pg
        pg.start()
        say(f"PostgreSQL {pg.dsn}")
        for service in SERVICES:
            pg.psql(f'CREATE DATABASE "yidi_{service}"')
        broker = self.broker
        broker.start()
        say(f"broker {broker.bootstrap}")
        self.create_topics()
        for service in SERVICES:
            self.migrate(service)
        pids: dict[str, int] = {VERIFICATION: self._start_verification()}
        for service in SERVICES:
            self._start(service, pids)
            (self.state / "services.json").write_text(json.dumps(pids))
        self.wait_healthy()
        for service in SERVICES:
            say(
                f"{service:<15} {self.url(service)}  (logs: {self.state / 'logs' / f'{service}.log'})"
            )
        self.start_console(pids)
        say(f"{CONSOLE:<15} {self.console_url}  (logs: {self.state / 'logs' / 'console.log'})")

    def start_console(self, pids: dict[str, int]) -> None:
        """The console, once the services answer (its pages are their answers)."""
        env = {k: v for k, v in self.env(CONSOLE).items() if k != "YIDI_DATABASE_URL"}
        pids[CONSOLE] = self._spawn(CONSOLE, console_factory(), self.console_port, env)
        (self.state / "services.json").write_text(json.dumps(pids))
        self._wait_answering(CONSOLE, self.console_url, self.console_port, timeout=60)

    # -- the sandbox's e-invoice verification service (manual reimbursement) ---------------------

    @property
    def verification_url(self) -> str:
        return f"http://127.0.0.1:{self.verification_port}"

    def _start_verification(self) -> int:
        log = (self.state / "logs" / f"{VERIFICATION}.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "yidi_reimbursement.verification_server:create_verification_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.verification_port),
                "--no-access-log",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.verification_port, timeout=60)
        return process.pid

    def create_topics(self) -> None:
        from aiokafka.errors import KafkaConnectionError

        from yidi_events.runtime.kafka import KafkaSettings, ensure_topics

        # A broker that has just started may accept connections before it answers metadata.
        deadline = time.monotonic() + 30
        while True:
            try:
                run_sync(ensure_topics(KafkaSettings(self.broker.bootstrap)))
                return
            except KafkaConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def migrate(self, service: str, dsn: str | None = None) -> None:
        """Migrate the service's database (or another database `dsn` as the service's) to head."""
        from yidi_events import migrate

        migrate.upgrade(dsn or self.dsn(service), DEFINITIONS[service].migrations)

    def _start(self, service: str, pids: dict[str, int], extra_env: Mapping[str, str] = {}) -> None:
        """Start the service as the platform arranges it, noting each process in `pids`."""
        for launch in launches(service, self.gateway_workers):
            pids[launch.key] = self._start_service(
                service,
                port=None if launch.on_service_port else free_port(),
                extra_env={**extra_env, **launch.env},
                workers=launch.workers,
                name=launch.key,
            )

    def _start_service(
        self,
        service: str,
        *,
        port: int | None = None,
        extra_env: Mapping[str, str] = {},
        workers: int = 1,
        name: str | None = None,
    ) -> int:
        port = port or self.ports[service]
        name = name or (service if port == self.ports[service] else f"{service}-{port}")
        return self._spawn(
            name,
            DEFINITIONS[service].app_factory,
            port,
            {**self.env(service), **extra_env},
            workers=workers,
        )

    def _spawn(
        self, name: str, factory: str, port: int, env: Mapping[str, str], *, workers: int = 1
    ) -> int:
        log = (self.state / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                factory,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                *(["--workers", str(workers)] if workers > 1 else []),
            ],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return process.pid

    def restart_service(
        self, service: str, extra_env: Mapping[str, str] = {}, *, wait: bool = True
    ) -> None:
        """Stop the service (if it still runs) and start it again, with `extra_env` on top of the
        platform's environment for this run only (fault tests arm YIDI_FAILPOINTS this way)."""
        pids = self._pids()
        # Whatever arrangement it ran in before (the number of workers may have changed since).
        for name in (service, f"{service}-background"):
            if name in pids:
                _terminate(pids.pop(name))
        self._start(service, pids, extra_env)
        (self.state / "services.json").write_text(json.dumps(pids))
        if wait:
            self.wait_healthy([service])

    def wait_exited(self, service: str, timeout: float = 30) -> None:
        """Wait until the service's process is gone (a fault test's crash point killed it)."""
        pid = self._pids()[service]
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} (pid {pid}) is still running")
            time.sleep(0.05)

    def start_instance(self, service: str, port: int, extra_env: Mapping[str, str] = {}) -> int:
        """Another instance of a service beside the recorded one: same database, same consumer
        groups, its own port. The caller stops it with `stop_instance`."""
        pid = self._start_service(service, port=port, extra_env=extra_env)
        wait_for_port(port, timeout=60)
        return pid

    @staticmethod
    def stop_instance(pid: int) -> None:
        _terminate(pid)

    def wait_healthy(
        self, services: tuple[str, ...] | list[str] = SERVICES, timeout: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout
        for service in services:
            self._wait_answering(
                service,
                self.url(service),
                self.ports[service],
                timeout=max(1.0, deadline - time.monotonic()),
            )

    @staticmethod
    def _wait_answering(name: str, url: str, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wait_for_port(port, timeout=timeout)
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not become healthy; see its log")
            time.sleep(0.1)

    def _pids(self) -> dict[str, int]:
        try:
            return {
                k: int(v) for k, v in json.loads((self.state / "services.json").read_text()).items()
            }
        except (OSError, ValueError):
            return {}

    def down(self, quiet: bool = False, say: Callable[[str], None] = print) -> None:
        for service, pid in self._pids().items():
            _terminate(pid)
            if not quiet:
                say(f"stopped {service}")
        (self.state / "services.json").unlink(missing_ok=True)
        self.broker.stop()
        self.pg.stop()
        self._remove_pg_data_outside()
        if not quiet:
            say("stopped broker and PostgreSQL")
