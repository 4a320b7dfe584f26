"""gzip access points (zlib's examples/zran.c algorithm): where a deflate
block starts, recorded while a layer streams once, so any file can later be
inflated from the access point before it instead of from byte 0.

An access point is (compressed offset, uncompressed offset, bit offset,
32 KiB window). Python's zlib exposes neither `Z_BLOCK` (stop at a block
boundary) nor `inflateGetDictionary`, so the recorder drives the system libz
through ctypes, in a child process at idle priority beside the fast
(python-isal) listing inflate: listing speed stays the listing's, not
zlib's (see benchmarks/bench_seek.py).

Resuming needs no `inflatePrime`: the compressed bytes are shifted by the
bit offset (`BitShifter`) and inflated raw with the window as dictionary.
"""

from __future__ import annotations

import ctypes
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

try:  # pragma: no branch - depends on the platform
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover
    _fast_zlib = zlib  # type: ignore[assignment]

WINDOW = 32 * 1024
DEFAULT_SPACING = 4 * 1024 * 1024  # compressed bytes between access points (see benchmarks/bench_seek.py)
OUT_SCRATCH = 4 * 1024 * 1024  # recorder output is thrown away; few, long libz calls mean few GIL hand-overs
MAX_SPILL = 16 * 1024 * 1024 * 1024  # raw bytes the recorder's temporary file may hold
# False: the recorder inflates only after the listing (a concurrent inflate
# on a 2-core machine slowed the listing by half, see benchmarks/bench_seek.py).
FOLLOW = False
_GZIP_MAGIC = b"\x1f\x8b"


class Checkpoint:
    """One access point. Read from the cache, its window stays compressed
    until something asks for it: a file read needs one window of the ~400
    a 1.7 GB layer has (inflating them all took 65 ms of a `cat`)."""

    __slots__ = ("compressed", "uncompressed", "bits", "_window", "_packed")

    def __init__(self, compressed: int, uncompressed: int, bits: int, window: bytes = b"", *,
                 packed: bytes | None = None) -> None:
        self.compressed = compressed  # offset of the first whole byte after the block boundary
        self.uncompressed = uncompressed  # offset in the tar stream
        self.bits = bits  # 0-7: bits of byte compressed-1 that belong to the block
        self._window = window  # up to 32 KiB of output preceding `uncompressed`
        self._packed = packed  # the window as stored (zlib), until first asked for

    @property
    def window(self) -> bytes:
        """ValueError when a stored window does not inflate to at most WINDOW
        bytes, or was not read from the store (decode_table)."""
        if self._packed is _UNLOADED:
            raise ValueError("an access point's window was not read from the cache")
        if self._packed is not None:
            self._window, self._packed = _unpack_window(self._packed), None
        return self._window

    def load(self, packed: bytes) -> None:
        """The stored window of a point decode_table made."""
        self._packed = packed

    def packed(self) -> bytes:
        """The window as stored."""
        return self._packed if self._packed is not None else zlib.compress(self._window, 6)

    def _key(self) -> tuple[int, int, int, bytes]:
        return self.compressed, self.uncompressed, self.bits, self.window

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Checkpoint) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.compressed, self.uncompressed, self.bits))

    def __repr__(self) -> str:
        return f"Checkpoint({self.compressed}, {self.uncompressed}, {self.bits})"


_UNLOADED = b"<not loaded>"  # a sentinel (compared by identity)


def _unpack_window(packed: bytes) -> bytes:
    try:
        d = zlib.decompressobj()
        window = d.decompress(packed, WINDOW + 1)
    except zlib.error as err:
        raise ValueError(f"an access point's window is damaged ({err})") from None
    if len(window) > WINDOW or not d.eof or d.unused_data:
        raise ValueError("an access point's window is damaged")
    return window


