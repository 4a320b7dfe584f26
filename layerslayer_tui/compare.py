"""Two images compared: image facts, config fields, aligned layers, files.

`load` opens both images through a `session.Session` and lists each distinct
layer digest once for both images together (the session answers from the
cache first), so a base layer A and B share costs one read, or none when
cached; its LayerTree is built once too and shared by both images (merging
only reads trees). The file comparison is `fs.diff` over the two merged
views. Nothing here prints: `compare_report` turns a Comparison into text or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.fs import LayerTree, MergedTree, merge
from layerslayer_tui.fs.diff import PathChange, TreeDiff, diff_views
from layerslayer_tui.image import ImageInfo, LayerInfo

if TYPE_CHECKING:
    from layerslayer_tui.session import Session

# Layer row statuses
SHARED = "shared"  # same digest, aligned
RECOMPRESSED = "recompressed"  # different blobs, same uncompressed content (diff_id)
MOVED = "moved"  # the digest is in both images, at positions that do not align
ADDED = "added"  # only in B
REMOVED = "removed"  # only in A


@dataclass(slots=True)
class LayerRow:
    status: str
    a: LayerInfo | None
    b: LayerInfo | None


@dataclass(frozen=True, slots=True)
class ConfigChange:
    field: str  # "cmd", "env.PATH", "labels.version", "platform"...
    a: Any  # None when absent in A
    b: Any  # None when absent in B


class ImageLayers:
    """One image's layer trees and how far each listing got. Trees of layers
    with the same digest are the same object in both images."""

    def __init__(self, image: ImageInfo) -> None:
        self.image = image
        self.trees: list[LayerTree | None] = [None] * len(image.layers)
        self.progress: list[ListingProgress | None] = [None] * len(image.layers)

    def partial_layers(self) -> list[int]:
        """Indexes whose listing is missing or partial."""
        return [i for i, p in enumerate(self.progress) if p is None or not p.complete]

    def merged(self) -> MergedTree:
        return merge(self.trees)


@dataclass(slots=True)
class Comparison:
    a: ImageInfo
    b: ImageInfo
    layers_a: ImageLayers
    layers_b: ImageLayers
    layers: list[LayerRow]
    config: list[ConfigChange]
    files: TreeDiff
    listed: int = 0  # distinct layer digests listed (from the registry or the cache)
    filter: str | None = None

    @property
    def partial_a(self) -> list[int]:
        return self.layers_a.partial_layers()

    @property
    def partial_b(self) -> list[int]:
        return self.layers_b.partial_layers()

    @property
    def complete(self) -> bool:
        """Every layer of both images was listed completely."""
        return not self.partial_a and not self.partial_b

    @property
    def same(self) -> bool:
        """Same files and config, known for sure (a partial listing never says same)."""
        return self.complete and not self.config and not self.files

    def refiltered(self, keep: Callable[[str, str], bool], pattern: str) -> Comparison:
        return Comparison(self.a, self.b, self.layers_a, self.layers_b, self.layers, self.config,
                          self.files.filtered(keep), self.listed, pattern)


# -- layers ------------------------------------------------------------------


def align_layers(a: list[LayerInfo], b: list[LayerInfo]) -> list[LayerRow]:
    """Both layer lists side by side, bottom first: equal digests matched
    (difflib's longest matching runs, so a shared base lines up), the rest
    marked recompressed (same diff_id, pairwise in order), moved, added or removed."""
    da, db = [x.digest for x in a], [x.digest for x in b]
    in_a, in_b = set(da), set(db)
    rows: list[LayerRow] = []

    def lone(layer: LayerInfo, side: str) -> LayerRow:
        other = in_b if side == "a" else in_a
        status = MOVED if layer.digest in other else (REMOVED if side == "a" else ADDED)
        return LayerRow(status, layer if side == "a" else None, layer if side == "b" else None)

    for op, i1, i2, j1, j2 in SequenceMatcher(None, da, db, autojunk=False).get_opcodes():
        if op == "equal":
            rows.extend(LayerRow(SHARED, a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2)))
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        while left and right and a[left[0]].diff_id and a[left[0]].diff_id == b[right[0]].diff_id \
                and a[left[0]].digest not in in_b and b[right[0]].digest not in in_a:
            rows.append(LayerRow(RECOMPRESSED, a[left.pop(0)], b[right.pop(0)]))
        rows.extend(lone(a[i], "a") for i in left)
        rows.extend(lone(b[j], "b") for j in right)
    return rows


# -- config ------------------------------------------------------------------

# (name in the report, key in the config's "config" object)
_SCALARS = (("entrypoint", "Entrypoint"), ("cmd", "Cmd"), ("workdir", "WorkingDir"), ("user", "User"))
_SETS = (("exposed_ports", "ExposedPorts"), ("volumes", "Volumes"))


def _env(values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values if isinstance(values, list) else []:
        if isinstance(item, str):
            name, _, value = item.partition("=")
            out[name] = value
    return out


def _keys(value: Any) -> list[str] | None:
    return sorted(str(k) for k in value) if isinstance(value, dict) and value else None


def config_changes(a: ImageInfo, b: ImageInfo) -> list[ConfigChange]:
    """The config fields a reviewer cares about, each as A -> B (absent = None)."""
    ca = a.config.get("config") if isinstance(a.config, dict) else None
    cb = b.config.get("config") if isinstance(b.config, dict) else None
    ca = ca if isinstance(ca, dict) else {}
    cb = cb if isinstance(cb, dict) else {}
    out: list[ConfigChange] = []
    pa, pb = str(a.platform) if a.platform else None, str(b.platform) if b.platform else None
    if pa != pb:
        out.append(ConfigChange("platform", pa, pb))
    for name, key in _SCALARS:
        va, vb = ca.get(key) or None, cb.get(key) or None
        if va != vb:
            out.append(ConfigChange(name, va, vb))
    for prefix, va_map, vb_map in (("env", _env(ca.get("Env")), _env(cb.get("Env"))),
                                   ("labels", _labels(ca), _labels(cb))):
        for k in sorted(set(va_map) | set(vb_map)):
            if va_map.get(k) != vb_map.get(k):
                out.append(ConfigChange(f"{prefix}.{k}", va_map.get(k), vb_map.get(k)))
    for name, key in _SETS:
        va, vb = _keys(ca.get(key)), _keys(cb.get(key))
        if va != vb:
            out.append(ConfigChange(name, va, vb))
    return out


def _labels(config: dict) -> dict[str, str]:
    labels = config.get("Labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


# -- loading -----------------------------------------------------------------


def list_layers(
    session: Session,
    images: list[ImageLayers],
    *,
    full: bool = False,
    budget: int = 262144,
    on_batch: Callable[[int, int, EntryBatch], None] | None = None,
) -> int:
    """List every distinct layer digest of the images once, into one LayerTree
    shared by every image layer with that digest. `on_batch(done, total,
    batch)` sees each batch. Returns the number of distinct digests listed."""
    where: dict[str, list[tuple[ImageLayers, int]]] = {}
    first: dict[str, tuple[ImageInfo, int]] = {}
    for side in images:
        for layer in side.image.layers:
            where.setdefault(layer.digest, []).append((side, layer.index))
            first.setdefault(layer.digest, (side.image, layer.index))
    for n, (digest, (image, index)) in enumerate(first.items()):
        tree = LayerTree(index)
        for side, i in where[digest]:
            side.trees[i], side.progress[i] = tree, None
        listing = session.listing(image, index, full=full, budget=budget)
        try:
            for batch in listing:
                tree.add(batch.entries)
                tree.complete = batch.progress.complete
                for side, i in where[digest]:
                    side.progress[i] = batch.progress
                if on_batch is not None:
                    on_batch(n, len(first), batch)
        finally:
            listing.close()
    return len(first)


def build(a: ImageLayers, b: ImageLayers, listed: int = 0) -> Comparison:
    """The comparison of two images whose layers are listed."""
    files = diff_views(a.merged(), b.merged())
    return Comparison(a.image, b.image, a, b, align_layers(a.image.layers, b.image.layers),
                      config_changes(a.image, b.image), files, listed)


def load(
    session: Session,
    ref_a: str,
    ref_b: str,
    *,
    platform: str | None = None,
    full: bool = False,
    budget: int = 262144,
    on_batch: Callable[[int, int, EntryBatch], None] | None = None,
) -> Comparison:
    """Open both images (`platform` applies to both), list their layers (each
    distinct digest once) and compare them."""
    a = ImageLayers(session.open_image(ref_a, platform))
    b = ImageLayers(session.open_image(ref_b, platform))
    listed = list_layers(session, [a, b], full=full, budget=budget, on_batch=on_batch)
    return build(a, b, listed)


def load_against(
    session: Session,
    a: ImageInfo,
    ref_b: str,
    *,
    full: bool = False,
    budget: int = 262144,
    on_batch: Callable[[int, int, EntryBatch], None] | None = None,
) -> Comparison:
    """Compare an image already open (the TUI's) with another reference; when
    B is multi-platform, the platform A was opened with is picked from it."""
    platform = None
    if a.platform is not None and len(session.platforms(ref_b)) > 1:
        platform = str(a.platform)
    side_a, side_b = ImageLayers(a), ImageLayers(session.open_image(ref_b, platform))
    listed = list_layers(session, [side_a, side_b], full=full, budget=budget, on_batch=on_batch)
    return build(side_a, side_b, listed)


def content_diff(session: Session, cmp: Comparison, change: PathChange) -> str:
    """A bounded unified diff of one file's two versions, each carved from the
    layer that holds it (content_diff.CARVE_CAP bytes at most per side)."""
    from layerslayer_tui.content_diff import CARVE_CAP, Side, unified

    sides = []
    for label, image, node in (("A", cmp.a, change.a), ("B", cmp.b, change.b)):
        if node is None or node.layer_index is None:
            sides.append(Side(label, None))
            continue
        carved = session.carve(image, node.layer_index, node.path, cap=CARVE_CAP)
        sides.append(Side(f"{label} (layer {node.layer_index})", bytes(carved.content or b""), carved.truncated))
    return unified(change.path, sides[0], sides[1])


def image_size(image: ImageInfo) -> int:
    """Compressed bytes of the image's layers (what a pull downloads, config aside)."""
    return sum(layer.size for layer in image.layers)


def config_value(value: Any) -> str:
    """A config value as one line of text (JSON for lists), "(none)" when absent."""
    import json

    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=True)


__all__ = [
    "ADDED", "MOVED", "RECOMPRESSED", "REMOVED", "SHARED",
    "Comparison", "ConfigChange", "ImageLayers", "LayerRow", "align_layers", "build", "config_changes",
    "config_value", "content_diff", "image_size", "list_layers", "load", "load_against",
]  # fmt: skip
