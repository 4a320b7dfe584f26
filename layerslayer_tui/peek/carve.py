"""Carving one file out of a layer: stream until its header, take its content
(up to a cap, or into a file), and stop reading the moment it is complete.

Tar hardlinks always point back to an earlier member, so a hardlink is
resolved by a second pass that stops at that member. GNU sparse files
(old 'S' headers, and PAX format 1.0) are expanded from their map: holes are
zeros in memory and holes in a saved file (a seek, no disk blocks). A save
refuses a file larger than `max_save` unless the caller passes a larger one.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import atomic
from ..entry import EntryType, TarEntry
from ..errors import ExportError, LayerFormatError, NotFoundError
from .decompress import check_media_type
from .reader import FULL_CHUNK, Pipeline
from .scanner import ContentSink, normalise
from .source import ByteSource

DEFAULT_CAP = 16 * 1024 * 1024
# What a save writes without the caller asking for more: far above any file a
# person saves by hand from an image, far below a disk (a layer of a few KB
# can declare a sparse file of exabytes, or a gzip bomb of zeros).
DEFAULT_MAX_SAVE = 4 * 1024**3
MAX_LINK_HOPS = 8
_ZEROS = bytes(1 << 16)


@dataclass(slots=True)
class Carved:
    entry: TarEntry  # the entry that was asked for
    content: bytes | None = None  # file content (at most `cap` bytes) when no dest was given
    dest: Path | None = None  # where the content was written, when a dest was given
    target: str | None = None  # a symlink's target
    resolved: TarEntry | None = None  # the file a hardlink points to
    truncated: bool = False  # the content was cut at the cap
    written: int = 0  # content bytes delivered
    compressed_read: int = 0  # blob bytes read, all passes together


class _Done(Exception):
    """Raised from the sink to stop the stream the moment the file is complete."""


class _Collector:
    """Content sink: bytes in memory up to a cap, or everything into a file."""

    def __init__(self, entry: TarEntry, cap: int, out: BinaryIO | None) -> None:
        self.entry = entry
        self.cap = cap
        self.out = out
        self.buf = io.BytesIO() if out is None else None
        self.written = 0
        self.truncated = False

    def write(self, data: memoryview | bytes) -> None:
        if self.out is not None:
            self.out.write(data)
            self.written += len(data)
            return
        assert self.buf is not None
        room = self.cap - self.written
        if len(data) > room:
            self.buf.write(data[:room])
            self.written += room
            self.truncated = True
            raise _Done
        self.buf.write(data)
        self.written += len(data)

    def skip(self, count: int) -> None:
        """A hole of `count` zero bytes: a seek in a file, zeros in memory."""
        if self.out is not None:
            self.out.seek(count, os.SEEK_CUR)
            self.written += count
            return
        while count:
            n = min(len(_ZEROS), count)
            self.write(_ZEROS[:n])
            count -= n

    def end(self) -> None:
        if self.out is not None:
            self.out.truncate()  # a trailing hole still sets the file's size
        raise _Done


class _SparseExpander:
    """Turns the stored segments of an old GNU sparse file into the real
    content: each (offset, numbytes) pair is preceded by zeros up to offset."""

    def __init__(self, inner: _Collector, pairs: list[tuple[int, int]], realsize: int) -> None:
        self.inner = inner
        self.pairs = list(pairs)
        self.realsize = realsize
        self.pos = 0  # position in the real file
        self.seg_left = 0
        self._next_segment()

    def _zeros_to(self, target: int) -> None:
        if self.pos < target:
            gap, self.pos = target - self.pos, target
            self.inner.skip(gap)

    def _next_segment(self) -> None:
        while self.pairs and not self.seg_left:
            offset, numbytes = self.pairs.pop(0)
            if offset < self.pos:
                raise LayerFormatError("The layer's sparse file map is out of order.")
            if offset + numbytes > self.realsize:
                raise LayerFormatError("The layer's sparse file map reaches past the file's size.")
            self._zeros_to(offset)
            self.seg_left = numbytes

    def write(self, data: memoryview) -> None:
        while len(data):
            if not self.seg_left:
                self._next_segment()
                if not self.seg_left:
                    return  # stored bytes beyond the map: padding
            take = data[: self.seg_left]
            self.inner.write(take)
            self.pos += len(take)
            self.seg_left -= len(take)
            data = data[len(take) :]

    def end(self) -> None:
        self.seg_left = 0
        while self.pairs:
            self._next_segment()
        self._zeros_to(self.realsize)
        self.inner.end()


MAX_SPARSE_MAP = 1 << 20  # bytes of a PAX sparse map we are willing to buffer


class _PaxSparse:
    """GNU tar's PAX sparse format 1.0: the stored content starts with the map
    (decimal lines: count, then offset and size per segment, NUL-padded to a
    512-byte block), followed by the segments' data."""

    def __init__(self, inner: _Collector, realsize: int) -> None:
        self.inner = inner
        self.realsize = realsize
        self.head = bytearray()
        self.expander: _SparseExpander | None = None

    def _parse(self) -> int | None:
        """Bytes the map occupies, once all of it has arrived."""
        lines = bytes(self.head).split(b"\n")
        if len(lines) < 2:
            return None
        try:
            count = int(lines[0])
            if count < 0 or len(lines) < 2 + 2 * count:
                return None
            numbers = [int(x) for x in lines[1 : 1 + 2 * count]]
        except ValueError:
            raise LayerFormatError("The layer's sparse file map is malformed.") from None
        used = sum(len(x) + 1 for x in lines[: 1 + 2 * count])
        pairs = list(zip(numbers[0::2], numbers[1::2]))
        self.expander = _SparseExpander(self.inner, pairs, self.realsize)
        return (used + 511) & ~511

    def write(self, data: memoryview) -> None:
        if self.expander is not None:
            self.expander.write(data)
            return
        self.head += data
        if len(self.head) > MAX_SPARSE_MAP:
            raise LayerFormatError("The layer's sparse file map is larger than 1 MiB.")
        size = self._parse()
        if size is not None and len(self.head) >= size:
            rest, self.head = bytes(self.head[size:]), bytearray()
            assert self.expander is not None
            if rest:
                self.expander.write(memoryview(rest))

    def end(self) -> None:
        if self.expander is None:
            raise LayerFormatError("The layer's sparse file map is cut off.")
        self.expander.end()


