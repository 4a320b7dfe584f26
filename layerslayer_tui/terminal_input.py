"""Where the full-screen app reads its keys from.

`--password-stdin` reads the password from a pipe (`echo pw | layerslayer-tui
...`), as `docker login --password-stdin` users expect; the pipe is then at its
end, and an app reading keys from it would get none. The keys come from the
controlling terminal instead: /dev/tty is put in the place of file descriptor 0,
where the terminal driver reads. No Textual here: the CLI calls it before the
app starts.
"""

from __future__ import annotations

import os
import sys

from layerslayer_tui.errors import LayerslayerError


def keys_from_terminal() -> None:
    """When stdin is not a terminal, read keys from /dev/tty; one sentence when there is none."""
    try:
        if os.isatty(0):
            return
    except OSError:
        pass
    try:
        fd = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        raise LayerslayerError(
            "The full-screen app needs a terminal to read keys from, and there is none; "
            "use --export FILE or --json without one."
        ) from None
    try:
        os.dup2(fd, 0)
    finally:
        os.close(fd)
    if sys.__stdin__ is not None and sys.__stdin__.fileno() != 0:  # pragma: no cover - never seen
        raise LayerslayerError("The full-screen app could not read keys from the terminal.")
