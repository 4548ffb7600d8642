"""The operator CLI knows every service of the platform and the province's centre without any
service's code: in a service's image only that service's package is installed, yet `yidi` talks
to all of them through their APIs (yidi_events.topics names them; the province file names the
centre)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from yidi_events.auth.agency import decode_token

PLATFORM = ("filing", "settlement", "reconciliation", "clearing", "audit", "reimbursement")
SECRET = "a-sandbox-secret-for-the-cli-test-only-0123456789"
# Runs the CLI in a fresh interpreter where importing the named service packages fails, as in
# an image that does not install them.
RUN = """
import sys
for package in sys.argv[1].split(","):
    if package:
        sys.modules[package] = None  # `import yidi_<service>` now raises ImportError
from yidi_cli.main import app
app(sys.argv[2:], prog_name="yidi")
"""


def yidi(absent: list[str], *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN, ",".join(absent), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


class _Service(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        _Service.seen.append((self.path, self.headers.get("authorization", "")))
        body = json.dumps({"to_publish": 3}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def audit_api() -> Iterator[str]:
    """A stand-in for audit's admin API on a free port: records what the CLI asked."""
    _Service.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Service)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_service_is_known_though_no_service_package_is_installed() -> None:
    absent = [f"yidi_{name}" for name in PLATFORM]
    done = yidi(absent, "republish", "--help", env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert f"one of {', '.join(PLATFORM)}" in " ".join(done.stdout.split())
    unknown = yidi(absent, "rebuild", "billing", env={"COLUMNS": "200"})
    assert unknown.returncode != 0
    assert "unknown service 'billing'" in unknown.stdout + unknown.stderr


def test_an_image_with_only_filing_reaches_audit_as_the_province_files_centre(
    tmp_path: Path, audit_api: str
) -> None:
    province = tmp_path / "province.toml"
    province.write_text('[clearing]\nprovincial_centre = "330000"\n', encoding="utf-8")
    absent = [f"yidi_{name}" for name in PLATFORM if name != "filing"]
    done = yidi(
        absent,
        "republish",
        "audit",
        env={
            "YIDI_SANDBOX": "1",
            "YIDI_AUTH_SECRET": SECRET,
            "YIDI_AUDIT_URL": audit_api,
            "YIDI_PROVINCE_FILE": str(province),
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit: rewound; 3 events will be published again" in done.stdout
    [(path, authorization)] = _Service.seen
    assert path == "/v1/admin/relay/republish"
    operator = decode_token(SECRET, authorization.removeprefix("Bearer "))
    assert (operator.region, operator.kind, operator.roles) == (
        "330000",
        "centre",
        frozenset({"operator"}),
    )


def test_a_province_file_without_a_region_code_for_its_centre_is_refused(tmp_path: Path) -> None:
    province = tmp_path / "province.toml"
    province.write_text('[clearing]\nprovincial_centre = "Jiangsu"\n', encoding="utf-8")
    done = yidi(
        [],
        "republish",
        "audit",
        env={"YIDI_SANDBOX": "1", "YIDI_AUTH_SECRET": SECRET, "YIDI_PROVINCE_FILE": str(province)},
    )
    assert done.returncode != 0
    assert "provincial_centre" in done.stdout + done.stderr
