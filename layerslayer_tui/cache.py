"""The persistent cache: listings, images and documents keyed by content digest.

One SQLite file (WAL, so a second app instance can read and write at the
same time). Only tag -> digest lookups are keyed by something mutable, and
they carry a short life. Listings are stored column-wise as one
zstd-compressed blob per layer (listing_codec.py); images as JSON
(image_codec.py).

The cache is an optimisation, never a reason to stop: a corrupt, locked or
unwritable file turns it off with one warning sentence, and every call then
answers "not cached". One damaged record (a row another program or a bad disk
wrote) is dropped with one note in `notes` and answers "not cached", so the
caller fetches it again.

Who may see a listing (schema 3). A digest names bytes, not a registry's word
about them: a hostile registry can claim debian's layer digest and serve other
bytes. So a listing is shared by digest (scope "") only when the bytes it came
from were hashed whole and matched that digest (`progress.complete and
progress.verified`). Any other listing (a partial read, an index/TOC listing,
a read with no digest to check) is stored under the scope it came from,
"registry/repository", and is served only to that scope. A verified listing
replaces the scoped ones of its digest; the two are never merged.

The cache directory is created 0700 and the database files 0600 (they hold
listings of private images); looser modes found on them are tightened.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import zstandard

from layerslayer_tui import digest as digest_rules
from layerslayer_tui import locations, search_index, seek_store
from layerslayer_tui.columns import Entries
from layerslayer_tui.entry import ListingProgress, TarEntry
from layerslayer_tui.image_codec import image_from_json, image_to_json
from layerslayer_tui.listing_codec import DecodeError, decode_entries, encode_entries
from layerslayer_tui.units import parse_size  # re-exported: the CLI and older callers import it from here
from layerslayer_tui.image import ImageInfo

__all__ = ["SHARED", "Cache", "CachedListing", "SeenImage", "decode_entries", "encode_entries", "image_from_json",
           "image_to_json", "parse_size", "scope_of"]

# 2: images.platform. 3: listings.scope (who may see an unverified listing; see the module doc).
# 4: search_index (the path index search answers from; see the block below _SCHEMA).
# 5: seek_index (gzip access points, seek_store.py).
SCHEMA_VERSION = 5
_BUSY_MS = 10_000
_SETUP_TRIES = 8

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
    digest TEXT NOT NULL,
    scope TEXT NOT NULL,
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
    used REAL NOT NULL,
    PRIMARY KEY (digest, scope)
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

# --- the search index (search_index.py): one record per listings row ------------
# Written with the listing it indexes; `listing` is that row's rowid. A trigger
# drops the record with its row (with recursive_triggers on, INSERT OR REPLACE
# counts as a delete), so a record never outlives, or is read for, another listing.
_SEARCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_index (
    listing INTEGER PRIMARY KEY,
    paths BLOB,
    folded BLOB,
    sizes BLOB NOT NULL
);
CREATE TRIGGER IF NOT EXISTS search_index_gone AFTER DELETE ON listings
BEGIN DELETE FROM search_index WHERE listing = OLD.rowid; END
"""
# A listing's bytes on disk include its index record (the trigger deletes it with the row).
_PRUNE_ORDER = {"listings": "SELECT l.rowid, length(l.data) + COALESCE(length(s.paths), 0) + "
                "COALESCE(length(s.folded), 0) + COALESCE(length(s.sizes), 0) FROM listings l "
                "LEFT JOIN search_index s ON s.listing = l.rowid ORDER BY l.used ASC"}
# --- end of the search index block ------------------------------------------------

_SCHEMA += seek_store.SCHEMA
_TABLES = ("meta", "listings", "tags", "docs", "images", "search_index", seek_store.TABLE)

# The listings columns that make a ListingProgress, in its field order.
_PROGRESS_COLUMNS = "compressed_read, uncompressed_read, layer_size, entries, complete, verified, source, note"


SHARED = ""  # the scope of a verified listing: anyone holding its digest may see it

# What a verified listing may be shared under. A local check (the registry code
# validates digests too; the integrator may unify them): a digest in another
# spelling was never compared with a hash, so it is never shared.


def scope_of(registry: str, repository: str) -> str:
    """The scope an unverified listing from this repository is stored under."""
    return f"{registry}/{repository}"


