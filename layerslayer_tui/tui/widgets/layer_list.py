"""The layer pane: "Image (merged)", then the build steps top to bottom.

Layers are selectable rows (index, compressed size, short digest, pretty
step); steps that made no layer (ENV, CMD...) sit between them as disabled,
dim rows so the Dockerfile reads in order.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from layerslayer_tui.registry.models import ImageInfo

from .. import keys
from ..text import join, plain, short_digest, size

MERGED_ID = "merged"


def layer_id(index: int) -> str:
    return f"layer-{index}"


def parse_id(option_id: str | None) -> int | None:
    """Layer index of a row id; None for the merged row."""
    if option_id and option_id.startswith("layer-"):
        return int(option_id[6:])
    return None


def _row(*parts: tuple[str, str] | str) -> Text:
    text = join(*parts)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def rows(image: ImageInfo) -> list[Option]:
    options = [Option(_row(("Image (merged)", "bold")), id=MERGED_ID)]
    layers = {layer.index: layer for layer in image.layers}
    emitted: set[int] = set()

    def layer_option(index: int) -> Option:
        layer = layers[index]
        emitted.add(index)
        step = layer.step.step if layer.step is not None else ""
        return Option(
            _row((f"{index:>2} ", "bold"), (f"{size(layer.size):>9} ", "cyan"), (short_digest(layer.digest, 8) + " ", "dim"), step),
            id=layer_id(index),
        )

    if image.history_aligned:
        for step in image.history:
            if step.empty_layer or step.layer_index is None:
                if step.step:
                    options.append(Option(_row("            ", (step.step, "dim italic")), disabled=True))
            elif step.layer_index in layers:
                options.append(layer_option(step.layer_index))
    for index in sorted(layers):
        if index not in emitted:
            options.append(layer_option(index))
    return options


class LayerList(OptionList):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        *keys.LAYER_KEYS,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image: ImageInfo | None = None
        self.border_title = "Layers"

    def load(self, image: ImageInfo) -> None:
        self.image = image
        # The platform in the title: it is the one thing about the image every layer depends on.
        self.border_title = plain("Layers" + (f" · {image.platform}" if image.platform is not None else ""))
        self.clear_options()
        self.add_options(rows(image))

    def highlight_layer(self, index: int | None) -> None:
        option_id = MERGED_ID if index is None else layer_id(index)
        try:
            self.highlighted = self.get_option_index(option_id)
        except Exception:  # noqa: BLE001 - an unknown id leaves the cursor where it is
            pass
