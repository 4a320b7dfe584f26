"""A layer's entries as columns: the compact listing model.

A `TarEntry` object costs about 200 bytes with its float and int fields; a
million of them (a big node_modules layer) is 200 MB before any tree is
built. `Entries` keeps the same facts as one column per field: paths in a
list of str (shared with whoever shows them), numbers in packed `array`s,
owner names as one small table of (uname, gname) pairs, and the rare fields
(link targets, device numbers, xattrs, reader extras) in dicts keyed by row.
That is about 45 bytes a row beside the path.

It reads like a list of TarEntry (len, index, slice, iterate, ==) so code
that wants objects still gets them, built on demand and not kept; code that
walks many rows reads the columns (`path`, `size_of`, `type_of`...).
The scanner appends rows to it directly (`add`), without making an object.

Why `array` and not numpy: the rows arrive one at a time from the scanner,
and appending to an `array` is a C call, while numpy would need batches built
in Python lists first; no column is ever computed on as a whole here (the
decisions are per path), so numpy's vector speed would buy nothing.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from .entry import EntryType, TarEntry

TYPES: tuple[EntryType, ...] = tuple(EntryType)
TYPE_CODE: dict[EntryType, int] = {t: i for i, t in enumerate(TYPES)}
FILE_CODE = TYPE_CODE[EntryType.FILE]
DIR_CODE = TYPE_CODE[EntryType.DIR]
SYMLINK_CODE = TYPE_CODE[EntryType.SYMLINK]
HARDLINK_CODE = TYPE_CODE[EntryType.HARDLINK]
# The value strings of the types (what fs/ keys nodes on), by code.
KIND_OF: tuple[str, ...] = tuple(t.value for t in TYPES)


class Entries(Sequence[TarEntry]):
    """An append-only, list-like sequence of tar entries stored as columns."""

    __slots__ = ("_path", "_type", "_size", "_mode", "_uid", "_gid", "_owner", "_mtime", "_offset",
                 "_owners", "_owner_ix", "_link", "_dev", "_xattrs", "_extra")

    def __init__(self, entries: Iterable[TarEntry] = ()) -> None:
        self._path: list[str] = []
        self._type = bytearray()
        self._size = array("q")
        self._mode = array("q")
        self._uid = array("q")
        self._gid = array("q")
        self._owner = array("I")  # row -> index into _owners
        self._mtime = array("d")
        self._offset = array("q")
        self._owners: list[tuple[str, str]] = []
        self._owner_ix: dict[tuple[str, str], int] = {}
        self._link: dict[int, str] = {}
        self._dev: dict[int, tuple[int, int]] = {}
        self._xattrs: dict[int, dict[str, str]] = {}
        self._extra: dict[int, dict[str, object]] = {}
        if entries:
            self.extend(entries)

    # -- adding rows -----------------------------------------------------------

    def owner_index(self, uname: str, gname: str) -> int:
        """The row value for an owner pair (added to the table when new)."""
        key = (uname, gname)
        ix = self._owner_ix.get(key)
        if ix is None:
            ix = self._owner_ix[key] = len(self._owners)
            self._owners.append(key)
        return ix

    def add(self, path: str, code: int, size: int, mode: int, uid: int, gid: int, owner: int, mtime: float,
            offset: int, link: str | None = None) -> None:
        """One row from plain values (the scanner's fast path); `owner` from `owner_index`."""
        i = len(self._path)
        try:
            # The numbers first: one out of range fails before any column grew.
            self._size.append(size)
            self._mode.append(mode)
            self._uid.append(uid)
            self._gid.append(gid)
            self._mtime.append(mtime)
            self._offset.append(offset)
        except (OverflowError, TypeError):
            self._truncate(i)
            raise ValueError(f"an entry's numbers are out of range: {path[:80]!r}") from None
        self._path.append(path)
        self._type.append(code)
        self._owner.append(owner)
        if link is not None:
            self._link[i] = link

    def _truncate(self, n: int) -> None:
        for col in (self._size, self._mode, self._uid, self._gid, self._mtime, self._offset):
            del col[n:]

    def append(self, e: TarEntry) -> None:
        i = len(self._path)
        self.add(e.path, TYPE_CODE[EntryType(e.type)], e.size, e.mode, e.uid, e.gid,
                 self.owner_index(e.uname, e.gname), e.mtime, e.offset, e.link)
        if e.devmajor or e.devminor:
            self._dev[i] = (e.devmajor, e.devminor)
        if e.xattrs:
            self._xattrs[i] = e.xattrs
        if e.extra:
            self._extra[i] = e.extra

    def extend(self, entries: Iterable[TarEntry]) -> None:
        if not isinstance(entries, Entries):
            for e in entries:
                self.append(e)
            return
        base = len(self._path)
        if entries._owners == self._owners[: len(entries._owners)]:
            owner = entries._owner  # the usual case: the same table, or a prefix of it
        else:
            remap = [self.owner_index(u, g) for u, g in entries._owners]
            owner = array("I", [remap[o] for o in entries._owner])
        self._path.extend(entries._path)
        self._type.extend(entries._type)
        self._size.extend(entries._size)
        self._mode.extend(entries._mode)
        self._uid.extend(entries._uid)
        self._gid.extend(entries._gid)
        self._owner.extend(owner)
        self._mtime.extend(entries._mtime)
        self._offset.extend(entries._offset)
        for mine, theirs in ((self._link, entries._link), (self._dev, entries._dev),
                             (self._xattrs, entries._xattrs), (self._extra, entries._extra)):
            if theirs:
                mine.update((base + i, v) for i, v in theirs.items())

    @classmethod
    def sharing_owners(cls, other: Entries) -> Entries:
        """An empty Entries whose owner table is other's (the same objects):
        a writer that makes many batches keeps one table, so an owner's row
        value stays the same from batch to batch. The table only grows."""
        out = cls()
        out._owners, out._owner_ix = other._owners, other._owner_ix
        return out

    def appenders(self) -> tuple[Any, ...]:
        """The append methods of (path, type code, size, mode, uid, gid, owner,
        mtime, offset), for a writer that adds rows in a hot loop; it must add
        to every one per row (and set `sparse("link")[row]` first when the row
        has a link) with numbers that fit 64 bits."""
        return (self._path.append, self._type.append, self._size.append, self._mode.append, self._uid.append,
                self._gid.append, self._owner.append, self._mtime.append, self._offset.append)

    @classmethod
    def from_columns(cls, paths: list[str], types: bytearray, size: array, mode: array, uid: array, gid: array,
                     mtime: array, offset: array, owners: list[tuple[str, str]], owner: array,
                     sparse: dict[str, dict[int, Any]]) -> Entries:
        """Rows from whole columns (the cache codec); the arrays are taken, not copied.
        `sparse` holds the link, dev, xattrs and extra dicts by row."""
        n = len(paths)
        cols = (types, size, mode, uid, gid, mtime, offset, owner)
        if any(len(c) != n for c in cols):
            raise ValueError("columns of different lengths")
        if any(c.typecode != want for c, want in zip(cols[1:], "qqqqdqI")):
            raise ValueError("a column of the wrong type")
        out = cls()
        out._path, out._type, out._size, out._mode, out._uid, out._gid = paths, types, size, mode, uid, gid
        out._mtime, out._offset, out._owner = mtime, offset, owner
        out._owners = list(owners)
        out._owner_ix = {pair: i for i, pair in enumerate(out._owners)}
        out._link = sparse.get("link", {})
        out._dev = sparse.get("dev", {})
        out._xattrs = sparse.get("xattrs", {})
        out._extra = sparse.get("extra", {})
        return out

    @property
    def owner_table(self) -> tuple[list[tuple[str, str]], array]:
        """The (uname, gname) pairs and each row's index into them (do not change them)."""
        return self._owners, self._owner

    @classmethod
    def concat(cls, parts: Iterable[Iterable[TarEntry]]) -> Entries:
        out = cls()
        for part in parts:
            out.extend(part)
        return out

    def __iadd__(self, other: Iterable[TarEntry]) -> Entries:
        self.extend(other)
        return self

    # -- reading rows ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._path)

    # Read like a RowSpan that starts at row 0 and names no layer (see RowSpan).
    base = 0
    layer = None

    @property
    def whole(self) -> Entries:
        return self

    @overload
    def __getitem__(self, i: int) -> TarEntry: ...

    @overload
    def __getitem__(self, i: slice) -> Entries: ...

    def __getitem__(self, i: int | slice) -> TarEntry | Entries:
        if isinstance(i, slice):
            return self._slice(i)
        n = len(self._path)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("Entries index out of range")
        return self.entry(i)

    def entry(self, i: int) -> TarEntry:
        """Row i as a new TarEntry (changing it does not change the row)."""
        uname, gname = self._owners[self._owner[i]]
        dev = self._dev.get(i)
        return TarEntry(self._path[i], TYPES[self._type[i]], self._size[i], self._mode[i], self._uid[i],
                        self._gid[i], uname, gname, self._mtime[i], self._link.get(i), self._offset[i],
                        dev[0] if dev else 0, dev[1] if dev else 0, self._xattrs.get(i), self._extra.get(i))

    def __iter__(self) -> Iterator[TarEntry]:
        entry = self.entry
        return (entry(i) for i in range(len(self._path)))

    def _slice(self, s: slice) -> Entries:
        start, stop, step = s.indices(len(self._path))
        out = Entries()
        if step != 1:
            out.extend(self.entry(i) for i in range(start, stop, step))
            return out
        out._path = self._path[start:stop]
        out._type = self._type[start:stop]
        out._size = self._size[start:stop]
        out._mode = self._mode[start:stop]
        out._uid = self._uid[start:stop]
        out._gid = self._gid[start:stop]
        out._owner = self._owner[start:stop]
        out._mtime = self._mtime[start:stop]
        out._offset = self._offset[start:stop]
        out._owners = list(self._owners)
        out._owner_ix = dict(self._owner_ix)
        for name in ("_link", "_dev", "_xattrs", "_extra"):
            mine: dict[int, Any] = getattr(self, name)
            if mine:
                getattr(out, name).update((i - start, v) for i, v in mine.items() if start <= i < stop)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __repr__(self) -> str:
        return f"Entries({len(self)} rows)"

    # -- columns -----------------------------------------------------------------
    # Fast reads for code that walks many rows: no TarEntry is made.

    @property
    def paths(self) -> list[str]:
        """The path column (do not change it)."""
        return self._path

    def size_of(self, i: int) -> int:
        return self._size[i]

    def attrs(self, i: int) -> tuple[int, int, int, int, float, str | None]:
        """(size, mode, uid, gid, mtime, link) of row i: what a change marker compares."""
        return (self._size[i], self._mode[i], self._uid[i], self._gid[i], self._mtime[i], self._link.get(i))

    def fields(self, i: int) -> tuple[int, int, int, int, str, str, float, str | None]:
        """(size, mode, uid, gid, uname, gname, mtime, link) of row i: what an export writes."""
        uname, gname = self._owners[self._owner[i]]
        return (self._size[i], self._mode[i], self._uid[i], self._gid[i], uname, gname, self._mtime[i],
                self._link.get(i))

    def row_columns(self) -> tuple[Any, ...]:
        """(size, mode, uid, gid, owner, owners table, mtime, links by row): the
        columns an export reads, for hot loops that index them by row
        themselves (do not change them)."""
        return (self._size, self._mode, self._uid, self._gid, self._owner, self._owners, self._mtime, self._link)

    def link_of(self, i: int) -> str | None:
        return self._link.get(i)

    def column(self, name: str) -> Sequence[Any]:
        """One numeric column by field name (size, mode, uid, gid, mtime, offset) or the type codes."""
        return {"size": self._size, "mode": self._mode, "uid": self._uid, "gid": self._gid, "mtime": self._mtime,
                "offset": self._offset, "type": self._type}[name]

    def sparse(self, name: str) -> dict[int, Any]:
        """The rows that have a link, dev, xattrs or extra: {row: value} (do not change it)."""
        return {"link": self._link, "dev": self._dev, "xattrs": self._xattrs, "extra": self._extra}[name]


class RowSpan:
    """SPAN consecutive rows of an Entries, read by their number within the
    span. A tree's node keeps (span, row in span) instead of (entries, row):
    a row number under 256 is one of CPython's shared small ints, while each
    larger one is a 28-byte object, one per node (28 MB on a 1M-entry layer);
    a span costs 56 bytes per SPAN rows."""

    __slots__ = ("whole", "base", "layer")

    def __init__(self, whole: Entries, base: int, layer: int | None = None) -> None:
        self.whole = whole
        self.base = base
        self.layer = layer  # the layer index of the tree the span's nodes are in (fs.Leaf.layer_index)

    def entry(self, r: int) -> TarEntry:
        return self.whole.entry(self.base + r)

    def size_of(self, r: int) -> int:
        return self.whole._size[self.base + r]

    def link_of(self, r: int) -> str | None:
        return self.whole._link.get(self.base + r)

    def attrs(self, r: int) -> tuple[int, int, int, int, float, str | None]:
        return self.whole.attrs(self.base + r)

    def fields(self, r: int) -> tuple[int, int, int, int, str, str, float, str | None]:
        return self.whole.fields(self.base + r)


SPAN_BITS = 8
SPAN = 1 << SPAN_BITS  # rows per RowSpan: every row number within one is a shared small int


def spans(entries: Entries, layer: int | None = None) -> list[RowSpan]:
    """The RowSpans covering every row: row i is (spans[i // SPAN], i % SPAN)."""
    return [RowSpan(entries, base, layer) for base in range(0, len(entries), SPAN)]


def as_entries(entries: Iterable[TarEntry]) -> Entries:
    """`entries` itself when it is an Entries, else a new one holding them."""
    return entries if isinstance(entries, Entries) else Entries(entries)