# Keys of the docs/images tables: the cache owns their format, callers name the parts.
def image_key(registry: str, repository: str, top_digest: str, platform: str = "") -> str:
    """An ImageInfo loaded from `top_digest` (a manifest or an index) for one platform ("" = as asked)."""
    return f"{registry}/{repository}@{top_digest}#{platform}"


def platforms_key(registry: str, repository: str, top_digest: str) -> str:
    """The platforms an index (or a manifest: none) offers, as image_codec.platforms_to_json wrote them."""
    return f"platforms:{registry}/{repository}@{top_digest}"


def _shared(digest: str, progress: ListingProgress) -> bool:
    return bool(progress.complete and progress.verified) and digest_rules.is_valid(digest)


def _count(v: object, *, optional: bool = False) -> bool:
    return (optional and v is None) or (type(v) is int and v >= 0)


def _progress(row: tuple) -> ListingProgress:
    """A ListingProgress from a row, every column of the type it must have
    (SQLite stores whatever was written into it): DecodeError otherwise."""
    cread, uread, lsize, n, complete, verified, source, note = row[:8]
    if not (_count(cread) and _count(uread) and _count(lsize, optional=True) and _count(n)
            and complete in (0, 1) and verified in (0, 1) and type(source) is str and type(note) is str):
        raise DecodeError("a cached listing's progress has the wrong types")
    return ListingProgress(cread, uread, lsize, n, bool(complete), bool(verified), source, note)


