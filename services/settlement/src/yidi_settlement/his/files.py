"""9101 and 9102 carry their files as streams (spec: 文件上传下载交易对应文件以流式数据传输), in the
shapes real clients use (reference section 0): an upload posted as multipart form data (`jsonStr`
holding the envelope, `file` the zip) and a download answered as the zip itself. The signature
profiles sign the raw body, so the envelope is read from it only after authentication."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.message import Message
from typing import TYPE_CHECKING, Any

from yidi_settlement.his.envelope import REQUIRED, HisEnvelope, parse_envelope, refuse

if TYPE_CHECKING:  # the gateway reads envelopes through this module at run time
    from yidi_settlement.his.gateway import Reply

MULTIPART = "multipart/form-data"
UPLOAD_NODE = "fsUploadIn"
DOWNLOAD_INFNO = "9102"


def read_envelope(content_type: str, body: bytes) -> HisEnvelope:
    """The envelope of a JSON body, or of a multipart upload with its `file` part in
    fsUploadIn.in as base64 (as a JSON upload carries it)."""
    header = _header("content-type", content_type)
    if header.get_content_type() != MULTIPART:
        return parse_envelope(body)
    parts = _parts(body, header.get_param("boundary"))
    if "jsonStr" not in parts:
        raise refuse("jsonStr", "the multipart body has no jsonStr part", REQUIRED)
    envelope = parse_envelope(parts["jsonStr"])
    if "file" not in parts:
        return envelope
    return replace(envelope, input=_with_file(envelope.input, parts["file"]))


def _header(name: str, value: str) -> Message:
    header = Message()
    header[name] = value
    return header


def _parts(body: bytes, boundary: Any) -> dict[str, bytes]:
    if not isinstance(boundary, str) or not boundary:
        raise refuse("content-type", "multipart/form-data has no boundary", "his.multipart")
    parts: dict[str, bytes] = {}
    # Each part follows CRLF--boundary; the first delimiter may open the body without the CRLF.
    for chunk in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise refuse("body", "a part of the multipart body has no headers", "his.multipart")
        name = _part_name(head.decode("utf-8", errors="replace"))
        if name is not None:
            parts.setdefault(name, content)
    return parts


def _part_name(head: str) -> str | None:
    for line in head.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-disposition":
            name = _header("content-disposition", value.strip()).get_param(
                "name", header="content-disposition"
            )
            return name if isinstance(name, str) else None
    return None


def _with_file(payload: Mapping[str, Any], content: bytes) -> dict[str, Any]:
    encoded = base64.b64encode(content).decode("ascii")
    inner = payload.get(UPLOAD_NODE)
    if isinstance(inner, Mapping):
        return {**payload, UPLOAD_NODE: {**inner, "in": encoded}}
    return {**payload, "in": encoded}  # fields at the top level, as hospital_checks accepts


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes


def download_of(reply: Reply) -> Download | None:
    """9102's file when the answer carries one; a refusal stays the JSON envelope."""
    output = reply.answer.get("output")
    if (
        reply.infno != DOWNLOAD_INFNO
        or reply.answer.get("infcode") != 0
        or not isinstance(output, Mapping)
    ):
        return None
    return Download(str(output["filename"]), base64.b64decode(output["file"]))
