"""Symlinks among the parents in the merged view: followed like a runtime
does, iteratively, within Linux's 40-link limit and a bound on the work, and
a path that does not resolve is listed flagged, never dropped, never a
RecursionError (issue 10 #5). umoci is the referee where it can unpack."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bed.images import push_image
from layerslayer_tui.fs import LayerTree, mark_all, merge, search, wasted
from layerslayer_tui.fs.merged import LINK_LOOP, MAX_LINK_HOPS, WORK_PER_LAYER
from fs_support import build_layer, have_umoci, read_entries, umoci_unpack, walk_rootfs


def trees_of(layers: list[list[tuple]]) -> list[LayerTree]:
    out = []
    for index, specs in enumerate(layers):
        tree = LayerTree(index, complete=True)
        tree.add(read_entries(build_layer(specs)))
        out.append(tree)
    return out


def chain(parts: int) -> list[list[tuple]]:
    """`d -> d/d/.../d`: every expansion of d starts with d again."""
    return [
        [("symlink", "d", "/".join(["d"] * parts)), ("file", "ok", b"fine")],
        [("file", "d/x", b"x"), ("dir", "d/sub"), ("file", "d/sub/y", b"y"), ("file", "ok2", b"2")],
    ]


def view(merged) -> dict[str, tuple]:
    """path -> (kind, size, symlink target) of what the merged view places."""
    out = {}
    for node in merged.walk():
        if node.unsafe == LINK_LOOP:
            continue
        e = node.entry
        size = e.size if e is not None and node.kind == "file" else 0
        out[node.path] = (node.kind, size, e.link if e is not None and node.kind == "symlink" else None)
    return out


def real(rootfs: Path) -> dict[str, tuple]:
    return {p: (kind, size, link) for p, (kind, size, _mode, _mtime, link) in walk_rootfs(rootfs).items()}


@pytest.mark.parametrize("parts", [50, 2000])
def test_a_link_chain_is_flagged_not_a_crash(parts: int) -> None:
    trees = trees_of(chain(parts))
    merged = merge(trees)  # was RecursionError (50) or minutes of work (2,000)
    assert merged.get("d").kind == "symlink"
    assert merged.get("ok").kind == "file" and merged.get("ok2").kind == "file"
    flagged = {n.path: n.unsafe for n in merged.flagged}
    assert flagged == {"d/x": LINK_LOOP, "d/sub": LINK_LOOP, "d/sub/y": LINK_LOOP}
    assert merged._work <= WORK_PER_LAYER
    # Every reader of the merged view copes too.
    assert {n.path for n in merged.walk()} >= {"d", "ok", "ok2", "d/x", "d/sub/y"}
    mark_all(trees)
    assert trees[1].get("d/x").change is not None
    assert [h.path for h in search(trees, "sub/y")] == ["d/sub/y"]
    wasted(trees)


@pytest.mark.skipif(not have_umoci(), reason="umoci is not installed")
def test_umoci_refuses_what_the_view_flags(tmp_path: Path) -> None:
    """The runtime refuses the layer (ELOOP); the view keeps and flags the entries."""
    with pytest.raises(subprocess.CalledProcessError) as err:
        umoci_unpack([build_layer(specs) for specs in chain(50)], tmp_path)
    assert b"too many levels of symbolic links" in err.value.stderr


def test_a_loop_between_two_links() -> None:
    trees = trees_of([[("symlink", "a", "b"), ("symlink", "b", "a")], [("file", "a/x", b"x"), ("file", "b/y", b"y")]])
    merged = merge(trees)
    assert sorted((n.path, n.unsafe) for n in merged.flagged) == [("a/x", LINK_LOOP), ("b/y", LINK_LOOP)]
    assert merged.total_files == 4  # two links and the two flagged files: nothing dropped


def hops(n: int) -> list[list[tuple]]:
    """l0 -> l1 -> ... -> l{n-1} -> t: reaching t through l0 takes n links."""
    links = [("symlink", f"l{i}", f"l{i + 1}") for i in range(n - 1)] + [("symlink", f"l{n - 1}", "t")]
    return [[("dir", "t"), *links], [("file", "l0/x", b"through the chain"), ("file", f"l{n - 1}/last", b"one hop")]]


@pytest.mark.skipif(not have_umoci(), reason="umoci is not installed")
@pytest.mark.parametrize(
    "layers",
    [
        hops(MAX_LINK_HOPS),  # exactly the limit: still resolves
        [[("dir", "usr"), ("dir", "usr/lib"), ("symlink", "lib", "usr/lib"), ("symlink", "usr/lib64", "../lib")],
         [("file", "lib/a", b"a"), ("file", "usr/lib64/b", b"bb"), ("dir", "lib/sub"), ("file", "lib/sub/c", b"c")]],
        [[("dir", "opt"), ("symlink", "opt/up", "../../../.."), ("symlink", "abs", "/opt")],
         [("file", "opt/up/escaped", b"clamped at the root"), ("file", "abs/via-absolute", b"z")]],
        [[("dir", "a"), ("symlink", "a/self", "."), ("symlink", "deep", "a/self/self/self/self")],
         [("file", "deep/f", b"f")]],
    ],
    ids=["40-hops", "relative-links", "dotdot-and-absolute", "dot-links"],
)
def test_links_that_resolve_match_umoci(layers: list[list[tuple]], tmp_path: Path) -> None:
    rootfs = umoci_unpack([build_layer(specs) for specs in layers], tmp_path)
    merged = merge(trees_of(layers))
    assert merged.flagged == []
    assert view(merged) == real(rootfs)


def test_one_link_past_the_limit_is_flagged() -> None:
    """Linux stops at 40 links (ELOOP). umoci's SecureJoin allows 255, so this
    is the one place the view is stricter than the referee: flagged, listed."""
    merged = merge(trees_of(hops(MAX_LINK_HOPS + 1)))
    assert [(n.path, n.unsafe) for n in merged.flagged] == [("l0/x", LINK_LOOP)]
    assert merged.get("t/last").entry.size == 7


# -- the CLI as a process ----------------------------------------------------------


@pytest.mark.registry
@pytest.mark.parametrize("parts", [50, 2000])
def test_cli_lists_a_link_chain_and_exits_0(registry, tmp_path: Path, parts: int) -> None:
    layers = [gzip.compress(build_layer(specs), mtime=0) for specs in chain(parts)]
    image = push_image(registry, f"links/chain{parts}", "1", layers)
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache")}
    # timeout: the bound on the run (2,000 parts ran past 120 s before the fix).
    done = subprocess.run([sys.executable, "-m", "layerslayer_tui", image.ref, "--json", "--full"],
                          capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    entries = {e["path"]: e for e in json.loads(done.stdout)["entries"]}
    assert entries["d"]["type"] == "symlink" and entries["ok"]["type"] == "file"
    assert entries["d/x"]["unsafe"] == LINK_LOOP and entries["d/sub/y"]["unsafe"] == LINK_LOOP


def test_a_flagged_entry_never_hides_a_real_node() -> None:
    """An entry flagged because its parent does not resolve keeps its ordinary
    name; when the merged tree also holds a real node of that name, the real
    one (and what lies under it) must stay reachable through get() and walk().
    Random layers of links, loops and unsafe names (seeded: the same every run)."""
    import random

    from layerslayer_tui.entry import EntryType, TarEntry
    from layerslayer_tui.fs import LayerTree
    from layerslayer_tui.fs.merged import MergedTree

    rnd = random.Random(1)
    names = ["a", "b", "c", "..", "/x", "lnk", ".wh.b", "d"]
    kinds = [EntryType.FILE, EntryType.DIR, EntryType.SYMLINK, EntryType.HARDLINK]

    def layer(i: int) -> LayerTree:
        tree = LayerTree(i, complete=True)
        entries = []
        for _ in range(300):
            path = "/".join(rnd.choice(names) for _ in range(rnd.randint(1, 4)))
            kind = rnd.choice(kinds)
            link = rnd.choice(["a", "/b", "../c", "a/b"]) if kind in (EntryType.SYMLINK, EntryType.HARDLINK) else ""
            entries.append(TarEntry(path=path, type=kind, size=rnd.randint(0, 9), link=link))
        tree.add(entries)
        return tree

    hidden = []
    for _ in range(30):
        layers = [layer(i) for i in range(3)]
        merged = MergedTree()
        for i, tree in enumerate(layers):
            merged.apply(tree, i)
        for view in [*layers, merged]:
            walked = {id(n) for n in view.walk()}
            hidden += [n.path for n in view.nodes() if view.get(n.path) is not n or id(n) not in walked]
    assert hidden == []
