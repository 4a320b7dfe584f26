"""Change markers, wasted space (dive's formula), search and filters."""

from __future__ import annotations

import pytest

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import Change, Filter, FilteredView, LayerTree, mark_all, mark_changes, merge, search, wasted


def E(path: str, kind: EntryType = EntryType.FILE, size: int = 0, **kw) -> TarEntry:
    return TarEntry(path=path, type=kind, size=size, **kw)


def layer(index: int, *entries: TarEntry, complete: bool = True) -> LayerTree:
    tree = LayerTree(index, complete=complete)
    tree.add(entries)
    return tree


@pytest.fixture()
def image() -> list[LayerTree]:
    return [
        layer(0, E("etc", EntryType.DIR), E("etc/a", size=1, mode=0o644), E("etc/b", size=2), E("etc/c", size=3),
              E("etc/d", size=4, uid=0), E("bin/sh", EntryType.SYMLINK, link="busybox"), E("x/y/z", size=5)),
        layer(1, E("etc/a", size=1, mode=0o644), E("etc/b", size=20), E("etc/c", size=3, mode=0o600),
              E("etc/d", size=4, uid=1000), E("bin/sh", EntryType.SYMLINK, link="bash"), E("etc/.wh.gone"),
              E("x/.wh.y"), E("new/file", size=9), E("etc/e", EntryType.DIR)),
    ]  # fmt: skip


def test_change_markers(image: list[LayerTree]) -> None:
    counts = mark_changes(image[1], merge(image, 0))
    marks = {n.path: n.change for n in image[1].walk(removals=True) if n.kind != "opaque"}
    assert marks["etc/a"] == Change.UNMODIFIED
    for path in ("etc/b", "etc/c", "etc/d", "bin/sh"):  # size, mode, owner, link
        assert marks[path] == Change.MODIFIED, path
    assert marks["new/file"] == Change.ADDED and marks["new"] == Change.ADDED and marks["etc/e"] == Change.ADDED
    assert marks["etc/gone"] == Change.REMOVED and marks["x/y"] == Change.REMOVED
    assert counts[Change.REMOVED] == 2 and sum(counts.values()) == len(image[1]) + 2
    assert mark_changes(image[0], None)[Change.ADDED] == len(image[0])


def test_type_change_is_modified() -> None:
    low = layer(0, E("p", size=3))
    up = layer(1, E("p", EntryType.DIR))
    mark_changes(up, merge([low]))
    assert up.get("p").change == Change.MODIFIED


def test_wasted_follows_dive() -> None:
    # dive's own example (filetree/efficiency_test.go) with real directory entries.
    trees = [
        layer(0, E("etc", EntryType.DIR), E("etc/nginx", EntryType.DIR),
              E("etc/nginx/nginx.conf", size=2000), E("etc/nginx/public", size=3000)),
        layer(1, E("etc/nginx/nginx.conf", size=5000), E("etc/athing", size=10000)),
        layer(2, E("etc/.wh.nginx")),
    ]  # fmt: skip
    report = wasted(trees)
    # The whiteout deletes nginx.conf (5000, as of layer 1) and public (3000).
    assert report.efficiency == pytest.approx((2000 + 3000 + 10000 + 8000) / (7000 + 3000 + 10000 + 8000))
    assert [(o.path, o.cumulative, o.smallest, o.layers) for o in report.offenders] == [
        ("etc/nginx/nginx.conf", 7000, 2000, [0, 1])
    ]
    assert report.wasted_bytes == 7000 and report.excess_bytes == 5000
    assert report.partial_layers == []


def test_wasted_counts_whiteout_of_a_file_and_empty_image() -> None:
    trees = [layer(0, E("big", size=100)), layer(1, E(".wh.big")), layer(2, E("big", size=50), complete=False)]
    report = wasted(trees)
    assert report.offenders[0].path == "big" and report.offenders[0].cumulative == 250
    assert report.offenders[0].layers == [0, 1, 2]
    assert report.partial_layers == [2]
    assert wasted([]).efficiency == 1.0 and wasted([layer(0)]).wasted_bytes == 0


