"""Helpers for driving the app headless (Pilot) in the TUI tests, and the
scenes that both the snapshot tests and scripts/screenshots.py set up (so the
README's screenshots show what the snapshots check)."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Awaitable, Callable
from typing import Any

from bed.images import decompress

from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.dialogs import PromptScreen
from layerslayer_tui.tui.screens.platform import PlatformScreen
from layerslayer_tui.tui.screens.search import SearchScreen
from layerslayer_tui.tui.screens.viewer import ViewerScreen
from layerslayer_tui.tui.widgets.file_tree import FileTree
from layerslayer_tui.tui.widgets.layer_list import LayerList

SIZE = (100, 30)


def truth_paths(blob: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(decompress(blob)), mode="r:") as tf:
        return {m.name.removeprefix("./").rstrip("/") for m in tf.getmembers()}


def run(app: LayerslayerApp, body: Callable[[Any], Awaitable[None]], size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            try:
                await body(pilot)
            finally:
                gate = getattr(app.session, "gate", None)
                if gate is not None:
                    gate.set()  # never leave a worker thread parked

    asyncio.run(main())


async def wait_for(pilot: Any, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"gave up waiting for {what}; status: {pilot.app.status_text!r}")
        await pilot.pause(0.02)


def listed(app: LayerslayerApp, index: int) -> Callable[[], bool]:
    return lambda: app.workspace is not None and index in app.finished and app.workspace.progress(index) is not None


def viewer_ready(app: LayerslayerApp) -> Callable[[], bool]:
    """The file viewer is on screen with its content composed (the screen can be
    current a moment before its widgets exist on a loaded machine)."""
    return lambda: isinstance(app.screen, ViewerScreen) and bool(app.screen.query("#viewer-content"))


def labels(node: Any) -> list[str]:
    return [child.label.plain for child in node.children]


def tree_of(app: LayerslayerApp) -> FileTree:
    return app.query_one(FileTree)


def layer_done(app: LayerslayerApp, index: int) -> Callable[[], bool]:
    return lambda: app.workspace is not None and index in app.finished and not any(
        w.is_running for w in app.workers if w.group == "listing"
    )


async def settle(pilot: Any, predicate: Callable[[], bool], what: str) -> None:
    """wait_for, then one more pause so the screen has caught up."""
    await wait_for(pilot, predicate, what)
    await pilot.pause()


# -- scenes on the demo images (tui_images.push_demo): Pilot -> screen to capture ----


async def main_scene(pilot: Any) -> None:
    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    app.query_one(LayerList).highlight_layer(1)
    await settle(pilot, layer_done(app, 1), "layer 1")
    tree = app.query_one(FileTree)
    tree.expand_path("etc")
    tree.expand_path("usr/lib")
    tree.focus()
    await pilot.pause()


async def list_all(pilot: Any) -> None:
    """F on the layer list, until every layer is listed in full."""
    app = pilot.app
    app.query_one(LayerList).focus()
    await pilot.press("F")
    await settle(
        pilot,
        lambda: all(app.workspace.is_complete(i) for i in range(len(app.image.layers))) and not app.full_running,
        "every layer listed in full",
    )


async def merged_scene(pilot: Any) -> None:
    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    await list_all(pilot)
    app.query_one(LayerList).highlight_layer(None)
    await pilot.pause(0.1)
    tree = app.query_one(FileTree)
    tree.expand_path("app")
    tree.expand_path("etc")


async def platform_scene(pilot: Any) -> None:
    app = pilot.app
    await settle(pilot, lambda: isinstance(app.screen, PlatformScreen), "the platform picker")
    app.screen.query_one("#choices").highlighted = 0  # the host preselection differs per machine


async def viewer_scene(pilot: Any) -> None:
    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    app.query_one(LayerList).highlight_layer(2)
    await settle(pilot, layer_done(app, 2), "layer 2")
    tree = app.query_one(FileTree)
    folder = tree.expand_path("app")
    tree.focus()
    await pilot.pause()
    tree.move_cursor(next(c for c in folder.children if c.data.name == "run.py"))
    await pilot.pause()
    await pilot.press("v")
    await settle(pilot, viewer_ready(app), "the file viewer")


async def export_scene(pilot: Any) -> None:
    await settle(pilot, layer_done(pilot.app, 0), "layer 0")
    await pilot.press("e")
    # Wait for the dialog itself: one pause was not enough on a loaded machine.
    await settle(pilot, lambda: isinstance(pilot.app.screen, PromptScreen), "the export dialog")


async def search_scene(pilot: Any) -> None:
    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    await list_all(pilot)
    await pilot.press("S")
    await settle(pilot, lambda: isinstance(app.screen, SearchScreen), "the search screen")
    screen = app.screen
    screen.query_one("#search-pattern").value = "*.so*"
    await pilot.press("enter")
    await settle(pilot, lambda: len(screen.hits) == 3, "the three *.so* hits")


async def partial_scene(pilot: Any) -> None:
    """The point of the tool: a layer bigger than the peek, listed in part."""
    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    tree = app.query_one(FileTree)
    tree.expand_path("data")
    tree.focus()


async def browse_scene(pilot: Any) -> None:
    """b on a registry image lists that registry's catalog."""
    from layerslayer_tui.tui.screens.browse import BrowseScreen

    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    app.query_one(LayerList).focus()
    await pilot.press("b")
    await settle(pilot, lambda: isinstance(app.screen, BrowseScreen), "the browse screen")
    screen = app.screen
    await settle(pilot, lambda: bool(screen.levels), "the catalog")


async def compare_scene(pilot: Any) -> None:
    """c on demo/app:1, then demo/app:2: layers aligned, the app/ differences open."""
    from layerslayer_tui.tui.screens.compare import CompareScreen, ReferencePrompt

    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    await pilot.press("c")
    await settle(pilot, lambda: isinstance(app.screen, ReferencePrompt), "the compare prompt")
    prompt = app.screen
    prompt.query_one("#prompt").value = prompt.suggestions[0]  # demo/app:2, the only other tag
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                 "the comparison")
    screen = app.screen
    tree = screen.query_one("#compare-tree")
    folder = next(n for n in tree.root.children if n.data == "app")
    folder.expand()
    await pilot.pause()
    tree.move_cursor(next(n for n in folder.children if n.data == "app/run.py"))
    await pilot.pause()


# name -> (demo reference, scene); scripts/screenshots.py saves screenshots/<name>.svg
SCENES: dict[str, tuple[str, Callable[[Any], Awaitable[None]]]] = {
    "main": ("demo/app:1", main_scene),
    "partial": ("demo/big:1", partial_scene),
    "merged": ("demo/app:1", merged_scene),
    "platform-picker": ("demo/multi:1", platform_scene),
    "file-viewer": ("demo/app:1", viewer_scene),
    "export-dialog": ("demo/app:1", export_scene),
    "search": ("demo/app:1", search_scene),
    "browse": ("demo/app:1", browse_scene),
    "compare": ("demo/app:1", compare_scene),
}
