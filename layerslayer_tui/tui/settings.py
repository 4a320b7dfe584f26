"""Small choices the app remembers between runs (the tree's sort order), in
one JSON object beside the reference history. Like the history, a convenience:
an unreadable file is no settings, a failed write is ignored."""

from __future__ import annotations

import json
from typing import Any

from layerslayer_tui import atomic, locations


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
    path = locations.settings_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.writing(path, "w", prefix=".settings-", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
    except (OSError, atomic.TempFileError):
        pass
