"""Bounded decompression of the Content-Encoding (not charsets: see ``monitor.parse.charset``):
gzip/deflate/brotli in bounded pieces, and reading a response body that stops as soon as
the decompressed size passes the cap (compression bombs)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import httpx

from ..errors import FetchError

_CHUNK = 64 * 1024


class _Zlib:
    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d: Any = zlib.decompressobj(31) if self._gzip else None
        self._head = b""

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:  # "deflate" is zlib-wrapped by the spec, raw in practice too
            data = self._head = self._head + data
            if len(data) < 2:
                return
            zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(15 if zlib_header else -15)
        while data:
            out = self._d.decompress(data, _CHUNK)
            yield out
            data = self._d.unconsumed_tail
            while len(out) == _CHUNK and not data and not self._d.eof:
                out = self._d.decompress(b"", _CHUNK)
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if not (self._gzip and rest.startswith(b"\x1f\x8b")):
                    return  # ignore trailing garbage, as browsers do
                self._d = zlib.decompressobj(31)  # next gzip member
                data = rest

    def flush(self) -> Iterator[bytes]:
        if self._d is not None:
            yield self._d.flush()


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield self._d.process(data, output_buffer_limit=_CHUNK)
        while not self._d.can_accept_more_data():
            yield self._d.process(b"", output_buffer_limit=_CHUNK)

    def flush(self) -> Iterator[bytes]:
        return iter(())


class _Decoder:
    """Content-Encoding chain, each layer yielding bounded pieces."""

    def __init__(self, header: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        layers: list[_Zlib | _Brotli] = []
        for coding in reversed(codings):  # listed in the order they were applied
            if coding in ("gzip", "x-gzip", "deflate"):
                layers.append(_Zlib(coding))
            elif coding == "br":
                layers.append(_Brotli())
        self._layers = layers

    def _through(self, data: bytes, start: int) -> Iterator[bytes]:
        if start == len(self._layers):
            if data:
                yield data
            return
        for out in self._layers[start].feed(data):
            if out:
                yield from self._through(out, start + 1)

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(data, 0)

    def flush(self) -> Iterator[bytes]:
        for i, layer in enumerate(self._layers):
            for out in layer.flush():
                if out:
                    yield from self._through(out, i + 1)


async def read_capped(response: httpx.Response, cap: int, status: int) -> bytes:
    """The decoded body, aborting as soon as the decoded size passes ``cap``."""
    encoding = response.headers.get("content-encoding", "")
    decoder = _Decoder(encoding)
    what = "响应体解压后" if encoding.strip().lower() not in ("", "identity") else "响应体"
    parts: list[bytes] = []
    total = 0

    def take(pieces: Iterator[bytes]) -> None:
        nonlocal total
        for piece in pieces:
            total += len(piece)
            if total > cap:
                raise FetchError("too_large", f"{what}超过上限 {cap} 字节，已中止下载",
                                 status=status)
            parts.append(piece)

    try:
        try:
            async for raw in response.aiter_raw():
                take(decoder.feed(raw))
        except httpx.StreamConsumed:  # an injected transport handed over a loaded response
            parts.clear()
            total = 0
            take(iter([response.content]))
            return response.content
        take(decoder.flush())
    except (zlib.error, brotli.error) as e:
        raise FetchError("parse", f"响应内容解压失败（{e}）", status=status) from None
    return b"".join(parts)
