"""Path normalisation for untrusted tar names.

Layer tars come from registries we do not control, so every name is cleaned
here once and the rest of fs/ only ever sees canonical relative paths.
"""

from __future__ import annotations

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Other ".wh..wh.*" names are AUFS bookkeeping (plinks, orphans): never user files.
META_PREFIX = ".wh..wh."


def normalize(path: str) -> str | None:
    """Canonical form of a tar name: relative, no "./", no empty parts.

    Returns None for names that escape the root (a ".." component) and for the
    root itself, which the caller should skip rather than trust.
    """
    if "\x00" in path:
        return None
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            return None
        parts.append(part)
    if not parts:
        return None
    return "/".join(parts)


def split(path: str) -> tuple[str, str]:
    """(parent, name); the parent of a top-level name is ""."""
    head, sep, tail = path.rpartition("/")
    return (head, tail) if sep else ("", path)


def ancestors(path: str) -> list[str]:
    """Every proper ancestor directory of path, outermost first, excluding the root."""
    out = []
    idx = path.find("/")
    while idx != -1:
        out.append(path[:idx])
        idx = path.find("/", idx + 1)
    return out
