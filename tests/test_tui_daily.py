"""Issue 14 ("a daily driver"): the app as a new user meets it, driven
headless against the real registry processes."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from bed.images import make_layer, push_image
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.login import LoginScreen
from layerslayer_tui.tui.screens.platform import PlatformScreen
from layerslayer_tui.tui.widgets.layer_list import LayerList
from tui_images import Demo, push_demo
from tui_pilot import labels, listed, run, tree_of, wait_for

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo(registry) -> Demo:
    return push_demo(registry)


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    # no stored credentials from the machine running the tests
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(tmp_path) -> Session:
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


def shown(screen: Any) -> str:
    """The text of a screen's labels."""
    return " ".join(getattr(label.content, "plain", str(label.content)) for label in screen.query("Label"))


# -- 2. a login dialog after an authentication error ------------------------------------


@pytest.fixture(scope="module")
def private(registry_basic) -> str:
    return push_image(registry_basic, "daily/private", "1", [make_layer({"secret.txt": b"s"}, "gzip")]).ref


def test_auth_error_offers_login_then_loads(private: str, registry_basic: Any, session: Session) -> None:
    app = LayerslayerApp(private, session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login dialog")
        await pilot.pause()
        screen = app.screen
        text = shown(screen)
        assert "none found (anonymous)" in text and "docker login" in text and "never written" in text
        await pilot.press(*registry_basic.username, "enter", *registry_basic.password, "enter")
        await wait_for(pilot, listed(app, 0), "layer 0 after the login")
        assert [l.split()[0] for l in labels(tree_of(app).root)] == ["secret.txt"]
        assert session.credential_source(registry_basic.host) == "typed in this session"

    run(app, body)


def test_cached_image_without_credentials_says_it_is_cached(private: str, registry_basic: Any, tmp_path: Path) -> None:
    cache = tmp_path / "shared.sqlite3"
    with Session(cache_path=cache, username=registry_basic.username, password=registry_basic.password) as first:
        first.open_image(private)  # the image is cached; none of its layers are listed
    with Session(cache_path=cache) as second:
        app = LayerslayerApp(private, session=second)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen), "the login dialog")
            await pilot.pause()
            assert app.image is not None and app.image.from_cache
            assert "cached" in app.status_text
            reason = shown(app.screen)
            assert "opened from the cache" in reason
            await pilot.press(*registry_basic.username, "enter", *registry_basic.password, "enter")
            await wait_for(pilot, listed(app, 0), "layer 0 after the login")
            assert [l.split()[0] for l in labels(tree_of(app).root)] == ["secret.txt"]

        run(app, body)


# -- 3. the reference box ------------------------------------------------------------------


def test_reference_box_is_edited_only_on_purpose(demo: Demo, session: Session) -> None:
    reference = demo.ref("demo/app:1")
    app = LayerslayerApp(reference, session=session)

    async def body(pilot: Any) -> None:
        box = app.query_one("#reference", Input)
        await pilot.press("x", "y", "z")  # typed during start-up
        await wait_for(pilot, listed(app, 0), "layer 0")
        loaded = app.image.reference
        assert box.value == loaded
        for _ in range(4):  # not in the Tab cycle
            await pilot.press("tab")
            assert app.focused is not box
        await pilot.press("o")
        assert app.focused is box and box.selection.is_empty and box.cursor_position == len(loaded)
        await pilot.press("backspace", "backspace", "9")
        assert box.value != loaded
        await pilot.press("escape")  # leaves it unchanged
        assert box.value == loaded and app.focused is app.query_one(LayerList)
        await pilot.press("colon")
        assert app.focused is box
        box.value = demo.ref("demo/app:nope")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.status_text.startswith("Error"), "the unknown tag's error")
        await pilot.pause()
        assert box.value == loaded and app.image.reference == loaded  # it shows what is on screen

    run(app, body)


# -- 4. sort by size -------------------------------------------------------------------------


