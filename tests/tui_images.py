"""Fixed images for the TUI tests, snapshots, screenshots and benchmark.

Everything here is deterministic (fixed mtimes, gzip mtime=0, seeded random
data), so digests, sizes and therefore screenshots are the same every run.
Snapshots also need the registry's address to be fixed: `fixed_registry()`
starts the bed's real registry process on FIXED_PORT.
"""

from __future__ import annotations

import random
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator
from unittest import mock

import bed.registry as bed_registry
from bed.images import PushedImage, PushedIndex, compress, push_image, push_index, realistic_history
from bed.layers import Item, build_tar

FIXED_PORT = 47351
HOSTILE_NAMES = ["a[/]b", "[bold]x", "\x1b[31mred", "[link=http://x]y[/link]"]
HOSTILE_STEP = "RUN echo [red]boom[/red] \x1b[2J && rm -rf /tmp/[bold]"


def _d(name: str) -> Item:
    return Item(name, "dir")


BASE = [
    _d("bin"),
    Item("bin/sh", data=b"\x7fELF" + bytes(range(256)) * 8, mode=0o755),
    Item("bin/ls", data=b"\x7fELF-ls" + bytes(2000), mode=0o755),
    _d("etc"),
    Item("etc/os-release", data=b'NAME="Bedrock"\nVERSION_ID="1"\n'),
    Item("etc/hostname", data=b"demo\n"),
    Item("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"),
    _d("usr"),
    _d("usr/bin"),
    Item("usr/bin/env", "symlink", link="/bin/sh"),
    _d("usr/lib"),
    Item("usr/lib/libc.so.6", data=bytes(12000), mode=0o755),
    _d("var"),
    _d("var/cache"),
    Item("var/cache/motd", data=b"welcome\n"),
]

RUN = [
    _d("etc"),
    Item("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
    Item("etc/.wh.hostname"),
    _d("usr/lib"),
    Item("usr/lib/libcurl.so.4", data=bytes(8000) + b"curl", mode=0o755),
    Item("usr/lib/libcurl.so", "symlink", link="libcurl.so.4"),
    _d("var/cache"),
    Item("var/cache/apt.bin", data=bytes(range(256)) * 20),
]

APP = [
    _d("app"),
    Item("app/run.py", data=b'#!/usr/bin/env python3\nimport sys\n\n\ndef main() -> int:\n    print("hello [bold]world[/bold]")\n    return 0\n\n\nif __name__ == "__main__":\n    sys.exit(main())\n', mode=0o755),
    Item("app/config.json", data=b'{"name": "demo", "debug": false}\n'),
    Item("app/logo.bin", data=bytes(range(256))),
    Item("app/run-link", "hardlink", link="app/run.py"),
]

# demo/app:2 (compare mode): run.py grows, the logo goes, static files arrive, config.json turns 0600.
APP2 = [
    _d("app"),
    Item("app/run.py", data=APP[1].data.replace(b"return 0", b"print(sys.argv)\n    return 0"), mode=0o755),
    Item("app/config.json", data=b'{"name": "demo", "debug": false}\n', mode=0o600),
    _d("app/static"),
    Item("app/static/index.html", data=b"<h1>demo</h1>\n"),
    Item("app/static/app.js", data=b"console.log('demo');\n" * 40),
    Item("app/run-link", "hardlink", link="app/run.py"),
]

HOSTILE = [_d("weird")] + [Item(f"weird/{name}", data=b"x") for name in HOSTILE_NAMES]


def layer(items: list[Item], compression: str = "gzip") -> bytes:
    return compress(build_tar(items, tarfile.PAX_FORMAT), compression)


def app_history() -> list[dict]:
    history = realistic_history(3)
    return history


@dataclass
class Demo:
    registry: Any
    app: PushedImage  # demo/app:1 - three layers: base (gzip), run (zstd), app (gzip)
    multi: PushedIndex  # demo/multi:1 - linux/amd64 + linux/arm64/v8
    hostile: PushedImage  # demo/hostile:1 - markup-hostile names and history
    layer_items: list[list[Item]]  # ground truth of demo/app's layers
    app2: PushedImage | None = None  # demo/app:2 - demo/app:1 with another top layer and Cmd (compare mode)

    def ref(self, name: str) -> str:
        return f"{self.registry.host}/{name}"


def push_demo(reg: Any) -> Demo:
    app = push_image(
        reg,
        "demo/app",
        "1",
        [layer(BASE), layer(RUN, "zstd"), layer(APP)],
        history=app_history(),
        config_extra={"config": {"Cmd": ["/app/run.py"], "WorkingDir": "/app"}},
    )
    amd = push_image(reg, "demo/multi", None, [layer(BASE)], platform=("linux", "amd64", None), history=realistic_history(1))
    arm = push_image(
        reg, "demo/multi", None, [layer(BASE[:6])], platform=("linux", "arm64", "v8"), history=realistic_history(1)
    )
    multi = push_index(reg, "demo/multi", "1", [(amd, ("linux", "amd64", None)), (arm, ("linux", "arm64", "v8"))])
    hostile_history = [
        {"created": "2024-03-01T10:00:00Z", "created_by": HOSTILE_STEP},
        {"created": "2024-03-01T10:00:00Z", "created_by": "LABEL x=[blink]y[/blink]", "empty_layer": True},
    ]
    hostile = push_image(reg, "demo/hostile", "1", [layer(HOSTILE)], history=hostile_history)
    app2 = push_image(
        reg,
        "demo/app",
        "2",
        [layer(BASE), layer(RUN, "zstd"), layer(APP2)],
        history=app_history(),
        config_extra={"config": {"Cmd": ["/app/run.py", "--serve"], "WorkingDir": "/app"}},
    )
    return Demo(reg, app, multi, hostile, [BASE, RUN, APP], app2)


def many_items(count: int, *, per_dir: int = 200, wide: int = 0, size: int = 600, seed: int = 11) -> list[Item]:
    """`count` files with poorly compressible content in directories of
    `per_dir`, plus one directory `wide/` of `wide` empty files."""
    rng = random.Random(seed)
    items: list[Item] = [_d("data")]
    for n in range(count):
        if n % per_dir == 0:
            items.append(_d(f"data/d{n // per_dir:04d}"))
        items.append(Item(f"data/d{n // per_dir:04d}/f{n:06d}.bin", data=rng.randbytes(rng.randint(0, size))))
    if wide:
        items.append(_d("wide"))
        items.extend(Item(f"wide/w{n:05d}") for n in range(wide))
    return items


@contextmanager
def fixed_registry(port: int = FIXED_PORT) -> Iterator[bed_registry.RegistryServer]:
    """The bed's real registry on a fixed loopback port, so references (and
    so screenshots) do not change between runs."""
    with mock.patch.object(bed_registry, "free_port", lambda host="127.0.0.1": port):
        server = bed_registry.RegistryServer("anon").start()
    try:
        yield server
    finally:
        server.stop()
