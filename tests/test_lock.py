"""One locked set of third-party versions: requirements.lock pins every package any of the
workspace's pyproject files or dev-requirements.txt names, and the Makefile, the Dockerfile and
CI install from it. (`make lint` runs `make lock-check`, which re-resolves and fails when the lock
is stale; this test says the same offline, and that every installer uses the lock.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"yidi-events", "yidi-benefits", "yidi-cli", "yidi-stack"} | {
    f"yidi-{s}"
    for s in (
        "filing",
        "settlement",
        "reconciliation",
        "clearing",
        "audit",
        "reimbursement",
        "console",
    )
}


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line):
            pins[canonicalize_name(match[1].split("[")[0])] = match[2]
    return pins


def _declared() -> dict[str, set[str]]:
    """Each third-party requirement, by the files that declare it."""
    found: dict[str, set[str]] = {}
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" in pyproject.parts:
            continue
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        for raw in project.get("dependencies", []):
            found.setdefault(Requirement(raw).name, set()).add(str(pyproject.relative_to(ROOT)))
    for line in (ROOT / "dev-requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            found.setdefault(Requirement(line).name, set()).add("dev-requirements.txt")
    return {canonicalize_name(n): files for n, files in found.items() if n not in LOCAL}


def test_every_declared_dependency_is_pinned_in_the_lock() -> None:
    pins = _pinned()
    missing = {name: files for name, files in _declared().items() if name not in pins}
    assert missing == {}, f"not in requirements.lock (run make lock): {missing}"


def test_every_pin_satisfies_what_the_packages_ask() -> None:
    pins = _pinned()
    wrong = []
    for pyproject in ROOT.glob("*/**/pyproject.toml"):
        if ".venv" in pyproject.parts:
            continue
        for raw in tomllib.loads(pyproject.read_text()).get("project", {}).get("dependencies", []):
            requirement = Requirement(raw)
            pin = pins.get(canonicalize_name(requirement.name))
            if pin and not requirement.specifier.contains(pin, prereleases=True):
                wrong.append(f"{pyproject.relative_to(ROOT)}: {raw} but the lock has {pin}")
    assert wrong == []


def test_the_makefile_the_dockerfile_and_ci_install_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*-c requirements\.lock", makefile)
    assert re.search(r"^lint:.*(\n\t.*)*lock-check", makefile, re.MULTILINE)
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "COPY requirements.lock" in dockerfile
    assert "pip wheel --constraint requirements.lock" in dockerfile
    assert "!requirements.lock" in (ROOT / ".dockerignore").read_text()
    ci = (ROOT / ".ci" / "run").read_text().split()
    assert ci.index("lint") < ci.index("test")
