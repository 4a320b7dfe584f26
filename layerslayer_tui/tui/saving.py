"""The last step of every file the app writes (s, d): put a finished temp
file, or a symlink, at the chosen name without clobbering what is there
unless the user said yes. The same no-clobber step export uses."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from layerslayer_tui.errors import ExportError
# Export's step: link() the temp name to dest, which fails if anything (a
# dangling symlink too) appeared there; replace() only when overwriting.
from layerslayer_tui.fs import export as _export


def temp_beside(dest: Path) -> Path:
    """An empty temp file in dest's folder (same file system: the rename is atomic)."""
    parent = dest.parent
    if not parent.is_dir():
        raise ExportError(f"The folder {parent} does not exist.")
    try:
        fd, name = tempfile.mkstemp(dir=parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as err:
        raise ExportError(f"Cannot write in {parent}: {err.strerror or err}.") from None
    os.close(fd)
    return Path(name)


def publish(tmp: Path, dest: Path, overwrite: bool) -> None:
    """Move the finished temp file to dest; ExportError when dest exists and not `overwrite`."""
    try:
        _export.publish(os.fspath(tmp), dest, overwrite)
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
            os.replace(tmp, dest)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
    except FileExistsError:
        raise ExportError(f"{dest} already exists; choose another name or allow overwriting.") from None
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
