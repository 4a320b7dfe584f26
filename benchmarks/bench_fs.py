"""Figures for the file model: 125k-entry tree build, a 10k-entry directory,
merge, markers, wasted space and every export format. Prints, asserts nothing.

    .venv/bin/python benchmarks/bench_fs.py [ENTRIES]   (default 125000)

No fixed target: these are the costs behind the TUI's 125k-entry figures
(bench_tui.py) and the exports.
"""

from __future__ import annotations

import io
import time
import tracemalloc

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import LayerTree, mark_all, merge, wasted
from layerslayer_tui.fs.export import FORMATS, ExportLayer, ExportMeta, write_to

from _cli import parse_size


def entries(count: int, salt: str = "") -> list[TarEntry]:
    out = [TarEntry(f"big{salt}", EntryType.DIR, mode=0o755)]
    out += [TarEntry(f"big{salt}/file{i:05d}", EntryType.FILE, size=i, mode=0o644, mtime=1.7e9) for i in range(10_000)]
    i = 0
    while len(out) < count:
        d = f"usr/share/pkg{i // 200:04d}/sub{(i // 20) % 10}"
        out.append(TarEntry(f"{d}/f{i}.py", EntryType.FILE, size=i % 5000, mode=0o644, uname="root", gname="root", mtime=1.7e9))
        i += 1
    return out


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<34} {time.perf_counter() - start:8.3f} s")
    return result


def main() -> None:
    count = parse_size(__doc__, "entries", 125_000, "entries in the base layer (default 125000)")
    data = entries(count)
    upper = entries(count // 4, salt="2")
    print(f"entries: {len(data)}")

    def build() -> LayerTree:
        tree = LayerTree(0, complete=True)
        for i in range(0, len(data), 2000):  # batches as a peek yields them
            tree.add(data[i : i + 2000])
        return tree

    tree = timed("tree build (batches of 2000)", build)
    tracemalloc.start()
    build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'tree memory (tracemalloc peak)':<34} {peak / 2**20:8.1f} MiB")
    timed("children of a 10k dir (cold)", lambda: tree.children("big"))
    timed("children of a 10k dir (cached)", lambda: tree.children("big"))
    top = LayerTree(1, complete=True)
    top.add(upper)
    trees = [tree, top]
    timed("merge 2 layers", lambda: merge(trees))
    timed("change markers (mark_all)", lambda: mark_all(trees))
    timed("wasted space", lambda: wasted(trees))
    meta = ExportMeta("bench", "linux/amd64", None, "layer", [ExportLayer(0, "sha256:" + "0" * 64, complete=True)])
    for fmt in FORMATS:
        out = io.StringIO()
        timed(f"export {fmt}", lambda: write_to(tree, out, fmt=fmt, meta=meta))


if __name__ == "__main__":
    main()
