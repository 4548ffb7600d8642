"""How the embedded platform arranges the HIS gateway's processes (issue 20): one process by
default, as the fault tests' crash points expect; with YIDI_GATEWAY_WORKERS=n, n workers on the
gateway's port that only serve requests and one process beside them for the relay, the consumers
and the schedules, so that each of those runs exactly once."""

from __future__ import annotations

import pytest

from yidi_stack.platform import Launch, gateway_workers_from_env, launches


def test_by_default_every_service_is_one_process_doing_everything() -> None:
    for service in ("filing", "settlement", "reconciliation", "clearing", "audit"):
        assert launches(service, 1) == (Launch(service),)


def test_with_workers_the_gateway_serves_only_and_a_background_process_runs_the_rest() -> None:
    background, serving = launches("settlement", 2)
    assert serving.key == "settlement"
    assert serving.on_service_port
    assert serving.workers == 2
    assert serving.env == {
        "YIDI_RELAY_ENABLED": "false",
        "YIDI_CONSUMERS_ENABLED": "false",
        "YIDI_SCHEDULES_ENABLED": "false",
    }
    # The relay and the consumers run once, in the one process that keeps the platform's own
    # settings, off the port hospitals call.
    assert background == Launch("settlement-background", on_service_port=False)
    # Only the gateway is split: the other services are not called by hospitals.
    assert launches("clearing", 2) == (Launch("clearing"),)


def test_the_number_of_workers_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YIDI_GATEWAY_WORKERS", raising=False)
    assert gateway_workers_from_env() == 1
    monkeypatch.setenv("YIDI_GATEWAY_WORKERS", "2")
    assert gateway_workers_from_env() == 2
    for wrong in ("0", "-1", "two", ""):
        monkeypatch.setenv("YIDI_GATEWAY_WORKERS", wrong)
        with pytest.raises(ValueError, match="YIDI_GATEWAY_WORKERS"):
            gateway_workers_from_env()
