"""The seek-index table of the cache (cache.py runs these inside its own
transactions, so a database failure disables the cache as for any table).

Trust follows the listings rule: an index recorded from bytes that were
verified against the layer digest (a complete, hashed read) is shared by
digest (scope ""); one from an unverified read (interrupted, or a file
streamed to its end) is scoped to the registry/repository it came from. A
digest mismatch drops the scoped index of that repository.
"""

from __future__ import annotations

import sqlite3
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS seek_index (
    key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    scope TEXT NOT NULL,
    covered INTEGER NOT NULL,
    points INTEGER NOT NULL,
    data BLOB NOT NULL,
    stored REAL NOT NULL,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seek_index_digest ON seek_index (digest);
"""
TABLE = "seek_index"
SHARED = ""  # the scope of an index recorded from verified bytes


def key(digest: str, scope: str) -> str:
    return f"{digest}|{scope}"


TOUCH_EVERY = 3600.0  # seconds: `used` only steers prune; rewriting a multi-MB row on every read cost ~13 ms


def _best(db: sqlite3.Connection, digest: str, scope: str) -> tuple[str, str, float] | None:
    """(key, scope, used) of the best usable row: the shared one, else this scope's."""
    rows = db.execute(
        "SELECT key, scope, used FROM seek_index WHERE key IN (?, ?)", (key(digest, SHARED), key(digest, scope))
    ).fetchall()
    best = sorted(rows, key=lambda r: r[1] != SHARED)
    return tuple(best[0]) if best else None  # type: ignore[return-value]


def _touch(db: sqlite3.Connection, k: str, used: object) -> None:
    now = time.time()
    if not isinstance(used, (int, float)) or not 0 <= now - used < TOUCH_EVERY:
        db.execute("UPDATE seek_index SET used=? WHERE key=?", (now, k))


def get(db: sqlite3.Connection, digest: str, scope: str) -> tuple[bytes, str] | None:
    """(data, scope) of the best usable row: the shared one, else this scope's."""
    best = _best(db, digest, scope)
    if best is None:
        return None
    k, found, used = best
    row = db.execute("SELECT data FROM seek_index WHERE key=?", (k,)).fetchone()
    _touch(db, k, used)
    return bytes(row[0]), found


def get_at(db: sqlite3.Connection, digest: str, scope: str, offset: int) -> tuple[str, object, str] | None:
    """The best usable index for reading at uncompressed `offset`, with only
    the window it needs read (a version-2 record: its table, then one slice;
    the whole record otherwise), in one read. ("index", SeekIndex, scope),
    ("damaged", reason, scope) or None. The reads share one transaction, so
    the slice comes from the record the table came from."""
    db.execute("BEGIN")  # one snapshot: the window comes from the record the table came from
    try:
        got = _read_at(db, digest, scope, offset)
    finally:
        db.execute("COMMIT")
    if got is not None:
        _touch(db, got[0], got[1])
        return got[2]
    return None


def _read_at(db: sqlite3.Connection, digest: str, scope: str, offset: int) -> tuple[str, object, tuple] | None:
    from layerslayer_tui.peek import gzindex

    best = _best(db, digest, scope)
    if best is None:
        return None
    k, found, used = best

    def part(start: int, length: int) -> bytes:
        row = db.execute("SELECT substr(data, ?, ?) FROM seek_index WHERE key=?", (start + 1, length, k)).fetchone()
        return bytes(row[0]) if row is not None and type(row[0]) is bytes else b""

    total_row = db.execute("SELECT length(data) FROM seek_index WHERE key=?", (k,)).fetchone()
    total = total_row[0] if total_row is not None and type(total_row[0]) is int else 0
    try:
        size = gzindex.table_size(part(0, gzindex.TABLE_HEAD))
        if size is None:  # an older form: decode it whole
            whole = db.execute("SELECT data FROM seek_index WHERE key=?", (k,)).fetchone()
            return k, used, ("index", gzindex.decode(bytes(whole[0]) if whole and type(whole[0]) is bytes else b""),
                             found)
        index, spans = gzindex.decode_table(part(0, size), total)
        point = index.before(offset)
        if point is not None:
            at = next(i for i, p in enumerate(index.points) if p is point)
            point.load(part(*spans[at]))
        return k, used, ("index", index, found)
    except ValueError as err:
        return k, used, ("damaged", str(err), found)


def put(db: sqlite3.Connection, digest: str, scope: str, data: bytes, covered: int, points: int) -> bool:
    """Store unless a row of this scope already covers at least as much."""
    k = key(digest, scope)
    row = db.execute("SELECT covered FROM seek_index WHERE key=?", (k,)).fetchone()
    if row is not None and row[0] >= covered:
        return False
    now = time.time()
    db.execute("INSERT OR REPLACE INTO seek_index VALUES (?,?,?,?,?,?,?,?)", (k, digest, scope, covered, points, data, now, now))
    if scope == SHARED:  # verified bytes supersede what any one repository recorded
        db.execute("DELETE FROM seek_index WHERE digest=? AND scope<>?", (digest, SHARED))
    return True


def drop(db: sqlite3.Connection, digest: str, scope: str) -> None:
    db.execute("DELETE FROM seek_index WHERE key=?", (key(digest, scope),))
