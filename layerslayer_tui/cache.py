"""The persistent cache: listings, images and documents keyed by content digest.

One SQLite file (WAL, so a second app instance can read and write at the
same time). Only tag -> digest lookups are keyed by something mutable, and
they carry a short life. Listings are stored column-wise as one
zstd-compressed blob per layer (listing_codec.py); images as JSON
(image_codec.py).

The cache is an optimisation, never a reason to stop: a corrupt, locked or
unwritable file turns it off with one warning sentence, and every call then
answers "not cached".
"""

from __future__ import annotations

import json
import math
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
from layerslayer_tui.entry import ListingProgress, TarEntry
from layerslayer_tui.image_codec import image_from_json, image_to_json
from layerslayer_tui.listing_codec import decode_entries, encode_entries
from layerslayer_tui.registry.models import ImageInfo

__all__ = ["Cache", "CachedListing", "SeenImage", "decode_entries", "encode_entries", "image_from_json",
           "image_to_json", "parse_size"]

SCHEMA_VERSION = 2  # 2: images.platform
_BUSY_MS = 10_000

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
    platform TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (reference, manifest_digest)
);
"""
_TABLES = ("meta", "listings", "tags", "docs", "images")

# The listings columns that make a ListingProgress, in its field order.
_PROGRESS_COLUMNS = "compressed_read, uncompressed_read, layer_size, entries, complete, verified, source, note"


def _progress(row: tuple) -> ListingProgress:
    cread, uread, lsize, n, complete, verified, source, note = row[:8]
    return ListingProgress(cread, uread, lsize, n, bool(complete), bool(verified), source, note)


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
    platform: str = ""  # the platform picked from an index ("" for a single-manifest image)


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
            row = db.execute(f"SELECT {_PROGRESS_COLUMNS}, data FROM listings WHERE digest=?", (digest,)).fetchone()
            if row is None:
                return None
            return CachedListing(decode_entries(row[-1]), _progress(row))

        hit = self._run(q, None)
        if hit is not None:
            self._touch("listings", "digest", digest)
        return hit

    def put_listing(self, digest: str, entries: list[TarEntry], progress: ListingProgress) -> bool:
        """Store a listing unless a better one is already there. True if stored."""
        rank = (int(progress.complete), int(progress.verified), len(entries))

        def better(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT complete, verified, entries FROM listings WHERE digest=?", (digest,)).fetchone()
            return row is None or tuple(row) < rank

        # Encoding a large listing costs far more than this look-up, so skip it
        # when the answer is already no; the write re-checks, as another process
        # may have stored a better one meanwhile.
        if not self._run(better, False):
            return False
        data = encode_entries(entries)
        now = time.time()

        def w(db: sqlite3.Connection) -> bool:
            if not better(db):
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
            row = db.execute(f"SELECT {_PROGRESS_COLUMNS} FROM listings WHERE digest=?", (digest,)).fetchone()
            return None if row is None else _progress(row)

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
        # Only a platform picked from an index: reopening with it skips the picker.
        platform = str(info.platform) if info.index_digest and info.platform is not None else ""
        self._run(
            lambda db: db.execute("INSERT OR REPLACE INTO images VALUES (?,?,?,?,?)",
                                  (info.reference, info.manifest_digest, layers, platform, time.time())),
            None, write=True,
        )

    def images(self) -> list[SeenImage]:
        def q(db: sqlite3.Connection) -> list[SeenImage]:
            rows = db.execute(
                "SELECT reference, manifest_digest, layers, platform FROM images ORDER BY seen DESC").fetchall()
            return [SeenImage(r, m, tuple(json.loads(ls)), p) for r, m, ls, p in rows]

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
                except OSError:
                    pass  # already gone, or not ours to delete: _open reports what matters
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
    # float() also takes "inf", "nan" and "1e400" (= inf), which no byte count is.
    if not math.isfinite(value * mult) or value < 0:
        raise ValueError(f"{text!r} is not a size (try 500M or 2G).")
    return int(value * mult)

