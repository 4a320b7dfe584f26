"""`cat` and `get` end to end through the CLI process against the real
registry: the merged view, --layer, symlinks followed inside the image only
(loops, escapes, an absolute link to /etc/passwd), whiteouts, directories,
modes, no writing outside the folder, no overwrite without --force, bad
arguments (exit 2, one sentence)."""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bed.images import push_image
from bed.layers import Item, build_tar

pytestmark = pytest.mark.registry

PASSWD = b"root:x:0:0:image root:/root:/bin/sh\nimage-only:x:1000:1000::/home/u:/bin/sh\n"
BINARY = bytes(range(256)) * 64


def layer(items: list[Item]) -> bytes:
    return gzip.compress(build_tar(items), mtime=0)


@pytest.fixture(scope="module")
def image(registry):
    base = layer([
        Item("etc/", "dir"),
        Item("etc/passwd", data=PASSWD),
        Item("etc/os-release", data=b"ID=test\n"),
        Item("etc/alt", "symlink", link="/etc/passwd"),
        Item("etc/up", "symlink", link="../../../../../etc/shadow"),
        Item("loop/", "dir"),
        Item("loop/a", "symlink", link="b"),
        Item("loop/b", "symlink", link="a"),
        Item("bin/", "dir"),
        Item("bin/tool", data=BINARY, mode=0o4755),
        Item("bin/tool-hard", "hardlink", link="bin/tool"),
        Item("share/", "dir", mode=0o750),
        Item("share/doc/", "dir"),
        Item("share/doc/readme", data=b"read me\n", mode=0o600),
        Item("share/doc/link", "symlink", link="../../etc/passwd"),
        Item("share/doc/out", "symlink", link="/etc/passwd"),
        Item("share/empty", data=b""),
    ])
    top = layer([
        Item("etc/", "dir"),
        Item("etc/.wh.os-release", data=b""),
        Item("share/", "dir", mode=0o750),
        Item("share/doc/", "dir"),
        Item("share/doc/readme", data=b"read me, version 2\n", mode=0o640),
        Item("share/doc/new", data=b"new\n"),
    ])
    return push_image(registry, "cli/content", "1", [base, top])


def run(argv: list[str], cache: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "layerslayer_tui", *argv], capture_output=True, timeout=120,
                          env=env, cwd=cwd)


def fails(proc: subprocess.CompletedProcess, *words: str) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert proc.stdout == b""
    assert "Traceback" not in err, err
    last = err.splitlines()[-1]
    # Before the error, only notes of what was read ("listed layer 0 ...").
    assert all(line.startswith("layerslayer-tui: listed layer") for line in err.splitlines()[:-1]), err
    for word in words:
        assert word in last, err


def test_cat_merged_view_binary_safe(image, tmp_path) -> None:
    got = run(["cat", image.ref, "/bin/tool"], tmp_path / "c")
    assert got.returncode == 0, got.stderr
    assert got.stdout == BINARY
    assert b"bin/tool:" in got.stderr and b"read" in got.stderr
    newer = run(["cat", image.ref, "share/doc/readme"], tmp_path / "c")
    assert newer.stdout == b"read me, version 2\n"
    older = run(["cat", image.ref, "share/doc/readme", "--layer", "0"], tmp_path / "c")
    assert older.stdout == b"read me\n"
    hard = run(["cat", image.ref, "bin/tool-hard"], tmp_path / "c")
    assert hard.stdout == BINARY


def test_symlinks_resolve_inside_the_image(image, tmp_path) -> None:
    alt = run(["cat", image.ref, "/etc/alt"], tmp_path / "c")
    assert alt.returncode == 0 and alt.stdout == PASSWD  # the image's file, never the host's
    rel = run(["cat", image.ref, "share/doc/link"], tmp_path / "c")
    assert rel.stdout == PASSWD
    fails(run(["cat", image.ref, "etc/up"], tmp_path / "c"), "etc/up")  # ../ stops at the root: no etc/shadow
    fails(run(["cat", image.ref, "../../../../etc/shadow"], tmp_path / "c"), "shadow")
    fails(run(["cat", image.ref, "loop/a"], tmp_path / "c"), "symbolic links")


