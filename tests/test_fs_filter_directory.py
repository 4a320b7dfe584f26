"""Filter.apply for a pattern alone runs a directory at a time (fs/filter.py
_by_directory); seeded random trees check it against the walk per node that
markers still use, field by field."""

from __future__ import annotations

import random

import pytest

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import Change, Filter, LayerTree, mark_changes

NAMES = ["a", "b", "lib", "x.so", ".wh.b", ".wh..wh..opq", "usr", "libx", "Lib", "c.py"]
PATTERNS = ["lib", "a", "*.so", "usr/*", "L", "[ab]", "b/lib", "nothing", "c", "/"]


def random_tree(rng: random.Random) -> LayerTree:
    entries = []
    for _ in range(rng.randint(1, 60)):
        path = "/".join(rng.choice(NAMES) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.05:
            path = "../" + path
        kind = rng.choice([EntryType.FILE, EntryType.DIR, EntryType.SYMLINK])
        entries.append(TarEntry(path, kind, size=rng.randint(0, 9), link="a" if kind is EntryType.SYMLINK else None))
    tree = LayerTree(0, complete=True)
    tree.add(entries)
    mark_changes(tree, None)  # every node gets a marker: "any marker" keeps what no marker keeps
    return tree


@pytest.mark.parametrize("seed", range(4))
def test_a_directory_at_a_time_keeps_what_the_walk_per_node_keeps(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    for _ in range(60):
        tree = random_tree(rng)
        for removals in (False, True):
            walked = list(tree.walk(removals=removals))
            reach = {id(n) for n in walked} | {id(tree.root)}
            if any(id(n.parent) not in reach for n in walked):
                # A removal whose directory was replaced later in the listing points
                # at the old one: the walk per node counts it there, unseen.
                continue
            for pattern in PATTERNS:
                fast = Filter.of(pattern).apply(tree, removals=removals)
                slow = Filter.of(pattern, list(Change)).apply(tree, removals=removals)  # the per-node walk
                assert fast.shown == slow.shown, (seed, pattern)
                assert fast.kept == slow.kept and fast.rows == slow.rows, (seed, pattern)
                assert sorted(map(id, fast.matches)) == sorted(map(id, slow.matches)), (seed, pattern)
                # walk order: a directory's subdirectories (and what they hold) before its files
                assert [n.path for n in fast.matches] == [n.path for n in slow.matches], (seed, pattern)
                checked += 1
    assert checked > 500
