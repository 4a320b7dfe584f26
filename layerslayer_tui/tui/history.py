"""Recent image references, offered as suggestions in the reference input."""

from __future__ import annotations

import json

from layerslayer_tui import atomic, locations

LIMIT = 100


def load() -> list[str]:
    """Most recent first; a missing or unreadable file is an empty history."""
    try:
        data = json.loads(locations.history_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, str)][:LIMIT]


def remember(reference: str, current: list[str]) -> list[str]:
    """Put reference first and save; returns the new list. Write failures are
    ignored: history is a convenience, never a reason to fail a load."""
    items = [reference] + [r for r in current if r != reference]
    items = items[:LIMIT]
    path = locations.history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic.writing(path, "w", prefix=".history-", encoding="utf-8") as out:
            json.dump(items, out, indent=1)
    except OSError:
        pass
    return items
