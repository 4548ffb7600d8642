"""What a service declares about itself, once, in its `bootstrap.py`; the platform runner, the
operator CLI and the API documents read these definitions instead of guessing module names.

A service package publishes its definition as an entry point of the group `yidi.services`:

    [project.entry-points."yidi.services"]
    filing = "yidi_filing.bootstrap:DEFINITION"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from fastapi import FastAPI

from yidi_events.service import Runtime
from yidi_events.settings import ServiceSettings

GROUP = "yidi.services"


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    port: int
    """The port it listens on when the whole platform runs on one machine."""
    migrations: Path
    create: Callable[[], FastAPI]
    """The ASGI application factory (`uvicorn --factory`), configured from the environment."""
    build_runtime: Callable[[ServiceSettings], Runtime]
    """The runtime alone (store, relay, consumers, jobs), for tools that drive its parts."""
    events: ModuleType
    """The module of its own event contracts: the facts no other service consumes, so they are
    not in `yidi_events.contracts` (they are still published on its topic)."""
    schemas: Path
    """The folder of those contracts' committed JSON Schemas (see `yidi_events.schemas`)."""
    load_sandbox: Callable[[str, Path], Any] | None = None
    """Loads its part of ../shared/sandbox through its own API: (base URL, sandbox folder)."""

    @property
    def app_factory(self) -> str:
        """`module:attribute` of `create`, as uvicorn takes it."""
        return f"{self.create.__module__}:{self.create.__name__}"


def services() -> dict[str, ServiceDefinition]:
    """Every installed service's definition by name, in the order of their ports."""
    found = [ep.load() for ep in entry_points(group=GROUP)]
    for definition in found:
        if not isinstance(definition, ServiceDefinition):
            raise TypeError(f"entry point of {GROUP} is not a ServiceDefinition: {definition!r}")
    return {d.name: d for d in sorted(found, key=lambda d: d.port)}


def service(name: str) -> ServiceDefinition:
    every = services()
    if name not in every:
        raise LookupError(f"unknown service {name!r}; one of {', '.join(every)}")
    return every[name]