def test_directories_missing_and_deleted_paths(image, tmp_path) -> None:
    fails(run(["cat", image.ref, "share/doc"], tmp_path / "c"), "directory")
    fails(run(["cat", image.ref, "/"], tmp_path / "c"), "root")
    fails(run(["cat", image.ref, "nope/nothing"], tmp_path / "c"), "no file")
    fails(run(["cat", image.ref, "etc/os-release"], tmp_path / "c"), "deleted by layer 1")
    ok = run(["cat", image.ref, "etc/os-release", "--layer", "0"], tmp_path / "c")
    assert ok.returncode == 0 and ok.stdout == b"ID=test\n"


def test_bad_arguments(image, tmp_path) -> None:
    fails(run(["cat", image.ref], tmp_path / "c"), "cat IMAGE PATH")
    fails(run(["cat"], tmp_path / "c"), "cat IMAGE PATH")
    fails(run(["get", image.ref], tmp_path / "c"), "get IMAGE PATH")
    fails(run(["cat", image.ref, "etc/passwd", "--layer", "7"], tmp_path / "c"), "Layer 7")
    fails(run(["cat", image.ref, "etc/passwd", "--layer", "x"], tmp_path / "c"), "--layer")
    fails(run(["cat", image.ref, "etc/passwd", "-o", str(tmp_path)], tmp_path / "c"), "-o")
    fails(run(["cat", "Bad Ref!!", "etc/passwd"], tmp_path / "c"))


def test_get_files_and_directories(image, tmp_path) -> None:
    out = tmp_path / "out"
    got = run(["get", image.ref, "share", "/etc/alt", "bin/tool", "-o", str(out)], tmp_path / "c")
    assert got.returncode == 0, got.stderr
    assert (out / "share/doc/readme").read_bytes() == b"read me, version 2\n"
    assert stat.S_IMODE((out / "share/doc/readme").stat().st_mode) == 0o640
    assert (out / "share/doc/new").read_bytes() == b"new\n"
    assert (out / "share/empty").read_bytes() == b""
    assert os.readlink(out / "share/doc/out") == "/etc/passwd"  # recreated as a link, never followed
    assert stat.S_IMODE((out / "share").stat().st_mode) == 0o750
    assert (out / "passwd").read_bytes() == PASSWD  # /etc/alt followed inside the image
    assert (out / "tool").read_bytes() == BINARY
    assert stat.S_IMODE((out / "tool").stat().st_mode) == 0o755  # setuid never applied
    again = run(["get", image.ref, "bin/tool", "-o", str(out)], tmp_path / "c")
    fails(again, "already exists", "--force")
    forced = run(["get", image.ref, "bin/tool", "-o", str(out), "--force"], tmp_path / "c")
    assert forced.returncode == 0, forced.stderr


def test_get_never_writes_outside_the_folder(image, tmp_path) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    outside.mkdir()
    out.mkdir()
    (out / "share").symlink_to(outside)  # a planted link inside the folder
    got = run(["get", image.ref, "share", "-o", str(out)], tmp_path / "c")
    fails(got, "symbolic link")
    assert list(outside.iterdir()) == []
    (out / "tool").symlink_to(outside / "victim")
    forced = run(["get", image.ref, "bin/tool", "-o", str(out), "--force"], tmp_path / "c")
    fails(forced, "not a regular file")
    assert not (outside / "victim").exists()
    dots = run(["get", image.ref, "../../bin/tool", "-o", str(tmp_path / "o2")], tmp_path / "c")
    assert dots.returncode == 0 and (tmp_path / "o2" / "tool").read_bytes() == BINARY
