"""Reading one tar member's content without streaming the layer from byte 0.

- gzip with a seek index: one closed Range request from the access point
  before the member to an estimated bound past its end (a second request
  only when the member turns out larger than estimated), inflated from the
  point's window, skipped to the member's header.
- plain tar: the member's offset is its place in the blob.
- no index: stream from byte 0 as carving always did, stop at the member,
  and keep the access points made on the way (`Read.index`).

The member is found by its uncompressed offset from the listing and checked
by its header: a header that is not the expected member means the index (or
listing) does not describe these bytes (`IndexMismatch`), and the caller
streams instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from ..entry import TarEntry
from ..errors import LayerFormatError
from .carve import Carved, _capture_sink, _Collector, _Done, _result, _stream_from_start
from .gzindex import Checkpoint, ResumedInflate, SeekIndex
from .reader import Pipeline
from .scanner import ContentSink, TarScanner
from .source import ByteSource

MARGIN = 32 * 1024  # compressed bytes added to an estimated bound (a denser stretch costs a second request)
HEADER_ROOM = 4 * 1024  # uncompressed room assumed for PAX / long-name headers before the content
MAX_GROW = 8  # requests after the first one, before giving up
DRAIN_CHUNK = 256 * 1024
DRAIN_MAX = 1 << 20  # rest of a closed range read to its end (keeps the connection) when this small
VIA_INDEX = "seek index"
VIA_MERGED = "seek index, merged"  # read in the request of the file before it (read_group)
VIA_OFFSET = "tar offset"
VIA_STREAM = "stream"


class IndexMismatch(LayerFormatError):
    """The bytes at the recorded place are not the expected member."""


@dataclass(slots=True)
class Read:
    carved: Carved
    via: str
    requests: list[tuple[int, int | None]] = field(default_factory=list)
    compressed_read: int = 0
    recorded: Any = None  # a streamed read's access points, still being made (Recorded)


def _carved(want: TarEntry, found: TarEntry | None, sinks: list[_Collector], read: int) -> Carved:
    return _result(found, sinks[0] if sinks else None, read, want.path, None)


class _MemberFeed:
    """Tar bytes from `start` (uncompressed) in; skips to `want.offset`, then
    scans exactly one member and captures its content."""

    def __init__(self, want: TarEntry, start: int, cap: int, out: BinaryIO | None) -> None:
        self.want = want
        self.skip = want.offset - start
        if self.skip < 0:
            raise ValueError("access point after the member")
        self.sinks: list[_Collector] = []
        self.found: TarEntry | None = None
        self.scanner = TarScanner(self._capture)
        self.cap = cap
        self.out = out
        self.done = False

    def _capture(self, entry: TarEntry) -> ContentSink | None:
        if entry.path != self.want.path or entry.type is not self.want.type:
            raise IndexMismatch(
                f"The recorded place of {self.want.path!r} holds {entry.path!r}: the seek index does not match the layer."
            )
        self.found = entry
        sink = _capture_sink(entry, self.cap, self.out, self.sinks)
        if sink is None:
            raise _Done  # not a file: the header is all there is
        return sink

    def write(self, data: bytes) -> None:
        if self.done:
            raise _Done
        if self.skip:
            if len(data) <= self.skip:
                self.skip -= len(data)
                return
            data, self.skip = data[self.skip :], 0
        try:
            self.scanner.feed(data)
        except _Done:
            self.done = True
            raise
        except LayerFormatError as err:
            if self.found is None:  # no header where the listing put the member: wrong index or listing
                raise IndexMismatch(f"The recorded place of {self.want.path!r} holds no tar header ({err}).") from None
            raise
        if self.scanner.finished and self.found is None:
            raise IndexMismatch(f"The archive ends before {self.want.path!r}: the seek index does not match the layer.")


def _stored(entry: TarEntry) -> int:
    """Bytes the member stores after its header (an upper estimate for sparse files)."""
    extra = entry.extra or {}
    if "sparse" in extra or "sparse_pax" in extra:
        return entry.size + (1 << 16)  # the stored part is at most the real size plus its map
    return max(0, entry.size)


def _at_most(index: SeekIndex, u: int) -> int:
    """A compressed offset at or past uncompressed offset `u`: deflate never
    stores data in more than ~1.001x its size, and the next access point is
    past it anyway."""
    before = index.before(u)
    assert before is not None
    est = before.compressed + int((u - before.uncompressed) * 1.01) + 64
    after = index.after(before)
    return min(est, after.compressed) if after is not None else est


def _bound(index: SeekIndex, point: Checkpoint, entry: TarEntry, stored: int, size: int | None) -> int:
    """A compressed offset (inclusive) that covers the member's end: where
    its start is at the latest, plus its stored size as if incompressible,
    capped by the access point after its end. Only headers larger than
    HEADER_ROOM need a second request."""
    end_u = entry.offset + HEADER_ROOM + stored
    bound = _at_most(index, entry.offset) + int((HEADER_ROOM + stored) * 1.01) + MARGIN
    for p in index.points:
        if p.uncompressed >= end_u and p.compressed > point.compressed:
            bound = min(bound, p.compressed)
            break
    if size:
        bound = min(bound, size - 1)
    return max(bound, ResumedInflate.start_offset(point))


def _read_ranges(
    source: ByteSource,
    feed: _MemberFeed | _GroupFeed,
    write: Callable[[bytes], object],
    pos: int,
    end: int,
    grow: Callable[[int, int], int],
    refused: str,
) -> tuple[list[tuple[int, int | None]], int]:
    """Closed Range reads from `pos` to `end` into `write` until the member
    is captured; `grow(pos, end)` gives the next request's end when it was
    not. Returns the requests made and the bytes read."""
    size = source.size
    requests: list[tuple[int, int | None]] = []
    got = 0
    try:
        for _ in range(MAX_GROW + 1):
            requests.append((pos, end))
            stream = source.open(pos, end)
            try:
                if stream.range_ignored or stream.start != pos:
                    raise IndexMismatch(refused)
                for chunk in stream.iter_chunks(DRAIN_CHUNK):
                    got += len(chunk)
                    pos += len(chunk)
                    if not feed.done:
                        try:
                            write(chunk)
                        except _Done:
                            pass
                    if feed.done and end - pos >= DRAIN_MAX:
                        break
            finally:
                stream.close()
            if feed.done:
                break
            if size is not None and pos >= size:
                break
            end = grow(pos, end)
            if size is not None:
                end = min(end, size - 1)
    except _Done:
        pass
    return requests, got


def read_via_index(
    source: ByteSource, entry: TarEntry, index: SeekIndex, *, cap: int, out: BinaryIO | None = None
) -> Read:
    """The member's content through the access point before it."""
    point = index.before(entry.offset)
    if point is None:
        raise IndexMismatch("The seek index has no access point before this file.")
    size = source.size
    stored = _stored(entry) if out is not None else min(_stored(entry), cap)
    start = ResumedInflate.start_offset(point)
    bound = _bound(index, point, entry, stored, size)
    feed = _MemberFeed(entry, point.uncompressed, cap, out)
    try:
        inflate = ResumedInflate(point, feed.write)
    except ValueError as err:  # a stored window that does not inflate, or that libz refuses
        raise IndexMismatch(f"The seek index is damaged ({err}).") from None
    try:
        requests, got = _read_ranges(
            source,
            feed,
            inflate.write,
            start,
            bound,
            # Larger than estimated: ask for about as much again as the member still needs.
            lambda pos, end: pos + max(MARGIN, (end - start) // 2, 1 << 20) - 1,
            "The registry ignored Range, so the seek index cannot be used.",
        )
    finally:
        inflate.close()
    if not feed.done and feed.found is None:
        raise IndexMismatch(f"The seek index did not lead to {entry.path!r}.")
    carved = _carved(entry, feed.found, feed.sinks, got)
    return Read(carved, VIA_INDEX, requests, got)


MERGE_GAP = 1 << 20  # compressed bytes read through, rather than a new request (and inflate from a point again)


def plan_groups(index: SeekIndex, entries: list[TarEntry], size: int | None) -> list[list[TarEntry]]:
    """Members (any order) in groups that one Range request reads: sorted by
    offset, a member joins the group before it when its access point starts
    at most MERGE_GAP past that group's bound. Duplicates (same offset) are
    read once."""
    groups: list[list[TarEntry]] = []
    end = -1
    seen: set[int] = set()
    for entry in sorted(entries, key=lambda e: e.offset):
        point = index.before(entry.offset)
        if point is None or entry.offset in seen:
            continue
        seen.add(entry.offset)
        start = ResumedInflate.start_offset(point)
        bound = _bound(index, point, entry, _stored(entry), size)
        if groups and start <= end + MERGE_GAP:
            groups[-1].append(entry)
            end = max(end, bound)
        else:
            groups.append([entry])
            end = bound
    return groups


class _GroupFeed:
    """Tar bytes from `start` in; captures several members in offset order,
    each with its own _MemberFeed, started at the chunk where the one before
    it ended (its skip takes it to its header)."""

    def __init__(self, wants: list[TarEntry], start: int, outs: list[BinaryIO]) -> None:
        self.wants, self.outs = wants, outs
        self.pos = start
        self.feeds = [_MemberFeed(wants[0], start, 1 << 62, outs[0])]
        self.done = False

    def write(self, data: bytes) -> None:
        if self.done:
            raise _Done
        at, self.pos = self.pos, self.pos + len(data)
        while True:
            try:
                self.feeds[-1].write(data)
                return
            except _Done:
                pass
            if len(self.feeds) == len(self.wants):
                self.done = True
                raise _Done
            k = len(self.feeds)
            if self.wants[k].offset < at:
                raise IndexMismatch(f"The recorded place of {self.wants[k].path!r} overlaps the file before it.")
            self.feeds.append(_MemberFeed(self.wants[k], at, 1 << 62, self.outs[k]))


def read_group(source: ByteSource, entries: list[TarEntry], index: SeekIndex, outs: list[BinaryIO]) -> list[Read]:
    """Members of one plan_groups group, each written whole to its `outs`
    file, through one Range request (grown only when the last member turns
    out larger than estimated). The first Read carries the request and the
    bytes; IndexMismatch as read_via_index (the caller then reads them one
    by one)."""
    point = index.before(entries[0].offset)
    if point is None:
        raise IndexMismatch("The seek index has no access point before this file.")
    size = source.size
    start = ResumedInflate.start_offset(point)
    bound = max(_bound(index, p, e, _stored(e), size) for e in entries
                for p in [index.before(e.offset)] if p is not None)
    feed = _GroupFeed(entries, point.uncompressed, outs)
    try:
        inflate = ResumedInflate(point, feed.write)
    except ValueError as err:
        raise IndexMismatch(f"The seek index is damaged ({err}).") from None
    try:
        requests, got = _read_ranges(
            source, feed, inflate.write, start, bound,
            lambda pos, end: pos + max(MARGIN, (end - start) // 2, 1 << 20) - 1,
            "The registry ignored Range, so the seek index cannot be used.",
        )
    finally:
        inflate.close()
    if not feed.done:
        missing = entries[len(feed.feeds) - 1]
        raise IndexMismatch(f"The seek index did not lead to {missing.path!r}.")
    reads = []
    for k, (want, member) in enumerate(zip(entries, feed.feeds)):
        carved = _carved(want, member.found, member.sinks, got if k == 0 else 0)
        reads.append(Read(carved, VIA_INDEX if k == 0 else VIA_MERGED, requests if k == 0 else [], got if k == 0 else 0))
    return reads


def read_plain(source: ByteSource, entry: TarEntry, *, cap: int, out: BinaryIO | None = None) -> Read:
    """An uncompressed layer: the member's offset is its place in the blob."""
    size = source.size
    end = entry.offset + HEADER_ROOM + (entry.size if out is not None else min(entry.size, cap)) - 1
    if size is not None:
        end = min(end, size - 1)
    feed = _MemberFeed(entry, entry.offset, cap, out)
    requests, got = _read_ranges(
        source,
        feed,
        feed.write,
        entry.offset,
        end,
        lambda pos, end: pos + max(HEADER_ROOM, entry.size) - 1,
        "The registry ignored Range.",
    )
    carved = _carved(entry, feed.found, feed.sinks, got)
    return Read(carved, VIA_OFFSET, requests, got)


def read_streaming(
    source: ByteSource,
    entry: TarEntry,
    *,
    cap: int,
    out: BinaryIO | None = None,
    spacing: int | None = None,
) -> Read:
    """From byte 0 to the member (matched by path and, when known, offset),
    recording gzip access points on the way."""
    sinks: list[_Collector] = []
    found: list[TarEntry] = []

    def capture(e: TarEntry) -> ContentSink | None:
        if e.path != entry.path or (entry.offset >= 0 and e.offset != entry.offset):
            return None
        found.append(e)
        sink = _capture_sink(e, cap, out, sinks)
        if sink is None:
            raise _Done
        return sink

    pipe = Pipeline(capture=capture)
    if spacing is not None:
        pipe.seek.spacing = spacing
    pipe.seek.start(source.size)
    _stream_from_start(source, pipe)
    carved = _carved(entry, found[0] if found else None, sinks, pipe.raw)
    # The access points of the prefix read are still being made: the caller
    # collects them (Recorded.seek_index) without making the reader wait.
    return Read(carved, VIA_STREAM, [(0, None)], pipe.raw, Recorded(pipe.seek))


class Recorded:
    """What a streamed read recorded, collected later (same face as a Peek's)."""

    def __init__(self, seek: Any) -> None:
        self._seek = seek

    @property
    def recording(self) -> bool:
        return self._seek.recorder is not None

    def seek_index(self, *, abandon: bool = False) -> SeekIndex | None:
        return self._seek.finish(abandon=abandon)


VIA_CHUNKS = "toc chunks"


def _inflate_chunk(data: bytes, want: int) -> bytes:
    """The first `want` bytes a chunk's compressed slice holds (an eStargz
    gzip member or zstd:chunked frames)."""
    import zlib

    import zstandard

    if data[:4] == b"\x28\xb5\x2f\xfd":
        reader = zstandard.ZstdDecompressor(max_window_size=1 << 27).stream_reader(data, read_across_frames=True)
        out = bytearray()
        while len(out) < want:
            piece = reader.read(min(1 << 20, want - len(out)))
            if not piece:
                break
            out += piece
        return bytes(out)
    d = zlib.decompressobj(31)
    return d.decompress(data, want)


def read_chunks(source: ByteSource, entry: TarEntry, *, cap: int, out: BinaryIO | None = None) -> Read:
    """A file of an eStargz / zstd:chunked layer from the chunks its TOC
    names: one closed request per contiguous run of chunks, each chunk's
    digest checked. LayerFormatError when a chunk does not match."""
    import hashlib

    chunks = sorted((entry.extra or {}).get("toc") or [], key=lambda c: c[2])  # type: ignore[arg-type]
    covered = 0
    for chunk in chunks:
        if chunk[2] != covered:
            break
        covered += chunk[3]
    if not chunks or covered != entry.size:
        raise IndexMismatch(f"The layer's index does not place every chunk of {entry.path!r}.")
    size = source.size
    last = (size - 1) if size else None
    runs: list[list[list]] = []
    for chunk in chunks:
        if runs and runs[-1][-1][1] == chunk[0]:
            runs[-1].append(chunk)
        else:
            runs.append([chunk])
    sink = _Collector(entry, cap, out)
    requests: list[tuple[int, int | None]] = []
    got = 0
    try:
        for run in runs:
            start = run[0][0]
            end = run[-1][1] - 1 if run[-1][1] > 0 else last
            requests.append((start, end))
            stream = source.open(start, end)
            try:
                if stream.range_ignored or stream.start != start:
                    raise IndexMismatch("The registry ignored Range, so the chunks cannot be read.")
                body = b"".join(stream.iter_chunks(1 << 20))
            finally:
                stream.close()
            got += len(body)
            for offset, chunk_end, _chunk_offset, chunk_size, digest in run:
                lo = offset - start
                hi = (chunk_end - start) if chunk_end > 0 else len(body)
                try:
                    data = _inflate_chunk(body[lo:hi], chunk_size)
                except Exception as err:  # zlib.error, zstandard.ZstdError
                    raise LayerFormatError(f"A chunk of {entry.path!r} cannot be decompressed ({err}).") from None
                if len(data) != chunk_size:
                    raise LayerFormatError(f"A chunk of {entry.path!r} is shorter than the index says.")
                if digest and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                    raise LayerFormatError(f"A chunk of {entry.path!r} does not match its digest in the layer's index.")
                sink.write(data)
    except _Done:
        pass
    carved = Carved(entry=entry, compressed_read=got, written=sink.written, truncated=sink.truncated)
    if sink.buf is not None:
        carved.content = sink.buf.getvalue()
    if sink.written < entry.size and not sink.truncated:
        raise LayerFormatError(f"The layer's index covers only {sink.written} of the {entry.size} bytes of {entry.path!r}.")
    return Read(carved, VIA_CHUNKS, requests, got)
