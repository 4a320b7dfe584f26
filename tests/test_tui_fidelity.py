"""The app's fidelity fixes (issues 10 and 11), driven headless (Pilot) against
the real registry process, and the fault server where a hostile registry is
needed: registry names checked before use (t, d), saving without clobbering
(d, s), a filter that shows where its matches are, status decided on typed
progress, and a Details pane that never runs label and value together."""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from bed.faults import FaultServer
from bed.images import push_image
from bed.layers import Item
from tui_images import BASE, Demo, layer, push_demo
from tui_pilot import layer_done, listed, run, tree_of, wait_for

from layerslayer_tui.image import ImageInfo
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.choice import ChoiceScreen
from layerslayer_tui.tui.screens.dialogs import ConfirmScreen, PromptScreen
from layerslayer_tui.tui.widgets.layer_list import LayerList

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def demo(registry) -> Demo:
    return push_demo(registry)


@pytest.fixture(autouse=True)
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def session(tmp_path: Path) -> Session:
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


def reference_box(app: LayerslayerApp) -> str:
    return app.query_one("#reference").value


# -- registry names are checked before the app uses them (issue 10 #6) ---------------------


HOSTILE_TAG = "evil\x1b]0;pwned\x07\x1b[2J"


def test_a_hostile_tag_never_reaches_the_reference_box(fault_server: FaultServer, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fault_server.add_image("hostile/tags", "1", [layer(BASE)])
    body, media_type = fault_server.manifests[("hostile/tags", "1")]
    fault_server.add_manifest("hostile/tags", HOSTILE_TAG, body, media_type)
    fault_server.add_manifest("hostile/tags", "2", body, media_type)
    monkeypatch.setattr(fault_server, "tags_page_size", 100)  # one page: no Link header holding the tag
    ref = f"{fault_server.host}/hostile/tags:1"
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)

        async def body_(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            before = reference_box(app)
            app.query_one(LayerList).focus()
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the tag picker")
            screen = app.screen
            assert HOSTILE_TAG in screen.items  # listed (escaped by the picker), never dropped silently
            screen.query_one("#choices").highlighted = screen.items.index(HOSTILE_TAG)
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert reference_box(app) == before
            assert "\x1b" not in reference_box(app)
            assert "not a valid tag name" in app.status_text and "\x1b" not in app.status_text
            assert app.image.reference.endswith("hostile/tags:1")
            # a valid tag still opens
            await pilot.press("t")
            await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the tag picker")
            app.screen.query_one("#choices").highlighted = app.screen.items.index("2")
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.image.reference.endswith("hostile/tags:2"), "tag 2 opened")
            assert reference_box(app) == f"{fault_server.host}/hostile/tags:2"

        run(app, body_)


BAD_DIGEST = "sha256:../../../../v2/probe/poison/x"


class BadDigestSession(Session):
    """The demo image as a registry that sends an unchecked layer digest would describe it."""

    def open_image(self, ref_text: str, platform: Any = None) -> ImageInfo:
        info = super().open_image(ref_text, platform)
        layers = list(info.layers)
        top = layers[-1]
        layers[-1] = dataclasses.replace(top, descriptor=dataclasses.replace(top.descriptor, digest=BAD_DIGEST))
        return dataclasses.replace(info, layers=layers)


def test_download_refuses_a_layer_digest_that_is_not_sha256(demo: Demo, tmp_path: Path, dirs: Path) -> None:
    with BadDigestSession(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            app.query_one(LayerList).highlight_layer(2)
            await wait_for(pilot, lambda: 2 in app.finished, "layer 2 tried")
            app.query_one(LayerList).focus()
            await pilot.press("d")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, PromptScreen)  # nothing pre-filled from the digest
            assert "malformed digest" in app.status_text and "not downloaded" in app.status_text
            assert "../" not in app.status_text  # the bad value is not echoed
            assert sorted(p.name for p in dirs.iterdir() if not p.name.startswith(("cache", "c.sqlite", "data"))) == []
            # a layer with a proper digest still offers its download
            app.query_one(LayerList).highlight_layer(0)
            await pilot.pause()
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the download prompt")
            assert app.screen.query_one("#prompt").value == f"./{demo.app.layers[0].digest[7:19]}.tar.gz"

        run(app, body)


# -- saving never clobbers, symlinks are saved as symlinks (issue 10 #11) ------------------


