"""Limits checked before anything expensive runs on what a caller sent (docs/his/README.md).

The body's size is enforced while it is read (entrypoints/his.py reads at most MAX_BODY + 1
bytes, chunked or not); the nesting depth is measured on the raw text before the JSON parser
recurses into it; integers beyond 64 bits and the NaN/Infinity constants are refused by the
parser's hooks; a 9101 zip is judged by its central directory (declared sizes and compression
ratio) without inflating a byte. Each refusal is a his.* DomainError, so the caller gets its
envelope, never an HTTP 500.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from decimal import Decimal
from typing import Any

from yidi_events.kernel import DomainError

MAX_DEPTH = 32  # the deepest national input (envelope > input > node > list > row) is 5
# orjson, which digests requests, stops at 64-bit integers; no national field needs more.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**64 - 1
# A detail file of tab-separated figures deflates about 5-10 times, a very repetitive one ~100;
# deflate's own ceiling is ~1030, where bombs sit (a 4 KB zip claiming 400 MB is 100000 times).
MAX_ZIP_RATIO = 250
MAX_ZIP_BYTES = 64 * 1024 * 1024  # what reconciliation accepts for a detail file
MAX_ZIP_MEMBERS = 16

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def check_depth(text: bytes | str, field: str = "body") -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, measured on the text (strings blanked, so a
    bracket inside one does not count) before the recursive parser sees it."""
    raw = text.encode("utf-8", errors="replace") if isinstance(text, str) else text
    brackets = _STRING.sub(b'""', raw).translate(None, _NOT_BRACKETS)
    level = 0
    for byte in brackets:
        level += 1 if byte in b"[{" else -1
        if level > MAX_DEPTH:
            raise DomainError(
                "his.depth",
                f"{field} is nested deeper than {MAX_DEPTH} levels",
                field=field,
                values={"limit": MAX_DEPTH},
            )


def _integer(text: str) -> int:
    # Compare the digits before converting: a 4000-digit integer costs quadratic time to build.
    digits = text.lstrip("-")
    value = int(text) if len(digits) <= 20 else None
    if value is None or not MIN_INTEGER <= value <= MAX_INTEGER:
        raise DomainError(
            "his.integer_range",
            f"an integer is outside the 64-bit range: {text[:40]}",
            field="body",
            values={"value": text[:40]},
        )
    return value


def _constant(name: str) -> Any:
    raise DomainError(
        "his.not_finite",
        f"{name} is not a number this interface accepts",
        field="body",
        values={"value": name},
    )


def parse_json(text: bytes | str, field: str = "body") -> Any:
    """JSON with amounts as Decimal (never float), within the depth and integer limits, without
    NaN or Infinity; a his.* DomainError or ValueError (not JSON) otherwise."""
    check_depth(text, field)
    return json.loads(text, parse_float=Decimal, parse_int=_integer, parse_constant=_constant)


def check_zip(content: bytes, field: str = "in") -> None:
    """Refuse an upload whose zip would inflate past the limits, from its central directory only.

    Python's zipfile stops inflating a member at its declared size, so the declared sizes bound
    what reconciliation can ever expand; anything that is not a zip is left to reconciliation,
    which says so in its own words."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        return
    with archive:
        members = archive.infolist()
    if len(members) > MAX_ZIP_MEMBERS:
        raise _zip_refusal(field, f"the zip holds {len(members)} entries", members=len(members))
    total = sum(member.file_size for member in members)
    if total > MAX_ZIP_BYTES:
        raise _zip_refusal(field, f"the zip expands to {total} bytes", size=total)
    for member in members:
        packed = max(member.compress_size, 1)
        if member.file_size > 1024 and member.file_size / packed > MAX_ZIP_RATIO:
            raise _zip_refusal(
                field,
                f"{member.filename} expands {member.file_size // packed} times",
                ratio=member.file_size // packed,
            )


def _zip_refusal(field: str, what: str, **values: int) -> DomainError:
    return DomainError(
        "his.zip_limit",
        f"{what}; at most {MAX_ZIP_MEMBERS} entries, {MAX_ZIP_BYTES} bytes expanded and "
        f"{MAX_ZIP_RATIO} times compressed",
        field=field,
        values={
            **values,
            "max_ratio": MAX_ZIP_RATIO,
            "max_size": MAX_ZIP_BYTES,
        },
    )
