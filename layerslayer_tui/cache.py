"""The persistent cache: listings, images and documents keyed by content digest.

One SQLite file (WAL, so a second app instance can read and write at the
same time). Only tag -> digest lookups are keyed by something mutable, and
they carry a short life. Listings are stored column-wise as one
zstd-compressed JSON blob per layer: decoding a few long lists of plain
values is several times faster than one row (or one object) per entry, which
is what makes a 125k-entry reopen fit in the 0.3 s budget (see
benchmarks/bench_cache.py).

The cache is an optimisation, never a reason to stop: a corrupt, locked or
unwritable file turns it off with one warning sentence, and every call then
answers "not cached".
"""

from __future__ import annotations

import array
import gc
import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import zstandard

from layerslayer_tui import locations
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry
from layerslayer_tui.registry.models import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform

SCHEMA_VERSION = 1
_BUSY_MS = 10_000
# A cached blob bigger than this is treated as damage, not decoded (the file
# is ours, but a bad disk or another program can still write into it).
_MAX_BLOB = 1 << 30

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
    digest TEXT PRIMARY KEY,
    complete INTEGER NOT NULL,
    verified INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    compressed_read INTEGER NOT NULL,
    uncompressed_read INTEGER NOT NULL,
    layer_size INTEGER,
    source TEXT NOT NULL,
    note TEXT NOT NULL,
    data BLOB NOT NULL,
    stored REAL NOT NULL,
    used REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tags (key TEXT PRIMARY KEY, digest TEXT NOT NULL, stored REAL NOT NULL);
