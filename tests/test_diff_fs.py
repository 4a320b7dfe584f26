"""fs.diff and compare.align_layers on values built in memory (no registry)."""

from __future__ import annotations

from layerslayer_tui.compare import align_layers, config_changes
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import LayerTree, merge
from layerslayer_tui.fs.diff import diff_views
from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo, Platform


def f(path: str, size: int = 1, **kw) -> TarEntry:
    return TarEntry(path, EntryType.FILE, size=size, mode=kw.pop("mode", 0o644), mtime=kw.pop("mtime", 1.0), **kw)


def d(path: str, **kw) -> TarEntry:
    return TarEntry(path, EntryType.DIR, mode=kw.pop("mode", 0o755), mtime=kw.pop("mtime", 1.0), **kw)


def view(*entries: TarEntry):
    tree = LayerTree(0, complete=True)
    tree.add(list(entries))
    return merge([tree])


def test_content_digests_decide_when_both_sides_have_them() -> None:
    a = view(f("x", 5, extra={"digest": "sha256:aa"}), f("y", 5, extra={"digest": "sha256:bb"}), f("z", 5))
    b = view(f("x", 5, extra={"digest": "sha256:ab"}), f("y", 5, extra={"digest": "sha256:bb"}),
             f("z", 5, extra={"digest": "sha256:cc"}))
    diff = diff_views(a, b)
    assert [(c.path, c.fields) for c in diff.changes] == [("x", ("content",))]


def test_directory_mtime_is_not_a_change_but_its_mode_is() -> None:
    a = view(d("etc", mtime=1.0), d("var"), f("etc/x"))
    b = view(d("etc", mtime=99.0), d("var", mode=0o700), f("etc/x"))
    diff = diff_views(a, b)
    assert [(c.path, c.fields) for c in diff.changes] == [("var", ("mode",))]
    totals = diff.totals()
    assert (totals.added, totals.removed, totals.changed, totals.dirs) == (0, 0, 0, 1)


def test_implied_directories_compare_by_type_only() -> None:
    a = view(f("usr/lib/a"))  # usr, usr/lib implied
    b = view(d("usr", mode=0o700), d("usr/lib"), f("usr/lib/a"))
    assert not diff_views(a, b)


def test_totals_per_directory_and_filter() -> None:
    a = view(d("usr"), d("usr/lib"), f("usr/lib/old", 100))
    b = view(d("usr"), d("usr/lib"), f("usr/lib/a", 1000), f("usr/lib/b", 24), d("usr/lib/sub"), f("usr/lib/sub/c", 1))
    diff = diff_views(a, b)
    (lib,) = diff.by_directory(depth=2)
    assert (lib.path, lib.added, lib.removed, lib.bytes_delta) == ("usr/lib", 3, 1, 925)
    kept = diff.filtered(lambda path, name: name.startswith("a"))
    assert [c.path for c in kept.changes] == ["usr/lib/a"]
    assert [c.path for c in diff.changes] == ["usr/lib/a", "usr/lib/b", "usr/lib/old", "usr/lib/sub", "usr/lib/sub/c"]


def test_a_partial_view_makes_the_diff_incomplete() -> None:
    partial = LayerTree(0, complete=False)
    partial.add([f("x")])
    assert diff_views(merge([partial]), view(f("x"))).complete is False


def layer(i: int, digest: str, diff_id: str | None = None) -> LayerInfo:
    return LayerInfo(i, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, 10), diff_id)


def test_layer_alignment_shared_base_moved_recompressed() -> None:
    a = [layer(0, "base"), layer(1, "x"), layer(2, "gz", "same"), layer(3, "top-a")]
    b = [layer(0, "base"), layer(1, "zst", "same"), layer(2, "x"), layer(3, "top-b")]
    rows = [(r.status, r.a.digest if r.a else None, r.b.digest if r.b else None) for r in align_layers(a, b)]
    # the longest common run (base, x) lines up; the rest cannot pair by position
    assert rows == [("shared", "base", "base"), ("added", None, "zst"), ("shared", "x", "x"),
                    ("removed", "gz", None), ("removed", "top-a", None), ("added", None, "top-b")]
    rows = [r.status for r in align_layers([layer(0, "p"), layer(1, "q")], [layer(0, "q"), layer(1, "p")])]
    assert sorted(rows) == ["moved", "moved", "shared"]  # p: once on each side, not aligned
    rows = [r.status for r in align_layers([layer(0, "g", "u")], [layer(0, "z", "u")])]
    assert rows == ["recompressed"]


def image(config: dict, platform: Platform | None = None) -> ImageInfo:
    return ImageInfo("r", "repo", "r/repo:1", "sha256:m", "mt", "sha256:c", config, [], [], True, platform)


def test_config_changes_ignore_equal_fields_and_survive_odd_configs() -> None:
    a = image({"config": {"Env": ["A=1", "B=2"], "Labels": {"l": "1"}, "Cmd": ["x"]}})
    b = image({"config": {"Env": ["B=2", "A=1"], "Labels": None, "Cmd": ["x"], "Volumes": {"/v": {}}}})
    assert [(c.field, c.a, c.b) for c in config_changes(a, b)] == [("labels.l", "1", None), ("volumes", None, ["/v"])]
    assert config_changes(image({"config": "junk"}), image({})) == []


def test_diff_tree_arranges_changes_with_cumulative_totals() -> None:
    from layerslayer_tui.fs.diff import DiffTree

    a = view(d("usr"), d("usr/lib"), f("usr/lib/old", 100), f("top", 5))
    b = view(d("usr"), d("usr/lib"), d("usr/lib/sub"), f("usr/lib/sub/c", 1), f("usr/lib/a", 1000))
    tree = DiffTree(diff_views(a, b))
    assert tree.children() == ["usr", "top"]
    assert tree.children("usr/lib") == ["usr/lib/sub", "usr/lib/a", "usr/lib/old"]
    usr = tree.totals("usr")
    assert (usr.added, usr.removed, usr.bytes_delta, usr.dirs) == (2, 1, 901, 1)
    assert tree.change("usr") is None and tree.change("usr/lib/sub").change == "added"
    assert tree.totals("nowhere").files == 0

