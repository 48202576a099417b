"""Reading a request body within the application's limits: size, time and content encoding.

The application decodes `Content-Encoding` itself (`create_app` turns aiohttp's automatic
decompression off), so that every body problem is ours to answer: a malformed compressed
body is a 400, an encoding we do not accept a 415, a body that decompresses past the limit a
413 (no zip bomb is ever inflated further), a body that does not arrive in time a 408.
"""

from __future__ import annotations

import asyncio
import zlib

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from ..errors import BodyTimeout, PayloadTooLarge, UnsupportedEncoding, ValidationFailed

IDENTITY = ("", "identity")
GZIP_WBITS = 16 + zlib.MAX_WBITS
ZLIB_WBITS = zlib.MAX_WBITS
RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
MALFORMED = "malformed request body"


class ClientGone(Exception):
    """The client closed the connection before its body was read."""


class _Inflater:
    """Bounded gzip / deflate decoding: never produces more than `limit` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self.limit = limit
        self._zlib: zlib._Decompress | None = None
        self.size = 0

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        if self._zlib is None:
            self._zlib = zlib.decompressobj(self._wbits(chunk[0]))
        try:
            out = self._zlib.decompress(chunk, self.limit + 1 - self.size)
        except zlib.error:
            raise ValidationFailed(f"{MALFORMED}: not valid {self.encoding} data") from None
        self.size += len(out)
        if self.size > self.limit or self._zlib.unconsumed_tail:
            raise PayloadTooLarge()
        if self._zlib.unused_data:
            raise ValidationFailed(f"{MALFORMED}: data after the end of the {self.encoding} stream")
        return out

    def finish(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise ValidationFailed(f"{MALFORMED}: truncated {self.encoding} data")

    def _wbits(self, first_byte: int) -> int:
        if self.encoding != "deflate":
            return GZIP_WBITS
        # RFC 9110 deflate is zlib-wrapped, but some clients send raw deflate (as aiohttp allows).
        return ZLIB_WBITS if first_byte & 0x0F == 8 else RAW_DEFLATE_WBITS


def _inflater(request: web.BaseRequest, limit: int) -> _Inflater | None:
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "").strip().lower()
    if encoding in IDENTITY:
        return None
    if request.content.total_compressed_bytes is not None:
        return None  # a host application's server decompressed it already
    if encoding in ("gzip", "x-gzip"):
        return _Inflater("gzip", limit)
    if encoding == "deflate":
        return _Inflater("deflate", limit)
    raise UnsupportedEncoding()


async def read_body(request: web.BaseRequest, *, limit: int, timeout: float) -> bytes:
    """The decoded body. Raises PayloadTooLarge as soon as the body (compressed or decoded)
    passes `limit` bytes, BodyTimeout when it is not complete within `timeout` seconds,
    UnsupportedEncoding, ValidationFailed for a malformed body, and ClientGone."""
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge()
    inflater = _inflater(request, limit)
    body = bytearray()
    received = 0

    def take(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)
        body.extend(inflater.feed(chunk) if inflater else chunk)
        if received > limit or len(body) > limit:
            raise PayloadTooLarge()

    try:
        if request.content.is_eof():
            # All of it came with the headers (most bodies do): nothing to wait for, no deadline.
            take(request.content.read_nowait())
        else:
            async with asyncio.timeout(timeout):
                async for chunk in request.content.iter_any():
                    take(chunk)
    except TimeoutError:
        raise BodyTimeout() from None
    except (HttpProcessingError, RequestPayloadError):  # malformed chunking or compression
        raise ValidationFailed(MALFORMED) from None
    except ConnectionResetError:
        raise ClientGone() from None
    if inflater:
        inflater.finish()
    return bytes(body)
