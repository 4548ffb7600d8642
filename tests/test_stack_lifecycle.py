"""`make up` / `make down`: the whole platform starts healthy from a clean state, and stopping it
leaves no process behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from yidi_stack.embedded import _alive, free_port

SERVICES = ("filing", "settlement", "reconciliation", "clearing", "audit")
pytestmark = pytest.mark.e2e


def stack(state: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "yidi_stack.cli", *args],
        env=env,
        cwd=state.parent,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_up_then_down_leaves_no_process_behind() -> None:
    # Not pytest's tmp_path: PostgreSQL runs as an unprivileged user who must reach its folder.
    parent = Path(tempfile.mkdtemp(prefix="yidi-stack-"))
    parent.chmod(0o755)
    state = parent / "state"
    ports = {name: free_port() for name in ("pg", "broker", *SERVICES)}
    env = {
        **os.environ,
        "YIDI_STATE_DIR": str(state),
        **{f"YIDI_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    up = stack(state, env, "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        for service in SERVICES:
            ready = httpx.get(f"http://127.0.0.1:{ports[service]}/readyz", timeout=5).json()
            assert ready["ready"] is True, (service, ready)
        pids = list(json.loads((state / "services.json").read_text()).values())
        pids.append(int((state / "broker" / "broker.pid").read_text()))
        pids.append(int((state / "pg" / "data" / "postmaster.pid").read_text().split()[0]))
        assert all(_alive(pid) for pid in pids)
    finally:
        down = stack(state, env, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert [pid for pid in pids if _alive(pid)] == []
    for port in ports.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    shutil.rmtree(parent, ignore_errors=True)


def test_a_clone_in_a_private_folder_comes_up_healthy_and_goes_down_clean() -> None:
    # As a newcomer does it: `git clone` into a folder only its owner may enter (mode 0700, like
    # /root or any `mktemp -d`), then the README's commands there, with its own virtualenv.
    private = Path(tempfile.mkdtemp(prefix="yidi-clone-"))
    assert private.stat().st_mode & 0o777 == 0o700
    clone = private / "p"
    root = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True, timeout=120)
    ports = {name: free_port() for name in ("pg", "broker", *SERVICES)}
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "YIDI_STATE_DIR")},
        **{f"YIDI_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }

    def make(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", target],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    pids: list[int] = []
    try:
        up = make("up")
        assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:]
        for service in SERVICES:
            ready = httpx.get(f"http://127.0.0.1:{ports[service]}/readyz", timeout=5).json()
            assert ready["ready"] is True, (service, ready)
        state = clone / ".state"
        pids = list(json.loads((state / "services.json").read_text()).values())
        pids.append(int((state / "pg" / "data" / "postmaster.pid").read_text().split()[0]))
        outside = (state / "pg").resolve()
    finally:
        down = make("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert [pid for pid in pids if _alive(pid)] == []
    for port in ports.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    if outside != state / "pg":  # PostgreSQL's files lived outside the private folder
        assert not outside.exists(), "make down leaves the runtime folder of the checkout behind"
    clean = make("clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert not (clone / ".state").exists()
    shutil.rmtree(private, ignore_errors=True)
