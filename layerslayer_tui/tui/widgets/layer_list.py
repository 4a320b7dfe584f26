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

from layerslayer_tui.image import ImageInfo

from .. import keys
from ..bars import BAR_STYLE, BAR_WIDTH, bar, percent
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


def layer_prompt(image: ImageInfo, index: int, *, selected: bool = False) -> Text:
    """A layer's row: index, compressed size, a bar of its share of the image
    (its percentage on the selected row), short digest, build step."""
    layer = next(l for l in image.layers if l.index == index)
    total = sum(l.size for l in image.layers)
    step = layer.step.step if layer.step is not None else ""
    share = (f" {percent(layer.size, total):>6}", "bold magenta") if selected else ""
    return _row((f"{index:>2} ", "bold"), (f"{size(layer.size):>9} ", "cyan"), (bar(layer.size, total), BAR_STYLE), share,
                " ", (short_digest(layer.digest, 8) + " ", "dim"), step)


def rows(image: ImageInfo) -> list[Option]:
    options = [Option(_row(("Image (merged)", "bold")), id=MERGED_ID)]
    layers = {layer.index: layer for layer in image.layers}
    emitted: set[int] = set()

    def layer_option(index: int) -> Option:
        emitted.add(index)
        return Option(layer_prompt(image, index), id=layer_id(index))

    if image.history_aligned:
        for step in image.history:
            if step.empty_layer or step.layer_index is None:
                if step.step:
                    options.append(Option(_row("            " + " " * (BAR_WIDTH + 1), (step.step, "dim italic")),
                                          disabled=True))
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
        self._shared: int | None = None  # the row showing its share in percent

    def load(self, image: ImageInfo) -> None:
        self.image = image
        # The platform in the title: it is the one thing about the image every layer depends on.
        self.border_title = plain("Layers" + (f" · {image.platform}" if image.platform is not None else ""))
        self._shared = None
        self.clear_options()
        self.add_options(rows(image))

    def _on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # The share in percent on the selected row only (the app handles the event too).
        if self.image is None:
            return
        previous, self._shared = self._shared, parse_id(event.option.id)
        for index, selected in ((previous, False), (self._shared, True)):
            if index is not None and any(l.index == index for l in self.image.layers):
                self.replace_option_prompt(layer_id(index), layer_prompt(self.image, index, selected=selected))

    def highlight_layer(self, index: int | None) -> None:
        option_id = MERGED_ID if index is None else layer_id(index)
        try:
            self.highlighted = self.get_option_index(option_id)
        except Exception:  # noqa: BLE001 - an unknown id leaves the cursor where it is
            pass
