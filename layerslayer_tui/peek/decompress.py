"""Layer compression, detected by magic bytes (media types lie), decoded as a
push stream: raw chunks go in with `write`, decompressed pieces of bounded
size go out to a sink. Bounded pieces keep a compression bomb from inflating
one small chunk into a huge buffer.

gzip: every member (eStargz layers are many), zero padding between and after
members skipped; python-isal when importable (several times faster), zlib
otherwise. zstd: every frame, skippable frames skipped (libzstd's streaming
decoder does both). Plain tar passes through.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import zstandard

from ..errors import LayerFormatError
from .tarformat import BLOCKSIZE, CHKSUM_END, CHKSUM_OFFSET, MAGIC_OFFSET, ZERO_BLOCK, checksum_ok

try:  # pragma: no branch - depends on the platform
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - PyPy or a missing wheel
    _isal_zlib = None

GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
GZIP = "gzip"
ZSTD = "zstd"
TAR = "tar"
OUT_PIECE = 1 << 20  # largest decompressed piece handed to the sink at once
# libzstd's own default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27): every zstd
# encoder's defaults stay under it, and the window is memory the decoder must
# hold (a 262 KB layer declaring 2 GiB took 2.1 GB of RAM).
MAX_ZSTD_WINDOW = 1 << 27
_GZIP_WBITS = 31
GZIP_SLICE = 64 * 1024

Sink = Callable[[bytes], None]


def have_isal() -> bool:
    return _isal_zlib is not None


def check_media_type(media_type: str | None) -> None:
    """Refuse layer types whose bytes cannot be a tar stream (encrypted)."""
    if media_type and ("+encrypted" in media_type or media_type.endswith(".encrypted")):
        raise LayerFormatError(f"Cannot read this layer type: {media_type} is encrypted.")


def _is_skippable_zstd(head: bytes) -> bool:
    return len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and 0x50 <= head[0] <= 0x5F


def _tar_checksum_ok(block: bytes) -> bool:
    field = block[CHKSUM_OFFSET:CHKSUM_END].partition(b"\x00")[0].strip()
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    return checksum_ok(block, 0, stored)


def sniff(head: bytes, *, at_end: bool = False) -> str | None:
    """The compression of a layer from its first bytes: "gzip", "zstd" or
    "tar"; None while too few bytes have arrived to tell (unless `at_end`).
    Raises LayerFormatError for anything else."""
    if head[:3] == GZIP_MAGIC:
        return GZIP
    if head[:4] == ZSTD_MAGIC or _is_skippable_zstd(head):
        return ZSTD
    if len(head) < BLOCKSIZE and not at_end:
        return None  # a tar header needs its whole first block to be judged
    block = head[:BLOCKSIZE]
    if not block or block.rstrip(b"\x00") == b"":
        return TAR  # an empty archive: only zero blocks, or no bytes at all
    if len(block) == BLOCKSIZE and (
        block[MAGIC_OFFSET : MAGIC_OFFSET + 5] == b"ustar" or _tar_checksum_ok(block)
    ):
        return TAR
    if block == ZERO_BLOCK[: len(block)]:
        return TAR
    raise LayerFormatError(
        "Cannot read this layer type: it is not gzip, zstd or tar "
        f"(it starts with {bytes(head[:8]).hex(' ')})."
    )


class _Gzip:
    def __init__(self, sink: Sink, use_isal: bool) -> None:
        self._sink = sink
        self._mod = _isal_zlib if (use_isal and _isal_zlib is not None) else zlib
        self._d = self._mod.decompressobj(_GZIP_WBITS)
        self._between = False  # after a member's end: padding, garbage or another member
        self.members = 1
        self.trailing_garbage = False

    def write(self, data: bytes) -> None:
        if len(data) <= GZIP_SLICE:
            self._write(data)
            return
        # Inflating in cache-sized slices is measurably faster than whole MiBs.
        view = memoryview(data)
        for i in range(0, len(view), GZIP_SLICE):
            self._write(view[i : i + GZIP_SLICE])

    def _write(self, data: bytes | memoryview) -> None:
        sink = self._sink
        while data:
            if self._between:
                data = bytes(data).lstrip(b"\x00")
                if not data:
                    return
                if self.trailing_garbage:
                    return
                if not GZIP_MAGIC.startswith(data[:3]):
                    # GNU gzip ignores trailing garbage after the last member; so do we.
                    self.trailing_garbage = True
                    return
                self._d = self._mod.decompressobj(_GZIP_WBITS)
                self._between = False
                self.members += 1
            d = self._d
            try:
                out = d.decompress(data, OUT_PIECE)
                if out:
                    sink(out)
                while d.unconsumed_tail and not d.eof:
                    out = d.decompress(d.unconsumed_tail, OUT_PIECE)
                    if out:
                        sink(out)
            except (zlib.error, getattr(self._mod, "error", zlib.error)) as err:
                raise LayerFormatError(f"The layer's gzip data is corrupt ({err}).") from None
            if d.eof:
                data = d.unused_data
                self._between = True
            else:
                return

    @property
    def at_member_end(self) -> bool:
        return self._between

    def finish(self) -> bool:
        """True when the stream ended cleanly after a whole member."""
        return self._between


class _SinkWriter:
    """The write target zstandard's stream_writer pushes output into."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        self._sink(data)
        return len(data)


