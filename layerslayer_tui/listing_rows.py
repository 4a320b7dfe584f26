"""One entry of a cached listing by its path, without decoding the others.

`cat` of one file in a 126k-entry layer only needs that file's row (and,
for the merged view, a few path look-ups: the parents, their whiteouts and
opaque markers). Building every TarEntry (listing_codec.decode_entries)
costs ~0.25 s there; this reads listing_codec's encoded format as it is
(a JSON header of columns, the paths joined by NUL, packed arrays) and
builds a TarEntry for the rows asked for only: decompress + header + a
path -> row dict, ~70 ms on that layer.

The blob is ours but the file is not out of reach of other programs or bad
disks: anything not of the shape encode_entries writes raises ValueError
(the caller then goes the ordinary way, which drops a damaged row), and a
row never holds values of the wrong type. tests/test_listing_rows.py checks
every row against decode_entries, so a change of the codec shows up there.
"""

from __future__ import annotations

import array
import json
from typing import Any

import zstandard

from layerslayer_tui.entry import EntryType, TarEntry

_MAX_BLOB = 1 << 30  # as listing_codec: larger is damage
_TYPES = list(EntryType)  # listing_codec's type codes are positions in EntryType
_INT = (int,)
# (column, array typecode when packed, the types a value may have): listing_codec's _COLUMNS.
_COLUMNS = (("size", "q", _INT), ("mode", "q", _INT), ("uid", "q", _INT), ("gid", "q", _INT), ("uname", "", (str,)),
            ("gname", "", (str,)), ("mtime", "d", (int, float)), ("offset", "q", _INT), ("devmajor", "q", _INT),
            ("devminor", "q", _INT))


