"""Snapshots of the main screens from the fixed demo images.

The registry runs on a fixed loopback port and the images are deterministic
(fixed mtimes, gzip mtime=0), so every byte on screen is the same each run.
Update with `pytest tests/test_tui_snapshots.py --snapshot-update` after a
deliberate change, and look at the report before committing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.widgets.file_tree import FileTree
from tui_images import Demo, fixed_registry, push_demo
from tui_pilot import export_scene, layer_done, main_scene, platform_scene, search_scene, settle, viewer_scene

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


def test_main_screen(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=main_scene)


def test_main_screen_80x24(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await settle(pilot, layer_done(app, 0), "layer 0")
        app.query_one(FileTree).expand_path("usr")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_platform_picker(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/multi:1"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=platform_scene)


def test_file_viewer(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=viewer_scene)


def test_export_dialog(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=export_scene)


def test_error_state(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))

    async def before(pilot: Any) -> None:
        await settle(pilot, layer_done(app, 0), "layer 0")
        app.load(demo.ref("demo/app:nope"))
        await settle(pilot, lambda: app.status_text.startswith("Error"), "the error")
        # an unknown tag then offers the repository's tags (issue 14 #12): wait for the picker, or the picture races it
        from layerslayer_tui.tui.screens.choice import ChoiceScreen

        await settle(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the tag picker")

    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_search_screen(snap_compare: Any, demo: Demo, make_app: Callable[..., LayerslayerApp]) -> None:
    app = make_app(demo.ref("demo/app:1"))
    assert snap_compare(app, terminal_size=(100, 30), run_before=search_scene)
