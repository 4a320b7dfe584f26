"""Workspace: feeding batches, completeness, merged view, changes and export
(entries made here; the listing source does not matter to the workspace)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layerslayer_tui.entry import EntryBatch, EntryType, ListingProgress, TarEntry
from layerslayer_tui.errors import ExportError
from layerslayer_tui.fs import Change
from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo, Platform
from layerslayer_tui.workspace import Workspace


def image(n: int = 2) -> ImageInfo:
    layers = [
        LayerInfo(i, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", f"sha256:{i:064d}", 100 + i))
        for i in range(n)
    ]
    return ImageInfo("localhost:5000", "t/w", "localhost:5000/t/w:1", "sha256:" + "m" * 64,
                     "application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, {}, layers, [], False,
                     Platform("linux", "amd64"))


def f(path: str, size: int = 1, **kw) -> TarEntry:
    return TarEntry(path, EntryType.FILE, size, 0o644, **kw)


def test_feed_merge_changes_and_export(tmp_path: Path) -> None:
    ws = Workspace(image())
    assert ws.partial_layers() == [0, 1] and not ws.is_listed(0)
    ws.feed(0, EntryBatch([TarEntry("etc", EntryType.DIR, mode=0o755), f("etc/a", 5), f("etc/b", 7)],
                          ListingProgress(entries=3, complete=True, verified=True)))
    ws.feed(1, EntryBatch([f("etc/.wh.a", 0), f("etc/b", 9)], ListingProgress(entries=2)))
    assert ws.is_complete(0) and not ws.is_complete(1) and ws.partial_layers() == [1]
    merged = ws.merged()
    assert merged.get("etc/a") is None and merged.get("etc/b").entry.size == 9
    assert merged.partial_layers == [1]
    assert ws.merged(0).get("etc/a") is not None
    top = ws.changes(1)
    assert top.get("etc/b").change == Change.MODIFIED
    assert [n.change for n in top.removals] == [Change.REMOVED]
    ws.feed(1, EntryBatch([f("etc/c", 1)], ListingProgress(entries=3, complete=True)))
    assert ws.changes(1).get("etc/c").change == Change.ADDED
    assert [h.path for h in ws.search("etc/c")] == ["etc/c"]

    out = tmp_path / "m.json"
    ws.export(out, view="merged")
    doc = json.loads(out.read_text())
    assert doc["image"] == "localhost:5000/t/w:1" and doc["platform"] == "linux/amd64" and doc["view"] == "merged"
    assert sorted(e["path"] for e in doc["entries"]) == ["etc", "etc/b", "etc/c"]
    assert [layer["complete"] for layer in doc["layers"]] == [True, True]
    with pytest.raises(ExportError):
        ws.export(out, view="merged")  # exists, no overwrite
    ws.export(out, view="layer", layer_index=1, filter="etc/c", overwrite=True)
    doc = json.loads(out.read_text())
    assert [e["path"] for e in doc["entries"] if e["type"] != "dir"] == ["etc/c"]
    with pytest.raises(ExportError):
        ws.export(tmp_path / "x.json", view="layer")  # which layer?
    with pytest.raises(ExportError):
        ws.export(tmp_path / "x.json", view="layer", layer_index=7)
    ws.reset_layer(1)
    assert ws.partial_layers() == [1] and len(ws.tree(1)) == 0
