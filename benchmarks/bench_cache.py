"""Store then reopen a 125k-entry listing in the SQLite listing cache; prints
the store time, the reopen time (best of 5, a new connection each; target
< 300 ms) and the database size.

    .venv/bin/python benchmarks/bench_cache.py [ENTRIES]   (default 125000)
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from layerslayer_tui.cache import Cache
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry

from _cli import parse_size


def make_entries(n: int) -> list[TarEntry]:
    out = []
    for i in range(n):
        d = f"usr/share/pkg{i // 500}/sub{i // 50 % 10}"
        if i % 50 == 0:
            out.append(TarEntry(d, EntryType.DIR, 0, 0o755, 0, 0, "root", "root", 1700000000.0, None, i * 1024))
        elif i % 97 == 0:
            out.append(TarEntry(f"{d}/link{i}", EntryType.SYMLINK, 0, 0o777, 0, 0, "root", "root", 1700000000.0,
                                f"../file{i - 1}.so", i * 1024))
        else:
            out.append(TarEntry(f"{d}/file{i}.so", EntryType.FILE, (i * 7919) % 200000, 0o644, 0, 0, "root", "root",
                                1700000000.0 + i, None, i * 1024))
    return out


def main() -> None:
    n = parse_size(__doc__, "entries", 125_000, "entries in the listing (default 125000)")
    entries = make_entries(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cache.sqlite3"
        cache = Cache(path)
        t0 = time.perf_counter()
        cache.put_listing("sha256:" + "a" * 64, entries, ListingProgress(1, 2, 3, n, True, True))
        store = time.perf_counter() - t0
        cache.close()
        best = float("inf")
        for _ in range(5):
            cache = Cache(path)
            t0 = time.perf_counter()
            got = cache.get_listing("sha256:" + "a" * 64)
            best = min(best, time.perf_counter() - t0)
            cache.close()
            assert got is not None and len(got.entries) == n and got.entries[-1] == entries[-1]
        print(f"entries: {n}")
        print(f"store: {store * 1000:.0f} ms")
        print(f"reopen (best of 5, new connection each): {best * 1000:.0f} ms (target < 300 ms)")
        print(f"database size: {Cache(path).size() / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
