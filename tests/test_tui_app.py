"""The app driven headless (Pilot) against the real registry process."""

from __future__ import annotations

import fnmatch
import json
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.content import Content

from bed.images import push_image
from bed.registry import free_port
from layerslayer_tui.errors import AuthError, InvalidReferenceError, LayerslayerError, NetworkError, NotFoundError
from layerslayer_tui.fs import Change
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.dialogs import ConfirmScreen, PromptScreen
from layerslayer_tui.tui.screens.platform import PlatformScreen, preselect
from layerslayer_tui.tui.screens.viewer import ViewerScreen
from layerslayer_tui.tui.widgets.layer_list import LayerList
from tui_images import HOSTILE_NAMES, HOSTILE_STEP, Demo, layer, many_items, push_demo
from tui_pilot import labels, list_all, listed, run, tree_of, truth_paths, wait_for, viewer_ready

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo(registry) -> Demo:
    return push_demo(registry)


@pytest.fixture(scope="module")
def big(registry) -> tuple[str, bytes]:
    """One gzip layer of 3,000 poorly compressible files: a 256 KiB peek is partial."""
    blob = layer(many_items(3000))
    pushed = push_image(registry, "demo/big", "1", [blob])
    return pushed.ref, blob


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(tmp_path) -> Session:
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


# -- loading and selecting ----------------------------------------------------------


