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