def _capture_sink(entry: TarEntry, cap: int, out: BinaryIO | None, sinks: list[_Collector]) -> ContentSink | None:
    """The sink that takes a file member's stored bytes (expanding sparse
    files), recorded in `sinks`; None for a member that is not a file."""
    if entry.type is not EntryType.FILE:
        return None
    sink = _Collector(entry, cap, out)
    sinks.append(sink)
    extra = entry.extra or {}
    if "sparse_pax" in extra:
        if extra["sparse_pax"] != "1.0":
            raise LayerFormatError("Carving GNU tar's old PAX sparse files (0.x) is not supported.")
        return _PaxSparse(sink, entry.size)
    if "sparse" in extra:
        pairs = extra["sparse"]
        assert isinstance(pairs, list)
        return _SparseExpander(sink, pairs, entry.size)
    return sink


def _stream_from_start(source: ByteSource, pipe: Pipeline) -> None:
    """Feeds the layer from byte 0 into `pipe` until the archive ends or a
    capture stops it (`_Done`)."""
    stream = source.open(0, None)
    try:
        for chunk in stream.iter_chunks(FULL_CHUNK):
            pipe.feed(chunk)
            if pipe.scanner.finished:
                break
        else:
            pipe.end()
    except _Done:
        pass
    finally:
        stream.close()
        pipe.hasher.close()


def _scan_for(
    source: ByteSource, want: str, cap: int, out: BinaryIO | None, max_save: int = DEFAULT_MAX_SAVE
) -> tuple[TarEntry | None, _Collector | None, int]:
    found: list[TarEntry] = []
    collector: list[_Collector] = []

    def capture(entry: TarEntry) -> ContentSink | None:
        if entry.path != want:
            return None
        found.append(entry)
        if entry.type is not EntryType.FILE:
            raise _Done
        if out is not None and entry.size > max_save:
            raise ExportError(
                f"Not saving {want}: it is {entry.size} bytes, over the {max_save}-byte limit for a save "
                "(pass a larger limit to save it)."
            )
        return _capture_sink(entry, cap, out, collector)

    pipe = Pipeline(capture=capture)
    pipe.seek.off()
    _stream_from_start(source, pipe)
    return (found[0] if found else None), (collector[0] if collector else None), pipe.raw


def carve(
    source: ByteSource,
    path: str,
    *,
    cap: int = DEFAULT_CAP,
    dest: str | os.PathLike[str] | None = None,
    media_type: str | None = None,
    max_save: int = DEFAULT_MAX_SAVE,
) -> Carved:
    """One file of the layer. Without `dest` its content comes back in
    memory, cut at `cap` bytes; with `dest` all of it is written there,
    unless its size is over `max_save` bytes (then ExportError, nothing written)."""
    check_media_type(media_type)
    want = normalise(path)
    asked: TarEntry | None = None
    total_read = 0
    for _hop in range(MAX_LINK_HOPS):
        if dest is not None:
            carved = _carve_to_file(source, want, cap, Path(dest), max_save)
        else:
            entry, sink, read = _scan_for(source, want, cap, None)
            carved = _result(entry, sink, read, want, None)
        total_read += carved.compressed_read
        carved.compressed_read = total_read
        if asked is None:
            asked = carved.entry
        if carved.entry.type is EntryType.HARDLINK and carved.entry.link:
            want = carved.entry.link
            continue
        if carved.entry is not asked:
            carved.resolved, carved.entry = carved.entry, asked
        return carved
    raise LayerFormatError(f"The hardlink {path} points through more than {MAX_LINK_HOPS} links.")


def _carve_to_file(source: ByteSource, want: str, cap: int, dest: Path, max_save: int) -> Carved:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = atomic.temp_beside(dest, prefix=".carve-")
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
    ok = False
    try:
        with open(tmp, "wb") as out:
            entry, sink, read = _scan_for(source, want, cap, out, max_save)
        carved = _result(entry, sink, read, want, dest)
        if sink is not None:  # a regular file's bytes; a symlink or a directory writes nothing
            atomic.publish(tmp, dest, overwrite=True)
            ok = True
        return carved
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
    finally:
        if not ok:
            atomic.discard(tmp)


def _result(entry: TarEntry | None, sink: _Collector | None, read: int, want: str, dest: Path | None) -> Carved:
    if entry is None:
        raise NotFoundError(f"There is no file named {want!r} in this layer.")
    carved = Carved(entry=entry, compressed_read=read)
    if entry.type is EntryType.SYMLINK:
        carved.target = entry.link
    if sink is not None:
        carved.written = sink.written
        carved.truncated = sink.truncated
        if dest is not None:
            carved.dest = dest
        if sink.buf is not None:  # content kept in memory (no file to write to)
            carved.content = sink.buf.getvalue()
        if sink.written < entry.size and not sink.truncated:
            raise LayerFormatError(f"The layer ends in the middle of {want!r}.")
    return carved
