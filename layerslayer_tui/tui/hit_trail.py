"""The way from a search hit back to the tree, as data (no Textual): the
last search pattern, the hit waiting for its image to load, and the path
waiting for its layer to be listed. `search_actions` drives it and draws."""

from __future__ import annotations

from dataclasses import dataclass

from layerslayer_tui.image import ImageInfo


def layer_with(image: ImageInfo | None, digest: str, hint: int | None = None) -> int | None:
    """The index of the layer with this digest (the hint first: a digest may repeat)."""
    layers = image.layers if image is not None else []
    if hint is not None and 0 <= hint < len(layers) and layers[hint].digest == digest:
        return layers[hint].index
    return next((layer.index for layer in layers if layer.digest == digest), None)


@dataclass(slots=True)
class HitTrail:
    pattern: str = ""  # the next search starts from the last one
    pending: tuple[str, str] | None = None  # (layer digest, path) to show once the image loads
    reveal: tuple[int, str] | None = None  # (layer, path) to put the cursor on once listed

    def on_image(self, image: ImageInfo) -> tuple[int | None, bool]:
        """A newly loaded image: (the layer a pending hit asks for, or None for
        the default; True when a pending hit's layer is not in this image)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None, False
        index = layer_with(image, pending[0])
        if index is None:
            return None, True
        self.reveal = (index, pending[1])
        return index, False

    def take_reveal(self, index: int, selected: int | None) -> str | None:
        """The path to reveal now that layer `index` is listed (and selected)."""
        if self.reveal is None or self.reveal[0] != index or index != selected:
            return None
        path = self.reveal[1]
        self.reveal = None
        return path
