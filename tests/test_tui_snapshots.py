"""Snapshots of the main screens from the fixed demo images.

The registry runs on a fixed loopback port and the images are deterministic
(fixed mtimes, gzip mtime=0), so every byte on screen is the same each run.
Update with `pytest tests/test_tui_snapshots.py --snapshot-update` after a
deliberate change, and look at the report before committing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.platform import PlatformScreen
from layerslayer_tui.tui.screens.search import SearchScreen
from layerslayer_tui.tui.screens.viewer import ViewerScreen
from layerslayer_tui.tui.widgets.file_tree import FileTree
from layerslayer_tui.tui.widgets.layer_list import LayerList
from tui_images import Demo, fixed_registry, push_demo

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with fixed_registry() as reg:
        yield push_demo(reg)


@pytest.fixture
def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., LayerslayerApp]]:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    sessions: list[Session] = []

    def make(reference: str, **kwargs: Any) -> LayerslayerApp:
        session = Session(cache_path=tmp_path / "cache.sqlite3", timeout=5.0)
        sessions.append(session)
        return LayerslayerApp(reference, session=session, **kwargs)

    yield make
    for session in sessions:
        session.close()


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, pilot.app.status_text
        await pilot.pause(0.02)
    await pilot.pause()


def layer_done(app: LayerslayerApp, index: int) -> Callable[[], bool]:
    return lambda: app.workspace is not None and index in app.finished and not any(
        w.is_running for w in app.workers if w.group == "listing"
    )


def test_main_screen(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        app.query_one(LayerList).highlight_layer(1)
        await until(pilot, layer_done(app, 1))
        tree = app.query_one(FileTree)
        tree.expand_path("etc")
        tree.expand_path("usr/lib")
        tree.focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_main_screen_80x24(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        app.query_one(FileTree).expand_path("usr")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_platform_picker(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/multi:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, lambda: isinstance(app.screen, PlatformScreen))
        app.screen.query_one("#choices").highlighted = 0  # the host preselection differs per machine

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_file_viewer(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        app.query_one(LayerList).highlight_layer(2)
        await until(pilot, layer_done(app, 2))
        tree = app.query_one(FileTree)
        folder = tree.expand_path("app")
        tree.focus()
        await pilot.pause()
        tree.move_cursor(next(c for c in folder.children if c.data.name == "run.py"))
        await pilot.pause()
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, ViewerScreen))

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_export_dialog(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_error_state(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        app.load(demo.ref("demo/app:nope"))
        await until(pilot, lambda: app.status_text.startswith("Error"))

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_search_screen(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await until(pilot, layer_done(app, 0))
        app.query_one(LayerList).focus()
        await pilot.press("F")
        await until(pilot, lambda: all(app.workspace.is_complete(i) for i in range(3)) and not app.full_running)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen))
        screen = app.screen
        screen.query_one("#search-pattern").value = "*.so*"
        await pilot.press("enter")
        await until(pilot, lambda: len(screen.hits) == 3)

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)
