"""A complete read over several Range streams at once, for blobs behind CDNs
that cap each connection; one stream, read on the reader's own thread, when
the reader (inflate + tar scan) and not the link is the limit.

`open_rest(source, start)`: when the rest is small or its size unknown, the
one stream a complete read always opened. Otherwise it opens
`bytes=<start>-<last byte>`; if the registry ignored Range, that one stream
is the answer (the whole blob, as before). Otherwise a ParallelStream:

- Solo: the reader reads that head stream itself, on its own thread, with no
  worker and no buffer between (a loopback read stays so: one request, and no
  GIL hand-off per chunk, which cost a fifth of the listing's time). It
  measures the share of each `window` it spends waiting for the socket.
- When, within the first `decide_for` seconds, it waits at least
  `wait_share` of a window (the link is the limit), the head is given one
  more part and workers fetch the following parts, each its own closed Range
  (`bytes=a-b`), two streams in all, then four, ... (at most `streams`) while
  each step makes the measured rate `gain` times faster. A step that does not
  pay is taken back; when two streams were no faster than one, the workers
  finish the parts they have and the reader goes on alone over one new stream
  (which may go parallel again, `tries` times in all: one bad window may be noise).
  Part size follows the per-stream rate (about `part_time` of it, 1 to 8 MiB).
  containerd 2.1's multipart layer fetch (8 MiB parts) is the model.

The reader consumes the parts in order, so the single decompressor and the
sha256 see every byte once, in order. Memory: a part is claimed only when it
ends at most `ahead` bytes past what the reader has consumed (a few parts),
so no more than `ahead` bytes are ever buffered (`peak_buffered` says how
many were), whatever the blob size; nothing is buffered while solo. The
reader takes a part's bytes as they arrive, not once it is whole.

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
    ahead: int = 16 * _MIB  # most bytes fetched past what the reader consumed: the reorder buffer
    min_size: int = 16 * _MIB  # a smaller rest is read over one stream
    window: float = 0.5  # seconds each measurement (solo wait share, a stream count's rate) lasts
    wait_share: float = 0.5  # a solo reader waiting this share of a window on the socket tries more streams
    decide_for: float = 4.0  # seconds from the start (or a return to one stream) a solo read may still go parallel
    tries: int = 3  # times a read goes parallel at most (a step that did not pay may have been noise)
    gain: float = 1.2  # more streams are kept only when this much faster
    fixed: int | None = None  # this many streams from the start, no measuring (tests)


DEFAULT_PLAN = Plan()


@dataclass(frozen=True, slots=True)
class Step:
    """One measured window of the ramp: `streams` at once moved `rate` bytes/s;
    `waited`: the share of the window a solo reader spent waiting on its socket."""

    streams: int
    rate: float
    waited: float | None = None


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
        # Every (start, end inclusive) asked: the head (to the end; maybe read only in part) first.
        self.requests: list[tuple[int, int | None]] = [(start, source.size - 1)]
        self.peak_buffered = 0  # most bytes held at once, fetched but not yet consumed
        self.most_streams = 1  # most streams open at once
        self.steps: list[Step] = []  # the ramp's measurements, in order
        self._source = source
        self._plan = plan
        self._size: int = source.size
        self._cond = threading.Condition()
        # The stream the reader reads on its own thread, up to _head_end (exclusive).
        self._head: Any = head
        self._head_end = self._size
        self._head_skip = 0  # bytes a reopened head sends before the reader's offset (Range ignored)
        self._parts: deque[_Part] = deque()  # claimed and not yet consumed, in blob order
        self._next = self._size  # the first byte no part claims yet (parts begin when the head is cut)
        self._parts_to = self._size  # parts stop here (earlier when the workers stand down)
        self._consumed = start  # absolute offset of the next byte the reader gets
        self._buffered = 0
        self._fetched = 0  # bytes received by the head and the workers
        self._part_size = plan.part
        self._target = 1
        self._workers = 0
        self._streams: set[Any] = {head}
        self._closed = False
        # The ramp: the rate measured for the current stream count, and the count before it.
        self._ramping = False
        self._window_at = time.monotonic()
        self._window_bytes = 0
        self._rate: float | None = None
        self._previous = 1
        self._solo_until = self._window_at + plan.decide_for  # when a solo read stops asking whether to go parallel
        self._tries = 0  # times it went parallel
        if plan.fixed is not None and plan.fixed > 1:
            with self._cond:
                self._go_parallel_locked(plan.fixed, None)

    # -- the reader's side ----------------------------------------------------------

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        del chunk_size  # chunks come as the streams give them (1 MiB at most)
        try:
            while not self._closed and self._consumed < self._size:
                if self._head is not None:
                    yield from self._read_head()
                    continue
                with self._cond:
                    chunk = self._take_locked()
                if chunk is not None:
                    yield chunk
                elif not self._closed and self._consumed < self._size:
                    self._reopen_head()  # the workers stood down: one stream again, read here
        finally:
            self.close()

    def _read_head(self) -> Iterator[bytes]:
        """The head's bytes up to _head_end, read on this thread. While no part
        is out, each window's share of time spent waiting on the socket decides
        whether to go parallel."""
        head = self._head
        chunks = head.iter_chunks(_CHUNK)
        clock = time.monotonic
        window = self._plan.window
        solo = self._next >= self._parts_to and self._head_end == self._size and self._plan.fixed is None \
            and self._tries < self._plan.tries
        at = clock()
        waited = 0.0
        since = self._consumed
        while self._consumed < self._head_end:
            t0 = clock()
            chunk = next(chunks, None)
            t1 = clock()
            if chunk is None:
                if self._closed:
                    return
                raise NetworkError(f"The stream for {self._what()} ended at byte {self._consumed} of {self._size}.")
            if self._head_skip:
                if len(chunk) <= self._head_skip:
                    self._head_skip -= len(chunk)
                    continue
                chunk, self._head_skip = chunk[self._head_skip:], 0
            waited += t1 - t0
            room = self._head_end - self._consumed
            if len(chunk) > room:
                chunk = chunk[:room]  # the rest of its range belongs to the parts
            if self._workers:
                with self._cond:
                    self._consumed += len(chunk)
                    self._fetched += len(chunk)
                    self._cond.notify_all()  # room for another part
                    self._steer_locked()
            else:
                self._consumed += len(chunk)
                self._fetched += len(chunk)
            yield chunk
            if solo and t1 - at >= window:
                share = waited / (t1 - at)
                rate = (self._consumed - since) / (t1 - at)
                at, waited, since = t1, 0.0, self._consumed
                if share >= self._plan.wait_share:
                    self.steps.append(Step(1, rate, share))
                    with self._cond:
                        solo = not self._go_parallel_locked(2, rate)
                elif t1 >= self._solo_until:
                    solo = False  # the link kept up with the reader over the first seconds: one stream it is
        with self._cond:
            self._head = None
            self._streams.discard(head)
            self._spawn_locked()  # the head's place goes to a worker
        head.close()

    def _reopen_head(self) -> None:
        at = self._consumed
        stream = self._source.open(at, self._size - 1)
        with self._cond:
            self.requests.append((at, self._size - 1))
            if self._closed:
                stream.close()
                return
            self._head_skip = at - stream.start  # a registry that now ignores Range sends from byte 0
            self._head = stream
            self._head_end = self._size
            self._streams.add(stream)
            self._solo_until = time.monotonic() + self._plan.decide_for  # it may try again (Plan.tries)

    def _take_locked(self) -> bytes | None:
        """The next bytes from the parts, in order; None when the parts are over."""
        while not self._closed:
            self._steer_locked()
            part = self._parts[0] if self._parts else None
            if part is None:
                if self._consumed >= self._parts_to or self._consumed >= self._size:
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

    def _go_parallel_locked(self, count: int, solo_rate: float | None) -> bool:
        """From the solo head to `count` streams: the head keeps one more part
        (its socket holds bytes already), workers take the parts after it."""
        p = self._plan
        part = min(p.part, max(p.min_part, p.ahead // (count + 1)))
        cut = min(self._size, self._consumed + part)
        if self._size - cut < p.min_part or self._closed:
            return False  # too little left to be worth another request
        self._head_end = self._next = cut
        self._parts_to = self._size
        self._part_size = part
        self._target = count
        if solo_rate is not None and p.fixed is None:
            self._tries += 1
            self._ramping = True
            self._previous, self._rate = 1, solo_rate
            self._window_at, self._window_bytes = time.monotonic(), self._fetched
        log.debug("one stream waits on its socket at %.1f MB/s; trying %d", (solo_rate or 0) / 1e6, count)
        self._spawn_locked()
        return True

    def _steer_locked(self) -> None:
        if not self._ramping:
            return
        now = time.monotonic()
        if now - self._window_at < self._plan.window:
            return
        rate = (self._fetched - self._window_bytes) / (now - self._window_at)
        self._window_at, self._window_bytes = now, self._fetched
        self.steps.append(Step(self._target, rate))
        p = self._plan
        most = max(1, min(p.streams, p.ahead // p.min_part - 1))
        if self._rate is not None and rate < self._rate * p.gain:
            # That step did not pay: back to the count before it, and stay there.
            self._settle_locked(self._previous, self._rate)
            return
        if self._target >= most:
            self._settle_locked(self._target, rate)
            return
        self._previous, self._rate = self._target, rate
        self._target = min(most, self._target * 2)
        self._part_size = min(self._part_size, max(p.min_part, p.ahead // (self._target + 1)))
        log.debug("%d streams: %.1f MB/s; trying %d", self._previous, rate / 1e6, self._target)
        self._spawn_locked()

    def _settle_locked(self, count: int, rate: float) -> None:
        self._ramping = False
        self._target = count
        p = self._plan
        if count == 1:
            # More streams did not go faster: the workers finish the parts they
            # have, then the reader reads the rest alone (iter_chunks).
            self._parts_to = self._next
            log.debug("more streams did not pay (%.1f MB/s): back to one", rate / 1e6)
            self._cond.notify_all()
            return
        part = max(p.min_part, min(p.max_part, int(rate / count * p.part_time), p.ahead // (count + 1)))
        self._part_size = part
        log.debug("settled on %d streams at %.1f MB/s, parts of %d bytes", count, rate / 1e6, part)

    # -- the workers' side ------------------------------------------------------------

    def _open_streams(self) -> int:
        return self._workers + (self._head is not None)

    def _spawn_locked(self) -> None:
        """Workers up to the wanted stream count (the head counts as one)."""
        while not self._closed and self._next < self._parts_to and self._open_streams() < self._target:
            self._workers += 1
            threading.Thread(target=self._work, name="blob-part", daemon=True).start()
        self.most_streams = max(self.most_streams, self._open_streams())

    def _claim_locked(self) -> _Part | None:
        """The next part to fetch; waits while it would overfill the reorder
        buffer. None: nothing left, closed, or more workers than wanted."""
        while True:
            if self._closed or self._next >= self._parts_to:
                return None
            if self._open_streams() > self._target:
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

    def _work(self) -> None:
        retired = False
        try:
            self._work_parts()
        except _Retire:
            retired = True
        finally:
            with self._cond:
                if not retired:
                    self._workers -= 1
                self._cond.notify_all()

    def _work_parts(self) -> None:
        while True:
            with self._cond:
                part = self._claim_locked()
                if part is None:
                    return
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
                    chunk = chunk[: want - got]
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
