#!/usr/bin/env python3
"""Regenerate screenshots/*.svg (embedded in the README) from the fixed demo
images: starts its own registry process on a fixed loopback port, pushes the
images, drives the app headless and saves one SVG per scene.

    .venv/bin/python scripts/screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bed.images import push_image, realistic_history  # noqa: E402
from tui_images import Demo, fixed_registry, layer, many_items, push_demo  # noqa: E402

from layerslayer_tui.session import Session  # noqa: E402
from layerslayer_tui.tui.app import LayerslayerApp  # noqa: E402
from layerslayer_tui.tui.screens.platform import PlatformScreen  # noqa: E402
from layerslayer_tui.tui.screens.search import SearchScreen  # noqa: E402
from layerslayer_tui.tui.screens.viewer import ViewerScreen  # noqa: E402
from layerslayer_tui.tui.widgets.file_tree import FileTree  # noqa: E402
from layerslayer_tui.tui.widgets.layer_list import LayerList  # noqa: E402

SIZE = (110, 32)


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise SystemExit(f"screenshot scene stuck: {pilot.app.status_text}")
        await pilot.pause(0.02)
    await pilot.pause()


def done(app: LayerslayerApp, index: int) -> Callable[[], bool]:
    return lambda: app.workspace is not None and index in app.finished and not any(
        w.is_running for w in app.workers if w.group == "listing"
    )


async def main_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, done(app, 0))
    app.query_one(LayerList).highlight_layer(1)
    await until(pilot, done(app, 1))
    tree = app.query_one(FileTree)
    tree.expand_path("etc")
    tree.expand_path("usr/lib")
    tree.focus()


async def merged_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, done(app, 0))
    app.query_one(LayerList).focus()
    await pilot.press("F")
    await until(pilot, lambda: all(app.workspace.is_complete(i) for i in range(len(app.image.layers))) and not app.full_running)
    app.query_one(LayerList).highlight_layer(None)
    await pilot.pause(0.1)
    tree = app.query_one(FileTree)
    tree.expand_path("app")
    tree.expand_path("etc")


async def platform_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, lambda: isinstance(app.screen, PlatformScreen))
    app.screen.query_one("#choices").highlighted = 0


async def viewer_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, done(app, 0))
    app.query_one(LayerList).highlight_layer(2)
    await until(pilot, done(app, 2))
    tree = app.query_one(FileTree)
    folder = tree.expand_path("app")
    tree.focus()
    await pilot.pause()
    tree.move_cursor(next(c for c in folder.children if c.data.name == "run.py"))
    await pilot.pause()
    await pilot.press("v")
    await until(pilot, lambda: isinstance(app.screen, ViewerScreen))


async def export_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, done(app, 0))
    await pilot.press("e")


async def search_scene(app: LayerslayerApp, pilot: Any) -> None:
    await until(pilot, done(app, 0))
    app.query_one(LayerList).focus()
    await pilot.press("F")
    await until(pilot, lambda: all(app.workspace.is_complete(i) for i in range(len(app.image.layers))) and not app.full_running)
    await pilot.press("S")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen))
    screen = app.screen
    screen.query_one("#search-pattern").value = "*.so*"
    await pilot.press("enter")
    await until(pilot, lambda: bool(screen.hits))


async def partial_scene(app: LayerslayerApp, pilot: Any) -> None:
    """The point of the tool: a layer bigger than the peek, listed in part."""
    await until(pilot, done(app, 0))
    tree = app.query_one(FileTree)
    tree.expand_path("data")
    tree.focus()


SCENES: dict[str, tuple[str, Callable[[LayerslayerApp, Any], Awaitable[None]]]] = {
    "main": ("demo/app:1", main_scene),
    "partial": ("demo/big:1", partial_scene),
    "merged": ("demo/app:1", merged_scene),
    "platform-picker": ("demo/multi:1", platform_scene),
    "file-viewer": ("demo/app:1", viewer_scene),
    "export-dialog": ("demo/app:1", export_scene),
    "search": ("demo/app:1", search_scene),
}


async def shoot(demo: Demo, name: str, out: Path, work: Path) -> Path:
    reference, scene = SCENES[name]
    with Session(cache_path=work / f"{name}.sqlite3") as session:
        app = LayerslayerApp(demo.ref(reference), session=session)
        async with app.run_test(size=SIZE) as pilot:
            await scene(app, pilot)
            await pilot.pause(0.1)
            return Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ll-shots-") as tmp:
        work = Path(tmp)
        os.environ["LAYERSLAYER_CACHE_DIR"] = str(work / "cache")
        os.environ["LAYERSLAYER_DATA_DIR"] = str(work / "data")
        with fixed_registry() as reg:
            demo = push_demo(reg)
            # About 1 MiB of hard-to-compress files: a 256 KiB peek lists a quarter.
            push_image(reg, "demo/big", "1", [layer(many_items(3000, per_dir=300))], history=realistic_history(1))
            for name in SCENES:
                path = asyncio.run(shoot(demo, name, args.out, work))
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