@dataclass(slots=True)
class SeekIndex:
    """Access points of one gzip blob, in order. `covered` is how far the
    recorder got (compressed bytes); `complete` when it saw the whole blob."""

    spacing: int = DEFAULT_SPACING
    points: list[Checkpoint] = field(default_factory=list)
    covered: int = 0
    uncompressed_covered: int = 0
    complete: bool = False

    def before(self, uncompressed: int) -> Checkpoint | None:
        """The last access point at or before an uncompressed offset."""
        best = None
        lo, hi = 0, len(self.points)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.points[mid].uncompressed <= uncompressed:
                best = self.points[mid]
                lo = mid + 1
            else:
                hi = mid
        return best

    def after(self, point: Checkpoint) -> Checkpoint | None:
        """The access point following `point` (bounds a read), if any."""
        for p in self.points:
            if p.compressed > point.compressed:
                return p
        return None

    @property
    def window_bytes(self) -> int:
        return sum(len(p.window) for p in self.points)


# -- the recorder: system libz through ctypes --------------------------------


class _ZStream(ctypes.Structure):
    _fields_ = [
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    ]


Z_OK, Z_STREAM_END, Z_NEED_DICT, Z_BUF_ERROR = 0, 1, 2, -5
Z_NO_FLUSH, Z_BLOCK = 0, 5
_libz: ctypes.CDLL | None = None
_libz_checked = False


def _load_libz() -> ctypes.CDLL:
    # The usual soname first: find_library runs `ldconfig -p` in a subprocess
    # (and imports subprocess), a cost every `cat` paid before its first byte.
    try:
        return ctypes.CDLL("libz.so.1")
    except OSError:
        from ctypes.util import find_library

        name = find_library("z")
        if name is None:
            raise
        return ctypes.CDLL(name)


def libz() -> ctypes.CDLL | None:
    """The system zlib (None when absent or too old for inflateGetDictionary)."""
    global _libz, _libz_checked
    if _libz_checked:
        return _libz
    _libz_checked = True
    try:
        lib = _load_libz()
        lib.zlibVersion.restype = ctypes.c_char_p
        lib.inflateGetDictionary  # noqa: B018 - zlib >= 1.2.8; absent means no recorder
    except (OSError, AttributeError):
        return None
    lib.inflateInit2_.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.inflate.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int]
    lib.inflateEnd.argtypes = [ctypes.POINTER(_ZStream)]
    lib.inflateReset.argtypes = [ctypes.POINTER(_ZStream)]
    lib.inflateGetDictionary.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint)]
    lib.inflateSetDictionary.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_char_p, ctypes.c_uint]
    lib.inflatePrime.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int, ctypes.c_int]
    _libz = lib
    return lib


def available() -> bool:
    return libz() is not None