def test_sort_by_size_and_back_is_remembered(demo: Demo, session: Session, dirs: Path) -> None:
    def sizes(app: LayerslayerApp) -> list[int]:
        return [child.data.total_bytes for child in tree_of(app).root.children if child.data is not None]

    def names(app: LayerslayerApp) -> list[str]:
        return [child.data.name for child in tree_of(app).root.children if child.data is not None]

    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    by_name: list[str] = []

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await pilot.pause()
        by_name[:] = names(app)
        assert by_name == sorted(by_name) and sizes(app) != sorted(sizes(app), reverse=True)
        await pilot.press("z")
        assert sizes(app) == sorted(sizes(app), reverse=True)
        assert "by size" in str(tree_of(app).border_title) and "size" in app.status_text
        folder = tree_of(app).expand_path("usr")  # directories below follow the order too
        inner = [c.data.total_bytes for c in folder.children]
        assert inner == sorted(inner, reverse=True)

    run(app, body)
    assert json.loads((dirs / "data" / "settings.json").read_text())["sort"] == "size"
    again = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def second(pilot: Any) -> None:
        await wait_for(pilot, listed(again, 0), "layer 0")
        await pilot.pause()
        assert sizes(again) == sorted(sizes(again), reverse=True)  # remembered
        await pilot.press("z")
        assert names(again) == by_name and "by size" not in str(tree_of(again).border_title)

    run(again, second)


# -- 8. the footer follows the focused pane; the platform in sight and switchable ---------


def footer_keys(app: LayerslayerApp) -> set[str]:
    from textual.widgets._footer import FooterKey

    return {key.key for key in app.query(FooterKey)}


def test_footer_follows_the_pane_and_p_switches_platform(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/multi:1"), platform="linux/amd64", session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        layers = app.query_one(LayerList)
        layers.focus()
        await pilot.pause()
        assert "linux/amd64" in str(layers.border_title)
        shown = footer_keys(app)
        assert {"f", "F", "w", "d", "t", "p", "S"} <= shown and not {"v", "1", "e"} & shown
        tree_of(app).focus()
        await pilot.pause()
        shown = footer_keys(app)
        assert {"v", "s", "e", "1", "2", "3", "4", "z", "slash", "S"} <= shown and not {"w", "d"} & shown
        layers.focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PlatformScreen), "the platform picker")
        await pilot.pause()
        choices = app.screen.query_one("#choices")
        assert choices.highlighted == 0  # the platform on screen
        choices.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: str(app.image.platform).startswith("linux/arm64"), "the arm64 image")
        await pilot.pause()
        assert "linux/arm64" in str(layers.border_title)

    run(app, body)


# -- 11. proportional bars ----------------------------------------------------------------


def test_bars_beside_layers_and_directories_with_the_share_on_the_selected_row(demo: Demo, session: Session) -> None:
    from layerslayer_tui.tui.bars import bar

    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await pilot.pause()
        layers = app.query_one(LayerList)
        total = sum(l.size for l in app.image.layers)
        prompts = {l.index: layers.get_option(f"layer-{l.index}").prompt.plain for l in app.image.layers}
        for l in app.image.layers:
            assert bar(l.size, total) in prompts[l.index]
        selected = [i for i, text in prompts.items() if "%" in text]
        assert selected == [0]  # the highlighted layer, and only it, says its share
        assert f"{app.image.layers[0].size / total * 100:.1f}%" in prompts[0]
        tree = tree_of(app)
        tree.focus()
        await pilot.pause()
        rows = [c for c in tree.root.children if c.data is not None]
        whole = sum(c.data.total_bytes for c in rows)
        for row in rows:
            assert bar(row.data.total_bytes, whole) in row.label.plain
        cursor = tree.cursor_node
        assert "%" in cursor.label.plain and sum("%" in r.label.plain for r in rows) == 1
        await pilot.press("j")
        assert "%" not in cursor.label.plain and "%" in tree.cursor_node.label.plain

    run(app, body)


# -- 5./6. the live filter, always in sight; a jump never lands on a hidden row ------------


