"""Reading a partner request: the body within its limit, its media type, its JSON.

The limit is enforced while the body streams in, so an oversized or endless body is
refused without being held in memory, and a body is never cut short and processed.
A ``Content-Encoding: gzip`` body is signed as sent (compressed) and inflated after
the signature is checked, within the same limit.
"""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from app.errors import BodyTooLarge, NotAWebhook, UnsupportedMediaType
from app.payload import loads

_JSON_TYPES = ("application/json",)


async def read_body(request: Request, *, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge()
        except ValueError:
            raise NotAWebhook("The Content-Length header is not a number.") from None

    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_type(content_type: str | None) -> None:
    """``application/json`` with any parameters and in any case; a missing type is
    tolerated (the body must still parse); anything else is refused."""
    if content_type is None or not content_type.strip():
        return
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return
    raise UnsupportedMediaType(
        "The body must be application/json; this endpoint does not take "
        "forms, XML or text."
    )


def decode_body(body: bytes, *, content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        return body
    if encoding != "gzip":
        raise UnsupportedMediaType(
            "Only gzip and identity content encodings are accepted.",
            code="unsupported_encoding",
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise UnsupportedMediaType(
            "The gzip body could not be inflated.", code="unsupported_encoding"
        ) from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge("The inflated body is larger than the configured limit.")
    return inflated


def parse_form(body: bytes, *, max_fields: int) -> dict[str, str]:
    """An urlencoded form, the first value of each field; a form with more than
    ``max_fields`` fields, or one that does not parse, is an empty one."""
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=max_fields)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items() if values}


def read_document(body: bytes, *, content_encoding: str | None, limit: int) -> Any:
    """The JSON document of a body as received: inflated, then parsed. The intake
    reads it so, and the expander again from the stored event."""
    return parse_json(decode_body(body, content_encoding=content_encoding, limit=limit))


def parse_json(body: bytes) -> Any:
    try:
        return loads(body)
    except (ValueError, RecursionError):
        raise UnsupportedMediaType(
            "The body is not valid JSON.", code="body_not_json"
        ) from None
