"""The full-screen app as a real process on a pseudo-terminal: the password
read from a piped stdin, the keys from the terminal (issue 14, point 1)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from bed.images import make_layer, push_image

pytestmark = pytest.mark.registry


def _start(argv: list[str], password: str, tmp_path: Path) -> tuple[subprocess.Popen, int]:
    main_fd, tty_fd = pty.openpty()
    fcntl.ioctl(tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))

    def controlling_terminal() -> None:  # the child's /dev/tty is the pty, its stdin a pipe
        os.setsid()
        fcntl.ioctl(tty_fd, termios.TIOCSCTTY, 0)

    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache"),
           "LAYERSLAYER_DATA_DIR": str(tmp_path / "data"), "TERM": "xterm-256color"}
    proc = subprocess.Popen([sys.executable, "-m", "layerslayer_tui", *argv], stdin=subprocess.PIPE,
                            stdout=tty_fd, stderr=tty_fd, env=env, preexec_fn=controlling_terminal, pass_fds=(tty_fd,))
    os.close(tty_fd)
    proc.stdin.write(password.encode() + b"\n")
    proc.stdin.close()
    return proc, main_fd


def _read_until(main_fd: int, proc: subprocess.Popen, needle: bytes, timeout: float) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end and needle not in seen:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(main_fd, 65536)
            except OSError:
                break
    return seen


def _finish(proc: subprocess.Popen, main_fd: int, timeout: float) -> int | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        _read_until(main_fd, proc, b"\x00never", 0.2)  # keep the pty drained
    code = proc.poll()
    if code is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    os.close(main_fd)
    return code


@pytest.mark.parametrize(("key", "code"), [(b"q", 0), (b"\x03", 130)])
def test_password_stdin_then_keys_from_the_terminal(registry_basic, tmp_path: Path, key: bytes, code: int) -> None:
    image = push_image(registry_basic, "tty/private", "1", [make_layer({"secret.txt": b"s"}, "gzip")])
    proc, main_fd = _start([image.ref, "--username", registry_basic.username, "--password-stdin"],
                           registry_basic.password, tmp_path)
    seen = _read_until(main_fd, proc, b"secret.txt", 60)
    assert b"secret.txt" in seen, seen[-2000:]  # the password from the pipe worked
    os.write(main_fd, key)
    assert _finish(proc, main_fd, 20) == code
