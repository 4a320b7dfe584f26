"""Hostile symlinks in the merged view against a benign layer of the same size.

    .venv/bin/python benchmarks/bench_fs_links.py [ENTRIES]   (default 50000)

Each case puts ENTRIES files under a link that never resolves (`d -> d/d/...`,
2,000 parts) or resolves only after 39 links of 4,000 "." parts each, and
prints the merge time as a ratio to the same number of files under a plain
directory, measured in the same run. Before the bounded resolver, the first
case with 2,000 parts ran for minutes (issue 10 #5). Prints, asserts nothing.
"""

from __future__ import annotations

import sys
import time

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import LayerTree, merge


def tree(index: int, entries: list[TarEntry]) -> LayerTree:
    out = LayerTree(index, complete=True)
    out.add(entries)
    return out


def timed(lower: list[TarEntry], top: str, count: int) -> tuple[float, int, int]:
    upper = [TarEntry(f"{top}/{n}/x", EntryType.FILE, size=1) for n in range(count)]
    trees = [tree(0, lower), tree(1, upper)]
    start = time.perf_counter()
    merged = merge(trees)
    return time.perf_counter() - start, len(merged), len(merged.flagged)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    base, _, _ = timed([TarEntry("t", EntryType.DIR)], "t", count)
    print(f"baseline: {count:,} files under a plain directory   {base:7.3f} s")
    cases = {
        "loop d -> d/d/... (2,000 parts)": ([TarEntry("d", EntryType.SYMLINK, link="/".join(["d"] * 2000))], "d"),
        "39 links of 4,000 '.' parts": (
            [TarEntry(f"l{i}", EntryType.SYMLINK, link="/".join(["."] * 4000) + f"/l{i + 1}") for i in range(39)]
            + [TarEntry("l39", EntryType.DIR)],
            "l0",
        ),
    }
    for label, (lower, top) in cases.items():
        took, placed, flagged = timed(lower, top, count)
        print(f"{label:<36} {took:7.3f} s  ratio {took / base:5.2f}  placed {placed:,}, flagged {flagged:,}")


if __name__ == "__main__":
    main()