class ListingRows:
    """The rows of one encoded listing, found by path. `find(path)` is the
    last entry of that path (what extraction leaves); `entry(i)` builds one."""

    def __init__(self, blob: bytes) -> None:
        try:
            raw = zstandard.ZstdDecompressor().decompress(blob, max_output_size=_MAX_BLOB)
        except zstandard.ZstdError as err:
            raise ValueError(f"a cached listing does not decompress ({err})") from None
        hlen = int.from_bytes(raw[:8], "big")
        if hlen > len(raw) - 8:
            raise ValueError("a cached listing is truncated")
        head = json.loads(raw[8 : 8 + hlen].decode("utf-8", "surrogatepass"))  # its errors are ValueErrors
        if not isinstance(head, dict):
            raise ValueError("a cached listing's header is malformed")
        n = head.get("n")
        if type(n) is not int or n < 0:
            raise ValueError("a cached listing's entry count is malformed")
        self.n = n
        self._raw = raw
        self._base = 8 + hlen
        self._head = head
        pcol = head.get("path")
        if n == 0:
            self._seg = (self._base, self._base)
        elif isinstance(pcol, list) and len(pcol) == 2 and type(pcol[0]) is int and type(pcol[1]) is int:
            start, length = pcol
            if start < 0 or length < 0 or self._base + start + length > len(raw):
                raise ValueError("a cached listing is truncated")
            self._seg = (self._base + start, self._base + start + length)
        else:
            raise ValueError("a cached listing keeps its paths as a list (a path holds NUL)")
        a, b = self._seg
        keys = raw[a:b].split(b"\0") if n else []
        if len(keys) != n:
            raise ValueError("a cached listing has the wrong number of paths")
        # Last occurrence wins, as in extraction (and as dict() keeps the last value).
        self._keys = keys
        self._rows: dict[bytes, int] = dict(zip(keys, range(n)))
        self._columns = {name: self._column(name, code, allowed) for name, code, allowed in _COLUMNS}
        self._columns["type"] = self._column("type", "b", _INT)
        self._sparse = {kind: self._sparse_column(kind) for kind in ("link", "xattrs", "extra")}

    # -- columns --

    def _column(self, name: str, code: str, allowed: tuple[type, ...]) -> tuple[str, Any]:
        """('c', constant) | ('a', (typecode, start)) | ('l', list): checked once, read per row."""
        col = self._head.get(name)
        if isinstance(col, dict):
            if "c" in col:
                if self.n and type(col["c"]) not in allowed:
                    raise ValueError(f"a cached listing's {name} has the wrong type")
                return "c", col["c"]
            ref = col.get("r")
            if col.get("a") != code or not code or not isinstance(ref, list) or len(ref) != 2 or \
                    not all(type(v) is int for v in ref):
                raise ValueError(f"a cached listing's {name} column is malformed")
            start, length = ref
            size = array.array(code).itemsize
            if start < 0 or length != self.n * size or self._base + start + length > len(self._raw):
                raise ValueError(f"a cached listing's {name} column has the wrong length")
            return "a", (code, self._base + start, size)
        if not isinstance(col, list) or len(col) != self.n:
            raise ValueError(f"a cached listing's {name} column is malformed")
        return "l", col

    def _value(self, name: str, i: int, allowed: tuple[type, ...]) -> Any:
        how, col = self._columns[name]
        if how == "c":
            return col
        if how == "a":
            code, start, size = col
            return array.array(code, self._raw[start + i * size : start + (i + 1) * size])[0]
        value = col[i]
        if type(value) not in allowed:
            raise ValueError(f"a cached listing's {name} has the wrong type")
        return value

    def _sparse_column(self, kind: str) -> dict[str, Any]:
        values = self._head.get(kind)
        if not isinstance(values, dict):
            raise ValueError(f"a cached listing's {kind} is malformed")
        return values

    def _sparse_value(self, kind: str, i: int) -> Any:
        value = self._sparse[kind].get(str(i))
        if value is None:
            return None
        ok = {"link": lambda v: type(v) is str,
              "xattrs": lambda v: isinstance(v, dict) and all(type(k) is str and type(x) is str for k, x in v.items()),
              "extra": lambda v: isinstance(v, dict) and all(type(k) is str for k in v)}[kind]
        if not ok(value):
            raise ValueError(f"a cached listing's {kind} is malformed")
        return value

    # -- rows --

    def find(self, path: str) -> int | None:
        """The row of the last entry named `path` (as the listing spells it)."""
        return self._rows.get(path.encode("utf-8", "surrogatepass"))

    def entry(self, i: int, path: str | None = None) -> TarEntry:
        """Row `i` as a TarEntry (`path`: its path when the caller knows it)."""
        if not 0 <= i < self.n:
            raise IndexError(i)
        code = self._value("type", i, _INT)
        if not 0 <= code < len(_TYPES):
            raise ValueError("a cached listing's types are malformed")
        values = {name: self._value(name, i, allowed) for name, _code, allowed in _COLUMNS}
        return TarEntry(path if path is not None else self._path_of(i), _TYPES[code], values["size"], values["mode"],
                        values["uid"], values["gid"], values["uname"], values["gname"], values["mtime"],
                        self._sparse_value("link", i), values["offset"], values["devmajor"], values["devminor"],
                        self._sparse_value("xattrs", i), self._sparse_value("extra", i))

    def _path_of(self, i: int) -> str:
        return self._keys[i].decode("utf-8", "surrogatepass")

    def get(self, path: str) -> TarEntry | None:
        """The last entry named `path`, or None."""
        i = self.find(path)
        return None if i is None else self.entry(i, path)

    def find_before(self, path: str, row: int) -> int | None:
        """The row of the last entry named `path` before row `row` (a hardlink's target)."""
        i = self.find(path)
        if i is None or i < row:
            return i
        # An entry of that path also comes at or after `row` (rare): walk back from it.
        needle = path.encode("utf-8", "surrogatepass")
        for j in range(min(row, self.n) - 1, -1, -1):
            if self._keys[j] == needle:
                return j
        return None

    def has_under(self, prefix: str, skip_name: Any = None) -> bool:
        """True if some path starts with `prefix` + "/" (`skip_name(name)`: entries not to count)."""
        a, b = self._seg
        needle = (prefix + "/").encode("utf-8", "surrogatepass")
        pos = a
        while True:
            hit = self._raw.find(needle, pos, b)
            if hit < 0:
                return False
            if hit == a or self._raw[hit - 1] == 0:
                end = self._raw.find(b"\0", hit, b)
                name = self._raw[hit : b if end < 0 else end].decode("utf-8", "surrogatepass").rpartition("/")[2]
                if skip_name is None or not skip_name(name):
                    return True
            pos = hit + 1
