"""Layers listed from their own index (eStargz, zstd:chunked, from the real
producers in tests/bed/lazy.py) through the app: the status says where the
listing came from, and f reads the layer to check the index against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bed.lazy import LazyImage, push_image, tar_truth
from tui_pilot import listed, run, tree_of, wait_for

from layerslayer_tui.peek import estargz
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.widgets.layer_list import LayerList

pytestmark = pytest.mark.registry

LABELS = {"estargz": "eStargz index", "zstd:chunked": "zstd:chunked index"}


@pytest.fixture(params=["estargz", "zstd:chunked"])
def lazy(request: pytest.FixtureRequest) -> LazyImage:
    return request.getfixturevalue("estargz_image" if request.param == "estargz" else "zstd_chunked_image")


def pushed(registry: Any, image: LazyImage) -> str:
    """Pushed under a name of our own (other tests push the same image elsewhere)."""
    name = "tui/" + image.kind.replace(":", "-")
    push_image(registry, name, image, tag="1")
    return f"{registry.host}/{name}:1"


def shown_truth(image: LazyImage) -> set[str]:
    """The tar's paths an index listing shows as tree nodes (the converter's
    own files hidden; whiteouts are removals, not nodes)."""
    hidden = estargz.HIDDEN_NAMES if image.kind == "estargz" else frozenset()
    paths = {row["path"] for row in tar_truth(image.tar_bytes())}  # type: ignore[misc]
    return {p for p in paths if p not in hidden and ".wh." not in p}


def tree_paths(app: LayerslayerApp) -> set[str]:
    return {n.path for n in app.workspace.tree(0).walk() if not n.implied}


def index_entries(image: LazyImage) -> int:
    hidden = estargz.HIDDEN_NAMES if image.kind == "estargz" else frozenset()
    return sum(1 for row in tar_truth(image.tar_bytes()) if row["path"] not in hidden)


def test_f_checks_an_index_listing_against_the_layer(registry, lazy: LazyImage, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    label = LABELS[lazy.kind]
    truth = shown_truth(lazy)
    entries = index_entries(lazy)
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(pushed(registry, lazy), session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "the index listing")
            progress = app.workspace.progress(0)
            assert progress.complete and not progress.verified and progress.source == label.replace("eStargz", "estargz")
            assert progress.note.startswith(f"complete (from {label}, ") and progress.note.endswith(" read)")
            assert app.status_text == f"Listed layer 0: {progress.entries:,} entries, {progress.note}"
            assert progress.entries == entries
            assert progress.compressed_read < lazy.layer["size"] // 4  # a few KiB, not the layer
            tree = tree_of(app)
            assert tree_paths(app) == truth
            assert tree.border_subtitle == f"from its {label} · f checks it"
            assert progress.note in app.query_one("#details").render().plain.replace("\n", "")
            assert not tree.root.children[-1].label.plain.startswith("…")  # complete: no partial note

            app.query_one(LayerList).focus()
            await pilot.press("f")
            await wait_for(pilot, lambda: listed(app, 0)() and app.workspace.progress(0).verified, "the check")
            checked = app.workspace.progress(0)
            agree = f"The {label} and the layer agree ({entries} entries)."
            assert checked.complete and checked.source == "stream" and checked.note.startswith(agree)
            assert app.status_text.startswith("Listed layer 0: ") and ", complete, verified. " + agree in app.status_text
            assert [n.message for n in app._notifications][-1] == checked.note
            assert tree_paths(app) == truth  # nothing differed: the tree stands
            assert tree.border_subtitle == ""
            await pilot.press("f")
            assert app.status_text == "Layer 0 is already completely listed."
            await pilot.press("F")
            assert app.status_text == "Every layer is already completely listed."

        run(app, body)


def test_F_checks_index_listings_too(registry, estargz_image: LazyImage, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    lazy = estargz_image
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(pushed(registry, lazy), session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "the index listing")
            assert not app.workspace.progress(0).verified
            app.query_one(LayerList).focus()
            await pilot.press("F")
            done = lambda: not app.full_running and listed(app, 0)() and app.workspace.progress(0).verified
            await wait_for(pilot, done, "every layer checked")
            note = app.workspace.progress(0).note
            assert note.startswith(f"The eStargz index and the layer agree ({index_entries(lazy)} entries).")
            assert [n.message for n in app._notifications][-1] == note
            assert tree_paths(app) == shown_truth(lazy)

        run(app, body)
