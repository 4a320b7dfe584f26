"""Image pairs for `diff` and images with known waste for `--ci`.

`compare_images` (session fixture) pushes, to the anonymous registry, images
sharing one base layer whose tops differ in every way the diff must see:
files replaced by directories and back, whiteouts and opaque directories on
either side, a symlink retargeted, mode- and owner-only changes, config
changes; a gzip -> zstd recompressed copy; two multi-platform indexes; a pair
whose top layers are too big for one partial peek.
"""

from __future__ import annotations

import random
import tarfile
from dataclasses import dataclass
from typing import Any

import pytest

from bed.images import PushedImage, PushedIndex, compress, push_image, push_index
from bed.layers import Item, build_tar


def noise(n: int, seed: int) -> bytes:
    """Incompressible bytes, so a layer's compressed size stays close to n."""
    return random.Random(seed).randbytes(n)


BASE = [
    Item("bin", "dir"), Item("bin/sh", data=b"\x7fELF shell", mode=0o755),
    Item("etc", "dir"), Item("etc/passwd", data=b"root:x:0:0\n"), Item("etc/conf", data=b"a=1\n"),
    Item("etc/gone", data=b"bye\n"),
    Item("home", "dir"), Item("home/user", "dir"), Item("home/user/notes", data=b"n" * 50),
    Item("lib", "dir"), Item("lib/link", "symlink", link="../bin/sh"),
    Item("opt", "dir"), Item("opt/d", "dir"), Item("opt/d/x", data=b"x"), Item("opt/keep", data=b"k"),
    Item("srv", "dir"), Item("srv/thing", data=b"t"),
    Item("usr", "dir"), Item("usr/share", "dir"), Item("usr/share/doc", "dir"),
    Item("usr/share/doc/readme", data=b"r" * 10),
    Item("var", "dir"), Item("var/data", data=noise(300_000, 1)),
]  # fmt: skip

# A's top: a whiteout and an opaque directory on A's side, a new app, a changed passwd.
TOP_A = [
    Item("app", "dir"), Item("app/main.py", data=b"print('a')\n"),
    Item("etc", "dir"), Item("etc/.wh.gone"), Item("etc/passwd", data=b"root:x:0:0\nsvc:x:1:1\n"),
    Item("opt", "dir"), Item("opt/.wh..wh..opq"), Item("opt/new", data=b"new"),
]  # fmt: skip

# B's top: type changes both ways, a symlink retargeted, mode- and owner-only
# changes, a whiteout and an opaque directory on B's side, a hostile name.
TOP_B = [
    Item("app", "dir"), Item("app/main.py", data=b"print('bb')\n"),
    Item("bin", "dir"), Item("bin/sh", data=b"\x7fELF shell", mode=0o700),
    Item("etc", "dir"), Item("etc/conf", "dir"), Item("etc/conf/inner", data=b"i"),
    Item("etc/passwd", data=b"root:x:0:0\n", uid=7, uname="seven"),
    Item("home", "dir"), Item("home/.wh..wh..opq"),
    Item("lib", "dir"), Item("lib/link", "symlink", link="../bin/busybox"),
    Item("srv", data=b"now a file"),
    Item("usr", "dir"), Item("usr/share", "dir"), Item("usr/share/doc", "dir"), Item("usr/share/doc/.wh.readme"),
    Item("esc\x1b[2Jname", data=b"e"),
]  # fmt: skip

CONFIG_A = {"config": {"Env": ["PATH=/usr/bin:/bin", "VERSION=1"], "Cmd": ["/app/main.py"], "WorkingDir": "/app",
                       "Labels": {"version": "1.4"}, "ExposedPorts": {"80/tcp": {}}}}
CONFIG_B = {"config": {"Env": ["PATH=/usr/bin:/bin", "VERSION=2", "NEW=x"], "Cmd": ["/app/main.py", "--b"],
                       "WorkingDir": "/srv", "User": "svc", "Entrypoint": ["/bin/sh", "-c"],
                       "Labels": {"version": "1.5", "evil": "\x1b]0;title\x07\u202eevil"},
                       "ExposedPorts": {"80/tcp": {}, "443/tcp": {}}, "Volumes": {"/data": {}}}}


def big_top(seed: int, files: int = 40) -> list[Item]:
    """A layer of incompressible files, far bigger than one 256K partial peek."""
    return [Item("big", "dir")] + [Item(f"big/f{i:03d}", data=noise(20_000 + seed, seed * 1000 + i)) for i in range(files)]