def test_load_reference_lists_layers_and_first_tree(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(session=session)

    async def body(pilot: Any) -> None:
        await pilot.click("#reference")
        await pilot.press(*demo.ref("demo/app:1"), "enter")
        await wait_for(pilot, listed(app, 0), "layer 0")
        rows = app.query_one(LayerList)
        texts = [rows.get_option_at_index(i).prompt.plain for i in range(rows.option_count)]
        assert texts[0] == "Image (merged)"
        layer_rows = [t for t in texts if t.lstrip()[:1].isdigit()]
        assert [t.split()[0] for t in layer_rows] == ["0", "1", "2"]
        assert any("CMD [\"bash\"]" in t for t in texts)  # empty steps are rows too
        for pushed, row in zip(demo.app.layers, layer_rows):
            assert pushed.digest.split(":")[1][:8] in row
        # the Dockerfile reads top to bottom: the empty ENV step sits between layers 0 and 1
        assert texts.index(layer_rows[0]) < next(i for i, t in enumerate(texts) if "ENV LANG" in t) < texts.index(layer_rows[1])
        roots = {p.split("/")[0] for p in truth_paths(demo.app.layers[0].data)}
        assert [l.split("/")[0] for l in labels(tree_of(app).root)] == sorted(roots)
        assert "complete" in app.status_text
        assert app.history[0] == app.image.reference  # remembered for suggestions

    run(app, body)


def test_selecting_layers_shows_their_changes(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        app.query_one(LayerList).focus()
        await pilot.press("j")  # skips the dim empty steps
        assert app.layer == 1
        await wait_for(pilot, listed(app, 1), "layer 1")
        await pilot.pause(0.05)
        tree = tree_of(app)
        etc = tree.expand_path("etc")
        lib = tree.expand_path("usr/lib")
        await pilot.pause()
        marks = {c.data.name: c.data.change for c in etc.children}
        assert marks["passwd"] is Change.MODIFIED
        assert "hostname" in {c.data.name for c in etc.children if c.data.kind == "whiteout"}
        assert {c.data.name: c.data.change for c in lib.children}["libcurl.so.4"] is Change.ADDED
        passwd = next(c for c in etc.children if c.data.name == "passwd")
        assert "yellow" in str(passwd.label.spans[0].style)
        await pilot.press("k", "k")
        assert app.layer is None  # the merged row
        assert "Image" in app.query_one("#details").render().plain

    run(app, body)


# -- progressive fill and f ---------------------------------------------------------


class GatedListing:
    """A real listing that stops after its first batch until the test opens the gate."""

    def __init__(self, inner: Any, gate: threading.Event) -> None:
        self.inner = inner
        self.gate = gate

    def __iter__(self):
        for n, batch in enumerate(self.inner):
            if n == 1:
                assert self.gate.wait(60)
            yield batch
        if not self.gate.is_set():
            assert self.gate.wait(60)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class GatedSession(Session):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def listing(self, *args: Any, **kwargs: Any) -> Any:
        return GatedListing(super().listing(*args, **kwargs), self.gate)


def test_progressive_fill_then_f_completes(big: tuple[str, bytes], tmp_path: Path) -> None:
    ref, blob = big
    truth = truth_paths(blob)
    with GatedSession(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)

        async def body(pilot: Any) -> None:
            tree = tree_of(app)
            await wait_for(pilot, lambda: len(tree.root.children) > 0, "first entries")
            # entries are on screen while the listing is still running
            assert 0 not in app.finished
            assert "Peeking layer 0" in app.status_text
            shown = app.workspace.tree(0)
            assert 0 < len(shown) < len(truth)
            assert {n.path for n in shown.walk()} <= truth
            session.gate.set()
            await wait_for(pilot, listed(app, 0), "end of the partial peek")
            progress = app.workspace.progress(0)
            assert not progress.complete
            note = tree.root.children[-1].label.plain
            assert note.startswith("… ") and "press f for all of it" in note
            partial_count = len(app.workspace.tree(0))
            assert partial_count < len(truth)
            data = tree.expand_path("data")
            await pilot.pause()
            assert data.children[-1].label.plain.endswith("…")  # the last directory may hold more

            await pilot.press("f")
            await wait_for(pilot, lambda: app.workspace.is_complete(0) and 0 in app.finished, "full listing")
            assert {n.path for n in app.workspace.tree(0).walk()} == truth
            assert "press f" not in tree.root.children[-1].label.plain
            assert "complete" in app.status_text
            details = app.query_one("#details").render().plain
            assert "complete" in details and "partial" not in details
            # the tree kept the expanded directory and now shows every subdirectory
            data = tree.expand_path("data")
            assert len(data.children) == len([p for p in truth if p.count("/") == 1 and p.startswith("data/")])

        run(app, body)


def test_escape_cancels_and_keeps_what_was_listed(big: tuple[str, bytes], tmp_path: Path) -> None:
    ref, _blob = big
    with GatedSession(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)

        async def body(pilot: Any) -> None:
            tree = tree_of(app)
            await wait_for(pilot, lambda: len(tree.root.children) > 0, "first entries")
            before = len(app.workspace.tree(0))
            app.query_one(LayerList).focus()
            await pilot.press("escape")
            session.gate.set()
            await wait_for(pilot, lambda: not any(w.is_running for w in app.workers if w.group == "listing"), "cancel")
            assert "Cancelled" in app.status_text
            assert len(app.workspace.tree(0)) >= before > 0
            assert len(tree.root.children) > 0

        run(app, body)


# -- export, filter, markers, merged ------------------------------------------------


def test_export_writes_the_model_and_confirms_overwrite(demo: Demo, session: Session, dirs: Path) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    out = dirs / "listing.json"

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await pilot.press("e")
        assert isinstance(app.screen, PromptScreen)
        prompt = app.screen.query_one("#prompt")
        assert prompt.value == "./app_1_0.txt"
        prompt.value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, out.exists, "export file")
        data = json.loads(out.read_text())
        paths = {e["path"].strip("/") for e in data["entries"]}
        assert paths == {n.path for n in app.workspace.tree(0).walk()} == truth_paths(demo.app.layers[0].data)
        before = out.read_bytes()
        out.write_text("keep me")
        await pilot.press("e")
        app.screen.query_one("#prompt").value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "overwrite question")
        await pilot.press("n")
        assert out.read_text() == "keep me"
        await pilot.press("e")
        app.screen.query_one("#prompt").value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "overwrite question")
        await pilot.press("y")
        await wait_for(pilot, lambda: out.read_bytes() == before, "overwritten export")

    run(app, body)


def test_filter_and_change_markers(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        tree.focus()
        await pilot.press("slash")
        assert app.focused is app.query_one("#filter-input")  # the live filter under the tree
        await pilot.press(*"*.so*", "enter")
        truth = truth_paths(demo.app.layers[0].data)
        matches = {p for p in truth if fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], "*.so*") or fnmatch.fnmatchcase(p, "*.so*")}
        assert matches == {"usr/lib/libc.so.6"}
        assert labels(tree.root) == ["usr/  11.7 KiB in 1 of 2 files  ██████"]  # what the filter keeps, of all
        lib = tree.expand_path("usr/lib")
        assert [c.data.path for c in lib.children] == ["usr/lib/libc.so.6"]
        assert "filter *.so*" in tree.border_title
        await pilot.press("slash", "ctrl+u", "enter")  # empty clears
        assert len(tree.root.children) == 4
        # The typed pattern reaches the border title literally, never as markup.
        await pilot.press("slash", *"[/]x", "enter")
        assert "filter [/]x" in Content.from_markup(tree.border_title).plain
        await pilot.press("slash", "ctrl+u", "enter")

        # layer 1: hide added (1) and unmodified (4): what is left was modified or removed
        app.query_one(LayerList).highlight_layer(1)
        await wait_for(pilot, listed(app, 1), "layer 1")
        await pilot.pause(0.05)
        tree.focus()
        await pilot.press("1", "4")
        view = tree.view
        shown = [n for n in view.walk(removals=True) if not n.is_dir]
        assert shown and all(n.change in (Change.MODIFIED, Change.REMOVED) or n.is_removal for n in shown)
        assert "etc/passwd" in {n.path for n in shown}
        assert "usr/lib/libcurl.so.4" not in {n.path for n in view.walk()}
        await pilot.press("1", "4")
        assert "usr/lib/libcurl.so.4" in {n.path for n in tree.view.walk()}

    run(app, body)


