"""Completing the path of a local source as it is typed (`oci:./bu` ->
`oci:./build/`), for the TUI's reference input. Reads directory names only."""

from __future__ import annotations

import os

from .ref import FILE_TRANSPORTS

MAX_SCAN = 2000  # entries looked at in one directory: a huge folder must not stall typing


def complete_path(text: str) -> str | None:
    """`text` extended to the first matching file or directory (directories
    end with '/'), or None when it is not a local file form or nothing matches."""
    transport, colon, path = text.partition(":")
    if not colon or transport not in FILE_TRANSPORTS or ":" in path:
        return None  # past the path already (a tag or name follows)
    folder, _, partial = path.rpartition("/")
    where = os.path.expanduser(folder + "/" if folder or path.startswith("/") else ".")
    if partial in (".", ".."):
        return None
    best: tuple[str, bool] | None = None  # (name, is a directory)
    try:
        with os.scandir(where) as entries:
            for n, entry in enumerate(entries):
                if n >= MAX_SCAN:
                    break
                name = entry.name
                if not name.startswith(partial) or (name.startswith(".") and not partial.startswith(".")):
                    continue
                if best is None or name < best[0]:
                    best = (name, entry.is_dir())
    except OSError:
        return None
    if best is None:
        return None
    name = best[0] + ("/" if best[1] else "")
    if name == partial:
        return None
    prefix = f"{folder}/" if folder or path.startswith("/") else ""
    return f"{transport}:{prefix}{name}"