class Inflater:
    """Single-threaded zran walker over a gzip stream fed in order from byte 0:
    inflates into a scratch buffer and records an access point at the first
    block boundary past every `spacing` compressed bytes."""

    def __init__(self, spacing: int = DEFAULT_SPACING) -> None:
        lib = libz()
        if lib is None:
            raise RuntimeError("the system zlib is not usable")
        self._lib = lib
        self.index = SeekIndex(spacing=spacing)
        self._strm = _ZStream()
        self._ref = ctypes.byref(self._strm)
        self._out = ctypes.create_string_buffer(OUT_SCRATCH)
        self._dict = ctypes.create_string_buffer(WINDOW)
        self._dlen = ctypes.c_uint(0)
        # 47 = gzip or zlib header auto-detected, 32 KiB window
        if lib.inflateInit2_(self._ref, 47, lib.zlibVersion(), ctypes.sizeof(_ZStream)) != Z_OK:
            raise RuntimeError("inflateInit2 failed")
        self._next = 0  # compressed offset from which the next boundary is recorded
        self._between = False  # after a member's end
        self.failed = ""
        self.done = False

    def feed(self, chunk: bytes) -> None:
        """Inflate one chunk (the GIL is released inside each libz call)."""
        if self.done or self.failed or not chunk:
            return
        lib, strm, ref = self._lib, self._strm, self._ref
        buf = ctypes.c_char_p(chunk)  # points at the bytes object's own buffer: no copy
        base = ctypes.cast(buf, ctypes.c_void_p).value or 0
        pos = 0
        n = len(chunk)
        index = self.index
        pending = False  # the last call filled the scratch buffer: libz may hold more output
        while pos < n or pending:
            if self._between:
                # zero padding between members, then another member or garbage
                while pos < n and chunk[pos] == 0:
                    pos += 1
                if pos >= n:
                    break
                if chunk[pos] != _GZIP_MAGIC[0]:
                    self.done = True
                    break
                lib.inflateReset(ref)
                self._between = False
            strm.next_in = base + pos
            ahead = self._next - (index.covered + pos)  # input left before the next access point is due
            if ahead > 0:
                flush = Z_NO_FLUSH
                strm.avail_in = min(n - pos, ahead)  # so that the point is not overshot
            else:
                flush = Z_BLOCK
                strm.avail_in = n - pos
            strm.next_out = ctypes.addressof(self._out)
            strm.avail_out = OUT_SCRATCH
            before_in, before_out = strm.total_in, strm.total_out
            ret = lib.inflate(ref, flush)
            used = strm.total_in - before_in
            index.uncompressed_covered += strm.total_out - before_out
            pos += used
            # More to come without more input: output that did not fit, or (after a stop at
            # a block boundary) the trailer libz already pulled into its bit buffer.
            pending = strm.avail_out == 0 or (flush == Z_BLOCK and ret == Z_OK)
            if ret == Z_STREAM_END:
                self._between = True
                continue
            if ret not in (Z_OK, Z_BUF_ERROR):
                self.failed = f"zlib error {ret}"
                break
            if flush == Z_BLOCK and (strm.data_type & 128) and not (strm.data_type & 64):
                self._record(index.covered + pos, strm.data_type & 7)
        if not self.failed:
            index.covered += n

    def _record(self, compressed: int, bits: int) -> None:
        index = self.index
        self._dlen.value = WINDOW
        if self._lib.inflateGetDictionary(self._ref, self._dict, ctypes.byref(self._dlen)) != Z_OK:
            return
        window = self._dict.raw[: self._dlen.value]
        index.points.append(Checkpoint(compressed, index.uncompressed_covered, bits, window))
        self._next = compressed + index.spacing

    def finish(self) -> SeekIndex:
        """The stream is over (or was cut): close libz, keep what was found."""
        if self._strm.state:
            self._lib.inflateEnd(self._ref)
            self._strm.state = None
        self.index.complete = self._between and not self.failed
        return self.index


class Recorder:
    """Records access points in a child process, fed the raw chunks of a
    listing read, and never makes the listing wait for it.

    A thread would share the listing's GIL: every libz call it returns from
    asks for the GIL back, and on a loaded machine the listing then stalls
    until that thread is scheduled (measured: +14 % to +54 % listing time).
    A child process shares nothing: the listing appends each chunk to an
    unlinked temporary file (a write that releases the GIL) and the child, at
    idle priority, inflates it with libz: once the listing is over
    (`FOLLOW` False; a concurrent inflate still competed for this 2-core
    machine's cores), or as it grows. `finish()` waits for it and reads the
    index it prints; `abandon()` stops it now with the access points it made
    (none, when it had not started). The file is at most `MAX_SPILL`."""

    def __init__(self, spacing: int = DEFAULT_SPACING) -> None:
        import subprocess
        import sys
        import tempfile

        self.spacing = spacing
        self.note = ""
        self._fed = 0
        self._gave_up = False
        self._result: SeekIndex | None = None
        self._lock = threading.Lock()
        fh = tempfile.TemporaryFile(prefix="layerslayer-gzindex-")
        self._fd = os.dup(fh.fileno())
        fh.close()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(self._fd), str(spacing), "1" if FOLLOW else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            pass_fds=(self._fd,), close_fds=True,
        )

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def feed(self, chunk: bytes) -> None:
        if self._gave_up:
            return
        try:
            if self._fed + len(chunk) > MAX_SPILL:
                raise OSError("spill limit")
            view = memoryview(chunk)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            self._fed += len(chunk)
        except OSError:
            self._gave_up = True
            self.note = "the seek index stopped early: no room for the bytes it had not inflated yet"

    def _end(self, word: str) -> SeekIndex:
        with self._lock:
            if self._result is not None:
                return self._result
            index = SeekIndex(spacing=self.spacing)
            try:
                assert self._proc.stdin is not None and self._proc.stdout is not None
                self._proc.stdin.write(f"{word} {self._fed}\n".encode())
                self._proc.stdin.close()
                data = self._proc.stdout.read()
                self._proc.wait()
                if self._proc.returncode == 0 and data:
                    index = decode(data)
            except (OSError, ValueError):
                self._proc.kill()
                self._proc.wait()
            finally:
                os.close(self._fd)
            self._result = index
            return index

    def finish(self) -> SeekIndex:
        """Wait for the recorder to catch up; the access points found."""
        return self._end("END")

    def abandon(self) -> SeekIndex:
        """Stop now (a cancelled read, or closing while it still runs): what
        was recorded so far is kept when the child had not been told to
        finish; a child already finishing is killed (nothing kept), so that
        closing never waits for a long inflate."""
        if self._lock.acquire(blocking=False):
            self._lock.release()
            return self._end("STOP")
        self._proc.kill()
        return self._end("STOP")