def test_full_listing_of_every_layer_and_merged_view(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await list_all(pilot)
        await pilot.press("k")  # the merged row
        assert app.layer is None
        await pilot.pause(0.05)
        merged = {n.path for n in tree_of(app).view.walk()}
        expected = set()
        for pushed in demo.app.layers:
            expected |= {p for p in truth_paths(pushed.data) if ".wh." not in p}
        expected.discard("etc/hostname")  # removed by layer 1's whiteout
        assert merged == expected
        await pilot.press("w")
        assert type(app.screen).__name__ == "WastedScreen"
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")

    run(app, body)


def test_F_ends_on_the_every_layer_summary(big: tuple[str, bytes], session: Session) -> None:
    """The last layer's own "complete" line must not land after the summary:
    its entries are fed slice by slice after the worker has already finished."""
    ref, _blob = big
    app = LayerslayerApp(ref, session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await list_all(pilot)
        await wait_for(pilot, lambda: not app._feed_queue and 0 in app.finished, "the feed queue drained")
        await pilot.pause(0.1)
        assert app.status_text == f"Every layer of {app.image.reference} is listed."

    run(app, body)


# -- viewer and save --------------------------------------------------------------------


def test_view_and_save_a_file(demo: Demo, session: Session, dirs: Path) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    run_py = next(i for i in demo.layer_items[2] if i.name == "app/run.py").data
    logo = next(i for i in demo.layer_items[2] if i.name == "app/logo.bin").data

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        app.query_one(LayerList).highlight_layer(2)
        await wait_for(pilot, listed(app, 2), "layer 2")
        tree = tree_of(app)
        folder = tree.expand_path("app")
        tree.focus()
        await pilot.pause()
        names = [c.data.name for c in folder.children]
        tree.move_cursor(folder.children[names.index("run.py")])
        await pilot.pause()
        await pilot.press("v")
        await wait_for(pilot, viewer_ready(app), "viewer")
        assert app.screen.data == run_py
        assert type(app.screen.query_one("#viewer-content").content).__name__ == "Syntax"  # .py is highlighted
        await pilot.press("escape")
        tree.move_cursor(folder.children[names.index("logo.bin")])
        await pilot.pause()
        await pilot.press("v")
        await wait_for(pilot, viewer_ready(app), "viewer")
        assert app.screen.data == logo
        assert "00000000  00 01 02" in app.screen.query_one("#viewer-content").content.plain  # hex view
        await pilot.press("escape")

        target = dirs / "saved"
        target.mkdir()
        await pilot.press("s")
        app.screen.query_one("#prompt").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: (target / "logo.bin").exists(), "saved file")
        assert (target / "logo.bin").read_bytes() == logo
        (target / "logo.bin").write_bytes(b"mine")
        await pilot.press("s")
        app.screen.query_one("#prompt").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "overwrite question")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert (target / "logo.bin").read_bytes() == b"mine"

    run(app, body)


# -- multi-arch ---------------------------------------------------------------------------


def test_platform_picker_for_an_index(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/multi:1"), session=session)
    amd, arm = demo.multi.children

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, PlatformScreen), "platform picker")
        await pilot.pause()
        screen = app.screen
        assert [str(p) for p in screen.platforms] == ["linux/amd64", "linux/arm64/v8"]
        choices = screen.query_one("#choices")
        assert choices.highlighted == preselect(screen.platforms)
        choices.highlighted = 1
        await pilot.press("enter")
        await wait_for(pilot, listed(app, 0), "arm64 layer 0")
        assert app.image.platform.architecture == "arm64"
        assert app.image.layers[0].digest == arm.layers[0].digest

    run(app, body)


def test_platform_argument_skips_the_picker(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/multi:1"), platform="linux/amd64", session=session)
    amd = demo.multi.children[0]

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "amd64 layer 0")
        assert not isinstance(app.screen, PlatformScreen)
        assert app.image.layers[0].digest == amd.layers[0].digest

    run(app, body)


# -- errors and hostile text ------------------------------------------------------------------


