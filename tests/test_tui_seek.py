"""The viewer's title says what a file cost: after a full read, `v` on the
layer's last file reads it through the seek index and says so."""

from __future__ import annotations

from typing import Any

import pytest
from bed.images import push_image
from bed.layers import gzip_bytes
from test_seek_index import seek_layer_tar
from tui_pilot import listed, run, tree_of, wait_for, viewer_ready

from layerslayer_tui.content import wait_for_indexes
from layerslayer_tui.peek import gzindex
from layerslayer_tui.session import Session
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.screens.viewer import ViewerScreen

pytestmark = pytest.mark.registry


def test_viewer_title_shows_the_seek_index_cost(registry, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(gzindex, "DEFAULT_SPACING", 256 * 1024)  # a 2.4 MiB layer: about ten access points
    blob = gzip_bytes(seek_layer_tar(tmp_path))
    image = push_image(registry, "seek/tui", "1", [blob])
    session = Session(cache_path=tmp_path / "c.db")
    info = session.open_image(image.ref)
    for _ in session.listing(info, 0, full=True):
        pass
    wait_for_indexes(session)
    app = LayerslayerApp(image.ref, session=session)

    async def body(pilot: Any) -> None:
        await wait_for(pilot, listed(app, 0), "layer 0")
        tree = tree_of(app)
        folder = tree.expand_path("srv")
        tree.focus()
        await pilot.pause()
        names = [c.data.name for c in folder.children]
        tree.move_cursor(folder.children[names.index("zz-last.xml")])
        await pilot.pause()
        await pilot.press("v")
        await wait_for(pilot, viewer_ready(app), "viewer")
        title = str(app.screen.query_one("#viewer-title").content)
        assert "4.8 KiB, read" in title and "via the seek index" in title, title
        assert app.screen.data.startswith(b"<config>")
        await pilot.press("escape")

    try:
        run(app, body)
    finally:
        session.close()