# The child: inflate the growing file from byte 0, follow it until the parent
# says END <size> (then finish) or STOP (then stop), print the encoded index.
_CHILD = r"""
import os, select, sys
try:
    os.nice(19)
except OSError:
    pass
from layerslayer_tui.peek.gzindex import Inflater, encode
fd, spacing = int(sys.argv[1]), int(sys.argv[2])
inf = Inflater(spacing)
pos, end, stop = 0, None, False
stdin = sys.stdin.buffer
if sys.argv[3] == "0":  # deferred: inflate only once the listing is over, so the two never compete
    word, _, size = stdin.readline().decode().partition(" ")
    if word == "END":
        end = int(size)
    else:
        stop = True
while not stop and not inf.done and not inf.failed:
    if end is None or pos < end:
        chunk = os.pread(fd, 4 << 20 if end is None else min(4 << 20, end - pos), pos)
    else:
        break
    if chunk:
        pos += len(chunk)
        inf.feed(chunk)
    elif end is not None:
        break  # the file is shorter than the parent said: keep what was found
    if end is None and (not chunk or select.select([stdin], [], [], 0)[0]):
        ready = select.select([stdin], [], [], 0.05)[0]
        if ready:
            word, _, size = stdin.readline().decode().partition(" ")
            if word == "STOP" or not word:
                stop = True
            else:
                end = int(size)
sys.stdout.buffer.write(encode(inf.finish()))
"""


# -- reading from an access point --------------------------------------------


