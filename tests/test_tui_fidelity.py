"""The app's fidelity fixes (issues 10 and 11), driven headless (Pilot) against
the real registry process, and the fault server where a hostile registry is
needed: registry names checked before use (t, d), saving without clobbering
(d, s), a filter that shows where its matches are, status decided on typed
progress, and a Details pane that never runs label and value together."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from bed.faults import FaultServer
from bed.images import push_image
from tui_images import BASE, Demo, layer, push_demo
from tui_pilot import listed, run, tree_of, wait_for

from layerslayer_tui.registry.models import ImageInfo
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
            assert "no valid sha256 digest" in app.status_text and "not downloaded" in app.status_text
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