class _Zstd:
    def __init__(self, sink: Sink) -> None:
        # stream_writer feeds ZSTD_decompressStream, which continues across
        # frames and skips skippable frames; write_size bounds each piece.
        self._w = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_writer(
            _SinkWriter(sink), write_size=OUT_PIECE, write_return_read=True
        )
        self._fed = 0

    def write(self, data: bytes) -> None:
        self._fed += len(data)
        # libzstd can expand one input block ~30000-fold; slicing the input
        # bounds what a single write can produce before the sink sees it.
        view = memoryview(data)
        step = 1 << 14
        try:
            for i in range(0, len(view), step):
                self._w.write(view[i : i + step])
        except zstandard.ZstdError as err:
            if "too much memory" in str(err):  # ZSTD_error_frameParameter_windowTooLarge
                raise LayerFormatError(
                    "The layer's zstd data asks for a decoding window over 128 MiB, more than zstd allows by default."
                ) from None
            raise LayerFormatError(f"The layer's zstd data is corrupt ({err}).") from None

    def finish(self) -> bool:
        return self._fed > 0


class _Plain:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def write(self, data: bytes) -> None:
        self._sink(data)

    def finish(self) -> bool:
        return True


class StreamDecoder:
    """Sniffs the first bytes, then decodes everything written to it into
    `sink`. `finish()` says whether the compressed stream ended cleanly."""

    def __init__(self, sink: Sink, *, use_isal: bool = True) -> None:
        self._sink = sink
        self._use_isal = use_isal
        self._head = b""
        self._impl: _Gzip | _Zstd | _Plain | None = None
        self.kind: str | None = None

    def write(self, data: bytes) -> None:
        if self._impl is None:
            self._head += data
            kind = sniff(self._head)
            if kind is None:
                return
            self._start(kind)
            data, self._head = self._head, b""
        assert self._impl is not None
        self._impl.write(data)

    def _start(self, kind: str) -> None:
        self.kind = kind
        if kind == GZIP:
            self._impl = _Gzip(self._sink, self._use_isal)
        elif kind == ZSTD:
            self._impl = _Zstd(self._sink)
        else:
            self._impl = _Plain(self._sink)

    def finish(self) -> bool:
        """The raw stream is over; decode what is held back. True when the
        compressed stream itself ended cleanly (not cut off mid-member)."""
        if self._impl is None:
            self._start(sniff(self._head, at_end=True) or TAR)
            assert self._impl is not None
            head, self._head = self._head, b""
            if head:
                self._impl.write(head)
        return self._impl.finish()


def decompressor(sink: Sink, *, use_isal: bool = True) -> StreamDecoder:
    return StreamDecoder(sink, use_isal=use_isal)