def test_download_asks_before_replacing_a_dangling_symlink(demo: Demo, session: Session, dirs: Path) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    dest = dirs / "layer.tar.gz"
    dest.symlink_to(dirs / "nowhere")

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        app.query_one(LayerList).focus()
        for answer in ("n", "y"):
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the download prompt")
            app.screen.query_one("#prompt").value = str(dest)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the overwrite question")
            await pilot.press(answer)
            if answer == "n":
                await pilot.pause(0.3)
                assert dest.is_symlink() and os.readlink(dest) == str(dirs / "nowhere")
        await wait_for(pilot, lambda: dest.exists() and not dest.is_symlink(), "the downloaded layer")
        assert dest.read_bytes() == demo.app.layers[0].data
        assert not (dirs / "nowhere").exists()
        assert [p.name for p in dirs.iterdir() if p.name.endswith(".part")] == []

    run(app, body)


def test_download_never_clobbers_what_appears_meanwhile(demo: Demo, session: Session, dirs: Path) -> None:
    """Between the question and the end of the download a dangling symlink appears:
    it stays (export's no-clobber step), and the app says so in one sentence."""
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    dest = dirs / "late.tar.gz"

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        app.query_one(LayerList).focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen), "the download prompt")
        app.screen.query_one("#prompt").value = str(dest)
        dest.symlink_to(dirs / "nowhere")  # after the prompt's check, before the download ends
        app._download(0, dest, False)  # what Enter does when nothing was there at the time
        app.pop_screen()
        await wait_for(pilot, lambda: app.status_text.startswith("Error"), "the refusal")
        assert "already exists" in app.status_text
        assert dest.is_symlink()
        assert [p.name for p in dirs.iterdir() if p.name.endswith(".part")] == []

    run(app, body)


def test_saving_a_symlink_saves_the_link(demo: Demo, session: Session, dirs: Path) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    folder = dirs / "saved"
    folder.mkdir()

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        usr_bin = tree.expand_path("usr/bin")
        tree.focus()
        await pilot.pause()
        tree.move_cursor(next(c for c in usr_bin.children if c.data.name == "env"))
        await pilot.pause()
        await pilot.press("s")
        app.screen.query_one("#prompt").value = str(folder)
        await pilot.press("enter")
        await wait_for(pilot, lambda: (folder / "env").is_symlink(), "the saved link")
        assert os.readlink(folder / "env") == "/bin/sh"
        assert "as a symlink to /bin/sh" in app.status_text
        assert "No such file" not in app.status_text
        # saving it again asks first, and "no" keeps what is there
        (folder / "env").unlink()
        (folder / "env").symlink_to("mine")
        await pilot.press("s")
        app.screen.query_one("#prompt").value = str(folder)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the overwrite question")
        await pilot.press("n")
        await pilot.pause(0.2)
        assert os.readlink(folder / "env") == "mine"
        await pilot.press("s")
        app.screen.query_one("#prompt").value = str(folder)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the overwrite question")
        await pilot.press("y")
        await wait_for(pilot, lambda: os.readlink(folder / "env") == "/bin/sh", "the link replaced")

    run(app, body)


# -- a filter shows where its matches are (issue 11 #3) ------------------------------------

SCHEMA = "usr/share/glib-2.0/schemas/org.gnome.desktop.a11y.keyboard.gschema.xml"


def wide_items() -> list[Item]:
    """1,500 small files over 30 directories under usr/, and one deep schema file."""
    items = [Item("usr", "dir"), Item("usr/share", "dir"), Item("usr/share/glib-2.0", "dir"),
             Item("usr/share/glib-2.0/schemas", "dir"), Item(SCHEMA, data=b"<schemalist/>\n")]
    for d in range(30):
        items.append(Item(f"usr/share/d{d:02d}", "dir"))
        items.extend(Item(f"usr/share/d{d:02d}/f{d:02d}{n:03d}.txt", data=b"x" * n) for n in range(50))
    return items


@pytest.fixture(scope="module")
def wide(registry) -> tuple[str, list[Item]]:
    items = wide_items()
    return push_image(registry, "demo/wide", "1", [layer(items)]).ref, items


def test_a_filter_expands_the_path_to_its_match_and_counts_what_it_keeps(wide: tuple[str, list[Item]],
                                                                         session: Session) -> None:
    ref, items = wide
    app = LayerslayerApp(ref, session=session)
    files = sum(1 for i in items if i.kind != "dir")

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: listed(app, 0)() and app.workspace.is_complete(0), "layer 0 in full")
        tree = tree_of(app)
        tree.focus()
        await pilot.press("slash", *"a11y.keyboard.gschema", "enter")
        await pilot.pause()
        widget = tree.widget_for(SCHEMA)
        assert widget is not None  # in sight, no expansion needed
        assert tree.cursor_node is widget
        usr = tree.widget_for("usr")
        # the bar (all of its directory's kept bytes) after the totals
        assert usr.label.plain == f"usr/  14 B in 1 of {files:,} files  ██████"
        assert tree.widget_for("usr/share").label.plain == f"share/  14 B in 1 of {files:,} files  ██████"
        assert "1 match, all in sight" in app.status_text
        tree.move_cursor(usr)
        await pilot.pause()
        assert f"dir, 14 B in 1 of {files:,} files (filtered)" in app.query_one("#details").render().plain.replace("\n", "")

    run(app, body)