class ResumedInflate:
    """Inflates a gzip blob from an access point: `write` the compressed bytes
    from `start_offset(point)` on; the sink gets the tar stream from
    `point.uncompressed` on. libz resumes mid-byte (`inflatePrime`) with the
    window as dictionary; a later gzip member is followed with a fresh
    (python-isal when present) gzip decoder."""

    def __init__(self, point: Checkpoint, sink: Callable[[bytes], None]) -> None:
        lib = libz()
        if lib is None:
            raise RuntimeError("the system zlib is not usable")
        self._lib = lib
        self._sink = sink
        self._point = point
        self._primed = point.bits == 0
        self._strm = _ZStream()
        self._ref = ctypes.byref(self._strm)
        self._out = ctypes.create_string_buffer(OUT_SCRATCH)
        if lib.inflateInit2_(self._ref, -15, lib.zlibVersion(), ctypes.sizeof(_ZStream)) != Z_OK:
            raise RuntimeError("inflateInit2 failed")
        if point.window and lib.inflateSetDictionary(self._ref, point.window, len(point.window)) != Z_OK:
            self.close()
            raise ValueError("the access point's window was refused")
        self._raw = True  # still inside the member the access point belongs to
        self._rest: zlib._Decompress | None = None  # type: ignore[name-defined]
        self._skip = 0  # trailer bytes of the raw member still to pass over

    @staticmethod
    def start_offset(point: Checkpoint) -> int:
        return point.compressed - (1 if point.bits else 0)

    def write(self, data: bytes) -> None:
        from ..errors import LayerFormatError

        if not data:
            return
        if not self._primed:
            self._primed = True
            first, data = data[0], data[1:]
            if self._lib.inflatePrime(self._ref, self._point.bits, first >> (8 - self._point.bits)) != Z_OK:
                raise LayerFormatError("The layer's gzip data cannot be resumed at its access point.")
        if self._raw:
            data = self._inflate_raw(data)
        if data:
            self._members(data)

    def _inflate_raw(self, data: bytes) -> bytes:
        from ..errors import LayerFormatError

        lib, strm, ref = self._lib, self._strm, self._ref
        buf = ctypes.c_char_p(data)
        base = ctypes.cast(buf, ctypes.c_void_p).value or 0
        strm.next_in = base
        strm.avail_in = len(data)
        while True:
            strm.next_out = ctypes.addressof(self._out)
            strm.avail_out = OUT_SCRATCH
            ret = lib.inflate(ref, Z_NO_FLUSH)
            made = OUT_SCRATCH - strm.avail_out
            if made:
                # string_at copies `made` bytes; `.raw[:made]` copied the whole 4 MiB buffer first, every call
                self._sink(ctypes.string_at(ctypes.addressof(self._out), made))
            if ret == Z_STREAM_END:
                self._raw = False
                rest = data[len(data) - strm.avail_in :]
                self.close()
                return rest[8:] if len(rest) >= 8 else self._keep_trailer(rest)
            if ret not in (Z_OK, Z_BUF_ERROR):
                raise LayerFormatError("The layer's gzip data is corrupt after its access point.")
            if strm.avail_in == 0 and strm.avail_out:
                return b""
            if ret == Z_BUF_ERROR and strm.avail_out:
                return b""
        del buf  # pragma: no cover

    def _keep_trailer(self, rest: bytes) -> bytes:
        self._skip = 8 - len(rest)
        return b""

    def _members(self, data: bytes) -> None:
        from ..errors import LayerFormatError

        skip = self._skip
        if skip:
            self._skip = max(0, skip - len(data))
            data = data[skip:]
        while data:
            if self._rest is None or self._rest.eof:
                data = data.lstrip(b"\x00")
                if not data or not data.startswith(_GZIP_MAGIC[: len(data)]):
                    return  # padding, or trailing garbage after the last member (as gzip)
                self._rest = _fast_zlib.decompressobj(31)
            d = self._rest
            try:
                out = d.decompress(data, 1 << 20)
                if out:
                    self._sink(out)
                while d.unconsumed_tail and not d.eof:
                    out = d.decompress(d.unconsumed_tail, 1 << 20)
                    if out:
                        self._sink(out)
            except Exception as err:  # zlib.error or isal's error
                raise LayerFormatError(f"The layer's gzip data is corrupt ({err}).") from None
            data = d.unused_data if d.eof else b""

    def close(self) -> None:
        if self._strm.state:
            self._lib.inflateEnd(self._ref)
            self._strm.state = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


# -- the stored form ----------------------------------------------------------

_MAGIC = b"LSGZIX1\x00"  # version 1: the whole record one zlib stream (still read)
_MAGIC2 = b"LSGZIX2\x00"  # version 2: plain head and table, each window its own zlib stream
_HEAD = struct.Struct("<QQQB")  # spacing, covered, uncompressed_covered, complete
_POINT = struct.Struct("<QQBI")  # compressed, uncompressed, bits, window length
_POINT2 = struct.Struct("<QQBI")  # compressed, uncompressed, bits, stored window length
MAX_POINTS = 1 << 20


def encode(index: SeekIndex) -> bytes:
    """Versioned binary form (2): the table plain, each window compressed on
    its own (level 6 zlib), so that a read inflates only the one it uses."""
    packed = [p.packed() for p in index.points]
    parts = [_MAGIC2, _HEAD.pack(index.spacing, index.covered, index.uncompressed_covered, int(index.complete))]
    parts.append(struct.pack("<I", len(index.points)))
    for p, w in zip(index.points, packed):
        parts.append(_POINT2.pack(p.compressed, p.uncompressed, p.bits, len(w)))
    parts.extend(packed)
    return b"".join(parts)


