"""Untrusted text made safe to print: control characters written as escapes.

File names, references, media types and error sentences come from whoever
built the image or runs the registry. Printed raw, an ESC or OSC sequence in
one of them moves the cursor, clears the screen or retitles the terminal.
Everything the CLI prints from such data, and everything the TUI draws, goes
through `visible` (tui/text.py builds its Rich helpers on it). Core module:
no Textual, no Rich.
"""

from __future__ import annotations

import re

__all__ = ["visible", "visible_lines"]

# C0, DEL, C1 and the Unicode line/paragraph separators and bidi overrides,
# which would otherwise reorder or break the line they sit in.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same without newline and tab (file contents keep their lines).
_CONTROL_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """The text with every control character written as a visible escape."""
    if text.isprintable():  # the common case, and far cheaper than the regex
        return text
    return _CONTROL.sub(_escape, text)


def visible_lines(text: str) -> str:
    """Like `visible` but keeps newlines and tabs (file contents)."""
    return _CONTROL_KEEP_LINES.sub(_escape, text.replace("\r\n", "\n"))
