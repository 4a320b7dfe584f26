"""Turning untrusted registry text into something safe to put on screen.

File names, history lines, labels and error sentences come from whoever built
the image. They are never parsed as Rich/Textual markup and their control
characters are shown as escapes, so `a[/]b`, `[bold]x` or `\\x1b[31m` display
literally and cannot move the cursor or recolour the terminal. The escaping
itself is `layerslayer_tui.printable` (shared with the CLI).
"""

from __future__ import annotations

from rich.text import Text

from layerslayer_tui.printable import visible, visible_lines
from layerslayer_tui.units import human_size as size  # the one size formatter; `size` is the name tui/ uses

__all__ = ["join", "plain", "short_digest", "size", "visible", "visible_lines"]


def plain(text: str, style: str = "") -> Text:
    """A Rich Text holding `text` literally (never markup), controls escaped."""
    return Text(visible(text), style=style, no_wrap=False, end="")


def join(*parts: tuple[str, str] | str) -> Text:
    """Text from (untrusted string, style) pairs; bare strings are unstyled."""
    out = Text(end="")
    for part in parts:
        if isinstance(part, str):
            out.append(visible(part))
        else:
            out.append(visible(part[0]), style=part[1])
    return out


def short_digest(digest: str, length: int = 12) -> str:
    return digest.split(":", 1)[-1][:length]
