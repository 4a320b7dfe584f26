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


def get(db: sqlite3.Connection, digest: str, scope: str) -> tuple[bytes, str] | None:
    """(data, scope) of the best usable row: the shared one, else this scope's."""
    rows = db.execute(
        "SELECT scope, data FROM seek_index WHERE key IN (?, ?)", (key(digest, SHARED), key(digest, scope))
    ).fetchall()
    best = sorted(rows, key=lambda r: r[0] != SHARED)
    if not best:
        return None
    db.execute("UPDATE seek_index SET used=? WHERE key=?", (time.time(), key(digest, best[0][0])))
    return bytes(best[0][1]), best[0][0]


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
