"""What a filter costs on a big layer: `Filter.apply` (the shown nodes, the
matches and every directory's kept totals, in one walk) and the reveal plan,
as a ratio to the floor measured in the same run: one walk of the tree
calling the pattern on every node (what any filter has to do).

    .venv/bin/python benchmarks/bench_filter.py [ENTRIES]   (default 125000)

Target: apply / floor <= 3 for every pattern (one pass, no walk up the
parents per kept file); the reveal plan in milliseconds.
"""

from __future__ import annotations

import time

from bench_fs import entries

from _cli import parse_size
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import Filter, LayerTree, PathMatcher

PATTERNS = {
    "no match": "a11y.keyboard.nothing",
    "one deep match": "gschema",
    "about 10 %": "*7.py",
    "everything (a matched dir)": "usr",
}


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    count = parse_size(__doc__, "entries", 125_000, "entries in the layer (default 125000)")
    data = entries(count)
    data.append(TarEntry("usr/share/glib-2.0/schemas/org.gnome.desktop.a11y.keyboard.gschema.xml", EntryType.FILE, size=9))
    tree = LayerTree(0, complete=True)
    tree.add(data)
    print(f"entries: {len(tree)}")
    for label, pattern in PATTERNS.items():
        match = PathMatcher(pattern)
        floor = best(lambda: sum(1 for n in tree.walk() if match(n.path, n.name)))
        flt = Filter.of(pattern)
        took = best(lambda: flt.apply(tree))
        result = flt.apply(tree)
        plan_took = best(lambda: result.reveal())
        plan = result.reveal()
        print(f"{label:<28} {pattern!r:<24} floor {floor * 1000:5.0f} ms, apply {took * 1000:5.0f} ms = {took / floor:4.2f} x;"
              f" {len(result.matches):>6,} matches, reveal {plan_took * 1000:4.1f} ms"
              f" ({len(plan.expand)} dirs, {plan.collapsed:,} collapsed)")

if __name__ == "__main__":
    main()
