"""A province's configuration: one TOML file per province (`deploy/provinces/<name>.toml`), one
section per service (`[clearing]`, ...), chosen by `YIDI_PROVINCE_FILE` (`ServiceSettings.
province_file`); without it, the sandbox's file shipped in the repository.

This module only reads the file; each service validates its own section at start with its own
model, so a province's rules live in one file and a service that reads no section is unaffected.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

# libs/events/src/yidi_events/province.py -> the repository's deploy/provinces/.
PROVINCES = Path(__file__).resolve().parents[4] / "deploy" / "provinces"
SANDBOX = PROVINCES / "sandbox.toml"


class ProvinceFileError(ValueError):
    """The province file cannot be read or is not TOML; the message names the file."""


def load_province(path: Path | None = None) -> Mapping[str, Any]:
    """The province file's document: `path`, else the sandbox file when the repository ships it,
    else empty (every service's defaults, which are the sandbox's)."""
    chosen = path if path is not None else (SANDBOX if SANDBOX.is_file() else None)
    if chosen is None:
        return {}
    try:
        with chosen.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProvinceFileError(f"YIDI_PROVINCE_FILE={chosen}: {exc}") from exc


def section(document: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """One section of a province document; empty when the province does not configure it."""
    found = document.get(name, {})
    if not isinstance(found, Mapping):
        raise ProvinceFileError(f"province file: [{name}] must be a table, not {found!r}")
    return found


def overlay(default: T, values: Mapping[str, Any], where: str) -> T:
    """`default` (a frozen dataclass of a service's settings) with what a province section says,
    field by field and into nested settings, each value checked against the field's type. A key
    that names no setting, or a value of the wrong type, stops the service at start naming it
    (`[audit] rules.split_hospitalization.window_days: ...`): a typo must never be a silent
    default. `where` is the section (`[audit]`)."""
    if not values:
        return default
    if not dataclasses.is_dataclass(default) or isinstance(default, type):
        raise TypeError(f"{where}: settings must be a dataclass instance, not {default!r}")
    names = {f.name for f in dataclasses.fields(default) if f.init}
    hints = get_type_hints(type(default))
    changes: dict[str, Any] = {}
    for key, value in values.items():
        here = f"{where}{' ' if where.endswith(']') else '.'}{key}"
        if key not in names:
            raise ProvinceFileError(
                f"province file: {here} is not a setting; known: {', '.join(sorted(names))}"
            )
        current = getattr(default, key)
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            changes[key] = overlay(current, value, here)
            continue
        try:
            changes[key] = TypeAdapter(hints[key]).validate_python(value)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ProvinceFileError(f"province file: {here}: {problem} ({value!r})") from exc
    return dataclasses.replace(default, **changes)
