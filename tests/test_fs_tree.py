"""LayerTree: normalisation, whiteouts, totals, ordering, partial listings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import LayerTree
from fs_support import build_layer, read_entries


def E(path: str, kind: EntryType = EntryType.FILE, size: int = 0, **kw) -> TarEntry:
    return TarEntry(path=path, type=kind, size=size, **kw)


def test_paths_are_normalised_and_unsafe_names_flagged() -> None:
    tree = LayerTree(0)
    tree.add([E("./a//b/./c", size=3), E("/abs", size=1), E("../evil"), E("a/../../x"), E("./"), E("a/", EntryType.DIR)])
    assert sorted(n.path for n in tree.walk()) == ["../evil", "/abs", "a", "a/../../x", "a/b", "a/b/c"]
    assert [(n.path, n.unsafe) for n in tree.unsafe] == [
        ("/abs", "absolute"), ("../evil", "escapes the root"), ("a/../../x", "escapes the root")
    ]  # fmt: skip
    assert tree.skipped == 3 and tree.get("abs") is None and tree.get("/abs").unsafe == "absolute"
    assert tree.get("a").entry is not None and tree.get("a/b").implied


def test_whiteouts_are_removals_not_files() -> None:
    data = build_layer(
        [("dir", "d"), ("whiteout", "d/old"), ("opaque", "d"), ("file", "d/new", b"xy"), ("whiteout", "top")]
    )
    entries = read_entries(data)
    entries.append(E("d/.wh..wh.plnk", EntryType.FILE))  # aufs bookkeeping: ignored
    entries.append(E("e/.wh.hl", EntryType.HARDLINK, link="d/new"))  # whiteout stored as a hardlink
    tree = LayerTree(3)
    tree.add(entries)
    assert not any(".wh." in n.path for n in tree.walk())
    assert sorted((n.kind, n.path) for n in tree.removals) == [
        ("opaque", "d"), ("whiteout", "d/old"), ("whiteout", "e/hl"), ("whiteout", "top")
    ]  # fmt: skip
    assert [n.name for n in tree.children("d")] == ["new"]
    assert [(n.kind, n.name) for n in tree.children("d", removals=True)] == [
        ("file", "new"), ("opaque", ".wh..wh..opq"), ("whiteout", "old")
    ]  # fmt: skip
    assert tree.get("d").total_files == 1 and tree.get("d").total_bytes == 2
    assert all(n.layer_index == 3 for n in tree.removals)


def test_children_sorted_dirs_first_and_cache_invalidated() -> None:
    tree = LayerTree()
    tree.add([E("r/b"), E("r/a/x"), E("r/c", EntryType.DIR)])
    assert [n.name for n in tree.children("r")] == ["a", "c", "b"]
    tree.add([E("r/0"), E("r/B", EntryType.DIR)])
    assert [n.name for n in tree.children("r")] == ["B", "a", "c", "0", "b"]
    assert tree.children("r/b") == [] and tree.children("nope") == []


def test_replacement_within_a_layer_keeps_totals_right() -> None:
    tree = LayerTree()
    tree.add([E("d/f1", size=10), E("d/f2", size=5)])
    tree.add([E("d", EntryType.FILE, size=7)])  # a file replaces the directory and its subtree
    assert tree.get("d/f1") is None and tree.get("d").kind == "file"
    assert (tree.total_files, tree.total_bytes) == (1, 7)
    tree.add([E("d/g", size=2)])  # and a child brings an implied directory back
    assert tree.get("d").implied and (tree.total_files, tree.total_bytes) == (1, 2)
    tree.add([E("d", EntryType.DIR, mode=0o700)])  # dir over dir keeps children
    assert tree.get("d").entry.mode == 0o700 and tree.get("d/g") is not None


def test_may_be_incomplete_follows_the_last_entry() -> None:
    tree = LayerTree()
    tree.add([E("a/x"), E("b/c/d"), E("b/c/e")])
    assert tree.may_be_incomplete("") and tree.may_be_incomplete("b") and tree.may_be_incomplete("b/c")
    assert not tree.may_be_incomplete("a") and not tree.may_be_incomplete("b/cc")
    tree.complete = True
    assert not tree.may_be_incomplete("b/c")


paths = st.lists(st.sampled_from("abc"), min_size=1, max_size=4).map("/".join)
ops = st.lists(
    st.tuples(paths, st.sampled_from([EntryType.FILE, EntryType.DIR, EntryType.SYMLINK]), st.integers(0, 1000)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(ops, st.integers(1, 5))
def test_incremental_totals_equal_a_recount(batch_ops, batches) -> None:
    tree = LayerTree()
    entries = [E(p, k, s if k == EntryType.FILE else 0) for p, k, s in batch_ops]
    step = max(1, len(entries) // batches)
    for i in range(0, len(entries), step):
        tree.add(entries[i : i + step])
    # Reference: replay with a plain dict using tar extraction semantics.
    final: dict[str, TarEntry] = {}
    for e in entries:
        for p in list(final):
            if p.startswith(e.path + "/") and e.type != EntryType.DIR:
                del final[p]
        parts = e.path.split("/")
        for i in range(1, len(parts)):
            anc = "/".join(parts[:i])
            if anc in final and final[anc].type != EntryType.DIR:
                del final[anc]
        if e.type == EntryType.DIR and final.get(e.path, e).type == EntryType.DIR:
            final[e.path] = e
        else:
            final[e.path] = e
    leaves = {p: e for p, e in final.items() if e.type != EntryType.DIR}
    assert {n.path for n in tree.walk() if not n.is_dir} == set(leaves)
    for node in [tree.root, *tree.walk()]:
        if node.is_dir:
            under = [e for p, e in leaves.items() if node.path == "" or p.startswith(node.path + "/")]
            assert node.total_files == len(under)
            assert node.total_bytes == sum(e.size for e in under if e.type == EntryType.FILE)
    assert len(tree) == len(list(tree.walk()))