@dataclass(slots=True)
class CachedListing:
    entries: Entries
    progress: ListingProgress
    scope: str = ""  # SHARED, or the "registry/repository" it is kept for

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
        # One sentence per kind of trouble that did not stop the cache (a damaged record skipped).
        self.notes: list[str] = []
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._open()

    @property
    def enabled(self) -> bool:
        return self._db is not None

    # -- lifecycle --

    def _open(self) -> None:
        try:
            _private_dir(self.path.parent)
            _private_files(self.path)
            db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            self._disable(exc)
            return
        for attempt in range(_SETUP_TRIES):
            try:
                db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute("PRAGMA recursive_triggers=ON")  # REPLACE fires search_index_gone
                self._ensure_schema(db)
                break
            except sqlite3.OperationalError as exc:
                # Two processes opening a new database at once: switching it to WAL
                # takes a lock that SQLite refuses at once, without waiting out
                # busy_timeout (seen as "database is locked"). Try again shortly.
                if attempt + 1 < _SETUP_TRIES and ("locked" in str(exc) or "busy" in str(exc)):
                    time.sleep(0.05 * (attempt + 1))
                    continue
                db.close()
                self._disable(exc)
                return
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
            for stmt in _SEARCH_SCHEMA.split(";\n"):
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

    def _listing_row(self, columns: str, digest: str, scope: str | None) -> tuple | None:
        """The row that answers for `digest` seen from `scope`: the shared
        (verified) one first, else the one stored under that very scope."""
        def q(db: sqlite3.Connection) -> tuple | None:
            if scope is None or scope == SHARED:
                return db.execute(f"SELECT rowid, {columns} FROM listings WHERE digest=? AND scope=''",
                                  (digest,)).fetchone()
            return db.execute(
                f"SELECT rowid, {columns} FROM listings WHERE digest=? AND scope IN ('', ?) ORDER BY scope='' DESC",
                (digest, scope)).fetchone()

        return self._run(q, None)

    def get_listing(self, digest: str, scope: str | None = None) -> CachedListing | None:
        """The listing of a layer as `scope` (`scope_of(registry, repository)`)
        may see it: the verified one shared by digest, else one stored from
        that registry and repository. `scope=None`: the shared one only. A
        damaged row is dropped (a note in `notes`) and answers None."""
        row = self._listing_row(f"{_PROGRESS_COLUMNS}, scope, data", digest, scope)
        if row is None:
            return None
        rowid, found, data = row[0], row[-2], row[-1]
        try:
            if type(data) is not bytes:
                raise DecodeError("a cached listing is not a blob")
            hit = CachedListing(decode_entries(data), _progress(row[1:]), found)
            if len(hit.entries) != hit.progress.entries:
                raise DecodeError("a cached listing has the wrong number of entries")
        except Exception:  # noqa: BLE001 - any failure to decode one row is damage to that row, nothing more
            self._damaged("listings", rowid)
            return None
        self._touch(rowid)
        return hit

    def get_listing_blob(self, digest: str, scope: str | None = None) -> tuple[bytes, ListingProgress, str] | None:
        """(encoded entries, progress, scope) of the row `get_listing` would
        decode, same scope rule, not decoded (listing_rows.py reads single
        rows of it). A blob that later fails to decode: call get_listing,
        which drops the row."""
        row = self._listing_row(f"{_PROGRESS_COLUMNS}, used, scope, data", digest, scope)
        if row is None:
            return None
        try:
            progress = _progress(row[1:])
        except DecodeError:
            self._damaged("listings", row[0])
            return None
        if type(row[-1]) is not bytes or type(row[-2]) is not str:
            return None
        used = row[-3]
        if not isinstance(used, (int, float)) or not 0 <= time.time() - used < seek_store.TOUCH_EVERY:
            self._touch(row[0])  # an UPDATE rewrites the whole row: recency is kept to the hour
        return row[-1], progress, row[-2]

    def put_listing(self, digest: str, entries: list[TarEntry], progress: ListingProgress,
                    scope: str | None = None) -> bool:
        """Store a listing unless a better one is already there. True if stored.

        A complete, verified listing is shared by digest and replaces the
        scoped ones of that digest. Any other listing is stored under `scope`
        (where it came from: `scope_of(registry, repository)`), which it then
        needs: ValueError without it."""
        if _shared(digest, progress):
            key = SHARED
        elif scope is None or scope == SHARED:
            raise ValueError("an unverified listing is stored under the registry and repository it came from")
        else:
            key = scope
        rank = (int(progress.complete), int(progress.verified), len(entries))

        def better(db: sqlite3.Connection) -> bool:
            # A shared listing answers every scope: nothing scoped is stored next to it.
            if key != SHARED and db.execute("SELECT 1 FROM listings WHERE digest=? AND scope=''",
                                            (digest,)).fetchone() is not None:
                return False
            row = db.execute("SELECT complete, verified, entries FROM listings WHERE digest=? AND scope=?",
                             (digest, key)).fetchone()
            # A row of the wrong types (damage) is no reason to keep it.
            return row is None or not all(type(v) is int for v in row) or tuple(row) < rank

        # Encoding a large listing costs far more than this look-up, so skip it
        # when the answer is already no; the write re-checks, as another process
        # may have stored a better one meanwhile.
        if not self._run(better, False):
            return False
        data = encode_entries(entries)
        record = search_index.build(entries)
        now = time.time()

        def w(db: sqlite3.Connection) -> bool:
            if not better(db):
                return False
            if key == SHARED:
                db.execute("DELETE FROM listings WHERE digest=? AND scope!=''", (digest,))
            cur = db.execute(
                "INSERT OR REPLACE INTO listings (digest, scope, complete, verified, entries, compressed_read, "
                "uncompressed_read, layer_size, source, note, data, stored, used) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (digest, key, int(progress.complete), int(progress.verified), len(entries), progress.compressed_read,
                 progress.uncompressed_read, progress.layer_size, progress.source, progress.note, data, now, now),
            )
            _put_record(db, cur.lastrowid, record)
            return True

        return self._run(w, False, write=True)

    def drop_listing(self, digest: str, scope: str) -> None:
        """Forget the listing stored under `scope` (never the shared one)."""
        if scope != SHARED:
            self._run(lambda db: db.execute("DELETE FROM listings WHERE digest=? AND scope=?", (digest, scope)),
                      None, write=True)

    def listing_state(self, digest: str, scope: str | None = None) -> ListingProgress | None:
        """How far the listing `get_listing(digest, scope)` would give got, without decoding it."""
        row = self._listing_row(_PROGRESS_COLUMNS, digest, scope)
        if row is None:
            return None
        try:
            return _progress(row[1:])
        except DecodeError:
            self._damaged("listings", row[0])
            return None

    def _damaged(self, table: str, rowid: object) -> None:
        """Drop one damaged row and say so once; the caller then fetches it again."""
        self._run(lambda db: db.execute(f"DELETE FROM {table} WHERE rowid=?", (rowid,)), None, write=True)
        note = (f"A damaged record in the cache at {self.path} was skipped and will be fetched again; "
                "`layerslayer-tui cache clear` resets the cache.")
        with self._lock:
            if note not in self.notes:
                self.notes.append(note)

    def _touch(self, rowid: int) -> None:
        # Best effort: recency only steers prune, so a busy database is no reason to give up the cache.
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("UPDATE listings SET used=? WHERE rowid=?", (time.time(), rowid))
            except sqlite3.Error:
                pass

    # -- tags, images, docs --

    @staticmethod
    def _tag_key(registry: str, repository: str, tag: str) -> str:
        return f"{registry}/{repository}:{tag}"

    def get_tag(self, registry: str, repository: str, tag: str, *, max_age: float | None = None) -> str | None:
        age = self.tag_ttl if max_age is None else max_age
        key = self._tag_key(registry, repository, tag)

        row = self._run(lambda db: db.execute("SELECT rowid, digest, stored FROM tags WHERE key=?",
                                              (key,)).fetchone(), None)
        if row is None:
            return None
        rowid, digest, stored = row
        if type(digest) is not str or type(stored) not in (int, float) or not _DIGEST_TEXT.fullmatch(digest):
            self._damaged("tags", rowid)
            return None
        return None if time.time() - stored > age else digest

    def put_tag(self, registry: str, repository: str, tag: str, digest: str) -> None:
        key = self._tag_key(registry, repository, tag)
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO tags VALUES (?,?,?)", (key, digest, time.time())),
                  None, write=True)

    def get_doc(self, key: str) -> bytes | None:
        row = self._run(lambda db: db.execute("SELECT rowid, data FROM docs WHERE key=?", (key,)).fetchone(), None)
        if row is None:
            return None
        if type(row[1]) is not bytes:
            self._damaged("docs", row[0])
            return None
        return row[1]

    def get_decoded(self, key: str, decode: Callable[[bytes], _T]) -> _T | None:
        """A document through its decoder; one that does not decode is damage:
        dropped (a note in `notes`), None, so the caller fetches it again."""
        data = self.get_doc(key)
        if data is None:
            return None
        try:
            return decode(data)
        except Exception:  # noqa: BLE001 - any failure to decode one document is damage to it, nothing more
            self._damaged_doc(key)
            return None

    def _damaged_doc(self, key: str) -> None:
        row = self._run(lambda db: db.execute("SELECT rowid FROM docs WHERE key=?", (key,)).fetchone(), None)
        if row is not None:
            self._damaged("docs", row[0])

    def put_doc(self, key: str, data: bytes) -> None:
        now = time.time()
        self._run(lambda db: db.execute("INSERT OR REPLACE INTO docs VALUES (?,?,?,?)", (key, data, now, now)),
                  None, write=True)

    def get_image(self, key: str) -> ImageInfo | None:
        return self.get_decoded("image:" + key, image_from_json)

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
        rows = self._run(lambda db: db.execute(
            "SELECT rowid, reference, manifest_digest, layers, platform FROM images ORDER BY seen DESC").fetchall(), [])
        out = []
        for rowid, *row in rows:
            try:
                out.append(_seen_image(*row))
            except Exception:  # noqa: BLE001 - a damaged row is skipped, the others still count
                self._damaged("images", rowid)
        return out

    # -- search --

    def listing_rows(self) -> dict[tuple[str, str], int]:
        """(digest, scope) -> rowid of every stored listing, for `search_listing`."""
        return self._run(lambda db: {(d, s): r for r, d, s in db.execute("SELECT rowid, digest, scope FROM listings")
                                     if type(d) is str and type(s) is str}, {})

    def search_listing(self, rowid: int, needle: str, fold: bool, keep: Callable[[str], bool],
                       *, _again: bool = True) -> list[tuple[int, str, int]]:
        """(entry number, path, size) of the entries of listing `rowid` whose
        path passes `keep`, from the path index (see search_index.scan for
        `needle` and `fold`). A listing with no index record (stored before
        the index, or by a run that failed to write one) is indexed now; one
        whose paths cannot be indexed is decoded and matched. A damaged row
        record is dropped (with a note) and built again from the listing."""
        def q(db: sqlite3.Connection) -> tuple | None:
            return db.execute("SELECT paths, folded, sizes FROM search_index WHERE listing=?",
                              (rowid,)).fetchone()

        row = self._run(q, None)
        try:
            if row is None:
                entries = self._entries_of(rowid)
                if entries is None:
                    return []
                record = search_index.build(entries)
                self._run(lambda db: _put_record(db, rowid, record) if db.execute(
                    "SELECT 1 FROM listings WHERE rowid=?", (rowid,)).fetchone() else None, None, write=True)
            else:
                paths, folded, sizes = row
                if not (type(paths) in (bytes, type(None)) and type(folded) in (bytes, type(None))
                        and type(sizes) is bytes):
                    raise DecodeError("a search index record has the wrong types")
                record = search_index.IndexRecord(paths, folded, sizes)
            if record.paths is None:
                entries = self._entries_of(rowid)
                if entries is None:
                    return []
                sizes = entries.column("size")
                return [(n, p, sizes[n]) for n, p in enumerate(entries.paths) if keep(p)]
            return search_index.scan(record, needle, fold, keep)
        except Exception:  # noqa: BLE001 - a record that does not decode is damage to it, nothing more
            self._damaged("search_index", rowid)
            return self.search_listing(rowid, needle, fold, keep, _again=False) if _again else []

    def _entries_of(self, rowid: int) -> Entries | None:
        row = self._run(lambda db: db.execute("SELECT data, entries FROM listings WHERE rowid=?",
                                              (rowid,)).fetchone(), None)
        if row is None:
            return None
        try:
            if type(row[0]) is not bytes:
                raise DecodeError("a cached listing is not a blob")
            entries = decode_entries(row[0])
            if len(entries) != row[1]:
                raise DecodeError("a cached listing has the wrong number of entries")
        except Exception:  # noqa: BLE001 - as in get_listing
            self._damaged("listings", rowid)
            return None
        return entries

    def listed_digests(self) -> list[str]:
        return self._run(lambda db: [r[0] for r in db.execute("SELECT DISTINCT digest FROM listings")], [])

    # -- seek indexes (gzip access points; the table and trust rules live in seek_store.py) --

    def get_seek_index(self, digest: str, scope: str) -> tuple[bytes, str] | None:
        """(encoded index, its scope): the shared (verified) one, else `scope`'s."""
        return self._run(lambda db: seek_store.get(db, digest, scope), None)

    def get_seek_index_at(self, digest: str, scope: str, offset: int) -> tuple[str, object, str] | None:
        """As get_seek_index, decoded, with only the window a read at
        uncompressed `offset` needs (seek_store.get_at)."""
        return self._run(lambda db: seek_store.get_at(db, digest, scope, offset), None)

    def put_seek_index(self, digest: str, scope: str, data: bytes, *, covered: int, points: int) -> bool:
        """`scope` = seek_store.SHARED only for an index from verified bytes."""
        return self._run(lambda db: seek_store.put(db, digest, scope, data, covered, points), False, write=True)

    def drop_seek_index(self, digest: str, scope: str) -> None:
        self._run(lambda db: seek_store.drop(db, digest, scope), None, write=True)

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
            for table in ("listings", seek_store.TABLE, "docs"):
                rows = db.execute(_PRUNE_ORDER.get(table, f"SELECT rowid, length(data) FROM {table} ORDER BY used ASC")
                                  ).fetchall()
                for rowid, length in rows:
                    if freed >= need:
                        return
                    db.execute(f"DELETE FROM {table} WHERE rowid=?", (rowid,))
                    freed += (length or 0) + 200

        self._run(w, None, write=True)
        self._compact()
        return max(0, before - self.size())


