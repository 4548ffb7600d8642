"""Structured JSON logs with correlation ids, and personal data masked before anything is written.

Names and certificate numbers are personal data: log lines keep enough to correlate (the first
and last characters) and nothing that identifies a person.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SENSITIVE_KEYS = {
    "name",
    "certificate_no",
    "psn_name",
    "certno",
    "mdtrt_cert_no",
    "voucher_no",
    "complainant_name",
    "tel",
    "phone",
    "addr",
    "address",
}
_ID_NUMBER = re.compile(r"\b(\d{6})\d{8}(\d{3}[\dXx])\b")


def mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if key in {"name", "psn_name", "complainant_name"}:
        return value[0] + "*" * max(1, len(value) - 1)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_text(text: str) -> str:
    """Mask resident ID numbers that appear inside free text."""
    return _ID_NUMBER.sub(lambda m: m.group(1)[:2] + "*" * 14 + m.group(2)[-2:], text)


def _mask(obj: Any, key: str = "") -> Any:
    if isinstance(obj, dict):
        return {
            k: (mask_value(k, v) if k in SENSITIVE_KEYS else _mask(v, k)) for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [_mask(v, key) for v in obj]
    if isinstance(obj, str):
        return mask_text(obj)
    return obj


def mask_processor(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return {
        k: (mask_value(k, v) if k in SENSITIVE_KEYS else _mask(v, k)) for k, v in event_dict.items()
    }


def configure(service: str, *, json: bool = True, level: str = "INFO") -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    # Libraries log through the standard library (uvicorn's tracebacks, aiokafka, SQLAlchemy): their
    # records take the same masking and rendering, or an exception message would carry a
    # certificate number into the log in clear.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                mask_processor,
                renderer,
            ],
        )
    )
    logging.basicConfig(handlers=[handler], level=level, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn installs its own plain handlers before the app exists; route them here.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
