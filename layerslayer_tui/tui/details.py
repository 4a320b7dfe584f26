"""The Details pane's text: the image, the selected layer, or the file under
the tree's cursor (mode, owner, mtime, link: what does not fit in a tree
line), as `widgets.details.Field`s; the pane renders them literally."""

from __future__ import annotations

import stat
from datetime import datetime, timezone
from typing import Any

from layerslayer_tui.entry import ListingProgress
from layerslayer_tui.image import ImageInfo, LayerInfo

from .progress_text import listing_state
from .text import size
from .widgets.details import Field
from .widgets.file_tree import dir_totals

_TYPE_BITS = {
    "file": stat.S_IFREG,
    "hardlink": stat.S_IFREG,
    "dir": stat.S_IFDIR,
    "symlink": stat.S_IFLNK,
    "char": stat.S_IFCHR,
    "block": stat.S_IFBLK,
    "fifo": stat.S_IFIFO,
}


class _Lines:
    def __init__(self) -> None:
        self.fields: list[Field] = []

    def field(self, name: str, value: str, style: str = "", *, wrap: bool = False) -> None:
        self.fields.append(Field(name, value, style, wrap))

    def text(self) -> list[Field]:
        return self.fields


def image_details(image: ImageInfo) -> list[Field]:
    out = _Lines()
    total = sum(layer.size for layer in image.layers)
    out.field("Image", image.reference, wrap=True)
    out.field("Digest", image.manifest_digest)
    out.field("Platform", str(image.platform or "?"))
    out.field("Layers", f"{len(image.layers)}, {size(total)} compressed")
    if not image.history_aligned:
        out.field("History", "does not match the layers: steps are not shown", "yellow")
    return out.text()


def layer_details(layer: LayerInfo, progress: ListingProgress | None) -> list[Field]:
    out = _Lines()
    out.field("Step", layer.step.created_by if layer.step is not None else "(no build step recorded)", wrap=True)
    out.field("Digest", layer.digest)
    out.field("Type", layer.media_type)
    sizes = f"{size(layer.size)} compressed"
    if progress is not None and progress.complete:
        sizes += f", {size(progress.uncompressed_read)} uncompressed"
    out.field("Size", sizes)
    state = listing_state(progress) + (f", {progress.entries:,} entries" if progress else "")
    out.field("Listing", state, "green" if progress is not None and progress.complete else "yellow")
    return out.text()


def mode_string(kind: str, mode: int) -> str:
    """ls -l style permissions (drwxr-xr-x, -rwsr-xr-x...)."""
    return stat.filemode(_TYPE_BITS.get(kind, stat.S_IFREG) | (mode & 0o7777))


def owner_string(entry: Any) -> str:
    """user:group by name when the archive has names, with the numeric ids."""
    ids = f"{entry.uid}:{entry.gid}"
    if entry.uname or entry.gname:
        return f"{entry.uname or entry.uid}:{entry.gname or entry.gid} ({ids})"
    return ids


def mtime_string(mtime: float | int | None) -> str:
    if mtime is None:
        return "?"
    try:
        return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):  # out-of-range times from a hostile header
        return str(mtime)


def _kind(node: Any) -> str:
    return str(getattr(node.kind, "value", node.kind))


def file_details(node: Any, layer: int | None, *, merged: bool = False, kept: tuple[int, int] | None = None) -> list[Field]:
    """The file under the cursor in the view of `layer` (or the merged view);
    `kept`: for a directory under a filter, the (files, bytes) it keeps."""
    out = _Lines()
    out.field("Path", "/" + node.path, wrap=True)
    entry = node.entry
    kind = _kind(node)
    if kind == "whiteout":
        out.field("Removed", f"by layer {layer} (a whiteout)", "red")
        return out.text()
    if kind == "opaque":
        out.field("Opaque", f"layer {layer} hides what lower layers put here", "red")
        return out.text()
    if node.is_dir:
        what = "dir, " + dir_totals(node, kept) + (" (filtered)" if kept is not None and kept != (node.total_files, node.total_bytes) else "")
    elif kind in ("char", "block") and entry is not None:
        what = f"{kind} device {entry.devmajor},{entry.devminor}"
    elif kind == "file":
        what = f"file, {size(node.total_bytes)}" + (f" ({node.total_bytes:,} bytes)" if node.total_bytes >= 1024 else "")
    else:
        what = kind
    if merged and node.layer_index is not None:
        what += f", from layer {node.layer_index}"
    elif not merged and node.change is not None:
        what += f", {node.change.value}"
    out.field("Type", what)
    if entry is None:
        out.field("Mode", "(implied: the layer has no entry of its own for it)", "dim")
        return out.text()
    out.field("Mode", f"{mode_string(kind, entry.mode)} {owner_string(entry)}")
    out.field("Mtime", mtime_string(entry.mtime))
    if entry.link:
        out.field("Link", ("-> " if kind == "symlink" else "=> ") + entry.link, "cyan")
    return out.text()
