"""Structured logs never carry a full name or certificate number."""

from __future__ import annotations

import io
import json
import logging
from contextlib import redirect_stdout

import structlog

from yidi_events import logs


def test_names_and_certificate_numbers_are_masked_in_fields_nested_data_and_free_text() -> None:
    logs.configure("filing", json=True, level="INFO")
    out = io.StringIO()
    with redirect_stdout(out):
        structlog.get_logger("t").info(
            "person.enrolled",
            name="张建国",
            certificate_no="320500195603120111",
            person={"psn_name": "李秀英", "certno": "321300197811050225"},
            detail="refused 611000198506200335 for lack of a filing",
        )
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    text = out.getvalue()
    for secret in (
        "张建国",
        "李秀英",
        "320500195603120111",
        "321300197811050225",
        "611000198506200335",
    ):
        assert secret not in text
    assert line["name"] == "张**"
    assert line["certificate_no"] == "32" + "*" * 14 + "11"
    assert line["person"]["psn_name"] == "李**"
    assert "611000198506200335" not in line["detail"]
    assert line["service"] == "filing"


def test_library_logs_and_their_tracebacks_are_masked_too() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        logs.configure("settlement", json=True, level="INFO")  # the handler binds stdout now
        try:
            raise ValueError("no insured person holds voucher 02/320500195603120111")
        except ValueError:
            logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    text = out.getvalue()
    assert "320500195603120111" not in text
    line = json.loads(text.strip().splitlines()[-1])
    assert line["event"] == "Exception in ASGI application"
    assert line["logger"] == "uvicorn.error"
    assert "32" + "*" * 14 + "11" in line["exception"]
