"""Partial and complete peeks: blob bytes in, batches of entries out.

One pipeline per layer: raw chunks are hashed (sha256 from byte 0), decoded
by the sniffed decompressor and scanned for headers. A partial peek asks for
one closed range `bytes=0-<budget-1>`; `continue_full` keeps the same
pipeline and asks for `bytes=<next>-`, so the prefix is neither downloaded
nor listed twice. Nothing holds the blob or its decompressed form.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..entry import EntryBatch, ListingProgress, TarEntry
from ..errors import LayerFormatError, NetworkError, ProtocolError
from ..units import human_size
from .decompress import StreamDecoder, check_media_type
from .seekhook import SeekRecording
from ..columns import Entries
from .scanner import Capture, TarScanner
from .source import ByteSource, ByteStream

DEFAULT_BUDGET = 256 * 1024
PARTIAL_CHUNK = 64 * 1024
FULL_CHUNK = 1 << 20  # big reads keep per-chunk Python work small on the hot path
BATCH_INTERVAL = 0.1  # seconds between batches: about ten a second for the UI
MAX_RESUMES = 3  # reopen a stream that ended short of the known size this often

STREAM = "stream"
INDEX_ANNOTATIONS = (
    "containerd.io/snapshot/stargz/toc.digest",
    "io.github.containers.zstd-chunked.manifest-position",
    "io.containers.zstd-chunked.manifest-position",
)


def human(count: int | None) -> str:
    """A size in a note: units.human_size, with words for an unknown size."""
    return "an unknown size" if count is None else human_size(count)


class _Hasher:
    """sha256 of the raw bytes on a helper thread: hashlib releases the GIL on
    large updates, so hashing overlaps decompression (which holds it). Small
    chunks (a registry stream yields 64 KiB reads) are gathered into batches
    of BATCH first, or they would all be hashed inline. One worker keeps
    updates in order; at most a few batches wait, so memory stays flat.

    `set_sink`: from then on each batch also goes to the sink, on the same
    thread, after it is hashed (the seek recorder's spill file: a blocking
    write of up to 5 ms a MiB on a busy disk, which on the listing's thread
    cost a quarter of its time)."""

    THREAD_MIN = 256 * 1024  # smaller updates are cheaper inline
    BATCH = 1 << 20  # gathered before a hand-off to the helper thread

    def __init__(self, algorithm: str) -> None:
        self._h = hashlib.new(algorithm)
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()
        self._gathered: list[bytes] = []
        self._gathered_size = 0
        self.sink: Callable[[bytes], None] | None = None

    def set_sink(self, sink: Callable[[bytes], None]) -> None:
        self._flush()  # what was gathered before was given to the sink's owner already
        self.sink = sink

    def update(self, chunk: bytes) -> None:
        if len(chunk) >= self.BATCH and not self._gathered:
            self._submit(chunk)
            return
        self._gathered.append(chunk)
        self._gathered_size += len(chunk)
        if self._gathered_size >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._gathered:
            return
        data = self._gathered[0] if len(self._gathered) == 1 else b"".join(self._gathered)
        self._gathered, self._gathered_size = [], 0
        if len(data) < self.THREAD_MIN and not self._pending:
            self._absorb(data, self.sink)
        else:
            self._submit(data)

    def _absorb(self, data: bytes, sink: Callable[[bytes], None] | None) -> None:
        self._h.update(data)
        if sink is not None:
            sink(data)

    def _submit(self, data: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="layer-sha")
        while len(self._pending) >= 4:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._absorb, data, self.sink))

    def hexdigest(self) -> str:
        self.close()
        return self._h.hexdigest()

    def close(self) -> None:
        self._flush()
        while self._pending:
            self._pending.popleft().result()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class Pipeline:
    """Hash + decompress + scan, fed raw blob bytes in order from byte 0."""

    def __init__(self, *, capture: Capture | None = None, use_isal: bool = True, algorithm: str = "sha256") -> None:
        self.scanner = TarScanner(capture)
        self.decoder = StreamDecoder(self._decoded, use_isal=use_isal)
        self.hasher = _Hasher(algorithm)
        self.raw = 0
        self.uncompressed = 0
        self.pending = Entries()
        self.clean_end = False
        self.seek = SeekRecording()  # gzip access points (peek/gzindex.py), once start() is called

    def _decoded(self, data: bytes) -> None:
        self.uncompressed += len(data)
        found = self.scanner.feed(data)
        if found:
            self.pending.extend(found)

    def feed(self, chunk: bytes) -> None:
        hasher = self.hasher
        hasher.update(chunk)
        self.raw += len(chunk)
        if hasher.sink is None:
            seek = self.seek
            seek.feed(chunk)
            if seek.recorder is not None:
                # Recording: later chunks reach the recorder on the hash thread, in order
                # (the hasher is drained before anything finishes the recorder).
                hasher.set_sink(seek.recorder.feed)
        if not self.scanner.finished:  # past the archive's end only the hash matters
            self.decoder.write(chunk)

    def end(self) -> None:
        if not self.scanner.finished:
            self.clean_end = self.decoder.finish()
            self.scanner.end_of_stream()

    def take(self) -> Entries:
        out, self.pending = self.pending, Entries()
        return out


def _digest_parts(digest: str | None) -> tuple[str, str] | None:
    if not digest or ":" not in digest:
        return None
    algorithm, hexpart = digest.split(":", 1)
    return (algorithm, hexpart.lower()) if algorithm in hashlib.algorithms_available else None


class Peek:
    """An iterator of EntryBatch for the first `budget` bytes of a layer
    (`budget=None`: the whole layer), continuable with `continue_full`."""

    def __init__(
        self,
        source: ByteSource,
        *,
        budget: int | None = DEFAULT_BUDGET,
        size: int | None = None,
        digest: str | None = None,
        annotations: dict[str, str] | None = None,
        media_type: str | None = None,
        use_index: bool | None = None,
        interval: float = BATCH_INTERVAL,
        use_isal: bool = True,
        access_points: bool = True,
    ) -> None:
        check_media_type(media_type)
        if budget is not None and budget <= 0:
            raise ValueError("budget must be positive")
        self.source = source
        self.budget = budget
        self.digest = digest
        self.annotations = annotations or {}
        self.media_type = media_type
        self.interval = interval
        self._use_index = use_index
        parts = _digest_parts(digest)
        self._expected = parts[1] if parts else None
        self._pipe = Pipeline(use_isal=use_isal, algorithm=parts[0] if parts else "sha256")
        if not access_points:
            # Nobody can keep a seek index (no cache): neither record one nor hold
            # the first raw chunks for a recorder (peek/seekhook.py).
            self._pipe.seek.off()
        self._size = size if size is not None else source.size
        self.progress = ListingProgress(layer_size=self._size, source=STREAM)
        self.requests: list[tuple[int, int | None]] = []  # (start, end) of every open, for status and tests
        self._stream: ByteStream | None = None
        self._closed = False
        self._finished = False  # the whole blob was consumed (or an index gave everything)
        self._range_note = ""
        self._index_note = ""
        self._last = time.monotonic()
        self.digest_mismatch = False
        self._gen = self._quiet(self._run_partial() if budget is not None else self._run_full())

    # -- iterator protocol -------------------------------------------------

    def __iter__(self) -> Peek:
        return self

    def __next__(self) -> EntryBatch:
        return next(self._gen)

    def continue_full(self) -> Iterator[EntryBatch]:
        """The rest of the layer, from where the partial peek stopped."""
        yield from self._gen  # whatever the partial peek had left
        if self._closed:
            return
        self._gen = self._quiet(self._run_full())
        yield from self._gen

    def close(self) -> None:
        """Cancel: close the open stream (and with it the HTTP response)."""
        self._closed = True  # the helper hash thread ends with its executor; the worker may still be inside update()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    @property
    def recording(self) -> bool:
        """A recorder was started (a complete read of a gzip layer)."""
        return self._pipe.seek.recorder is not None

    def seek_index(self, *, abandon: bool = False):  # -> gzindex.SeekIndex | None
        """The gzip access points this read recorded (None: none were); waits
        for the recorder, which may still be catching up after the listing
        (`abandon`: stop it now, keeping what it has)."""
        return self._pipe.seek.finish(abandon=abandon)

    def __enter__(self) -> Peek:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------

    def _quiet(self, gen: Iterator[EntryBatch]) -> Iterator[EntryBatch]:
        """After close() (maybe from another thread) the closed stream may fail
        mid-read: a cancelled peek ends quietly instead."""
        try:
            yield from gen
        except Exception:
            if self._closed:
                return
            raise

    def _batch(self, force: bool = False) -> EntryBatch | None:
        pipe = self._pipe
        if not force:
            if not pipe.pending:
                return None
            now = time.monotonic()
            # The first entries go out at once, later ones about ten times a second.
            if self.progress.entries and now - self._last < self.interval:
                return None
            self._last = now
        entries = pipe.take()
        p = self.progress
        p.compressed_read = pipe.raw
        p.uncompressed_read = pipe.uncompressed
        p.entries += len(entries)
        return EntryBatch(entries, dataclasses.replace(p))

    def _open(self, start: int, end: int | None, *, rest: bool = False) -> ByteStream:
        self.requests.append((start, end))
        # The rest of a complete read: a source that can open several Range streams does (registry/parallel.py).
        opener = getattr(self.source, "open_rest", None) if rest else None
        stream = opener(start) if opener is not None else self.source.open(start, end)
        self._stream = stream
        if self._size is None and stream.total is not None:
            self._size = self.progress.layer_size = stream.total
        return stream

    def _wants_index(self) -> bool:
        if self._use_index is not None:
            return self._use_index
        return any(key in self.annotations for key in INDEX_ANNOTATIONS)

    def _run_partial(self) -> Iterator[EntryBatch]:
        if self._wants_index():
            from .index import read_index  # another engineer's module; imported lazily

            listing = read_index(
                self.source, size=self._size, annotations=self.annotations, media_type=self.media_type, digest=self.digest
            )
            if listing is not None and listing.ok:
                self._finished = True
                self.progress = listing.progress()
                yield listing.batch()
                return
            if listing is not None:
                self._index_note = listing.note
        assert self.budget is not None
        if self._size == 0:  # nothing to ask for (a Range on an empty blob is a 416)
            self._finish()
            yield self._final()
            return
        budget = self.budget if self._size is None else min(self.budget, self._size)
        pipe = self._pipe
        stream = self._open(0, budget - 1)
        try:
            if stream.range_ignored:
                self._range_note = "The registry ignored Range and sent the whole layer; only the budget was read."
            for chunk in stream.iter_chunks(PARTIAL_CHUNK):
                if self._closed:
                    return
                room = budget - pipe.raw
                if len(chunk) > room:
                    chunk = chunk[:room]
                pipe.feed(chunk)
                batch = self._batch()
                if batch is not None:
                    yield batch
                if pipe.raw >= budget:
                    break
        finally:
            self._stream = None
            stream.close()
        if self._closed:
            return
        # A stream that stops short of the budget has reached the blob's end.
        if (self._size is not None and pipe.raw >= self._size) or pipe.raw < budget:
            self._finish()
        else:
            self.progress.note = " ".join(
                filter(
                    None,
                    (
                        f"Partial listing from the first {human(pipe.raw)} of {human(self._size)}.",
                        self._range_note,
                        pipe.scanner.warning,
                        self._index_note,
                    ),
                )
            )
        yield self._final()

    def _run_full(self) -> Iterator[EntryBatch]:
        if self._finished:
            yield self._final()
            return
        self._pipe.seek.start(self._size)  # a complete read records gzip access points
        try:
            yield from self._stream_rest()
        finally:
            self._pipe.hasher.close()  # no helper thread outlives the listing
            if self._closed or not self._finished:
                self._pipe.seek.finish(abandon=True)  # an interrupted read keeps the access points it made

    def _stream_rest(self) -> Iterator[EntryBatch]:
        pipe = self._pipe
        resumes = 0
        while True:
            start = pipe.raw
            stream = self._open(start, None, rest=True)
            try:
                skip = 0
                if stream.range_ignored or stream.start < start:
                    # Served from byte 0 again: what we already hashed and listed is passed over.
                    skip = start - stream.start
                    if start:
                        self._range_note = (
                            f"The registry ignored Range, so the first {human(start)} were downloaded twice."
                        )
                elif stream.start > start:
                    raise ProtocolError(f"The registry answered from byte {stream.start}, not byte {start}.")
                for chunk in stream.iter_chunks(FULL_CHUNK):
                    if self._closed:
                        return
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk, skip = chunk[skip:], 0
                    pipe.feed(chunk)
                    batch = self._batch()
                    if batch is not None:
                        yield batch
            finally:
                self._stream = None
                stream.close()
            if self._closed:
                return
            if self._size is not None and pipe.raw < self._size and pipe.raw > start and resumes < MAX_RESUMES:
                resumes += 1  # the stream ended early without an error: ask for the rest
                continue
            break
        if self._size is not None and pipe.raw < self._size:
            raise NetworkError(
                f"The layer download stopped at {human(pipe.raw)} of {human(self._size)}."
            )
        if self._size is not None and pipe.raw > self._size:
            raise ProtocolError(f"The registry sent {pipe.raw} bytes for a layer of {self._size} bytes.")
        self._finish()
        yield self._final()

    def _finish(self) -> None:
        """The whole blob went through: settle completeness and the digest."""
        self._finished = True
        pipe = self._pipe
        pipe.end()
        pipe.hasher.close()  # every byte hashed and handed to the seek recorder before anyone finishes it
        p = self.progress
        reached = pipe.scanner.finished
        size_ok = self._size is None or pipe.raw == self._size
        matches = None if self._expected is None else pipe.hasher.hexdigest() == self._expected
        p.verified = bool(matches) and size_ok and self._size is not None
        p.complete = reached and size_ok and matches is not False
        p.cut_short = not p.complete  # the whole blob went through: there is nothing more to read
        self.digest_mismatch = matches is False  # the seek index recorded from these bytes must go too
        if matches is False:
            note = "The layer's bytes do not match its digest, so this listing cannot be trusted."
        elif not reached:
            note = "The layer ends before its tar archive does: the listing is incomplete."
        elif p.verified:
            note = "Complete listing; size and digest verified."
        else:
            note = "Complete listing (no digest to verify)."
        p.note = " ".join(filter(None, (note, pipe.scanner.warning, self._range_note, self._index_note)))

    def _final(self) -> EntryBatch:
        batch = self._batch(force=True)
        assert batch is not None
        return batch


def partial(
    source: ByteSource,
    *,
    budget: int = DEFAULT_BUDGET,
    size: int | None = None,
    digest: str | None = None,
    annotations: dict[str, str] | None = None,
    media_type: str | None = None,
    use_index: bool | None = None,
    interval: float = BATCH_INTERVAL,
    access_points: bool = True,
) -> Peek:
    """The first `budget` bytes of a layer as batches (one closed Range
    request); `Peek.continue_full()` lists the rest without re-reading."""
    return Peek(
        source,
        budget=budget,
        size=size,
        digest=digest,
        annotations=annotations,
        media_type=media_type,
        use_index=use_index,
        interval=interval,
        access_points=access_points,
    )


def complete(
    source: ByteSource,
    *,
    size: int | None = None,
    digest: str | None = None,
    annotations: dict[str, str] | None = None,
    media_type: str | None = None,
    interval: float = BATCH_INTERVAL,
    use_isal: bool = True,
    access_points: bool = True,
) -> Peek:
    """The whole layer, streamed; the last batch says whether the listing is
    complete and verified. `access_points`: record the gzip seek index (only
    worth it when something can keep it)."""
    del annotations  # a complete listing streams the layer itself, index or not
    return Peek(source, budget=None, size=size, digest=digest, media_type=media_type, interval=interval,
                use_isal=use_isal, access_points=access_points)


def listing(batches: Iterator[EntryBatch]) -> tuple[list[TarEntry], ListingProgress]:
    """Drain batches into one list (tests, headless export)."""
    entries: list[TarEntry] = []
    progress = ListingProgress()
    for batch in batches:
        entries.extend(batch.entries)
        progress = batch.progress
    return entries, progress


__all__ = ["DEFAULT_BUDGET", "LayerFormatError", "Peek", "Pipeline", "complete", "listing", "partial"]
