"""The merged view against reality: umoci applies the same layer tars."""

from __future__ import annotations

from pathlib import Path

import pytest

from layerslayer_tui.fs import LayerTree, merge
from fs_support import MTIME, build_layer, have_umoci, read_entries, umoci_unpack, walk_rootfs

LAYERS = [
    [
        ("dir", "etc"),
        ("dir", "etc/app"),
        ("file", "etc/app/a.conf", b"0123456789"),
        ("dir", "etc/app/sub"),
        ("file", "etc/app/sub/deep.txt", b"deep"),
        ("file", "etc/hostname", b"box\n"),
        ("dir", "usr"),
        ("dir", "usr/bin"),
        ("file", "usr/bin/tool", b"t" * 100, 0o755),
        ("file", "data", b"data!"),
        ("dir", "opt"),
        ("dir", "opt/keep"),
        ("file", "opt/keep/k1", b"k1"),
        ("dir", "var"),
        ("dir", "var/cache"),
        ("file", "var/cache/c1", b"c1"),
        ("dir", "var/cache/old"),
        ("file", "var/cache/old/c2", b"c2c2"),
        ("dir", "shared"),
        ("file", "shared/orig", b"AAAA"),
        ("symlink", "lnk", "usr"),
        ("dir", "swap"),
        ("file", "swap/inside", b"inside"),
        ("file", "gone-file", b"bye"),
    ],
    [
        ("whiteout", "data"),  # file replaced by a directory
        ("dir", "data"),
        ("file", "data/inner", b"1234567"),
        ("file", "swap", b"now a file"),  # directory replaced by a file
        ("whiteout", "etc/app"),  # a whole directory with contents
        ("opaque", "var/cache"),  # opaque dir with new files in the same layer
        ("file", "var/cache/new1", b"fresh"),
        ("hardlink", "hl", "shared/orig"),  # hardlink to a lower layer's file
        ("dir", "opt", 0o700, MTIME + 50),  # dir over dir: attributes only
        ("whiteout", "gone-file"),
        ("file", "lnk/via-link", b"through"),  # symlinked parent
    ],
    [
        ("file", "data", b"file again"),  # dir back to a file
        ("file", "shared/orig", b"BBBBBBBBBBBB"),  # the hardlink keeps the old content
        ("dir", "etc/app"),  # re-created after the whiteout: empty
        ("file", "swap2", b"x"),
        ("hardlink", "hl2", "swap2"),  # hardlink within the same layer
        ("dir", "lnk2"),
        ("file", "lnk2/f", b"f"),
    ],
]


def model_view(upto: int, trees: list[LayerTree]) -> dict[str, tuple]:
    merged = merge(trees, upto)
    out: dict[str, tuple] = {}
    for node in merged.walk():
        e = node.entry
        if node.kind == "hardlink":
            t = node.target
            assert t is not None, node.path
            out[node.path] = ("file", t.size, t.mode, int(t.mtime), None)
        elif e is None:
            out[node.path] = ("dir", 0, None, None, None)
        elif node.kind == "dir":
            out[node.path] = ("dir", 0, e.mode, None, None)
        else:
            out[node.path] = (node.kind, e.size if node.kind == "file" else 0, e.mode, int(e.mtime), e.link)
    return out


def reality(rootfs: Path) -> dict[str, tuple]:
    return walk_rootfs(rootfs)


def comparable(model: dict[str, tuple], real: dict[str, tuple]) -> dict[str, tuple]:
    """Drop what the model does not claim: implied dirs' attributes and dir mtimes."""
    out = {}
    for path, (kind, size, mode, mtime, link) in real.items():
        want = model.get(path)
        out[path] = (
            kind,
            size,
            None if want is not None and want[2] is None else mode,
            None if kind == "dir" else mtime,
            link,
        )
    return out


@pytest.fixture(scope="module")
def layer_bytes() -> list[bytes]:
    return [build_layer(specs) for specs in LAYERS]


@pytest.fixture(scope="module")
def trees(layer_bytes: list[bytes]) -> list[LayerTree]:
    out = []
    for index, data in enumerate(layer_bytes):
        tree = LayerTree(index, complete=True)
        tree.add(read_entries(data))
        out.append(tree)
    return out


@pytest.mark.skipif(not have_umoci(), reason="umoci is not installed")
@pytest.mark.parametrize("upto", [0, 1, 2])
def test_merged_view_matches_umoci(upto: int, layer_bytes, trees, tmp_path: Path) -> None:
    rootfs = umoci_unpack(layer_bytes[: upto + 1], tmp_path)
    real = reality(rootfs)
    model = model_view(upto, trees)
    assert model == comparable(model, real)


def test_merged_specific_rules(trees: list[LayerTree]) -> None:
    merged = merge(trees, 2)
    assert merged.get("hl").target.size == 4  # bound when applied, before shared/orig grew
    assert merged.get("shared/orig").entry.size == 12
    assert merged.get("hl2").target.size == 1
    opt = merged.get("opt")
    assert (opt.entry.mode, opt.layer_index) == (0o700, 1) and merged.get("opt/keep/k1").layer_index == 0
    assert [n.name for n in merged.children("var/cache")] == ["new1"]
    assert merged.children("etc/app") == []
    assert merged.get("usr/via-link").layer_index == 1 and merged.get("lnk").kind == "symlink"
    assert merged.get("data").kind == "file" and merged.get("data/inner") is None
    assert merged.get(".wh.gone-file") is None and merged.get("gone-file") is None
    assert merged.partial_layers == [] and merged.complete
    # Totals agree with a recount of the leaves.
    files = [n for n in merged.walk() if n.kids is None]
    assert merged.total_files == len(files)
    assert merged.total_bytes == sum(n.entry.size for n in files if n.kind == "file")


def test_partial_and_missing_layers(trees: list[LayerTree]) -> None:
    partial = LayerTree(1)
    partial.add(read_entries(build_layer(LAYERS[1]))[:4])
    merged = merge([trees[0], partial, None], 2)
    assert merged.partial_layers == [1, 2]
    assert not merged.complete
    assert merged.may_be_incomplete("data")
    assert merge([trees[0], partial], 0).partial_layers == []
