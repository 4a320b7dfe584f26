"""A complete read over several Range streams at once, for blobs behind CDNs
that cap each connection.

`open_rest(source, start)`: when the rest is small or its size unknown, the
one stream a complete read always opened. Otherwise it opens
`bytes=<start>-<last byte>`; if the registry ignored Range, that one stream
is the answer (the whole blob, as before). Otherwise it
serves the first part only and workers fetch the following parts, each its
own closed Range (`bytes=a-b`), while the reader consumes them in order, so
the single decompressor and the sha256 see every byte once, in order.

How many streams: one for the first `window` seconds, then two, four, ...
(at most `streams`) while each step makes the measured rate `gain` times
faster; a step that does not is taken back and the count settled (back to
one stream when two were no faster). Part size then follows the per-stream
rate (about a quarter second of it, 1 to 8 MiB). containerd 2.1's multipart
layer fetch (8 MiB parts) is the model.

Memory: a part is claimed only when it ends at most `ahead` bytes past what
the reader has consumed, so no more than `ahead` bytes are ever buffered
(`peak_buffered` says how many were), whatever the blob size. The reader
takes a part's bytes as they arrive, not once it is whole.

A dropped connection is resumed by the blob stream of that part alone
(`bytes=<where it stopped>-<part end>`, blobs.BlobStream); any other failure
of a part reaches the reader when it gets to that part.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import NetworkError

log = logging.getLogger(__name__)

_MIB = 1 << 20
_CHUNK = 1 << 20  # as the reader asks of one stream (peek.reader.FULL_CHUNK)


@dataclass(frozen=True, slots=True)
class Plan:
    part: int = 4 * _MIB  # the first parts; then about `part_time` of one stream's rate
    min_part: int = _MIB
    max_part: int = 8 * _MIB
    part_time: float = 0.25
    streams: int = 6  # most streams at once
    ahead: int = 32 * _MIB  # most bytes fetched past what the reader consumed: the reorder buffer
    min_size: int = 16 * _MIB  # a smaller rest is read over one stream
    window: float = 0.5  # seconds each stream count is measured for
    gain: float = 1.2  # more streams are kept only when this much faster
    fixed: int | None = None  # this many streams from the start, no measuring (tests)


DEFAULT_PLAN = Plan()


def open_rest(source: Any, start: int = 0, plan: Plan = DEFAULT_PLAN) -> Any:
    """The bytes of `source` (a blobs.BlobSource) from `start` to its end: a
    ByteStream over one or several Range streams (see the module doc)."""
    size = source.size
    if size is None or size - start < plan.min_size:
        return source.open(start, None)
    # A closed range even from byte 0 (an open one from 0 is sent without Range):
    # only a 206 answer shows the registry honours Range.
    head = source.open(start, size - 1)
    if head.range_ignored or head.start != start:
        return head
    return ParallelStream(source, start, head, plan)


class _Retire(Exception):
    """A worker beyond the wanted stream count stops (already uncounted)."""


class _Part:
    __slots__ = ("start", "end", "chunks", "done", "error")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end  # exclusive
        self.chunks: deque[bytes] = deque()
        self.done = False
        self.error: BaseException | None = None


class ParallelStream:
    """Bytes of a blob from `start` to its end, in order (a peek ByteStream)."""

    def __init__(self, source: Any, start: int, head: Any, plan: Plan = DEFAULT_PLAN) -> None:
        self.start = start
        self.total: int | None = source.size
        self.range_ignored = False
        self.note = ""
        # Every (start, end inclusive) asked: the head (to the end; only its first part is read) first.
        self.requests: list[tuple[int, int | None]] = [(start, source.size - 1)]
        self.peak_buffered = 0  # most bytes held at once, fetched but not yet consumed
        self.most_streams = 1  # most streams open at once
        self._source = source
        self._plan = plan
        self._size: int = source.size
        self._cond = threading.Condition()
        self._parts: deque[_Part] = deque()  # claimed and not yet consumed, in blob order
        self._next = start  # the first byte no part claims yet
        self._consumed = start  # absolute offset of the next byte the reader gets
        self._buffered = 0
        self._fetched = 0  # bytes all workers received
        self._part_size = plan.part
        self._target = plan.fixed or 1
        self._workers = 0
        self._streams: set[Any] = set()
        self._closed = False
        # The ramp: the rate measured for the current stream count, and the count before it.
        self._ramping = plan.fixed is None
        self._window_at = time.monotonic()
        self._window_bytes = 0
        self._rate: float | None = None
        self._previous = 1
        with self._cond:
            first = self._claim_locked()  # never None: the rest is at least min_size
            assert first is not None
            self._streams.add(head)
            self._spawn_locked((first, head))
            for _ in range(self._target - 1):
                self._spawn_locked(None)

    # -- the reader's side ----------------------------------------------------------

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        del chunk_size  # chunks come as the workers read them (1 MiB at most)
        try:
            while True:
                with self._cond:
                    chunk = self._take_locked()
                if chunk is None:
                    return
                yield chunk
        finally:
            self.close()

    def _take_locked(self) -> bytes | None:
        while not self._closed:
            self._steer_locked()
            part = self._parts[0] if self._parts else None
            if part is None:
                if self._consumed >= self._size:
                    return None
            elif part.chunks:
                chunk = part.chunks.popleft()
                self._buffered -= len(chunk)
                self._consumed += len(chunk)
                self._cond.notify_all()  # room for another part
                return chunk
            elif part.error is not None:
                raise part.error
            elif part.done:
                self._parts.popleft()
                continue
            self._cond.wait(min(0.1, self._plan.window / 2))
        return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            streams, self._streams = list(self._streams), set()
            self._cond.notify_all()
        for s in streams:
            try:
                s.close()
            except Exception:  # noqa: BLE001 - closing a dead socket may fail any way it likes
                pass

    # -- how many streams -------------------------------------------------------------

    def _steer_locked(self) -> None:
        if not self._ramping:
            return
        now = time.monotonic()
        if now - self._window_at < self._plan.window:
            return
        rate = (self._fetched - self._window_bytes) / (now - self._window_at)
        self._window_at, self._window_bytes = now, self._fetched
        most = max(1, min(self._plan.streams, self._plan.ahead // self._plan.min_part - 1))
        if self._rate is not None and rate < self._rate * self._plan.gain:
            # That step did not pay: back to the count before it, and stay there.
            self._settle_locked(self._previous, self._rate)
            return
        if self._target >= most:
            self._settle_locked(self._target, rate)
            return
        self._previous, self._rate = self._target, rate
        self._target = min(most, self._target * 2)
        log.debug("%d streams: %.1f MB/s; trying %d", self._previous, rate / 1e6, self._target)
        for _ in range(self._target - self._workers):
            self._spawn_locked(None)

    def _settle_locked(self, count: int, rate: float) -> None:
        self._ramping = False
        self._target = count
        p = self._plan
        if count == 1:
            # One stream: the longest parts (containerd's size). Not one open-ended
            # request: a proxy that grants each request a burst (nginx limit_rate
            # does, a second's worth) is fastest in parts, and the buffer stays bounded.
            part = p.max_part
        else:
            part = max(p.min_part, min(p.max_part, int(rate / count * p.part_time), p.ahead // (count + 1)))
        self._part_size = part
        log.debug("settled on %d streams at %.1f MB/s, parts of %d bytes", count, rate / 1e6, part)

    # -- the workers' side ------------------------------------------------------------

    def _spawn_locked(self, first: tuple[_Part, Any] | None) -> None:
        self._workers += 1
        self.most_streams = max(self.most_streams, self._workers)
        threading.Thread(target=self._work, args=(first,), name="blob-part", daemon=True).start()

    def _claim_locked(self) -> _Part | None:
        """The next part to fetch; waits while it would overfill the reorder
        buffer. None: nothing left, closed, or more workers than wanted."""
        while True:
            if self._closed or self._next >= self._size:
                return None
            if self._workers > self._target:
                self._workers -= 1  # this worker retires (counted here, so no two retire for one)
                raise _Retire
            end = min(self._next + self._part_size, self._size)
            if self._size - end < self._plan.min_part:
                end = self._size  # no sliver of a part at the end
            if end - self._consumed <= max(self._plan.ahead, self._part_size):
                part = _Part(self._next, end)
                self._next = end
                self._parts.append(part)
                return part
            self._cond.wait(0.5)

    def _work(self, first: tuple[_Part, Any] | None) -> None:
        retired = False
        try:
            self._work_parts(first)
        except _Retire:
            retired = True
        finally:
            with self._cond:
                if not retired:
                    self._workers -= 1
                self._cond.notify_all()

    def _work_parts(self, first: tuple[_Part, Any] | None) -> None:
        part, stream = first if first is not None else (None, None)
        while True:
            if part is None:
                with self._cond:
                    part = self._claim_locked()
                if part is None:
                    return
                with self._cond:
                    self.requests.append((part.start, part.end - 1))
                try:
                    stream = self._source.open(part.start, part.end - 1)
                except BaseException as exc:  # noqa: BLE001 - handed to the reader with the part
                    self._fail(part, exc)
                    return
                with self._cond:
                    if self._closed:
                        stream.close()
                        return
                    self._streams.add(stream)
            self._fetch(part, stream)
            with self._cond:
                self._streams.discard(stream)
                failed = part.error is not None
            stream.close()
            if failed:
                return
            part = stream = None

    def _fetch(self, part: _Part, stream: Any) -> None:
        want = part.end - part.start
        # A server that ignored Range for this part sends the blob from byte 0.
        skip = part.start - stream.start
        got = 0
        try:
            for chunk in stream.iter_chunks(_CHUNK):
                if skip:
                    if len(chunk) <= skip:
                        skip -= len(chunk)
                        continue
                    chunk, skip = chunk[skip:], 0
                if len(chunk) > want - got:
                    chunk = chunk[: want - got]  # the head stream runs on past its part
                with self._cond:
                    if self._closed:
                        return
                    part.chunks.append(chunk)
                    got += len(chunk)
                    self._fetched += len(chunk)
                    self._buffered += len(chunk)
                    self.peak_buffered = max(self.peak_buffered, self._buffered)
                    self._cond.notify_all()
                if got >= want:
                    break
            if got < want:
                raise NetworkError(f"The stream for bytes {part.start}-{part.end - 1} of {self._what()} "
                                   f"stopped after {got} of {want} bytes.")
        except BaseException as exc:  # noqa: BLE001 - handed to the reader with the part
            self._fail(part, exc)
            return
        with self._cond:
            part.done = True
            self._cond.notify_all()

    def _fail(self, part: _Part, exc: BaseException) -> None:
        with self._cond:
            if not self._closed:
                part.error = exc
            self._cond.notify_all()

    def _what(self) -> str:
        return getattr(self._source, "what", "the blob")
