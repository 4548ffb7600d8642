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


def test_state_the_database_user_cannot_reach_gets_its_data_linked_from_a_reachable_folder() -> (
    None
):
    from yidi_stack.embedded import reachable_by_pg
    from yidi_stack.platform import Platform

    private = Path(tempfile.mkdtemp(prefix="yidi-private-"))  # mode 0700, like /root
    state = private / "state"
    state.mkdir()
    platform = Platform(state)
    try:
        platform._place_pg_data()
        if os.geteuid() == 0:
            assert not reachable_by_pg(state)
            assert (state / "pg").is_symlink()
            assert reachable_by_pg((state / "pg").resolve())
        else:
            assert not (state / "pg").exists()  # a non-root user runs PostgreSQL itself
    finally:
        if (state / "pg").is_symlink():
            shutil.rmtree((state / "pg").resolve(), ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
