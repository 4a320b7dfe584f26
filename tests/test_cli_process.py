"""The CLI as a real process: credentials from stdin against a Basic-auth
registry, the progress line only on a terminal, and two app instances
writing one cache at the same time."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from bed.images import make_layer, push_image
from layerslayer_tui.cache import Cache

pytestmark = pytest.mark.registry


def run(argv: list[str], cache: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "layerslayer_tui", *argv], capture_output=True, text=True,
                          timeout=120, env=env, **kw)


def test_password_from_stdin(registry_basic, tmp_path: Path) -> None:
    image = push_image(registry_basic, "cli/private", "1", [make_layer({"secret.txt": b"s"}, "gzip")])
    ok = run([image.ref, "--json", "--username", registry_basic.username, "--password-stdin"], tmp_path / "c",
             input=registry_basic.password + "\n")
    assert ok.returncode == 0, ok.stderr
    assert [e["path"] for e in json.loads(ok.stdout)["entries"]] == ["secret.txt"]
    bad = run([image.ref, "--json", "--no-cache", "--username", registry_basic.username, "--password-stdin"],
              tmp_path / "c", input="wrong\n")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_progress_line_only_when_stderr_is_a_terminal(registry, tmp_path: Path) -> None:
    image = push_image(registry, "cli/progress", "1", [make_layer({"a": b"1", "b": b"2"}, "gzip")])
    plain = run([image.ref, "--export", str(tmp_path / "p.json")], tmp_path / "c1")
    assert plain.returncode == 0 and plain.stderr == ""

    main_fd, tty_fd = pty.openpty()
    try:
        env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "c2")}
        proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", image.ref, "--export", str(tmp_path / "t.json")],
                              stdout=subprocess.PIPE, stderr=tty_fd, timeout=120, env=env)
        os.close(tty_fd)
        tty_fd = -1
        seen = b""
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if tty_fd != -1:
            os.close(tty_fd)
        os.close(main_fd)
    assert proc.returncode == 0
    assert b"layer 1/1: 2 entries" in seen
    assert seen.endswith(b"\r\x1b[2K")  # the line is wiped before exit


def test_two_instances_share_one_cache(registry, tmp_path: Path) -> None:
    a = push_image(registry, "cli/twin-a", "1", [make_layer({f"a{i}": b"x" for i in range(50)}, "gzip")])
    b = push_image(registry, "cli/twin-b", "1", [make_layer({f"b{i}": b"y" for i in range(50)}, "zstd")])
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "shared")}
    procs = [
        subprocess.Popen([sys.executable, "-m", "layerslayer_tui", img.ref, "--export", str(tmp_path / f"{n}.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for n, img in (("a", a), ("b", b))
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert err == b""  # no cache warning: neither locked the other out
    cache = Cache(tmp_path / "shared" / "cache.sqlite3")
    assert {s.reference.rsplit("/", 1)[1] for s in cache.images()} == {"twin-a:1", "twin-b:1"}
    assert set(cache.listed_digests()) == {a.layers[0].digest, b.layers[0].digest}