def decode(blob: bytes, *, max_size: int = 1 << 31) -> SeekIndex:
    """The inverse of `encode` (either version); ValueError for anything
    malformed (a version-2 window: when it is first used)."""
    if blob.startswith(_MAGIC2):
        return _decode(blob, _POINT2, packed=True)
    try:
        d = zlib.decompressobj()
        raw = d.decompress(blob, max_size)
        if d.unconsumed_tail:
            raise ValueError("seek index too large")
        if not d.eof:
            raise ValueError("seek index cut short")
    except zlib.error as err:
        raise ValueError(f"seek index not zlib data: {err}") from None
    if not raw.startswith(_MAGIC):
        raise ValueError("not a seek index")
    return _decode(raw, _POINT, packed=False)


def _parse(raw: bytes, table: struct.Struct, *, packed: bool, total: int) -> tuple[SeekIndex, list[int]]:
    """The head and table (from `raw`, which holds at least them) of a
    record of `total` bytes: the index with unloaded windows, and where each
    window starts in the record."""
    pos = len(_MAGIC)
    try:
        spacing, covered, ucovered, complete = _HEAD.unpack_from(raw, pos)
        pos += _HEAD.size
        (count,) = struct.unpack_from("<I", raw, pos)
        pos += 4
        if count > MAX_POINTS:
            raise ValueError("too many access points")
        heads = [table.unpack_from(raw, pos + i * table.size) for i in range(count)]
    except struct.error:
        raise ValueError("seek index cut short") from None
    pos += count * table.size
    points, starts = [], []
    last_c = last_u = -1
    for compressed, uncompressed, bits, wlen in heads:
        # A stored window is at most WINDOW inflated; compressed, zlib adds a few bytes to incompressible data.
        if bits > 7 or wlen > (WINDOW + 64 if packed else WINDOW) or compressed <= last_c or uncompressed < last_u:
            raise ValueError("seek index out of order")
        if compressed > covered or pos + wlen > total:
            raise ValueError("seek index inconsistent")
        points.append(Checkpoint(compressed, uncompressed, bits, packed=_UNLOADED))
        starts.append(pos)
        pos += wlen
        last_c, last_u = compressed, uncompressed
    if pos != total:
        raise ValueError("seek index has trailing bytes")
    starts.append(pos)
    return SeekIndex(spacing=spacing, points=points, covered=covered, uncompressed_covered=ucovered,
                     complete=bool(complete)), starts


def _decode(raw: bytes, table: struct.Struct, *, packed: bool) -> SeekIndex:
    index, starts = _parse(raw, table, packed=packed, total=len(raw))
    for p, a, b in zip(index.points, starts, starts[1:]):
        if packed:
            p.load(raw[a:b])
        else:
            p._window, p._packed = raw[a:b], None
    return index


TABLE_HEAD = len(_MAGIC2) + _HEAD.size + 4  # bytes to read before table_size() can answer


def table_size(prefix: bytes) -> int | None:
    """Bytes of a version-2 record up to the end of its table (from its first
    TABLE_HEAD bytes); None for another version (decode the whole record)."""
    if not prefix.startswith(_MAGIC2) or len(prefix) < TABLE_HEAD:
        return None
    (count,) = struct.unpack_from("<I", prefix, TABLE_HEAD - 4)
    return TABLE_HEAD + min(count, MAX_POINTS + 1) * _POINT2.size


def decode_table(raw: bytes, total: int) -> tuple[SeekIndex, list[tuple[int, int]]]:
    """A version-2 record's head and table only (`raw`: its first
    table_size() bytes; `total`: the record's length): the index with no
    window read yet (Checkpoint.load gives one), and where each window lies
    in the record, (start, length). ValueError for anything malformed."""
    if not raw.startswith(_MAGIC2):
        raise ValueError("not a version-2 seek index")
    index, starts = _parse(raw, _POINT2, packed=True, total=total)
    return index, [(a, b - a) for a, b in zip(starts, starts[1:])]
