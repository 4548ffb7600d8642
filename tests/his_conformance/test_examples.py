"""The integration kit's examples (docs/his/examples) run as a vendor runs them, unchanged,
against a real settlement gateway started as its own process (uvicorn, a fresh migrated database,
the sandbox's hospitals registered through the agency API, the system clock): each signs a 9001
with each profile on each URL style and must be answered infcode 0."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conformance import ROOT, SANDBOX

from yidi_settlement import bootstrap, sandbox
from yidi_stack.embedded import free_port, wait_for_port

EXAMPLES = ROOT / "docs/his/examples"


@pytest.fixture
def gateway(database: Any, infra: Any) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "YIDI_DATABASE_URL": database(bootstrap.MIGRATIONS),
        "YIDI_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "YIDI_KAFKA_NAMESPACE": f"examples{port}",
        "YIDI_RELAY_ENABLED": "false",
        "YIDI_CONSUMERS_ENABLED": "false",
        "YIDI_LOG_JSON": "false",
        "YIDI_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "yidi_settlement.bootstrap:create", "--factory"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60)
        url = f"http://127.0.0.1:{port}"
        assert sandbox.load(url, SANDBOX).startswith("7 hospitals registered")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


async def run(command: list[str], url: str) -> list[dict[str, Any]]:
    """The example's answers: each printed line ends with the gateway's JSON answer."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=EXAMPLES,
        env={**os.environ, "YIDI_SETTLEMENT_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    lines = [line for line in out.decode().splitlines() if line.strip()]
    return [json.loads(line[line.index("{") :]) for line in lines]


def needed(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        # Not a skip: the kit promises this example runs, so a machine without the tool cannot
        # say it was checked (Debian: apt-get install nodejs curl openssl).
        pytest.fail(f"{tool} is not installed, so docs/his/examples cannot be run here")
    return found


@pytest.mark.parametrize(
    "example",
    [
        [sys.executable, "his_client.py"],
        ["node", "his_client.mjs"],
        ["bash", "curl.sh"],
    ],
    ids=["python", "node", "curl"],
)
async def test_the_example_signs_in_with_each_profile(gateway: str, example: list[str]) -> None:
    if example[0] == "node":
        needed("node")
    if example[0] == "bash":
        needed("curl")
        needed("openssl")
    answers = await run(example, gateway)
    assert len(answers) == 3, answers  # TIF, CSB, body HMAC
    for answer in answers:
        assert answer["infcode"] == 0, answer["err_msg"]
        assert answer["output"]["signinoutb"]["sign_no"]
