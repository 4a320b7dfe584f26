"""Turning untrusted registry text into something safe to put on screen.

File names, history lines, labels and error sentences come from whoever built
the image. They are never parsed as Rich/Textual markup and their control
characters are shown as escapes, so `a[/]b`, `[bold]x` or `\\x1b[31m` display
literally and cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0, DEL, C1 and the Unicode line/paragraph separators and bidi overrides,
# which would otherwise reorder or break the line they sit in.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """The text with every control character written as a visible escape."""
    if text.isprintable():  # the common case, and far cheaper than the regex
        return text
    return _CONTROL.sub(_escape, text)


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


_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(n: int | None) -> str:
    """Human size with binary units: 512 B, 4.0 KiB, 28 MiB."""
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def short_digest(digest: str, length: int = 12) -> str:
    return digest.split(":", 1)[-1][:length]


_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible_lines(text: str) -> str:
    """Like `visible` but keeps newlines and tabs (file contents)."""
    return _CONTROL_KEEP_LINES.sub(_escape, text.replace("\r\n", "\n"))