def test_a_filter_with_many_matches_says_how_many_stay_collapsed(wide: tuple[str, list[Item]],
                                                                session: Session) -> None:
    ref, items = wide
    app = LayerslayerApp(ref, session=session)
    matches = [i.name for i in items if i.kind != "dir" and "1.txt" in i.name]  # f..001, f..011, ... 5 per dir

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: listed(app, 0)() and app.workspace.is_complete(0), "layer 0 in full")
        tree = tree_of(app)
        tree.focus()
        await pilot.press("slash", *"1.txt", "enter")
        await pilot.pause()
        in_sight = [p for p in matches if tree.widget_for(p) is not None]
        assert 0 < len(in_sight) < len(matches)
        assert len(in_sight) <= 50
        rows = sum(1 for _ in _shown_rows(tree.root))
        assert rows <= 200 + 2
        collapsed = len(matches) - len(in_sight)
        assert f"{len(matches):,} matches, {collapsed:,} of them in collapsed directories" in app.status_text

    run(app, body)


def _shown_rows(node: Any):
    for child in node.children:
        yield child
        if child.is_expanded:
            yield from _shown_rows(child)


def test_filter_counts_match_a_count_by_hand() -> None:
    from layerslayer_tui.entry import EntryType, TarEntry
    from layerslayer_tui.fs import Filter, FilteredView, LayerTree

    tree = LayerTree(0)
    entries = [TarEntry(i.name, EntryType(i.kind), size=len(i.data)) for i in wide_items()]
    entries.append(TarEntry("usr/share/d03/link.txt", EntryType.SYMLINK, link="f03001.txt"))
    tree.add(entries)
    for pattern in ("1.txt", "d0", "a11y", "share/d1*", "nothing"):
        view = FilteredView(tree, Filter.of(pattern))
        for node in [tree.root, *tree.walk()]:
            if node.kids is None:
                continue
            leaves = [n for n in view.walk(node.path) if n.kids is None]
            assert view.kept(node) == (sum(n.total_files for n in leaves), sum(n.total_bytes for n in leaves)), (pattern, node.path)
        direct = [n for n in tree.walk() if Filter.of(pattern).pattern and view.shows(n)]
        assert {n.path for n in view.result.matches} <= {n.path for n in direct}


# -- status decided on typed progress, never on an edited copy (issue 11 #4) ------------------


