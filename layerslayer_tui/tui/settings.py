"""Small choices the app remembers between runs (the tree's sort order), in
one JSON object beside the reference history. Like the history, a convenience:
an unreadable file is no settings, a failed write is ignored."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from layerslayer_tui import locations


def write_json(path: Path, data: Any) -> None:
    """Replace path with data as JSON, atomically; OSError on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load() -> dict[str, Any]:
    try:
        data = json.loads(locations.settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def get(key: str, allowed: tuple[str, ...], default: str) -> str:
    """A remembered choice among `allowed` (anything else, e.g. a hand-edited file: the default)."""
    value = load().get(key)
    return value if value in allowed else default


def remember(key: str, value: Any) -> None:
    data = load()
    data[key] = value
    try:
        write_json(locations.settings_file(), data)
    except OSError:
        pass
