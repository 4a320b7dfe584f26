"""Compare mode in the app (c), driven headless against the real registry:
demo/app:1 against demo/app:2 (tests/tui_images.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.compare import CompareScreen
from layerslayer_tui.tui.screens.dialogs import PromptScreen
from layerslayer_tui.tui.screens.viewer import ViewerScreen
from tui_images import Demo, push_demo
from tui_pilot import compare_scene, run, settle, viewer_ready

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo(registry) -> Demo:
    return push_demo(registry)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


def test_compare_mode_aligns_layers_and_marks_files(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await compare_scene(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        rows = screen.query_one("#compare-layers")
        texts = [rows.get_option_at_index(i).prompt for i in range(rows.option_count)]
        assert [t.plain[0] for t in texts] == ["=", "=", "-", "+"]
        assert [t.plain[2:7] for t in texts] == [" 0│0 ", " 1│1 ", " 2│  ", "  │2 "]  # shared base and run, then the two tops
        assert all(span.style == "dim" for t in texts[:2] for span in t.spans if span.style)
        tree = screen.query_one("#compare-tree")
        top = {n.data: n.label.plain for n in tree.root.children}
        assert top["app"].startswith("app/") and "+2 files, -1 file, ~2 changed" in top["app"]
        folder = next(n for n in tree.root.children if n.data == "app")
        kids = {n.data: n.label.plain for n in folder.children}
        assert kids["app/static"].startswith("+ static/")
        assert kids["app/logo.bin"].startswith("- logo.bin")
        assert kids["app/run.py"].startswith("~ run.py") and "size" in kids["app/run.py"]
        assert "mode -rw-r--r-- -> -rw-------" in kids["app/config.json"]
        assert "cmd" in screen.config_text.plain
        assert "Files: +2 files" in screen.status_text or "run.py" in screen.status_text
        # v: a bounded unified diff read through session.carve
        await pilot.press("v")
        await settle(pilot, viewer_ready(app), "the diff viewer")
        text = app.screen.data.decode()
        assert "--- a/app/run.py" in text and "+    print(sys.argv)" in text
        await pilot.press("escape")
        await pilot.pause()
        # e: export the comparison as the diff --json document
        await pilot.press("e")
        await settle(pilot, lambda: isinstance(app.screen, PromptScreen), "the export prompt")
        app.screen.query_one("#prompt").value = "cmp.json"
        await pilot.press("enter")
        await settle(pilot, lambda: Path("cmp.json").exists(), "the export")
        doc = json.loads(Path("cmp.json").read_text())
        assert {f["path"] for f in doc["files"]} >= {"app/static/index.html", "app/logo.bin", "app/run.py"}
        assert doc["a"]["image"].endswith("demo/app:1") and doc["b"]["image"].endswith("demo/app:2")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)

    run(app, body)


def test_compare_shares_listings_with_the_cache(demo: Demo, session: Session) -> None:
    """The base and run layers, listed for A already, are not read again for B."""
    reg = demo.registry
    mark = reg.log_mark()
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    run(app, compare_scene)
    base, runl = demo.app.layers[0].digest, demo.app.layers[1].digest
    gets = [r for r in reg.access_log(mark) if r.is_blob_get]
    # across the whole session each shared digest was fetched at most once
    assert sum(base in r.path for r in gets) <= 1 and sum(runl in r.path for r in gets) <= 1


async def open_compare(pilot: Any, reference: str) -> CompareScreen:
    from layerslayer_tui.tui.screens.compare import ReferencePrompt
    from tui_pilot import layer_done

    app = pilot.app
    await settle(pilot, layer_done(app, 0), "layer 0")
    await pilot.press("c")
    await settle(pilot, lambda: isinstance(app.screen, ReferencePrompt), "the compare prompt")
    app.screen.query_one("#prompt").value = reference
    await pilot.press("enter")
    await settle(pilot, lambda: isinstance(app.screen, CompareScreen), "the compare screen")
    return app.screen


def test_hostile_names_and_steps_are_shown_literally(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        screen = await open_compare(pilot, demo.ref("demo/hostile:1"))
        await settle(pilot, lambda: screen.comparison is not None, "the comparison")
        tree = screen.query_one("#compare-tree")
        weird = next(n for n in tree.root.children if n.data == "weird")
        weird.expand()
        await pilot.pause()
        labels = [n.label for n in weird.children]
        plain = [t.plain for t in labels]
        assert any("\\x1b[31mred" in p for p in plain) and not any("\x1b" in p for p in plain)
        assert any("[bold]x" in p for p in plain)  # markup shown as text, not applied
        rows = screen.query_one("#compare-layers")
        texts = [rows.get_option_at_index(i).prompt.plain for i in range(rows.option_count)]
        assert not any("\x1b" in t for t in texts) and any("[red]boom[/red]" in t for t in texts)

    run(app, body)


def test_a_missing_second_image_is_one_sentence(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        screen = await open_compare(pilot, demo.ref("demo/app:nope"))
        await settle(pilot, lambda: screen.status_text.startswith("Error: "), "the error")
        assert "nope" in screen.status_text and screen.comparison is None
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CompareScreen)

    run(app, body)
