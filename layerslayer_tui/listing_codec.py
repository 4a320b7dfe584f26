"""The columnar listing codec of the cache: a layer's entries as one
zstd-compressed blob. Decoding a few long lists of plain values is several
times faster than one row (or one object) per entry, which is what makes a
125k-entry reopen fit in the 0.3 s budget (see benchmarks/bench_cache.py)."""

from __future__ import annotations

import array
import gc
import itertools
import json
from typing import Any

import zstandard

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


def _column(values: list[Any], body: _Body, code: str) -> Any:
    # Most columns of a layer are one value repeated (uid 0, "root", devmajor 0):
    # store those once. Numbers go out as packed machine arrays, which decode
    # an order of magnitude faster than JSON lists.
    first = values[0] if values else None
    if all(v == first for v in values) and type(first) in (int, str, float, type(None)):
        return {"c": first}
    if code:
        try:
            return {"a": code, "r": body.add(array.array(code, values).tobytes())}
        except (OverflowError, TypeError):
            pass
    return values


def _expand(col: Any, n: int, body: memoryview) -> Any:
    if isinstance(col, dict):
        if "c" in col:
            return itertools.repeat(col["c"], n)
        start, length = col["r"]
        arr = array.array(col["a"])
        if start < 0 or start + length > len(body):
            raise ValueError("a cached listing is truncated")
        arr.frombytes(body[start : start + length])
        col = arr.tolist()
    if len(col) != n:
        raise ValueError("a cached listing column has the wrong length")
    return col


def encode_entries(entries: list[TarEntry]) -> bytes:
    """A JSON header of columns, then the paths joined by NUL (which a tar name
    cannot hold), zstd-compressed. Sparse fields (link, xattrs, extra) are
    {index: value} so the common case costs nothing."""
    links: dict[str, str] = {}
    xattrs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for i, e in enumerate(entries):
        if e.link is not None:
            links[str(i)] = e.link
        if e.xattrs:
            xattrs[str(i)] = e.xattrs
        if e.extra:
            extra[str(i)] = e.extra
    paths = [e.path for e in entries]
    body = _Body()
    path_ref = None
    if not any("\0" in p for p in paths):
        path_ref = body.add("\0".join(paths).encode("utf-8", "surrogatepass"))
    cols = {
        "n": len(entries),
        "path": path_ref if path_ref is not None else paths,
        "type": _column([_TYPE_CODES[EntryType(e.type)] for e in entries], body, "b"),
        "link": links,
        "xattrs": xattrs,
        "extra": extra,
    }
    for name, code in _COLUMNS:
        cols[name] = _column([getattr(e, name) for e in entries], body, code)
    head = json.dumps(cols, separators=(",", ":"), default=str).encode("utf-8", "surrogatepass")
    raw = b"".join([len(head).to_bytes(8, "big"), head, *body.parts])
    return zstandard.ZstdCompressor(level=3).compress(raw)


def decode_entries(blob: bytes) -> list[TarEntry]:
    raw = zstandard.ZstdDecompressor().decompress(blob, max_output_size=_MAX_BLOB)
    hlen = int.from_bytes(raw[:8], "big")
    if hlen > len(raw) - 8:
        raise ValueError("a cached listing is truncated")
    c = json.loads(raw[8 : 8 + hlen].decode("utf-8", "surrogatepass"))
    body = memoryview(raw)[8 + hlen :]
    n = c["n"]
    pcol = c["path"]
    if n == 0:
        paths: list[str] = []
    elif isinstance(pcol, list) and len(pcol) == 2 and isinstance(pcol[0], int):
        start, length = pcol
        paths = bytes(body[start : start + length]).decode("utf-8", "surrogatepass").split("\0")
    else:
        paths = pcol
    if len(paths) != n:
        raise ValueError("a cached listing has the wrong number of paths")
    types = [_TYPES[t] for t in _expand(c["type"], n, body)]
    cols = {name: _expand(c[name], n, body) for name, _ in _COLUMNS}
    # The collector would otherwise walk the growing heap many times while
    # 100k+ objects are created; nothing here makes reference cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        entries = list(
            map(TarEntry, paths, types, cols["size"], cols["mode"], cols["uid"], cols["gid"], cols["uname"],
                cols["gname"], cols["mtime"], itertools.repeat(None, n), cols["offset"], cols["devmajor"],
                cols["devminor"])
        )
    finally:
        if was_enabled:
            gc.enable()
    for i, v in c["link"].items():
        entries[int(i)].link = v
    for i, v in c["xattrs"].items():
        entries[int(i)].xattrs = v
    for i, v in c["extra"].items():
        entries[int(i)].extra = v
    return entries