class Recording(LayerslayerApp):
    """Every status line and every "Listing" value of the Details pane, as shown."""

    CSS_PATH = str(Path(inspect.getfile(LayerslayerApp)).with_name("app.tcss"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.said: list[str] = []
        self.states: list[str] = []

    def set_status(self, text: Any, style: str = "") -> None:
        super().set_status(text, style)
        self.said.append(self.status_text)

    def update_details(self) -> None:
        super().update_details()
        self.states += [f.value for f in self.query_one("#details").fields if f.name == "Listing"]


@pytest.fixture(scope="module")
def big(registry) -> str:
    """One gzip layer of 3,000 poorly compressible files: more than three feed slices."""
    from tui_images import many_items

    return push_image(registry, "demo/fid-big", "1", [layer(many_items(3000))]).ref


def test_reopening_a_big_cached_listing_never_says_partial_or_incomplete(big: str, session: Session) -> None:
    image = session.open_image(big)
    listing = session.listing(image, 0, full=True)
    for _batch in listing:
        pass
    assert listing.complete and listing.progress.verified and len(listing.entries) > 3000
    app = Recording(big, session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: listed(app, 0)() and app.workspace.is_complete(0), "the cached listing")
        await pilot.pause(0.1)
        layer_lines = [s for s in app.said if "layer 0" in s]
        assert layer_lines, app.said
        for line in layer_lines:
            assert "partial" not in line and "incomplete" not in line, line
        assert app.status_text.startswith("Listed layer 0 from the cache:") and "complete, verified" in app.status_text
        states = [s for s in app.states if s != "not listed"]  # before the first batch
        assert states and all(s.startswith("complete, verified") for s in states), app.states
        assert len(app.workspace.tree(0)) == len(listing.entries)

    run(app, body)


def test_a_cut_short_cached_listing_is_still_cut_short(registry, session: Session) -> None:
    """The cache keeps no flag for it: read back, a whole-blob partial is cut short, not 'press f'."""
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for n in range(20):
            info = tarfile.TarInfo(f"f{n:02d}")
            info.size = 600
            tf.addfile(info, io.BytesIO(b"y" * 600))
    cut = gzip.compress(raw.getvalue()[:6000], mtime=0)  # the archive stops mid-way
    ref = push_image(registry, "demo/fid-cut", "1", [cut]).ref
    image = session.open_image(ref)
    for _batch in session.listing(image, 0):
        pass
    app = LayerslayerApp(ref, session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "the cached listing")
        await pilot.pause(0.1)
        progress = app.workspace.progress(0)
        assert progress.cached and progress.cut_short and not progress.complete
        assert str(tree_of(app).border_subtitle) == "cut short"
        await pilot.press("f")
        assert "there is nothing more to list" in app.status_text

    run(app, body)


# -- the Details pane keeps label and value apart (issue 11 #5) -------------------------------


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_details_keep_label_and_value_apart(demo: Demo, session: Session, width: int, height: int) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)
    seen: list[str] = []

    def pane_lines() -> list[str]:
        """The Details pane's rows as drawn on screen (inside its border)."""
        details = app.query_one("#details")
        region = details.content_region
        rows = [s.text for s in app.screen._compositor.render_strips()]
        return [rows[y][region.x : region.right].rstrip() for y in range(region.y, region.bottom)]

    def check() -> None:
        fields = app.query_one("#details").fields
        lines = pane_lines()
        for field in fields:
            line = next((l for l in lines if l.startswith(field.name)), None)
            assert line is not None, (field.name, lines)
            after = line[len(field.name) :]
            assert after.startswith(" ") and after[1:2] not in ("", " "), (width, line)
            value = field.value.replace("\x1b", "\\x1b")
            shown = after[1:].rstrip("…")
            assert value.startswith(shown) or shown.startswith(value[: len(shown)]), (width, line)
            seen.append(line)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        await pilot.pause()
        check()  # the layer
        tree = tree_of(app)
        tree.focus()
        for path in ("etc", "usr/bin/env", "bin/sh", "etc/os-release"):
            parent = path.rpartition("/")[0]
            if parent:
                tree.expand_path(parent)
                await pilot.pause()
            tree.move_cursor(tree.widget_for(path))
            await pilot.pause(0.05)
            check()
        assert any(l.startswith("Mode drwxr-xr-x") for l in seen)
        assert any(l.startswith("Link -> /bin/sh") for l in seen)

    run(app, body, size=(width, height))


# -- small status fixes from issue 14 #9 ------------------------------------------------------


def test_escape_with_nothing_running_does_not_say_cancelled(demo: Demo, session: Session) -> None:
    app = LayerslayerApp(demo.ref("demo/app:1"), session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, layer_done(app, 0), "layer 0")
        await wait_for(pilot, lambda: not app._feed_queue, "layer 0 on screen")
        app.query_one(LayerList).focus()
        await pilot.press("escape")
        assert "Cancelled" not in app.status_text
        assert app.status_text == "Nothing to cancel: no listing is running."

    run(app, body)


def test_wasted_space_of_a_partial_image_is_unknown_and_F_works_there(big: str, session: Session) -> None:
    from textual.widgets import Label

    from layerslayer_tui.tui.screens.wasted import WastedScreen

    app = LayerslayerApp(big, session=session)

    def said() -> str:
        return "\n".join(str(label.render()) for label in app.screen.query(Label))

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0 (partial)")
        assert not app.workspace.is_complete(0)
        app.query_one(LayerList).focus()
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WastedScreen), "the wasted-space report")
        text = said()
        assert "Efficiency unknown until every layer is listed" in text and "100.0 %" not in text
        assert "Layer 0 is only partly listed: press F" in text and "Layers 0 are" not in text
        await pilot.press("F")
        await wait_for(pilot, lambda: not isinstance(app.screen, WastedScreen), "the report closed")
        await wait_for(pilot, lambda: app.workspace.is_complete(0) and not app.full_running, "every layer listed")
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WastedScreen), "the wasted-space report")
        assert "Efficiency 100.0 %" in said()

    run(app, body)


def test_layer_lists_read_as_sentences() -> None:
    from layerslayer_tui.tui.progress_text import partly_listed

    assert partly_listed([0]) == "Layer 0 is only partly listed"
    assert partly_listed([0, 2]) == "Layers 0 and 2 are only partly listed"
    assert partly_listed([0, 1, 2]) == "Layers 0, 1 and 2 are only partly listed"
    assert partly_listed(list(range(12))) == "Layers 0, 1, 2, 3, 4, 5, 6, 7 … (12 in all) are only partly listed"
