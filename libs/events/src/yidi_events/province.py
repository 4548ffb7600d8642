"""A province's configuration: one TOML file per province (`deploy/provinces/<name>.toml`), one
section per service (`[clearing]`, ...), chosen by `YIDI_PROVINCE_FILE` (`ServiceSettings.
province_file`); without it, the sandbox's file shipped in the repository.

This module only reads the file; each service validates its own section at start with its own
model (or `overlay` over its settings dataclass), so a province's rules live in one file and a
service that reads no section is unaffected. The one value several readers share, the provincial
centre, is read here (`provincial_centre`).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from pydantic import TypeAdapter, ValidationError

from yidi_events.kernel import DomainError, validate_region

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


# The sandbox's centre, when a province file does not name one (clearing's default too).
DEFAULT_CENTRE = "320000"


def provincial_centre(document: Mapping[str, Any]) -> str:
    """The provincial centre's region code: the agency that runs clearing and whose users act for
    the whole province, `[clearing] provincial_centre`. Read here, not from clearing's code, by
    whatever else needs it (filing's centre users, the operator CLI); a code that is not a
    six-digit region stops them naming the key."""
    code = section(document, "clearing").get("provincial_centre", DEFAULT_CENTRE)
    try:
        return validate_region(code)
    except ValueError as exc:
        raise ProvinceFileError(f"province file: [clearing] provincial_centre: {exc}") from exc


def overlay(
    default: T,
    values: Mapping[str, Any],
    where: str,
    check: Callable[[T], None] | None = None,
) -> T:
    """`default` (a frozen dataclass of a service's settings) with what a province section says,
    field by field and into nested settings, each value checked against the field's type. A key
    that names no setting, or a value of the wrong type, stops the service at start naming it
    (`[audit] rules.split_hospitalization.window_days: ...`): a typo must never be a silent
    default. `where` is the section (`[audit]`). `check` is the domain's rule of which values can
    work (a deadline of no working days): its refusal names the field and stops the service too."""
    result = _overlaid(default, values, where)
    if check is not None:
        try:
            check(result)
        except DomainError as exc:
            key = f" {exc.field}" if exc.field else ""
            raise ProvinceFileError(f"province file: {where}{key}: {exc.message}") from exc
    return result


def _overlaid(default: T, values: Mapping[str, Any], where: str) -> T:
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
            changes[key] = _overlaid(current, value, here)
            continue
        try:
            changes[key] = TypeAdapter(hints[key]).validate_python(value)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise ProvinceFileError(f"province file: {here}: {problem} ({value!r})") from exc
    return dataclasses.replace(default, **changes)
