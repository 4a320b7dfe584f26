"""The last step of every file the app writes (s, d): put a finished temp
file, or a symlink, at the chosen name without clobbering what is there
unless the user said yes. The steps are `layerslayer_tui.atomic`'s; this
module gives them the TUI's sentences."""

from __future__ import annotations

import os
from pathlib import Path

from layerslayer_tui import atomic
from layerslayer_tui.errors import ExportError
from layerslayer_tui.fs import export


def temp_beside(dest: Path) -> Path:
    """An empty temp file in dest's folder (same file system: the rename is atomic)."""
    parent = dest.parent
    if not parent.is_dir():
        raise ExportError(f"The folder {parent} does not exist.")
    try:
        return atomic.temp_beside(dest)
    except OSError as err:
        raise ExportError(f"Cannot write in {parent}: {err.strerror or err}.") from None


def publish(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move the finished temp file to dest; ExportError when dest exists and not `overwrite`."""
    try:
        export.publish(tmp, dest, overwrite)
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None


def save_link(target: str, dest: Path, overwrite: bool) -> None:
    """A symlink saved as a symlink (as `tar x` would): the target text is
    written as it is in the layer and never followed."""
    try:
        if not overwrite:
            # symlink() itself refuses any existing name, so nothing is clobbered.
            os.symlink(target, dest)
            return
        tmp = temp_beside(dest)
        tmp.unlink()
        os.symlink(target, tmp)
        try:
            atomic.publish(tmp, dest, overwrite=True)
        except OSError:
            atomic.discard(tmp)
            raise
    except FileExistsError:
        raise ExportError(f"{dest} already exists; choose another name or allow overwriting.") from None
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
