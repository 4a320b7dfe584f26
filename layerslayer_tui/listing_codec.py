"""The columnar listing codec of the cache: a layer's entries as one
zstd-compressed blob. Decoding a few long lists of plain values is several
times faster than one row (or one object) per entry, which is what makes a
125k-entry reopen fit in the 0.3 s budget (see benchmarks/bench_cache.py)."""

from __future__ import annotations

import array
import gc
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import zstandard

from layerslayer_tui.columns import Entries, as_entries
from layerslayer_tui.entry import EntryType, TarEntry

# A cached blob bigger than this is treated as damage, not decoded (the file
# is ours, but a bad disk or another program can still write into it).
_MAX_BLOB = 1 << 30

_TYPE_CODES = {t: i for i, t in enumerate(EntryType)}
_TYPES = list(EntryType)
# Entry fields stored as columns, with the array typecode used when they vary
# ("" = JSON list: strings).
_COLUMNS = (("size", "q"), ("mode", "q"), ("uid", "q"), ("gid", "q"), ("uname", ""), ("gname", ""),
            ("mtime", "d"), ("offset", "q"), ("devmajor", "q"), ("devminor", "q"))


class _Body:
    """The binary tail of an encoded listing: segments referenced from the header."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pos = 0

    def add(self, data: bytes) -> list[int]:
        self.parts.append(data)
        ref = [self.pos, len(data)]
        self.pos += len(data)
        return ref


def _column(values: Sequence[Any], body: _Body, code: str) -> Any:
    # Most columns of a layer are one value repeated (uid 0, "root", devmajor 0):
    # store those once. Numbers go out as packed machine arrays, which decode
    # an order of magnitude faster than JSON lists.
    if not len(values):
        return {"c": None}
    first = values[0]
    if (values.count(first) == len(values) if hasattr(values, "count") else all(v == first for v in values)) \
            and type(first) in (int, str, float, type(None)):
        return {"c": first}
    if code:
        if isinstance(values, array.array) and values.typecode == code:
            return {"a": code, "r": body.add(values.tobytes())}
        try:
            return {"a": code, "r": body.add(array.array(code, values).tobytes())}
        except (OverflowError, TypeError):
            pass
    return list(values)


def _expand(col: Any, n: int, body: memoryview) -> Any:
    if isinstance(col, dict):
        if "c" in col:
            return itertools.repeat(col["c"], n)
        start, length = col["r"]
        arr = array.array(col["a"])
        if start < 0 or start + length > len(body):
            raise ValueError("a cached listing is truncated")
        try:
            arr.frombytes(body[start : start + length])
        except ValueError:
            raise ValueError("a cached listing column is truncated") from None
        col = arr
    if len(col) != n:
        raise ValueError("a cached listing column has the wrong length")
    return col


def encode_entries(entries: Iterable[TarEntry]) -> bytes:
    """A JSON header of columns, then the paths joined by NUL (which a tar name
    cannot hold), zstd-compressed. Sparse fields (link, xattrs, extra) are
    {index: value} so the common case costs nothing."""
    e = as_entries(entries)
    n = len(e)
    paths = e.paths
    body = _Body()
    path_ref = None
    if not any("\0" in p for p in paths):
        path_ref = body.add("\0".join(paths).encode("utf-8", "surrogatepass"))
    cols: dict[str, Any] = {
        "n": n,
        "path": path_ref if path_ref is not None else paths,
        "type": _column(e.column("type"), body, "b"),
        "link": {str(i): v for i, v in sorted(e.sparse("link").items())},
        "xattrs": {str(i): v for i, v in sorted(e.sparse("xattrs").items())},
        "extra": {str(i): v for i, v in sorted(e.sparse("extra").items())},
    }
    owners, owner = e.owner_table
    dev = e.sparse("dev")
    values: dict[str, Any] = {
        "uname": [owners[o][0] for o in owner] if len(owners) > 1 else [owners[0][0]] * n if n else [],
        "gname": [owners[o][1] for o in owner] if len(owners) > 1 else [owners[0][1]] * n if n else [],
        "devmajor": [dev.get(i, (0, 0))[0] for i in range(n)] if dev else [0] * n,
        "devminor": [dev.get(i, (0, 0))[1] for i in range(n)] if dev else [0] * n,
    }
    for name, code in _COLUMNS:
        cols[name] = _column(values[name] if name in values else e.column(name), body, code)
    head = json.dumps(cols, separators=(",", ":"), default=str).encode("utf-8", "surrogatepass")
    raw = b"".join([len(head).to_bytes(8, "big"), head, *body.parts])
    return zstandard.ZstdCompressor(level=3).compress(raw)


class DecodeError(ValueError):
    """A cached record that does not decode to values of the right types."""


# Which values each column may hold once decoded (bool is not an int here: JSON true is damage).
_INT = (int,)
_COLUMN_TYPES: dict[str, tuple[type, ...]] = {"size": _INT, "mode": _INT, "uid": _INT, "gid": _INT, "uname": (str,),
                                              "gname": (str,), "mtime": (int, float), "offset": _INT,
                                              "devmajor": _INT, "devminor": _INT}
_ARRAY_CODES = dict(_COLUMNS)


def _checked(name: str, col: Any, n: int, body: memoryview) -> Any:
    """A column expanded, its values of the column's types (DecodeError otherwise).
    A packed array holds the right type by construction once its typecode is
    the column's; a constant is checked once; only JSON lists are walked."""
    allowed = _COLUMN_TYPES.get(name, _INT)
    if isinstance(col, dict):
        if "c" in col:
            if n and type(col["c"]) not in allowed:  # an empty listing stores None
                raise DecodeError(f"a cached listing's {name} has the wrong type")
        elif col.get("a") != _ARRAY_CODES.get(name, "b") or not isinstance(col.get("r"), list) or \
                len(col["r"]) != 2 or not all(type(v) is int for v in col["r"]):
            raise DecodeError(f"a cached listing's {name} column is malformed")
    elif not isinstance(col, list) or not all(type(v) in allowed for v in col):
        raise DecodeError(f"a cached listing's {name} has the wrong type")
    return _expand(col, n, body)