def test_search_glob_substring_and_markers(image: list[LayerTree]) -> None:
    hits = search(image, "etc/?")
    assert [(h.layer, h.path, h.change) for h in hits if h.path == "etc/b"] == [
        (0, "etc/b", Change.ADDED), (1, "etc/b", Change.MODIFIED)
    ]  # fmt: skip
    assert {(h.layer, h.path) for h in search(image, "sh")} == {(0, "bin/sh"), (1, "bin/sh")}
    assert [h.path for h in search(image, "*.conf")] == []
    assert [(h.path, h.kind) for h in search(image, "gone")] == [("etc/gone", "whiteout")]
    modified = search(image, "etc", markers=["modified"])
    assert {h.path for h in modified} == {"etc/b", "etc/c", "etc/d"}
    assert search(image, "ETC") == [] and len(search(image, "etc", limit=2)) == 2
    assert search([None, image[1]], "new/file")[0].change == Change.ADDED  # unlisted layer below


def test_filter_keeps_parents_and_subtrees(image: list[LayerTree]) -> None:
    mark_all(image)
    view = FilteredView(image[1], Filter.of(markers=["modified", "removed"]), removals=True)
    assert [n.name for n in view.children("")] == ["bin", "etc", "x"]
    assert [n.path for n in view.children("etc", removals=True)] == ["etc/b", "etc/c", "etc/d", "etc/gone"]
    assert view.get("new/file") is None and view.get("etc/b") is not None
    only_dir = FilteredView(image[0], Filter.of("y"))
    assert [n.path for n in only_dir.walk()] == ["x", "x/y", "x/y/z"]
    glob = FilteredView(image[0], Filter.of("[x]"))  # a matching dir shows its whole subtree
    assert [n.path for n in glob.walk()] == ["x", "x/y", "x/y/z"]
    assert not Filter().active and Filter.of("", None) == Filter()


def _wasted_reference(trees: list[LayerTree | None]) -> tuple:
    """The plain form of the computation (one record per path, the view below
    built for every layer), which wasted() must agree with."""
    from layerslayer_tui.fs.merged import MergedTree
    from layerslayer_tui.fs.paths import OPAQUE_MARKER

    stats: dict[str, list] = {}
    below = MergedTree()

    def visit(path: str, size: int, layer: int) -> None:
        d = stats.setdefault(path, [0, size, []])
        d[0] += size
        d[1] = min(d[1], size)
        d[2].append(layer)

    for index, tree in enumerate(trees):
        if tree is not None:
            for node in tree.nodes():
                if not node.kids:
                    visit(node.path, node.size, index)
            for path in tree.whiteouts:
                gone = below.get(path)
                visit(path, gone.total_bytes if gone is not None else 0, index)
            for path in tree.opaque_dirs:
                gone = below.get(path)
                visit(f"{path}/{OPAQUE_MARKER}" if path else OPAQUE_MARKER,
                      gone.total_bytes if gone is not None and gone.is_dir else 0, index)
        below.apply(tree, index)
    small = sum(d[1] for d in stats.values())
    total = sum(d[0] for d in stats.values())
    offenders = sorted(((p, d[0], d[1], d[2]) for p, d in stats.items() if len(d[2]) >= 2), key=lambda o: (-o[1], o[0]))
    return (1.0 if total == 0 else small / total, offenders, below.partial_layers)


@pytest.mark.parametrize("seed", range(12))
def test_wasted_agrees_with_the_plain_computation(seed: int) -> None:
    import random

    rng = random.Random(seed)
    names = [f"d{d}/f{f}" for d in range(4) for f in range(5)] + ["top", "d1", "d2/sub/x"]
    trees: list[LayerTree | None] = []
    for index in range(rng.randint(1, 5)):
        if rng.random() < 0.15:
            trees.append(None)  # a layer not listed
            continue
        entries = []
        for name in rng.sample(names, rng.randint(1, len(names))):
            kind = rng.random()
            if kind < 0.15:
                head, _, tail = name.rpartition("/")
                entries.append(TarEntry(f"{head}/.wh.{tail}" if head else f".wh.{tail}", EntryType.FILE))
            elif kind < 0.2 and "/" in name:
                entries.append(TarEntry(f"{name.rpartition('/')[0]}/.wh..wh..opq", EntryType.FILE))
            else:
                entries.append(TarEntry(name, EntryType.FILE, rng.randint(0, 5000)))
        tree = LayerTree(index, complete=rng.random() < 0.8)
        tree.add(entries)
        trees.append(tree)
    report = wasted(trees)
    efficiency, offenders, partial = _wasted_reference(trees)
    assert report.efficiency == pytest.approx(efficiency)
    assert [(o.path, o.cumulative, o.smallest, o.layers) for o in report.offenders] == offenders
    assert report.partial_layers == partial