CREATE TABLE IF NOT EXISTS docs (key TEXT PRIMARY KEY, data BLOB NOT NULL, stored REAL NOT NULL, used REAL NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    reference TEXT NOT NULL,
    manifest_digest TEXT NOT NULL,
    layers TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (reference, manifest_digest)
);
"""
_TABLES = ("meta", "listings", "tags", "docs", "images")

_TYPE_CODES = {t: i for i, t in enumerate(EntryType)}
_TYPES = list(EntryType)
# Entry fields stored as columns, with the array typecode used when they vary
# ("" = JSON list: strings).
_COLUMNS = (("size", "q"), ("mode", "q"), ("uid", "q"), ("gid", "q"), ("uname", ""), ("gname", ""),
            ("mtime", "d"), ("offset", "q"), ("devmajor", "q"), ("devminor", "q"))


@dataclass(slots=True)
class CachedListing:
    entries: list[TarEntry]
    progress: ListingProgress

    @property
    def complete(self) -> bool:
        return self.progress.complete


@dataclass(frozen=True, slots=True)
class SeenImage:
    reference: str
    manifest_digest: str
    layer_digests: tuple[str, ...]


# --- listing encoding ----------------------------------------------------------


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


# --- image encoding --------------------------------------------------------------


def _platform_to(p: Platform | None) -> dict | None:
    if p is None:
        return None
    return {"os": p.os, "architecture": p.architecture, "variant": p.variant,
            "os_version": p.os_version, "os_features": list(p.os_features)}


def _platform_from(d: dict | None) -> Platform | None:
    if d is None:
        return None
    return Platform(d["os"], d["architecture"], d.get("variant"), d.get("os_version"), tuple(d.get("os_features") or ()))


def _step_to(s: HistoryStep | None) -> dict | None:
    if s is None:
        return None
    return {"created_by": s.created_by, "step": s.step, "created": s.created, "comment": s.comment,
            "empty_layer": s.empty_layer, "layer_index": s.layer_index}


def _step_from(d: dict | None) -> HistoryStep | None:
    return None if d is None else HistoryStep(**d)


def image_to_json(info: ImageInfo) -> bytes:
    layers = [
        {
            "index": li.index,
            "descriptor": {
                "media_type": li.descriptor.media_type,
                "digest": li.descriptor.digest,
                "size": li.descriptor.size,
                "annotations": dict(li.descriptor.annotations),
                "urls": list(li.descriptor.urls),
                "platform": _platform_to(li.descriptor.platform),
            },
            "diff_id": li.diff_id,
            "step": _step_to(li.step),
        }
        for li in info.layers
    ]
    doc = {
        "registry": info.registry, "repository": info.repository, "reference": info.reference,
        "manifest_digest": info.manifest_digest, "media_type": info.media_type,
        "config_digest": info.config_digest, "config": info.config, "layers": layers,
        "history": [_step_to(s) for s in info.history], "history_aligned": info.history_aligned,
        "platform": _platform_to(info.platform), "platforms": [_platform_to(p) for p in info.platforms],
        "index_digest": info.index_digest, "tag": info.tag,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def image_from_json(data: bytes) -> ImageInfo:
    d = json.loads(data)
    layers = []
    for li in d["layers"]:
        desc = li["descriptor"]
        layers.append(
            LayerInfo(
                index=li["index"],
                descriptor=Descriptor(desc["media_type"], desc["digest"], desc["size"], desc["annotations"],
                                      tuple(desc["urls"]), _platform_from(desc["platform"])),
                diff_id=li["diff_id"],
                step=_step_from(li["step"]),
            )
        )
    return ImageInfo(
        registry=d["registry"], repository=d["repository"], reference=d["reference"],
        manifest_digest=d["manifest_digest"], media_type=d["media_type"], config_digest=d["config_digest"],
        config=d["config"], layers=layers, history=[_step_from(s) for s in d["history"]],
        history_aligned=d["history_aligned"], platform=_platform_from(d["platform"]),
        platforms=[p for p in map(_platform_from, d["platforms"]) if p is not None],
        index_digest=d["index_digest"], tag=d["tag"],
    )


# --- the store -------------------------------------------------------------------


class Cache:
    """Thread-safe (one connection behind a lock); several processes may share
    the file. Check `enabled` / `warning` after construction."""

    def __init__(self, path: str | Path | None = None, *, tag_ttl: float = 300.0) -> None:
        self.path = Path(path) if path is not None else locations.cache_db()
        self.tag_ttl = tag_ttl
        self.warning: str | None = None
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._open()

    @property
    def enabled(self) -> bool:
        return self._db is not None

    # -- lifecycle --

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            self._disable(exc)
            return
        try:
            db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._ensure_schema(db)
        except sqlite3.Error as exc:
            db.close()
            self._disable(exc)
            return
        self._db = db

    def _ensure_schema(self, db: sqlite3.Connection) -> None:
        # IMMEDIATE: two processes starting at once must not both rebuild.
        db.execute("BEGIN IMMEDIATE")
        try:
            have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if "meta" in have:
                row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = row[0] if row else None
            if have and version != str(SCHEMA_VERSION):
                # An older (or newer) layout: its data is only a cache, so rebuild.
                for name in have:
                    db.execute(f'DROP TABLE IF EXISTS "{name}"')
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _drop_db(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def _disable(self, exc: BaseException) -> None:
        self._drop_db()
        if self.warning is None:
            reason = str(exc).rstrip(".") or type(exc).__name__
            self.warning = (
                f"The cache at {self.path} cannot be used ({reason}), so this run works without it; "
                "`layerslayer-tui cache clear` resets it."
            )

    def close(self) -> None:
        with self._lock:
            self._drop_db()

    def _run(self, fn: Callable[[sqlite3.Connection], _T], default: _T, *, write: bool = False) -> _T:
        """Run fn in a transaction; any database failure disables the cache."""
        with self._lock:
            db = self._db
            if db is None:
                return default
            try:
                if write:
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        out = fn(db)
                        db.execute("COMMIT")
                    except BaseException:
                        if db.in_transaction:
                            db.execute("ROLLBACK")
                        raise
                    return out
                return fn(db)
            except (sqlite3.Error, ValueError, KeyError, TypeError, zstandard.ZstdError) as exc:
                self._disable(exc)
                return default

    # -- listings --

    def get_listing(self, digest: str) -> CachedListing | None:
        def q(db: sqlite3.Connection) -> CachedListing | None:
            row = db.execute(
                "SELECT complete, verified, entries, compressed_read, uncompressed_read, layer_size, source, note, data "
                "FROM listings WHERE digest=?",
                (digest,),
            ).fetchone()
            if row is None:
                return None
            complete, verified, n, cread, uread, lsize, source, note, data = row
            entries = decode_entries(data)
            progress = ListingProgress(cread, uread, lsize, n, bool(complete), bool(verified), source, note)
            return CachedListing(entries, progress)

        hit = self._run(q, None)
        if hit is not None:
            self._touch("listings", "digest", digest)
        return hit

    def put_listing(self, digest: str, entries: list[TarEntry], progress: ListingProgress) -> bool:
        """Store a listing unless a better one is already there. True if stored."""
        data = encode_entries(entries)
        now = time.time()

        def w(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT complete, verified, entries FROM listings WHERE digest=?", (digest,)).fetchone()
            if row is not None:
                old = (row[0], row[1], row[2])
                new = (int(progress.complete), int(progress.verified), len(entries))
                if old >= new:
                    return False
            db.execute(
                "INSERT OR REPLACE INTO listings VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (digest, int(progress.complete), int(progress.verified), len(entries), progress.compressed_read,
                 progress.uncompressed_read, progress.layer_size, progress.source, progress.note, data, now, now),
            )
            return True

        return self._run(w, False, write=True)

    def listing_state(self, digest: str) -> ListingProgress | None:
        """How far the cached listing got, without decoding it."""
        def q(db: sqlite3.Connection) -> ListingProgress | None:
            row = db.execute(
                "SELECT compressed_read, uncompressed_read, layer_size, entries, complete, verified, source, note "
                "FROM listings WHERE digest=?", (digest,)).fetchone()
            if row is None:
                return None
            c, u, s, n, comp, ver, src, note = row
            return ListingProgress(c, u, s, n, bool(comp), bool(ver), src, note)

        return self._run(q, None)

    def _touch(self, table: str, col: str, key: str) -> None:
        # Best effort: recency only steers prune, so a busy database is no reason to give up the cache.
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute(f"UPDATE {table} SET used=? WHERE {col}=?", (time.time(), key))
            except sqlite3.Error:
                pass

    # -- tags, images, docs --

    @staticmethod
    def _tag_key(registry: str, repository: str, tag: str) -> str:
        return f"{registry}/{repository}:{tag}"

    def get_tag(self, registry: str, repository: str, tag: str, *, max_age: float | None = None) -> str | None:
        age = self.tag_ttl if max_age is None else max_age
        key = self._tag_key(registry, repository, tag)

        def q(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT digest, stored FROM tags WHERE key=?", (key,)).fetchone()
            if row is None or time.time() - row[1] > age:
                return None
            return row[0]

        return self._run(q, None)

    def put_tag(self, registry: str, repository: str, tag: str, digest: str) -> None:
        key = self._tag_key(registry, repository, tag)
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO tags VALUES (?,?,?)", (key, digest, time.time())),
                  None, write=True)

    def get_doc(self, key: str) -> bytes | None:
        def q(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT data FROM docs WHERE key=?", (key,)).fetchone()
            return None if row is None else bytes(row[0])

        return self._run(q, None)

    def put_doc(self, key: str, data: bytes) -> None:
        now = time.time()
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?,?)", (key, data, now, now)),
                  None, write=True)

    def get_image(self, key: str) -> ImageInfo | None:
        data = self.get_doc("image:" + key)
        if data is None:
            return None
        try:
            return image_from_json(data)
        except (ValueError, KeyError, TypeError) as exc:
            self._disable(exc)
            return None

    def put_image(self, key: str, info: ImageInfo) -> None:
        self.put_doc("image:" + key, image_to_json(info))

    def record_image(self, info: ImageInfo) -> None:
        layers = json.dumps([li.digest for li in info.layers])
        self._run(
            lambda db: db.execute("INSERT OR REPLACE INTO images VALUES (?,?,?,?)",
                                  (info.reference, info.manifest_digest, layers, time.time())),
            None, write=True,
        )

    def images(self) -> list[SeenImage]:
        def q(db: sqlite3.Connection) -> list[SeenImage]:
            rows = db.execute("SELECT reference, manifest_digest, layers FROM images ORDER BY seen DESC").fetchall()
            return [SeenImage(r, m, tuple(json.loads(ls))) for r, m, ls in rows]

        return self._run(q, [])

    def listed_digests(self) -> list[str]:
        return self._run(lambda db: [r[0] for r in db.execute("SELECT digest FROM listings")], [])

    # -- management --

    def size(self) -> int:
        """Bytes on disk (database plus its write-ahead log)."""
        total = 0
        for suffix in ("", "-wal"):
            try:
                total += os.path.getsize(str(self.path) + suffix)
            except OSError:
                pass
        return total

    def info(self) -> dict[str, Any]:
        def q(db: sqlite3.Connection) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for table in ("listings", "images", "tags", "docs"):
                out[table] = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            out["complete_listings"] = db.execute("SELECT COUNT(*) FROM listings WHERE complete=1").fetchone()[0]
            out["entries"] = db.execute("SELECT COALESCE(SUM(entries),0) FROM listings").fetchone()[0]
            return out

        counts = self._run(q, {})
        return {"path": str(self.path), "size": self.size(), "enabled": self.enabled, "warning": self.warning, **counts}

    def _compact(self) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # another process holds a read transaction; space comes back next time

    def clear(self) -> None:
        """Empty the cache; a file that cannot be opened is deleted and recreated."""
        if self._db is None:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(str(self.path) + suffix)
                except FileNotFoundError:
                    pass
                except OSError:
                    pass
            self.warning = None
            self._open()
            return

        def w(db: sqlite3.Connection) -> None:
            for table in _TABLES[1:]:
                db.execute(f"DELETE FROM {table}")

        self._run(w, None, write=True)
        self._compact()

    def prune(self, max_size: int) -> int:
        """Drop least recently used listings (then documents) until the file is
        at most max_size bytes. Returns the bytes freed."""
        before = self.size()
        if before <= max_size or self._db is None:
            return 0
        need = before - max_size

        def w(db: sqlite3.Connection) -> None:
            freed = 0
            for table, col in (("listings", "digest"), ("docs", "key")):
                rows = db.execute(f"SELECT {col}, length(data) FROM {table} ORDER BY used ASC").fetchall()
                for key, length in rows:
                    if freed >= need:
                        return
                    db.execute(f"DELETE FROM {table} WHERE {col}=?", (key,))
                    freed += length + 200

        self._run(w, None, write=True)
        self._compact()
        return max(0, before - self.size())


def parse_size(text: str) -> int:
    """'500M', '2G', '1024', '1.5GiB' -> bytes. ValueError with a sentence otherwise."""
    t = text.strip().upper().replace("IB", "").rstrip("B")
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suffix):
            t, mult = t[:-1], m
            break
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (try 500M or 2G).") from None
    if value < 0:
        raise ValueError(f"{text!r} is not a size (try 500M or 2G).")
    return int(value * mult)