def test_live_filter_counts_says_empty_and_escape_clears(demo: Demo, session: Session) -> None:
    from layerslayer_tui.fs import FilteredView

    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        tree.focus()
        everything = len(tree.root.children)
        bar = app.query_one("#filter")
        count = app.query_one("#filter-count")
        await pilot.press("slash", *"libc")  # no Enter: it narrows as you type
        await wait_for(pilot, lambda: isinstance(tree.view, FilteredView), "the live filter")
        assert labels(tree.root)[0].startswith("usr/") and len(tree.root.children) == 1
        assert str(count.content.plain) == "1 match"
        await pilot.press(*"zzz")
        await wait_for(pilot, lambda: app.pattern == "libczzz", "the longer pattern")
        assert count.content.plain == "nothing matches" and "nothing matches" in app.status_text
        await pilot.press("escape")
        assert app.pattern is None and not bar.display and len(tree.root.children) == everything
        await pilot.press("slash", *"*.so*", "enter")
        assert app.focused is tree and bar.display  # an active filter stays in sight
        assert app.query_one("#filter-input").value == "*.so*" and "filter *.so*" in str(tree.border_title)

    run(app, body)


def test_a_search_hit_under_a_filter_that_hides_it_clears_the_filter(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        tree.focus()
        await pilot.press("slash", *"*.so*", "enter")
        hit = next(h for h in session.search("*") if h.layer_index == 0 and ".so" not in h.path and "/" in h.path)
        assert tree.view.get(hit.path) is None  # hidden by the filter
        app.open_hit(hit)
        await wait_for(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data is not None
                       and tree.cursor_node.data.path == hit.path, "the cursor on the hit")
        assert app.pattern is None and not app.query_one("#filter").display
        assert "filter *.so* hid it and is cleared" in app.status_text

    run(app, body)


# -- 7. the command palette ----------------------------------------------------------------


def test_palette_has_every_action_and_a_screenshot_without_downloads(demo: Demo, session: Session, dirs: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from layerslayer_tui.tui import keys

    home = dirs / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # no ~/Downloads
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        found = {c.title: c for c in app.get_system_commands(app.screen)}
        helps = " ".join(c.help for c in found.values())
        for binding in keys.BINDINGS:
            if binding.action not in ("quit", "interrupt"):
                assert f"(key {binding.key_display or binding.key.split(',')[0]})" in helps, binding.action
        for name in ("Export the tree", "Wasted-space report", "Search every listing seen", "Tags of this repository",
                     "Switch platform", "Download the selected layer", "Sort the tree by size / by name",
                     "Compare with another image", "Quit"):
            assert name in found
        found["Sort the tree by size / by name"].callback()
        await pilot.pause()
        assert tree_of(app).order == "size"
        app.clear_notifications()
        found["Screenshot"].callback()
        await wait_for(pilot, lambda: any(n.title == "Screenshot" for n in app._notifications), "the screenshot toast")
        toast = next(n for n in app._notifications if n.title == "Screenshot")
        shots = list(dirs.glob("*.svg"))
        assert len(shots) == 1 and str(shots[0]) in toast.message and "[$" not in toast.message
        assert toast.severity == "information" and not (home / "Downloads").exists()

    run(app, body)


# -- 10. escape, then f carries on where the read stopped ------------------------------------


@pytest.fixture(scope="module")
def big(registry) -> tuple[str, bytes]:
    from tui_images import layer, many_items

    blob = layer(many_items(3000))
    return push_image(registry, "daily/big", "1", [blob]).ref, blob


class CountingGatedSession(Session):
    """Counts the listings opened; each stops after its first batch until the gate opens."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.opened = 0

    def listing(self, *args: Any, **kwargs: Any) -> Any:
        self.opened += 1
        inner = super().listing(*args, **kwargs)
        gate = self.gate

        class Gated:
            def __iter__(self):
                for n, batch in enumerate(inner):
                    if n == 1:
                        assert gate.wait(60)
                    yield batch

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

        return Gated()


def test_escape_then_f_carries_on_and_never_lists_fewer(big: tuple[str, bytes], tmp_path: Path) -> None:
    from tui_pilot import truth_paths

    ref, blob = big
    truth = truth_paths(blob)
    with CountingGatedSession(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)
        seen: list[int] = []

        async def body(pilot: Any) -> None:
            tree = tree_of(app)
            await wait_for(pilot, lambda: len(tree.root.children) > 0, "first entries")
            app.query_one(LayerList).focus()
            await pilot.press("escape")
            assert "paused" in app.status_text and "f carries on" in app.status_text
            session.gate.set()  # the worker stops with the batch it was reading in hand
            await wait_for(pilot, lambda: 0 in app._paused, "the paused read kept")
            before = app.workspace.progress(0).entries
            listed_before = len(app.workspace.tree(0))
            feed = app.workspace.feed

            def watch(index: int, batch: Any, *, more: bool = False) -> None:
                seen.append(batch.progress.entries)
                feed(index, batch, more=more)

            app.workspace.feed = watch
            await pilot.press("f")
            await wait_for(pilot, lambda: app.workspace.is_complete(0) and 0 in app.finished, "the full listing")
            assert session.opened == 1  # the same stream carried on: no second read from byte 0
            assert seen and min(seen) >= before  # never fewer entries than were listed
            assert len(app.workspace.tree(0)) >= listed_before
            assert {n.path for n in app.workspace.tree(0).walk()} == truth

        run(app, body)


# -- 12. smaller ones -----------------------------------------------------------------------


def test_unknown_tag_offers_the_tag_picker(demo: Demo, session: Session) -> None:
    from layerslayer_tui.tui.screens.choice import ChoiceScreen

    app = LayerslayerApp(demo.ref("demo/app:nope"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the tag picker")
        await pilot.pause()
        screen = app.screen
        assert "has no tag nope" in screen.title_text and "1" in screen.items
        assert app.status_text.startswith("Error")  # the error stays said
        screen.query_one("#choices").highlighted = screen.items.index("1")
        await pilot.press("enter")
        await wait_for(pilot, listed(app, 0), "the tag picked")
        assert app.image.reference.endswith("demo/app:1")

    run(app, body)


def test_small_terminal_keeps_the_layer_list_and_the_viewer_says_how_to_close(demo: Demo, session: Session) -> None:
    from layerslayer_tui.tui.screens.viewer import ViewerScreen

    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await pilot.pause()
        assert app.query_one(LayerList).content_size.height >= 3  # 60x15: three layer rows stay
        app.query_one(LayerList).highlight_layer(2)
        await wait_for(pilot, listed(app, 2), "layer 2")
        tree = tree_of(app)
        folder = tree.expand_path("app")
        tree.focus()
        await pilot.pause()
        tree.move_cursor(next(c for c in folder.children if c.data.name == "run.py"))
        await pilot.pause()
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, ViewerScreen), "the viewer")
        await pilot.pause()
        assert "escape, q or v closes" in app.screen.query_one("#viewer-title").content.plain

    run(app, body, size=(60, 15))


# -- 9. status and messages are not cut and do not outstay their state -----------------------


def screen_text(app: LayerslayerApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def test_long_status_wraps_and_error_toasts_end_with_their_state(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await wait_for(pilot, lambda: not any(w.is_running for w in app.workers), "quiet")
        await pilot.pause(0.3)
        long = "Peeking layer 3: 313.0 MiB of 1.6 GiB, 1,415 entries, partial. " * 2 + "THE-END"
        app.set_status(long)
        await pilot.pause()
        assert "THE-END" in screen_text(app)  # wrapped onto a second line, not cut
        app.load(demo.ref("demo/app:nope"))
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications), "the error toast")
        from layerslayer_tui.tui.screens.choice import ChoiceScreen

        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the tag picker")
        await pilot.pause()
        await pilot.press("escape")
        app.load(demo.ref("demo/app:1"))
        await wait_for(pilot, lambda: listed(app, 0)() and not app.status_text.startswith("Resolving"), "loaded again")
        assert not any(n.severity == "error" for n in app._notifications)  # the error ended with its state

    run(app, body, size=(120, 30))


def test_the_footer_fits_80_columns(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        for pane in (app.query_one(LayerList), tree_of(app)):
            pane.focus()
            await pilot.pause()
            footer = screen_text(app).splitlines()[-1]
            assert "q Quit" in footer and "? Help" in footer, footer

    run(app, body, size=(80, 24))


def test_the_platform_question_is_not_cut(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/multi:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, PlatformScreen), "the platform picker")
        await pilot.pause()
        text = " ".join(re.sub("[\u2500-\u259f]", " ", screen_text(app)).split())  # box drawing out
        assert "pick a platform" in text, text

    run(app, body, size=(80, 24))
