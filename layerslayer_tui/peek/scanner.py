"""The incremental tar header scanner: feed it decompressed bytes in chunks of
any size and it returns the entries whose headers are complete.

It reads headers only. File contents are skipped by counting (never copied),
so memory stays flat whatever the file sizes; only PAX and GNU long-name
records are buffered, and those are bounded by MAX_RECORD (one record) and
MAX_ENTRY_PAX (all of one entry's). Global PAX state is bounded by
MAX_GLOBAL_PAX and shared by the entries it applies to, never copied into
each. Every entry keeps the uncompressed offset of its first header (the PAX /
long-name header when there is one, like tarfile's TarInfo.offset) so a file
can be carved later.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from ..columns import DIR_CODE as _DIR_CODE
from ..columns import HARDLINK_CODE as _HARDLINK_CODE
from ..columns import TYPE_CODE, Entries
from ..entry import EntryType, TarEntry
from ..errors import LayerFormatError
from ..fs.paths import tar_name as normalise  # the one name rule; keeps "/" and ".." for fs/ to flag
from . import tarformat as tf

_HEADER_UNPACK = tf.HEADER.unpack_from
_PLAIN_UNPACK = tf.PLAIN_HEADER.unpack_from
_LINKNAME = tf.LINKNAME_OFFSET
_PREFIX = tf.PREFIX_OFFSET
_CHECKSUM_OK = tf.checksum_ok
_BLOCK = tf.BLOCKSIZE
_NULSP = b"\x00 "
_FILE = EntryType.FILE
_DIR = EntryType.DIR
_HARDLINK = EntryType.HARDLINK
_DEVICES = (EntryType.CHAR, EntryType.BLOCK)
# Header-only types never carry data, whatever their size field says (Go's
# archive/tar and CPython's tarfile agree on this).
_HEADER_ONLY = frozenset(
    (tf.LNKTYPE, tf.SYMTYPE, tf.CHRTYPE, tf.BLKTYPE, tf.DIRTYPE, tf.FIFOTYPE)
)
_MAX_OWNERS = 4096
# The type flags `_run` reads, with their column codes: plain members (sparse
# files, devices and unknown flags take the full rules in `_block`).
_FAST_CODES = {flag: TYPE_CODE[etype] for flag, etype in tf.ENTRY_TYPES.items()
               if flag not in (tf.GNUTYPE_SPARSE, tf.CHRTYPE, tf.BLKTYPE)}
_OCTAL5 = (8, 8, 8, 8, 8)
_ENTRY_PAX_TYPES = frozenset((tf.XHDTYPE, tf.SOLARIS_XHDTYPE))
_RECORD_TYPES = frozenset(
    (tf.GNUTYPE_LONGNAME, tf.GNUTYPE_LONGLINK, tf.XHDTYPE, tf.XGLTYPE, tf.SOLARIS_XHDTYPE)
)


class ContentSink(Protocol):
    """Receives the stored content bytes of one captured entry."""

    def write(self, data: memoryview) -> None: ...

    def end(self) -> None: ...


Capture = Callable[[TarEntry], "ContentSink | None"]


def _fail(offset: int, what: str) -> LayerFormatError:
    return LayerFormatError(f"The layer is not a readable tar archive: {what} at offset {offset}.")


def _text(raw: bytes) -> str:
    """A NUL-terminated header string, decoded like tarfile (utf-8, surrogateescape)."""
    return raw.partition(b"\x00")[0].decode("utf-8", "surrogateescape")


def _num(raw: bytes, offset: int) -> int:
    """A header number: octal ASCII padded with NULs/spaces, or GNU base-256."""
    first = raw[0]
    if first & 0x80:
        if first == 0xFF:
            return int.from_bytes(raw, "big", signed=True)
        return int.from_bytes(bytes((first & 0x7F,)) + raw[1:], "big")
    try:
        return int(raw.rstrip(_NULSP) or b"0", 8)
    except ValueError:
        pass
    text = raw.partition(b"\x00")[0].strip()
    try:
        return int(text or b"0", 8)
    except ValueError:
        raise _fail(offset, "a malformed number in a header") from None


def parse_pax(record: bytes, offset: int) -> dict[str, bytes]:
    """PAX records, "%d key=value\\n" where the length counts itself."""
    out: dict[str, bytes] = {}
    pos = 0
    end = len(record)
    while pos < end and record[pos] != 0:
        space = record.find(b" ", pos, pos + 24)
        if space < 0:
            raise _fail(offset, "a malformed PAX record")
        try:
            length = int(record[pos:space])
        except ValueError:
            raise _fail(offset, "a malformed PAX record length") from None
        stop = pos + length
        if length <= space - pos + 1 or stop > end or record[stop - 1] != 0x0A:
            raise _fail(offset, "a malformed PAX record")
        eq = record.find(b"=", space + 1, stop)
        if eq <= space + 1:
            raise _fail(offset, "a PAX record without a key")
        out[record[space + 1 : eq].decode("utf-8", "surrogateescape")] = record[eq + 1 : stop - 1]
        pos = stop
    return out


def _pax_text(raw: bytes) -> str:
    # UTF-8, and raw bytes kept reversibly (hdrcharset=BINARY too), as tarfile does.
    return raw.decode("utf-8", "surrogateescape")


def _sparse_pairs(buf: memoryview, start: int, count: int, offset: int) -> list[tuple[int, int]]:
    pairs = []
    width = tf.GNU_SPARSE_FIELD
    for k in range(count):
        at = start + k * 2 * width
        off_raw = bytes(buf[at : at + width])
        if not off_raw.strip(_NULSP):
            break
        pairs.append((_num(off_raw, offset), _num(bytes(buf[at + width : at + 2 * width]), offset)))
    return pairs


class TarScanner:
    """Incremental tar header reader. `feed` returns the entries completed by
    the chunk; `finished` becomes True at the end-of-archive marker (or, after
    `end_of_stream()`, when the data stopped exactly between members)."""

    def __init__(self, capture: Capture | None = None) -> None:
        self.capture = capture
        self.finished = False
        self.offset = 0  # uncompressed bytes fed so far
        self._skip = 0  # content + padding still to pass over
        self._sink: ContentSink | None = None
        self._sink_left = 0
        self._hbuf = bytearray()
        self._rec: bytearray | None = None
        self._rec_left = 0
        self._rec_pad = 0
        self._rec_type = b""
        self._rec_offset = 0
        self._longname: str | None = None
        self._longlink: str | None = None
        self._pax: dict[str, bytes] = {}
        self._pax_bytes = 0  # record bytes buffered for the next entry
        # Global PAX state: the raw records, the plain keys applied per entry,
        # and the xattrs as one dict every entry without its own xattrs shares.
        self._gpax: dict[str, bytes] = {}
        self._gplain: dict[str, bytes] = {}
        self._gxattrs: dict[str, str] | None = None
        self.global_pax_refused = 0  # 'g' records ignored for exceeding the bounds
        self._first_offset = -1
        self._sparse: tuple[TarEntry, int, list[tuple[int, int]]] | None = None
        # The owner table every batch shares, and the raw uname/gname fields' row values in it.
        self._table = Entries()
        self._owners_raw: dict[bytes, int] = {}  # uname+gname's 64 raw bytes -> the owner's row value
        self._add: tuple = ()
        self._links: dict[int, str] = {}

    # -- feeding -----------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> Entries:
        out = Entries.sharing_owners(self._table)
        self._add = out.appenders()
        self._links = out.sparse("link")
        mv = data if isinstance(data, memoryview) else memoryview(data)
        n = len(mv)
        base = self.offset
        i = 0
        try:
            while i < n:
                skip = self._skip
                if skip:
                    k = skip if skip < n - i else n - i
                    if self._sink_left:
                        self._to_sink(mv[i : i + min(k, self._sink_left)])
                    i += k
                    self._skip = skip - k
                    continue
                if self.finished:
                    break
                if self._rec is not None:
                    k = min(self._rec_left, n - i)
                    self._rec += mv[i : i + k]
                    i += k
                    self._rec_left -= k
                    if not self._rec_left:
                        self._record_done()
                    continue
                hbuf = self._hbuf
                if hbuf:
                    k = min(tf.BLOCKSIZE - len(hbuf), n - i)
                    hbuf += mv[i : i + k]
                    i += k
                    if len(hbuf) < tf.BLOCKSIZE:
                        break
                    block = memoryview(bytes(hbuf))
                    hbuf.clear()
                    self._block(block, 0, base + i - tf.BLOCKSIZE, out)
                elif n - i >= _BLOCK:
                    j = self._run(mv, i, n, base, out)
                    if j != i:
                        i = j
                        continue
                    self._block(mv, i, base + i, out)
                    i += _BLOCK
                    skip = self._skip
                    if skip and skip <= n - i and not self._sink_left:
                        i += skip  # the member's contents, passed over in the same turn
                        self._skip = 0
                else:
                    hbuf += mv[i:]
                    i = n
        finally:
            self.offset = base + n
        return out

    def _run(self, mv: memoryview, i: int, n: int, base: int, out: Entries) -> int:
        """A run of plain headers (ustar/GNU, octal numbers, a good checksum, a
        file, directory, link or fifo) read in one loop, straight into the
        columns; returns where it stopped: at the first header that needs the
        full rules (`_block`), which reads it again. No state carried from a
        record (PAX, long name, sparse, a capture) may apply: then it reads none."""
        if (self._pax or self._gplain or self._longname is not None or self._longlink is not None
                or self._gxattrs is not None or self.capture is not None or self._sparse is not None
                or self._first_offset >= 0 or self.finished):
            return i
        unpack, checksum_ok, codes, header_only, nulsp = _PLAIN_UNPACK, _CHECKSUM_OK, _FAST_CODES, _HEADER_ONLY, _NULSP
        add_path, add_type, add_size, add_mode, add_uid, add_gid, add_owner, add_mtime, add_offset = self._add
        owners, links, paths = self._owners_raw, self._links, out.paths
        posix, areg, max_size = tf.POSIX_MAGIC, tf.AREGTYPE, tf.MAX_SIZE
        while n - i >= _BLOCK:
            name, mode, uid, gid, size, mtime, chksum, typeflag, link0, magic, owner_raw, prefix0 = unpack(mv, i)
            code = codes.get(typeflag)
            digits = chksum.strip(nulsp)
            if code is None or not digits:
                break
            tokens = b" ".join((mode, uid, gid, size, mtime)).replace(b"\x00", b" ").split()
            if len(tokens) != 5:
                break
            try:
                n_chk = int(digits, 8)
                n_mode, n_uid, n_gid, n_size, n_mtime = map(int, tokens, _OCTAL5)
            except ValueError:
                break
            if n_size > max_size or not checksum_ok(mv, i, n_chk):
                break
            path = name.partition(b"\x00")[0].decode("utf-8", "surrogateescape")
            if prefix0 and magic == posix:
                path = _text(bytes(mv[i + _PREFIX : i + _BLOCK - 12])) + "/" + path
            link = None
            if link0:
                link = _text(bytes(mv[i + _LINKNAME : i + _LINKNAME + 100]))
                if code == _HARDLINK_CODE:
                    link = normalise(link)
            if path[-1:] == "/" or path[:1] == ".":  # only these need tar_name's rules
                if typeflag == areg and path[-1:] == "/":
                    code = _DIR_CODE
                path = normalise(path)
            if path:
                owner = owners.get(owner_raw)
                if owner is None:
                    uname, gname = owner_raw[:32], owner_raw[32:]
                    owner = self._table.owner_index(_text(uname) if uname[0] else "", _text(gname) if gname[0] else "")
                    if len(owners) < _MAX_OWNERS:  # a hostile layer may name a new owner in every header
                        owners[owner_raw] = owner
                if link is not None:
                    links[len(paths)] = link
                add_path(path)
                add_type(code)
                add_size(n_size)
                add_mode(n_mode & 0o7777)
                add_uid(n_uid)
                add_gid(n_gid)
                add_owner(owner)
                add_mtime(float(n_mtime))
                add_offset(base + i)
            i += _BLOCK
            if typeflag not in header_only and n_size:
                skip = (n_size + 511) & ~511
                if skip > n - i:  # the contents go on into the next chunk
                    self._skip = skip - (n - i)
                    return n
                i += skip
        return i

    def end_of_stream(self) -> bool:
        """The decompressed stream has ended: an archive that stops exactly
        between members (no zero blocks) is finished too. Returns `finished`."""
        if not self.finished and self.at_boundary:
            self.finished = True
        return self.finished

    @property
    def at_boundary(self) -> bool:
        return (
            not self._skip
            and not self._hbuf
            and self._rec is None
            and self._sparse is None
            and self._first_offset < 0
        )

    # -- internals ---------------------------------------------------------

    def _to_sink(self, piece: memoryview) -> None:
        assert self._sink is not None
        self._sink_left -= len(piece)
        sink = self._sink
        if not self._sink_left:
            self._sink = None
        sink.write(piece)
        if not self._sink_left:
            sink.end()

    def _record_done(self) -> None:
        rec = bytes(self._rec or b"")
        self._rec = None
        self._skip = self._rec_pad
        kind = self._rec_type
        if kind == tf.GNUTYPE_LONGNAME:
            self._longname = _text(rec)
        elif kind == tf.GNUTYPE_LONGLINK:
            self._longlink = _text(rec)
        elif kind == tf.XGLTYPE:
            self._set_global({**self._gpax, **parse_pax(rec, self._rec_offset)})
        else:
            self._pax.update(parse_pax(rec, self._rec_offset))

    def _set_global(self, state: dict[str, bytes]) -> None:
        size = sum(len(key) + len(value) for key, value in state.items())
        if len(state) > tf.MAX_GLOBAL_PAX_KEYS or size > tf.MAX_GLOBAL_PAX:
            self.global_pax_refused += 1
            return
        prefix = tf.PAX_XATTR_PREFIX
        self._gpax = state
        self._gplain = {k: v for k, v in state.items() if not k.startswith(prefix)}
        xattrs = {k[len(prefix) :]: _pax_text(v) for k, v in state.items() if v and k.startswith(prefix)}
        self._gxattrs = xattrs or None

    @property
    def warning(self) -> str:
        """One sentence about what the scanner refused to apply, or ""."""
        n = self.global_pax_refused
        if not n:
            return ""
        return (
            f"{n} global PAX header{'s were' if n > 1 else ' was'} ignored: global state applies to every "
            f"entry and is limited to {tf.MAX_GLOBAL_PAX} bytes in {tf.MAX_GLOBAL_PAX_KEYS} keys."
        )

    def _block(self, buf: memoryview, off: int, boff: int, out: Entries) -> None:
        if self._sparse is not None:
            self._sparse_extension(buf, off, boff, out)
            return
        (
            name,
            mode,
            uid,
            gid,
            size,
            mtime,
            chksum,
            typeflag,
            linkname,
            magic,
            _version,
            uname,
            gname,
            devmajor,
            devminor,
            prefix,
        ) = _HEADER_UNPACK(buf, off)
        digits = chksum.strip(_NULSP)
        if not digits:
            if buf[off : off + _BLOCK] == tf.ZERO_BLOCK:
                # tarfile and GNU tar both stop at the first zero block.
                self.finished = True
                return
            raise _fail(boff, "a header without a checksum")
        try:
            n_chk = int(digits, 8)
        except ValueError:
            n_chk = _num(chksum, boff)
        if not _CHECKSUM_OK(buf, off, n_chk):
            raise _fail(boff, "a bad header checksum")
        # The five octal fields in one go: joined with spaces, NULs made
        # spaces, exactly five tokens means five plain octal numbers.
        # Anything else (empty fields, base-256, junk) takes the careful path.
        tokens = b" ".join((mode, uid, gid, size, mtime)).replace(b"\x00", b" ").split()
        try:
            if len(tokens) != 5:
                raise ValueError
            n_mode, n_uid, n_gid, n_size, n_mtime = map(int, tokens, _OCTAL5)  # int(t, 8) in C, no frames
        except ValueError:
            n_mode, n_uid, n_gid, n_size, n_mtime = (_num(f, boff) for f in (mode, uid, gid, size, mtime))
        pax = self._pax
        gpax = self._gplain
        psize = pax.get("size") or gpax.get("size") if (pax or gpax) else None
        stored = n_size if psize is None else self._pax_int(psize, boff)
        if stored < 0 or stored > tf.MAX_SIZE:
            raise _fail(boff, "an impossible entry size")

        if typeflag in _RECORD_TYPES:
            if stored > tf.MAX_RECORD:
                raise _fail(boff, "a PAX or long-name record over 1 MiB")
            if typeflag != tf.XGLTYPE and self._first_offset < 0:
                self._first_offset = boff  # the first record of a new entry
                self._pax_bytes = 0
            if typeflag in _ENTRY_PAX_TYPES:
                self._pax_bytes += stored
                if self._pax_bytes > tf.MAX_ENTRY_PAX:
                    raise _fail(boff, "PAX records over 1 MiB for one entry")
            self._rec = bytearray()
            self._rec_left = stored
            self._rec_pad = -stored % _BLOCK
            self._rec_type = typeflag
            self._rec_offset = boff
            if not stored:
                self._record_done()
            return

        first = self._first_offset
        self._first_offset = -1
        # Plain headers are read by _run straight into the columns; what comes
        # here takes the full rules (a PAX or long-name record before it, a
        # capture, a device, base-256 numbers, a header split across chunks).
        etype = tf.ENTRY_TYPES.get(typeflag)
        extra: dict[str, object] | None = None
        if etype is None:
            etype = _FILE
            extra = {"typeflag": typeflag.decode("latin-1")}

        if self._longname is not None:
            path = self._longname
        else:
            path = _text(name)
            if magic == tf.POSIX_MAGIC and prefix[0]:
                path = _text(prefix) + "/" + path
        if typeflag == tf.AREGTYPE and path.endswith("/"):
            etype = _DIR
        link: str | None = None
        if self._longlink is not None:
            link = self._longlink
        elif linkname[0]:
            link = _text(linkname)

        entry = TarEntry(
            path,
            etype,
            stored,
            n_mode & 0o7777,
            n_uid,
            n_gid,
            _text(uname) if uname[0] else "",
            _text(gname) if gname[0] else "",
            float(n_mtime),
            link,
            first if first >= 0 else boff,
            0,
            0,
            None,
            extra,
        )
        if etype in _DEVICES:
            entry.devmajor = _num(devmajor, boff)
            entry.devminor = _num(devminor, boff)
        if pax or gpax:
            self._apply_pax({**gpax, **pax} if gpax else pax, entry, boff)
        if self._gxattrs is not None:
            self._global_xattrs(entry, pax)
        self._longname = None
        self._longlink = None
        self._pax = {}

        if typeflag in _HEADER_ONLY:
            stored = 0
        if typeflag == tf.GNUTYPE_SPARSE:
            pairs = _sparse_pairs(buf, off + tf.GNU_SPARSE_OFFSET, tf.GNU_SPARSE_PAIRS, boff)
            entry.size = _num(bytes(buf[off + tf.GNU_REALSIZE : off + tf.GNU_REALSIZE + tf.GNU_REALSIZE_LEN]), boff)
            if buf[off + tf.GNU_ISEXTENDED]:
                self._sparse = (entry, stored, pairs)
                return
            entry.extra = {"sparse": pairs}
        self._emit(entry, stored, out)

    def _sparse_extension(self, buf: memoryview, off: int, boff: int, out: Entries) -> None:
        assert self._sparse is not None
        entry, stored, pairs = self._sparse
        pairs.extend(_sparse_pairs(buf, off, tf.GNU_EXT_PAIRS, boff))
        if buf[off + tf.GNU_EXT_ISEXTENDED]:
            return
        self._sparse = None
        entry.extra = {"sparse": pairs}
        self._emit(entry, stored, out)

    def _emit(self, entry: TarEntry, stored: int, out: Entries) -> None:
        self._skip = (stored + 511) & ~511
        path = normalise(entry.path)
        entry.path = path
        if entry.type is _HARDLINK and entry.link is not None:
            entry.link = normalise(entry.link)
        if path:
            out.append(entry)
        if self.capture is not None and path:
            sink = self.capture(entry)
            if sink is not None:
                if stored:
                    self._sink = sink
                    self._sink_left = stored
                else:
                    sink.end()

    def _global_xattrs(self, entry: TarEntry, pax: dict[str, bytes]) -> None:
        shared = self._gxattrs
        assert shared is not None
        prefix = tf.PAX_XATTR_PREFIX
        own = [k for k in pax if k.startswith(prefix)]
        if not own:
            entry.xattrs = shared  # one dict for every such entry: never mutate it
            return
        merged = {**shared, **(entry.xattrs or {})}
        for key in own:
            if not pax[key]:  # an empty record deletes the global value (POSIX)
                merged.pop(key[len(prefix) :], None)
        entry.xattrs = merged or None

    @staticmethod
    def _pax_int(raw: bytes, offset: int) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise _fail(offset, "a malformed PAX number") from None
        if not -(1 << 63) <= value < 1 << 63:  # what Go's archive/tar accepts; the listing's columns hold 64 bits
            raise _fail(offset, "a PAX number out of range")
        return value

    def _apply_pax(self, pax: dict[str, bytes], entry: TarEntry, offset: int) -> None:
        text = _pax_text
        for key, raw in pax.items():
            if not raw and key != "linkpath":
                continue
            if key == "path":
                entry.path = text(raw)
            elif key == "linkpath":
                entry.link = text(raw) or None
            elif key == "size":
                entry.size = self._pax_int(raw, offset)
            elif key == "uid":
                entry.uid = self._pax_int(raw, offset)
            elif key == "gid":
                entry.gid = self._pax_int(raw, offset)
            elif key == "uname":
                entry.uname = text(raw)
            elif key == "gname":
                entry.gname = text(raw)
            elif key == "mtime":
                try:
                    mtime = float(raw)
                except ValueError:
                    raise _fail(offset, "a malformed PAX mtime") from None
                # "inf", "nan" and "1e400" parse, but are no time (and no valid JSON on export).
                if not math.isfinite(mtime):
                    raise _fail(offset, "a malformed PAX mtime")
                entry.mtime = mtime
            elif key.startswith(tf.PAX_XATTR_PREFIX):
                if entry.xattrs is None:
                    entry.xattrs = {}
                entry.xattrs[key[len(tf.PAX_XATTR_PREFIX) :]] = text(raw)
        # GNU tar's PAX sparse files: 1.0 names and sizes the real file in
        # GNU.sparse.name/realsize, 0.x in path and GNU.sparse.size.
        if "GNU.sparse.name" in pax:
            entry.path = text(pax["GNU.sparse.name"])
        real = pax.get("GNU.sparse.realsize") or pax.get("GNU.sparse.size")
        if real:
            entry.size = self._pax_int(real, offset)
            version = (
                f"{pax.get('GNU.sparse.major', b'0').decode('ascii', 'replace')}."
                f"{pax.get('GNU.sparse.minor', b'0').decode('ascii', 'replace')}"
            )
            entry.extra = {**(entry.extra or {}), "sparse_pax": version}
