"""The browse screen (b) against the real registry and the fake Docker Hub,
and the picker for a layout of several images (pilot tests)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tui_pilot import listed, run, wait_for

from bed.faults import Status
from bed.images import make_layer, push_image
from bed.local_sources import LocalCopies, umoci_tag
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.browse import BrowseScreen
from layerslayer_tui.tui.screens.choice import ChoiceScreen
from layerslayer_tui.tui.widgets.layer_list import LayerList

pytestmark = pytest.mark.registry


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    with Session(cache_path=tmp_path / "cache.sqlite3") as s:
        yield s


def options(screen: BrowseScreen) -> list[str]:
    items = screen.query_one("#browse-items")
    return [str(items.get_option_at_index(i).prompt) for i in range(items.option_count)]


async def open_browse(pilot: Any) -> BrowseScreen:
    app = pilot.app
    app.query_one(LayerList).focus()
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), "the browse screen")
    return app.screen


async def submit(pilot: Any, screen: BrowseScreen, text: str) -> None:
    field = screen.query_one("#browse-where")
    field.focus()
    field.value = text
    await pilot.press("enter")


def test_browse_registry_repositories_tags_image(registry, session: Session) -> None:
    push_image(registry, "tuibrowse/alpha", "1", [make_layer({"alpha": b"a\n"})])
    push_image(registry, "tuibrowse/alpha", "2", [make_layer({"alpha": b"b\n"})])
    push_image(registry, "tuibrowse/beta", "1", [make_layer({"beta": b"b\n"})])
    app = LayerslayerApp(session=session)

    async def body(pilot: Any) -> None:
        screen = await open_browse(pilot)
        await submit(pilot, screen, registry.host)
        await wait_for(pilot, lambda: "tuibrowse/alpha" in options(screen), "the catalog")
        # type-to-filter: keys typed on the list go to the filter field
        for key in "alph":
            await pilot.press(key)
        await wait_for(pilot, lambda: options(screen) == ["tuibrowse/alpha"], "the filtered list")
        assert "1 match alph" in screen.status
        await pilot.press("enter")  # Enter in the filter opens the first match
        await wait_for(pilot, lambda: options(screen) == ["1", "2"], f"the tags")
        await pilot.press("escape")  # back to the repositories, unfiltered
        await wait_for(pilot, lambda: "tuibrowse/beta" in options(screen), "the catalog again")
        await pilot.press("escape", "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, BrowseScreen), "the screen to close")

        screen = await open_browse(pilot)
        await submit(pilot, screen, f"{registry.host}/tuibrowse/alpha")  # straight to the tags
        await wait_for(pilot, lambda: options(screen) == ["1", "2"], "the tags")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.image is not None and listed(app, 0)(), "the image")
        assert app.image.reference == f"{registry.host}/tuibrowse/alpha:2"

    run(app, body)


def test_refused_catalog_is_a_status_line(fault_server, session: Session) -> None:
    fault_server.fail("catalog", Status(401))
    app = LayerslayerApp(session=session)

    async def body(pilot: Any) -> None:
        screen = await open_browse(pilot)
        await submit(pilot, screen, fault_server.host)
        await wait_for(pilot, lambda: "does not let these credentials" in screen.status, "the sentence")
        assert options(screen) == [] and isinstance(app.screen, BrowseScreen)
        await submit(pilot, screen, "docker.io")
        await wait_for(pilot, lambda: "Docker Hub has no catalog" in screen.status, "the Hub sentence")

    run(app, body)


def test_browse_docker_hub_search(fake_hub, session: Session) -> None:
    fake_hub.repos = [
        {"repo_name": "library/nginx", "short_description": "Official build of Nginx.", "star_count": 20000,
         "pull_count": 1_500_000_000, "is_official": True},
        {"repo_name": "someone/[bold]nginx", "short_description": "markup\x1b[31m"},
    ]
    app = LayerslayerApp(session=session)

    async def body(pilot: Any) -> None:
        screen = await open_browse(pilot)
        await submit(pilot, screen, "hub nginx")
        await wait_for(pilot, lambda: len(options(screen)) == 2, "the Hub results")
        first, second = options(screen)
        assert first.startswith("library/nginx  ★20000  1.5B pulls  [official]  Official build of Nginx.")
        assert second.startswith("someone/[bold]nginx")  # literal, never markup
        assert "2 Docker Hub repositories match nginx" in screen.status

    run(app, body)


def test_layout_of_several_images_asks_which(local_copies: LocalCopies, tmp_path: Path, session: Session) -> None:
    layout = tmp_path / "two"
    shutil.copytree(local_copies.oci_dir, layout)
    umoci_tag(layout, "1", "second")
    app = LayerslayerApp(f"oci:{layout}", session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the image picker")
        assert app.screen.items == [f"oci:{layout}:1", f"oci:{layout}:second"]
        assert "holds 2 images" in app.status_text
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.image is not None and listed(app, 0)(), "the chosen image")
        assert app.image.reference == f"oci:{layout}:second"
        assert app.history[0] == f"oci:{layout}:second"  # the recent list keeps local forms

    run(app, body)


def test_reference_input_suggests_local_paths(tmp_path: Path, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from layerslayer_tui.sources.complete import complete_path

    (tmp_path / "build-layout").mkdir()
    (tmp_path / "app-docker.tar").write_bytes(b"")
    (tmp_path / ".hidden.tar").write_bytes(b"")
    assert complete_path(f"oci:{tmp_path}/bu") == f"oci:{tmp_path}/build-layout/"
    assert complete_path(f"docker-archive:{tmp_path}/app") == f"docker-archive:{tmp_path}/app-docker.tar"
    assert complete_path(f"docker-archive:{tmp_path}/") == f"docker-archive:{tmp_path}/app-docker.tar"  # dot files only when asked
    assert complete_path(f"oci:{tmp_path}/nothing") is None
    assert complete_path("docker.io/library/debian") is None and complete_path(f"oci:{tmp_path}/build-layout:1") is None
    monkeypatch.chdir(tmp_path)
    assert complete_path("oci-archive:ap") == "oci-archive:app-docker.tar"
    app = LayerslayerApp(session=session)

    async def body(pilot: Any) -> None:
        field = app.query_one("#reference")
        field.focus()
        for key in "oci:bu":
            await pilot.press(key)
        await wait_for(pilot, lambda: field._suggestion == "oci:build-layout/", "the suggestion")

    run(app, body)
