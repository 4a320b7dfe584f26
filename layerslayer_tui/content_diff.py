"""A bounded unified diff of two versions of one file (for `v` in compare mode).

The bytes come from `session.carve` (capped), so both sides may be cut short:
the diff then says so in its header instead of showing a false ending. Binary
content is not diffed line by line: the answer is one sentence.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

CARVE_CAP = 1024 * 1024  # bytes read of each side
MAX_LINES = 5000  # lines of diff output kept


@dataclass(frozen=True, slots=True)
class Side:
    label: str  # "A: ref (layer 1)"
    data: bytes | None  # None when the path is absent on this side
    truncated: bool = False


def _binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(head) - 4  # a character cut at the sample's end is still text
    return False


def unified(path: str, a: Side, b: Side, *, max_lines: int = MAX_LINES) -> str:
    """The diff as text (unescaped: the viewer escapes control characters)."""
    notes = [f"{s.label}: only the first {CARVE_CAP // 1024} KiB compared" for s in (a, b) if s.truncated]
    if any(s.data is not None and _binary(s.data) for s in (a, b)):
        same = a.data == b.data
        return "\n".join(notes + [f"Binary file {path}: {'same bytes' if same else 'the bytes differ'} "
                                  f"({len(a.data or b'')} -> {len(b.data or b'')} bytes compared)."]) + "\n"
    old = (a.data or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    new = (b.data or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    lines = []
    for n, line in enumerate(difflib.unified_diff(old, new, fromfile=f"a/{path}" if a.data is not None else "/dev/null",
                                                    tofile=f"b/{path}" if b.data is not None else "/dev/null")):
        if n >= max_lines:
            lines.append(f"... diff cut at {max_lines} lines\n")
            break
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    if not lines:
        lines = ["The contents compared are the same.\n"]
    return "".join(f"# {note}\n" for note in notes) + "".join(lines)