def _put_record(db: sqlite3.Connection, rowid: int | None, record: search_index.IndexRecord) -> None:
    db.execute("INSERT OR REPLACE INTO search_index VALUES (?,?,?,?)", (rowid, record.paths, record.folded, record.sizes))


_DIGEST_TEXT = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def _seen_image(reference: object, manifest_digest: object, layers: object, platform: object) -> SeenImage:
    digests = json.loads(layers) if type(layers) is str else None
    if not (type(reference) is str and type(manifest_digest) is str and type(platform) is str
            and type(digests) is list and all(type(d) is str for d in digests)):
        raise DecodeError("a cached image record has the wrong types")
    return SeenImage(reference, manifest_digest, tuple(digests), platform)


def _private_dir(path: Path) -> None:
    """Create the cache directory 0700, and tighten an existing one of ours to
    0700 (the listings of private images are in it). A shared directory (sticky,
    like /tmp) or one owned by someone else is left as it is."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)


def _private_files(db: Path) -> None:
    """The database 0600 before SQLite opens it (SQLite gives its -wal and -shm
    files the database's mode); existing files of any of the three tightened."""
    fd = os.open(db, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.close(fd)
    for suffix in ("", "-wal", "-shm"):
        name = f"{db}{suffix}"
        try:
            st = os.lstat(name)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(name, stat.S_IMODE(st.st_mode) & 0o600)