@dataclass
class CompareImages:
    registry: Any
    base_gzip: bytes
    a: PushedImage  # cmp/app:a = BASE + TOP_A (gzip)
    b: PushedImage  # cmp/app:b = BASE + TOP_B (gzip), other config
    a_zstd: PushedImage  # cmp/app:a-zstd = BASE + TOP_A recompressed to zstd: same files as a
    multi_1: PushedIndex  # cmp/multi:1 linux/amd64 + linux/arm64
    multi_2: PushedIndex  # cmp/multi:2 linux/amd64 (same as 1) + linux/arm64 (changed)
    arm_1: PushedImage
    arm_2: PushedImage
    big_1: PushedImage  # cmp/big:1 = BASE + big_top(1)
    big_2: PushedImage  # cmp/big:2 = BASE + big_top(2)


def push_compare_images(reg: Any) -> CompareImages:
    base = compress(build_tar(BASE), "gzip")
    top_a = build_tar(TOP_A)
    a = push_image(reg, "cmp/app", "a", [base, compress(top_a, "gzip")], config_extra=CONFIG_A)
    b = push_image(reg, "cmp/app", "b", [base, compress(build_tar(TOP_B), "gzip")], config_extra=CONFIG_B)
    a_zstd = push_image(reg, "cmp/app", "a-zstd", [base, compress(top_a, "zstd")], config_extra=CONFIG_A)

    def plat(arch: str, content: bytes) -> PushedImage:
        layer = compress(build_tar([Item("arch", data=content)]), "gzip")
        return push_image(reg, "cmp/multi", None, [base, layer], platform=("linux", arch, None))

    amd = plat("amd64", b"amd64\n")
    arm_1, arm_2 = plat("arm64", b"arm64\n"), plat("arm64", b"arm64 v2\n")
    multi_1 = push_index(reg, "cmp/multi", "1", [(amd, ("linux", "amd64", None)), (arm_1, ("linux", "arm64", None))])
    multi_2 = push_index(reg, "cmp/multi", "2", [(amd, ("linux", "amd64", None)), (arm_2, ("linux", "arm64", None))])
    big_1 = push_image(reg, "cmp/big", "1", [base, compress(build_tar(big_top(1)), "gzip")])
    big_2 = push_image(reg, "cmp/big", "2", [base, compress(build_tar(big_top(2)), "gzip")])
    return CompareImages(reg, base, a, b, a_zstd, multi_1, multi_2, arm_1, arm_2, big_1, big_2)


@pytest.fixture(scope="session")
def compare_images(registry: Any) -> CompareImages:
    return push_compare_images(registry)


# -- --ci: images with hand-computed waste ------------------------------------------

# Layer 0: 1000 + 3000 bytes. Layer 1 rewrites a (2000 bytes) and adds c (500).
# Layer 2 deletes b (a whiteout of a 3000-byte file) and adds d (4500).
# dive: a visited 1000 + 2000 (cumulative 3000, smallest 1000); b 3000 + 3000 for
# the whiteout (we size it; dive would count 0); c 500; d 4500.
WASTE_LAYERS = [
    [Item("a", data=b"1" * 1000), Item("b", data=b"2" * 3000)],
    [Item("a", data=b"3" * 2000), Item("c", data=b"4" * 500)],
    [Item(".wh.b"), Item("d", data=b"5" * 4500)],
]
# cumulative: a 3000, b 6000, c 500, d 4500 = 14000; smallest: 1000 + 3000 + 500 + 4500 = 9000
WASTE_EFFICIENCY = 9000 / 14000
WASTE_BYTES = 3000 + 6000  # cumulative sizes of the paths seen twice or more
WASTE_USER_BYTES = (2000 + 500) + 4500  # file bytes of every layer but the first
WASTE_USER_PERCENT = WASTE_BYTES / WASTE_USER_BYTES


@pytest.fixture(scope="session")
def waste_image(registry: Any) -> PushedImage:
    layers = [compress(build_tar(items, tarfile.PAX_FORMAT), "gzip") for items in WASTE_LAYERS]
    return push_image(registry, "ci/waste", "1", layers)


@pytest.fixture(scope="session")
def lean_image(registry: Any) -> PushedImage:
    """Two layers, no path twice: efficiency 1.0, nothing wasted."""
    layers = [compress(build_tar([Item("x", data=b"x" * 100)]), "gzip"),
              compress(build_tar([Item("y", data=b"y" * 100)]), "gzip")]
    return push_image(registry, "ci/lean", "1", layers)
