"""The one way a file reaches its name: written to a temp file in the
destination's folder (same file system, so the rename is atomic), then moved
there in one step. A reader never sees half a file, and a failed or refused
write leaves nothing behind. Callers turn OSError into their own sentence.

No-clobber publishing uses link(), which fails if anything (a dangling
symlink too) appeared at the name meanwhile; replace() only when the caller
may overwrite.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

SUFFIX = ".part"


class TempFileError(OSError):
    """The temp file could not be created beside the destination (folder missing or not writable)."""


def temp_beside(dest: str | os.PathLike[str], *, prefix: str | None = None) -> Path:
    """An empty temp file (mode 0600) in dest's folder."""
    dest = Path(dest)
    try:
        fd, name = tempfile.mkstemp(dir=dest.parent, prefix=prefix or f".{dest.name}.", suffix=SUFFIX)
    except OSError as err:
        raise TempFileError(err.errno, err.strerror, err.filename) from None
    os.close(fd)
    return Path(name)


def publish(tmp: str | os.PathLike[str], dest: str | os.PathLike[str], *, overwrite: bool) -> None:
    """Move the finished temp file to dest. FileExistsError when dest exists and not `overwrite`."""
    if overwrite:
        os.replace(tmp, dest)
        return
    try:
        os.link(tmp, dest)
    except FileExistsError:
        raise
    except OSError:
        # No hard links on this file system: check, then rename (a small race, the best left).
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(dest)) from None
        os.replace(tmp, dest)
        return
    discard(tmp)


def discard(tmp: str | os.PathLike[str]) -> None:
    """Remove a temp file; quiet when it is already gone."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


@contextmanager
def writing(
    dest: str | os.PathLike[str],
    mode: str = "wb",
    *,
    overwrite: bool = True,
    chmod: int | None = None,
    prefix: str | None = None,
    **open_kw: Any,
) -> Iterator[IO[Any]]:
    """Open a temp file beside dest; on a clean exit, publish it (after an
    optional chmod); on any exception, remove it and re-raise. Raises
    TempFileError when the temp file cannot be made, FileExistsError when
    dest exists and not `overwrite`."""
    tmp = temp_beside(dest, prefix=prefix)
    try:
        with open(tmp, mode, **open_kw) as out:
            yield out
        if chmod is not None:
            os.chmod(tmp, chmod)
        publish(tmp, dest, overwrite=overwrite)
    except BaseException:
        discard(tmp)
        raise
