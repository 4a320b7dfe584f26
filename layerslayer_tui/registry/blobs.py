"""Blob bytes as a peek ByteSource: raw (identity) bytes, one closed Range,
the answer checked against the request, redirects to storage hosts followed
without Authorization, and a stream that resumes after a dropped connection."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import requests

from .. import digest as digests
from ..errors import NetworkError, ProtocolError
from . import deadline
from .auth import pull_scope
from .response import READ_ERRORS, check, content_length, discard
from .urls import same_origin

if TYPE_CHECKING:
    from ..image import Descriptor
    from .api import Api

log = logging.getLogger(__name__)

MAX_RESUMES = 5
STALL_CHUNK = 64 * 1024
# One range, numbers of at most 18 digits (no size we would read has more).
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18}|\*)\s*$")


class RangeNotSatisfiableError(ProtocolError):
    """The registry answered 416: the range starts past the end of the blob."""


class BlobSource:
    """One blob of one repository; `open` may be called many times."""

    def __init__(self, api: Api, repository: str, descriptor: Descriptor) -> None:
        self.api = api
        self.repository = repository
        self.descriptor = descriptor
        # Checked before it becomes part of a URL (or, downstream, a file name).
        self.digest = digests.check(descriptor.digest, f"a blob of {api.registry}/{repository}")
        self.size: int | None = descriptor.size if descriptor.size >= 0 else None
        self.path = f"/v2/{repository}/blobs/{descriptor.digest}"

    @property
    def what(self) -> str:
        return f"the blob {self.digest[:19]} of {self.api.registry}/{self.repository}"

    def open(self, start: int = 0, end: int | None = None) -> BlobStream:
        """Stream bytes [start, end] (end inclusive, None = to the end)."""
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad byte range {start}-{end}")
        return BlobStream(self, start, end)

    def open_rest(self, start: int = 0) -> object:
        """Bytes from `start` to the end, for a complete read: over several
        Range streams when that goes faster (parallel.py)."""
        from .parallel import open_rest

        return open_rest(self, start)

    def read_all(self, cap: int) -> bytes:
        """A small blob (a config) whole, size- and digest-verified."""
        if self.size is not None and self.size > cap:
            raise ProtocolError(f"{self.what[:1].upper()}{self.what[1:]} is {self.size} bytes, more than the {cap} allowed.")
        parts: list[bytes] = []
        got = 0
        with self.api.deadline() as dl:  # a config trickled byte by byte must not hang the load
            stream = self.open(0)
            try:
                for chunk in stream.iter_chunks():
                    got += len(chunk)
                    if got > cap:
                        raise ProtocolError(f"{self.what[:1].upper()}{self.what[1:]} is larger than the {cap} bytes allowed.")
                    parts.append(chunk)
            except NetworkError:
                if dl.expired:
                    raise deadline.expired_error(self.api.registry, self.what, dl) from None
                raise
            finally:
                stream.close()
        data = b"".join(parts)
        verify_digest(data, self.digest, self.size, self.what)
        return data

    # -- one HTTP exchange --------------------------------------------------------
    def _request(self, start: int, end: int | None) -> requests.Response:
        """GET with Range; redirects are followed by the Api, which sends
        Authorization to the registry only. A 403 from a storage host (an
        expired presigned URL) sends us back to the registry once."""
        headers = {"Accept-Encoding": "identity"}
        if start > 0 or end is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        api = self.api
        for again in range(2):
            resp = api.request("GET", self.path, scope=pull_scope(self.repository), headers=headers, what=self.what)
            if resp.status_code == 403 and not same_origin(resp.url, api.base_url) and again == 0:
                discard(resp)
                continue
            return resp
        return resp


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    m = _CONTENT_RANGE.match(value or "")
    if not m:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


def verify_digest(data_or_hash: bytes | object, digest: str, size: int | None, what: str, *, got_size: int | None = None) -> None:
    digests.check(digest, what)
    algo, _, want = digest.partition(":")
    if isinstance(data_or_hash, (bytes, bytearray, memoryview)):
        h = hashlib.new(algo, data_or_hash)
        got_size = len(data_or_hash)
    else:
        h = data_or_hash  # a running hashlib object
    if size is not None and got_size is not None and got_size != size:
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} is {got_size} bytes, but its descriptor says {size}.")
    if h.hexdigest() != want:  # type: ignore[attr-defined]
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} does not match its digest: the registry sent corrupt or different content.")


class BlobStream:
    """Bytes of a blob from `start` (see peek.source.ByteStream)."""

    def __init__(self, source: BlobSource, start: int, end: int | None) -> None:
        self.source = source
        self.asked_start = start
        self.asked_end = end
        self.start = start
        self.total: int | None = source.size
        self.range_ignored = False
        self.resumes = 0
        self.restarted = False  # a resume got the whole blob again: the prefix was skipped, not re-yielded
        self.note = ""
        self._closed = False
        self._resp: requests.Response | None = None
        self._stall: deadline.Stall | None = None
        if source.size is not None and start >= source.size and (end is None or source.size == 0):
            if start > source.size:
                raise RangeNotSatisfiableError(f"The range from byte {start} lies past the end of {source.what} ({source.size} bytes).")
            self._pos = start  # nothing left to read: no request at all
            self._limit = start
            return
        self._pos = start
        self._limit = self._open(start, first=True)

    # The absolute offset one past the last byte this stream may yield.
    def _bound(self, end_incl: int | None, total: int | None) -> int | None:
        bounds = [b for b in ((end_incl + 1) if end_incl is not None else None, total, self.source.size) if b is not None]
        return min(bounds) if bounds else None

    def _open(self, at: int, *, first: bool) -> int | None:
        # The deadline covers the answer's headers (and any redirects); the body
        # then streams at its own pace, bounded by the descriptor's size.
        with self.source.api.deadline() as dl:
            limit, skip = self._answer(at, first=first)
            sockets = dl.sockets()
        self._watch_stalls(sockets)
        if skip:
            self._skip(at)
        return limit

    def _watch_stalls(self, sockets: list) -> None:
        """The body: no deadline for the whole (a layer may take minutes), but
        each wait for the next bytes gets the request deadline. Inside an
        enclosing deadline (read_all's) that one bounds the body instead."""
        if self._stall is not None:
            self._stall.close()
            self._stall = None
        seconds = self.source.api.transport.deadline_seconds
        if seconds is not None and deadline.current() is None:
            self._stall = deadline.Stall(seconds, sockets)

    def _read(self, amount: int) -> bytes:
        """One read of the body, bounded by the stall deadline."""
        resp, stall = self._resp, self._stall
        if resp is None:
            return b""  # closed from another thread (a cancel)
        if stall is None:
            return resp.raw.read(amount, decode_content=False)
        stall.waiting()
        try:
            # The stall bound is a rate floor: STALL_CHUNK (64 KiB) per deadline.
            # Past that, whatever has already arrived (up to `amount`) comes
            # along in the same read: a loopback socket holds hundreds of KiB,
            # and each read and chunk costs the listing Python work.
            raw = resp.raw
            first = raw.read(min(amount, STALL_CHUNK), decode_content=False)
            if len(first) < STALL_CHUNK or amount <= STALL_CHUNK:
                return first
            more = raw.read1(amount - len(first), decode_content=False)
            return first + more if more else first
        finally:
            stall.got()

    def _answer(self, at: int, *, first: bool) -> tuple[int | None, bool]:
        src = self.source
        end = self.asked_end
        resp = src._request(at, end)
        status = resp.status_code
        if status == 416:
            discard(resp)
            raise RangeNotSatisfiableError(f"The range from byte {at} lies past the end of {src.what}.")
        if status == 206:
            cr = parse_content_range(resp.headers.get("Content-Range"))
            if cr is None:
                discard(resp)
                raise ProtocolError(f"The registry answered a range request for {src.what} without a usable Content-Range header.")
            a, b, total = cr
            if a != at or b < a or (end is not None and b > end) or (total is not None and b >= total):
                resp.close()
                raise ProtocolError(
                    f"The registry sent bytes {a}-{b} of {src.what} when asked for {at}-{'' if end is None else end}."
                )
            if total is not None and src.size is not None and total != src.size:
                resp.close()
                raise ProtocolError(f"The registry says {src.what} is {total} bytes, but its descriptor says {src.size}.")
            if total is not None and self.total is None:
                self.total = total
            self._resp = resp
            return self._bound(b, total), False
        check(resp, src.what, ok=(200,))
        total = content_length(resp)
        if total is not None and src.size is not None and total != src.size:
            resp.close()
            raise ProtocolError(f"The registry says {src.what} is {total} bytes, but its descriptor says {src.size}.")
        if self.total is None:
            self.total = total
        self._resp = resp
        skip = False
        if at > 0 or end is not None:
            if first:
                # The whole blob from byte 0: say so and let the reader skip what it has.
                self.range_ignored = True
                self.start = 0
                self._pos = 0
                self.note = "the registry ignored the byte range and sent the whole blob"
            else:
                skip = True
        return self._bound(end, total), skip

    def _skip(self, upto: int) -> None:
        """After a resume answered 200: read and drop the bytes already yielded."""
        assert self._resp is not None
        self.restarted = True
        self.note = "the connection dropped and the registry ignored Range, so the blob was read again from the start"
        left = upto
        while left > 0:
            try:
                chunk = self._read(min(left, 1 << 20))
            except READ_ERRORS:
                chunk = b""
            if not chunk:
                raise NetworkError(f"The connection for {self.source.what} dropped again while catching up.")
            left -= len(chunk)

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while not self._closed and self._resp is not None:
            if self._limit is not None and self._pos >= self._limit:
                break
            try:
                while chunk := self._read(chunk_size):
                    if self._limit is not None and self._pos + len(chunk) > self._limit:
                        # Past the asked end or the descriptor's size: never more than that.
                        chunk = chunk[: self._limit - self._pos]
                    self._pos += len(chunk)
                    yield chunk
                    if self._closed:
                        return
                    if self._limit is not None and self._pos >= self._limit:
                        break
                if self._closed:
                    return
                if self._limit is None or self._pos >= self._limit:
                    break
                dropped = "the body ended early"
            except READ_ERRORS as exc:
                if self._closed:
                    return
                dropped = type(exc).__name__
            self._resume(dropped)
        self._finish()

    def _resume(self, why: str) -> None:
        if self._stall is not None and self._stall.expired:
            seconds = self._stall.seconds
            self.close()
            raise NetworkError(
                f"{self.source.api.registry} sent {self.source.what} too slowly (less than 64 KiB in {seconds:g} seconds), "
                "so the stream was abandoned."
            )
        if deadline.expired() is not None:
            self.close()  # read_all's deadline cut the stream: no second try
            raise NetworkError(f"The connection for {self.source.what} was cut at the request's deadline.")
        if self.resumes >= MAX_RESUMES:
            self.close()
            raise NetworkError(f"The connection for {self.source.what} kept dropping ({why}); gave up after {MAX_RESUMES} resumes.")
        self.resumes += 1
        log.debug("resuming %s at byte %d after %s", self.source.digest, self._pos, why)
        old, self._resp = self._resp, None
        if old is not None:
            old.close()
        self._limit = self._open(self._pos, first=False)

    def _finish(self) -> None:
        stall, self._stall = self._stall, None
        if stall is not None:
            stall.close()
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.close()

    def close(self) -> None:
        self._closed = True
        self._finish()