def _sparse(kind: str, values: Any, n: int, ok: Any) -> dict[int, Any]:
    """{index: value} of a sparse column, indexes in range and values `ok`."""
    if not isinstance(values, dict):
        raise DecodeError(f"a cached listing's {kind} is malformed")
    out = {}
    for key, value in values.items():
        if not key.isdigit() or int(key) >= n or not ok(value):
            raise DecodeError(f"a cached listing's {kind} is malformed")
        out[int(key)] = value
    return out


def _str_dict(v: Any) -> bool:
    return isinstance(v, dict) and all(type(k) is str and type(x) is str for k, x in v.items())


def decode_entries(blob: bytes) -> Entries:
    """The entries `encode_entries` stored. The blob is ours but the file is
    not out of reach of other programs or bad disks, so anything that is not
    the shape encode_entries writes raises (DecodeError, or whatever zstd,
    JSON or indexing raise on garbage) and never yields values of the wrong
    type."""
    raw = zstandard.ZstdDecompressor().decompress(blob, max_output_size=_MAX_BLOB)
    hlen = int.from_bytes(raw[:8], "big")
    if hlen > len(raw) - 8:
        raise DecodeError("a cached listing is truncated")
    c = json.loads(raw[8 : 8 + hlen].decode("utf-8", "surrogatepass"))
    if not isinstance(c, dict):
        raise DecodeError("a cached listing's header is malformed")
    body = memoryview(raw)[8 + hlen :]
    n = c["n"]
    if type(n) is not int or n < 0:
        raise DecodeError("a cached listing's entry count is malformed")
    pcol = c["path"]
    if n == 0:
        paths: list[str] = []
    elif isinstance(pcol, list) and len(pcol) == 2 and type(pcol[0]) is int and type(pcol[1]) is int:
        start, length = pcol
        if start < 0 or length < 0 or start + length > len(body):
            raise DecodeError("a cached listing is truncated")
        paths = bytes(body[start : start + length]).decode("utf-8", "surrogatepass").split("\0")
    elif isinstance(pcol, list) and all(type(p) is str for p in pcol):
        paths = pcol
    else:
        raise DecodeError("a cached listing's paths are malformed")
    if len(paths) != n:
        raise DecodeError("a cached listing has the wrong number of paths")
    codes = list(_checked("type", c["type"], n, body))
    if codes and not (min(codes) >= 0 and max(codes) < len(_TYPES)):
        raise DecodeError("a cached listing's types are malformed")
    cols = {name: _checked(name, c[name], n, body) for name, _ in _COLUMNS}
    links = _sparse("links", c["link"], n, lambda v: type(v) is str)
    xattrs = _sparse("xattrs", c["xattrs"], n, _str_dict)
    extra = _sparse("extra", c["extra"], n, lambda v: isinstance(v, dict) and all(type(k) is str for k in v))
    owners, owner = _owners(cols["uname"], cols["gname"], n)
    dev = {}
    if not (isinstance(c["devmajor"], dict) and c["devmajor"].get("c") == 0
            and isinstance(c["devminor"], dict) and c["devminor"].get("c") == 0):
        dev = {i: (a, b) for i, (a, b) in enumerate(zip(cols["devmajor"], cols["devminor"])) if a or b}
    return Entries.from_columns(
        paths, bytearray(codes), _array("q", cols["size"], n), _array("q", cols["mode"], n),
        _array("q", cols["uid"], n), _array("q", cols["gid"], n), _array("d", cols["mtime"], n),
        _array("q", cols["offset"], n), owners, owner, {"link": links, "dev": dev, "xattrs": xattrs, "extra": extra},
    )


def _array(code: str, values: Any, n: int) -> array.array:
    """A column as the packed array Entries keeps (constants repeated, lists packed)."""
    if not n:
        return array.array(code)
    if isinstance(values, itertools.repeat):
        first = next(values)
        try:
            return array.array(code, [float(first) if code == "d" else first]) * n
        except (OverflowError, TypeError):
            raise DecodeError("a cached listing holds a number out of range") from None
    if isinstance(values, array.array) and values.typecode == code:
        return values
    if code == "d":
        return array.array("d", [float(v) for v in values])
    try:
        return array.array(code, values)
    except OverflowError:
        raise DecodeError("a cached listing holds a number out of range") from None


def _owners(unames: Any, gnames: Any, n: int) -> tuple[list[tuple[str, str]], array.array]:
    if not n:
        return [], array.array("I")
    if isinstance(unames, itertools.repeat) and isinstance(gnames, itertools.repeat):
        return [(next(unames), next(gnames))], array.array("I", [0]) * n
    table: dict[tuple[str, str], int] = {}
    rows = array.array("I", [table.setdefault(pair, len(table)) for pair in zip(unames, gnames)])
    return list(table), rows