def expected_error(session: Session, reference: str) -> LayerslayerError:
    try:
        session.platforms(reference)
        session.open_image(reference)
    except LayerslayerError as err:
        return err
    raise AssertionError(f"{reference} loaded")


def error_cases(demo: Demo, registry_basic: Any) -> list[tuple[str, type[LayerslayerError]]]:
    return [
        ("Not//A Reference", InvalidReferenceError),
        (demo.ref("demo/app:nope"), NotFoundError),
        (f"{registry_basic.host}/private/thing:1", AuthError),
        (f"127.0.0.1:{free_port()}/demo/app:1", NetworkError),
    ]


def test_errors_show_and_keep_what_was_listed(demo: Demo, registry_basic: Any, tmp_path: Path) -> None:
    with Session(cache_path=tmp_path / "c.sqlite3", timeout=5.0) as session:
        cases = error_cases(demo, registry_basic)
        expected = {}
        for reference, kind in cases:
            err = expected_error(session, reference)
            assert isinstance(err, kind), (reference, err)
            expected[reference] = str(err)
        app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            tree = tree_of(app)
            before = labels(tree.root)
            for reference, _kind in cases:
                app.clear_notifications()
                app.load(reference)
                await wait_for(pilot, lambda: app.status_text.startswith("Error"), f"error for {reference}")
                assert app.status_text == "Error: " + expected[reference]
                assert [n.message for n in app._notifications] == [expected[reference]]
                assert labels(tree.root) == before  # the app keeps running with what it had
                assert app.image.reference.endswith("demo/app:1")

        run(app, body)


def test_markup_hostile_names_and_steps_display_literally(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/hostile:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        weird = tree.expand_path("weird")
        await pilot.pause()
        # "/" separates path components, so "a[/]b" is "]b" inside a directory "a["
        assert {c.data.name for c in weird.children} == {name.split("/")[0] for name in HOSTILE_NAMES}
        for child in weird.children:
            shown = child.data.name.replace("\x1b", "\\x1b") + ("/" if child.data.is_dir else "")
            assert child.label.plain.split("  ")[0] == shown
        inner = tree.expand_path("weird/a[")
        await pilot.pause()
        assert [c.label.plain.split("  ")[0] for c in inner.children] == ["]b"]
        rows = app.query_one(LayerList)
        texts = [rows.get_option_at_index(i).prompt.plain for i in range(rows.option_count)]
        assert any("RUN echo [red]boom[/red] \\x1b[2J && rm -rf /tmp/[bold]" in t for t in texts)
        assert any("LABEL x=[blink]y[/blink]" in t for t in texts)
        details = app.query_one("#details").render().plain
        assert HOSTILE_STEP.replace("\x1b", "\\x1b") in details.replace("\n", "")
        # what reached the screen has no raw escape character
        screen_text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "\x1b" not in screen_text and "[bold]x" in screen_text

    run(app, body)


def test_hostile_names_are_not_written_outside_the_folder(tmp_path: Path) -> None:
    from layerslayer_tui.errors import ExportError
    from layerslayer_tui.tui.file_actions import safe_destination, save_name

    assert save_name("../../etc/passwd") == ".._.._etc_passwd"
    assert save_name("..") == "file"
    assert save_name("\x1b[31mred") == "_[31mred"
    assert safe_destination(tmp_path, save_name("../x")).parent == tmp_path.resolve()
    (tmp_path / "evil").symlink_to("/etc/passwd")
    with pytest.raises(ExportError):
        safe_destination(tmp_path, "evil")
    with pytest.raises(ExportError):
        safe_destination(tmp_path / "missing", "x")


def test_details_follow_the_tree_cursor(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        details = app.query_one("#details")
        assert details.border_title == "Layer 0" and "Listing" in details.render().plain
        tree = tree_of(app)
        folder = tree.expand_path("usr/bin")
        tree.focus()
        await pilot.pause()
        tree.move_cursor(next(c for c in folder.children if c.data.name == "env"))
        await pilot.pause()
        text = details.render().plain
        entry = app.workspace.tree(0).get("usr/bin/env").entry
        assert details.border_title == "File"
        assert "Path /usr/bin/env" in text and "Link -> /bin/sh" in text
        mode = stat.filemode(stat.S_IFLNK | entry.mode)  # ls -l's column, from the entry itself
        assert f"Mode {mode} {entry.uname}:{entry.gname} ({entry.uid}:{entry.gid})" in text
        assert "Mtime 2" in text  # an ISO date
        app.query_one(LayerList).focus()
        await pilot.pause()
        assert details.border_title == "Layer 0"

    run(app, body)
