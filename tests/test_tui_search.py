"""The search screen (S) against the real registry: every listing seen, across
images, each hit with image, layer, path and size; Enter opens the hit."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest
from tui_images import HOSTILE_NAMES, Demo, push_demo
from tui_pilot import list_all, listed, run, tree_of, wait_for

from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.platform import PlatformScreen
from layerslayer_tui.tui.screens.search import SearchScreen
from layerslayer_tui.tui.text import size
from layerslayer_tui.tui.widgets.layer_list import LayerList

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo(registry) -> Demo:
    return push_demo(registry)


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


def rows(screen: SearchScreen) -> list[tuple[str, ...]]:
    table = screen.query_one("#search-results")
    return [tuple(cell.plain for cell in table.get_row_at(i)) for i in range(table.row_count)]


async def search(pilot: Any, pattern: str) -> SearchScreen:
    app = pilot.app
    if not isinstance(app.screen, SearchScreen):
        app.query_one(LayerList).focus()
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), "the search screen")
    screen = app.screen
    field = screen.query_one("#search-pattern")
    field.focus()
    field.value = pattern
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.summary.startswith(("No listing", f"{len(screen.hits):,} hit")) and screen.pattern == pattern, "search results")
    await pilot.pause()
    return screen


def test_search_across_images_and_open_a_hit(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    items = demo.layer_items  # demo/app's layers; demo/multi (amd64) shares layer 0 (BASE)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await list_all(pilot)
        app_ref = app.image.reference
        app.load(demo.ref("demo/multi:1"), "linux/amd64")
        await wait_for(pilot, lambda: app.image.reference != app_ref and listed(app, 0)(), "demo/multi")
        multi_ref = app.image.reference
        assert app.image.layers[0].digest == demo.app.layers[0].digest  # the shared base layer
        app.load(demo.ref("demo/hostile:1"))
        await wait_for(pilot, lambda: app.image.reference.endswith("hostile:1") and listed(app, 0)(), "demo/hostile")

        screen = await search(pilot, "*passwd")
        expected = set()
        for ref, layers in ((app_ref, items), (multi_ref, items[:1])):
            for index, layer_items in enumerate(layers):
                for item in layer_items:
                    if item.kind == "file" and fnmatch.fnmatchcase(item.name, "*passwd"):
                        expected.add((ref, index, item.name, size(len(item.data))))
        assert len(expected) == 3
        got = {(r[0], int(r[1].split()[0]), r[2], r[3]) for r in rows(screen)}
        assert got == expected
        assert {(h.image, h.layer_index, h.path) for h in screen.hits} == {e[:3] for e in expected}
        assert screen.summary == "3 hits for *passwd in 2 images."
        digests = {r[1].split()[1] for r in rows(screen) if r[1].startswith("1 ")}
        assert digests == {demo.app.layers[1].digest.split(":")[1][:8]}

        # registry strings arrive as plain text: markup-looking names stay literal
        screen = await search(pilot, "weird/*")
        shown = {r[2] for r in rows(screen)}
        assert shown == {"weird/" + n.replace("\x1b", "\\x1b") for n in HOSTILE_NAMES}

        # Enter on demo/app's layer-1 hit opens that image at that layer, cursor on the file
        screen = await search(pilot, "*passwd")
        table = screen.query_one("#search-results")
        target = next(i for i, h in enumerate(screen.hits) if h.image == app_ref and h.layer_index == 1)
        table.focus()
        table.move_cursor(row=target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.image.reference == app_ref and app.layer == 1 and listed(app, 1)(), "the hit's image")
        tree = tree_of(app)
        await wait_for(pilot, lambda: tree.selected_node is not None and tree.selected_node.path == "etc/passwd", "cursor on the hit")
        assert tree.has_focus and app.status_text == "etc/passwd in layer 1."
        assert tree.selected_node.entry.size == len(next(i for i in items[1] if i.name == "etc/passwd").data)

        # the next search starts from the last pattern
        app.query_one(LayerList).focus()
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), "the search screen")
        assert app.screen.query_one("#search-pattern").value == "*passwd"
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchScreen)

    run(app, body)


def test_a_hit_from_a_multi_platform_image_opens_that_platform(demo: Demo, session: Session) -> None:
    """The hit carries the platform its image was opened with: Enter opens
    it directly, without the platform picker."""
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    arm_base = demo.multi.children[1].layers[0].digest  # only in demo/multi's linux/arm64/v8

    def no_picker() -> None:
        assert not isinstance(app.screen, PlatformScreen), "the hit asked for its platform again"

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        app_ref = app.image.reference
        app.load(demo.ref("demo/multi:1"), "linux/arm64/v8")
        await wait_for(pilot, lambda: app.image.reference != app_ref and listed(app, 0)(), "demo/multi arm64")
        multi_ref = app.image.reference
        app.load(demo.ref("demo/app:1"))
        await wait_for(pilot, lambda: app.image.reference == app_ref and listed(app, 0)(), "demo/app again")

        screen = await search(pilot, "etc/")
        arm_hits = [h for h in screen.hits if h.layer_digest == arm_base]
        assert arm_hits and all(h.image == multi_ref and h.platform == "linux/arm64/v8" for h in arm_hits)
        assert all(h.platform == "" for h in screen.hits if h.image == app_ref)
        target = screen.hits.index(arm_hits[0])
        table = screen.query_one("#search-results")
        table.focus()
        table.move_cursor(row=target)
        await pilot.press("enter")

        def opened() -> bool:
            no_picker()
            return app.image.reference == multi_ref and listed(app, 0)()

        await wait_for(pilot, opened, "the hit's image")
        await pilot.pause(0.1)
        no_picker()
        assert app.image.platform is not None and str(app.image.platform) == "linux/arm64/v8"
        assert app.layer == 0 and app.image.layers[0].digest == arm_base
        tree = tree_of(app)
        await wait_for(pilot, lambda: tree.selected_node is not None and tree.selected_node.path == arm_hits[0].path.strip("/"), "cursor on the hit")

    run(app, body)


def test_search_without_a_match_says_so(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        screen = await search(pilot, "*/id_rsa")
        assert screen.summary == "No listing seen so far has a path matching */id_rsa."
        assert screen.query_one("#search-status").render().plain == screen.summary
        assert rows(screen) == [] and screen.hits == []
        screen = await search(pilot, "os-release")  # a substring finds what a glob would not
        assert [(r[1].split()[0], r[2]) for r in rows(screen)] == [("0", "etc/os-release")]
        await pilot.press("escape")
        assert app.layer == 0 and listed(app, 0)()  # nothing else moved

    run(app, body)


def test_search_needs_the_cache(demo: Demo) -> None:
    with Session(cache=False) as session:
        app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            app.query_one(LayerList).focus()
            await pilot.press("S")
            assert not isinstance(app.screen, SearchScreen)
            assert app.status_text == "Search looks through the listing cache, which is off: there is nothing to search."

        run(app, body)
