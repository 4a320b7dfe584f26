"""Every path the app writes outside the working directory comes from here."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

_APP = "layerslayer-tui"


def cache_dir() -> Path:
    override = os.environ.get("LAYERSLAYER_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(_APP))


def data_dir() -> Path:
    override = os.environ.get("LAYERSLAYER_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(_APP))


def cache_db() -> Path:
    return cache_dir() / "cache.sqlite3"


def history_file() -> Path:
    return data_dir() / "history.json"


def settings_file() -> Path:
    """Choices the app remembers between runs (the tree's order, ...), beside the history."""
    return data_dir() / "settings.json"
