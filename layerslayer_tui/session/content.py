"""Reading a layer's content: one file carved out of the stream, or the
whole compressed blob saved, digest-verified."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from layerslayer_tui import peek
from layerslayer_tui.errors import ExportError
from layerslayer_tui.image import ImageInfo, LayerInfo
from layerslayer_tui.peek.carve import DEFAULT_CAP, Carved

from .images import ImageLoader, layer_of


def carve(
    loader: ImageLoader,
    image: ImageInfo,
    layer: LayerInfo | int,
    path: str,
    cap: int = DEFAULT_CAP,
    dest: str | Path | None = None,
) -> Carved:
    """One file's content (or a written file when `dest` is given)."""
    info = layer_of(image, layer)
    loader.require_online(f"the content of {path}", image)
    return peek.carve(loader.blob_source(image, info.descriptor), path, cap=cap, dest=dest)


def download_layer(
    loader: ImageLoader,
    image: ImageInfo,
    layer: LayerInfo | int,
    dest: str | Path,
    progress: Callable[[int, int | None], None] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save the compressed layer blob, digest-verified. ExportError when
    dest exists and not `overwrite`, or its directory does not exist."""
    info = layer_of(image, layer)
    target = Path(dest)
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; choose another name or allow overwriting.")
    if not target.parent.is_dir():
        raise ExportError(f"The directory {target.parent} does not exist.")
    loader.require_online(f"layer {info.index + 1}", image)
    # Imported here: it is the registry package's (requests), see images.py.
    from layerslayer_tui.registry.download import download_blob

    return download_blob(loader.blob_source(image, info.descriptor), target, progress)
