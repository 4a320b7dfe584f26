"""The Details pane: a few `name value` lines that fit its width.

Every line but one is cut with an ellipsis, so a long digest or media type
never pushes the listing state out of a small pane (80x24); the one marked
to wrap (the build step, or a file's path) wraps onto at most `WRAP_LINES`
lines. Re-rendered on resize, since the wrapping depends on the width.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ..text import join, visible

WRAP_LINES = 4
# Between label and value: a plain, unstyled space of its own, never the tail
# of the label's bold span (a renderer may trim a styled span's trailing blank).
_GAP = " "


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    style: str = ""
    wrap: bool = False  # may take several lines (at most WRAP_LINES)


def render_fields(fields: list[Field], width: int) -> Text:
    lines: list[Text] = []
    for field in fields:
        value = visible(field.value)
        if field.wrap and width > len(field.name) + 1:
            # drop_whitespace=False: the lines join back into the exact text
            chunks = textwrap.wrap(
                field.name + " " + value, width, drop_whitespace=False, break_on_hyphens=False, replace_whitespace=False
            ) or [field.name]
            if len(chunks) > WRAP_LINES:
                chunks = chunks[:WRAP_LINES]
                chunks[-1] = chunks[-1][: max(0, width - 1)].rstrip() + "…"
            head = chunks[0][len(field.name) + 1 :] if chunks[0].startswith(field.name + " ") else chunks[0]
            lines.append(join((field.name, "bold"), _GAP, (head, field.style)))
            lines.extend(Text(chunk, style=field.style, end="") for chunk in chunks[1:])
        else:
            lines.append(join((field.name, "bold"), _GAP, (value, field.style)))
    return Text("\n", end="").join(lines)


class Details(Static):
    """Static showing `Field`s; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields: list[Field] = []

    def show(self, fields: list[Field], title: str | None = None) -> None:
        self.fields = fields
        if title is not None:
            self.border_title = title
        self._render_fields()

    def _render_fields(self) -> None:
        width = self.content_size.width or 10_000  # before layout: one line each, cut by CSS
        self.update(render_fields(self.fields, width))

    def on_resize(self) -> None:
        if self.fields:
            self._render_fields()
