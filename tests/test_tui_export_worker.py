"""A big view is exported by a worker thread: the screen stays live, the file
holds every entry, and a failure is one sentence on the status line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bed.images import push_image
from layerslayer_tui.session import Session
from layerslayer_tui.tui import export_actions
from layerslayer_tui.tui.app import LayerslayerApp
from tui_images import layer, many_items
from tui_pilot import run, truth_paths, wait_for


def test_a_big_export_runs_in_a_worker_and_writes_every_entry(registry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(export_actions, "BIG_EXPORT", 1)  # every export counts as big
    blob = layer(many_items(1500))
    ref = push_image(registry, "export/worker", "1", [blob]).ref
    truth = truth_paths(blob)
    dest = tmp_path / "out.json"
    missing = tmp_path / "no-such-folder" / "out.json"
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, lambda: app.workspace is not None and 0 in app.finished, "the peek")
            await pilot.press("f")
            await wait_for(pilot, lambda: app.workspace.is_complete(0) and 0 in app.finished, "the full listing")
            assert app.export_to(dest, False) is None  # handed to the worker
            await wait_for(pilot, lambda: "Exported to" in app.status_text, "the export")
            assert app.export_to(missing, False) is None
            await wait_for(pilot, lambda: app.status_text.startswith("Error: Cannot export to"), "the failed export")
            assert app.status_text.endswith("does not exist.")  # one sentence, no traceback

        run(app, body)
    doc = json.loads(dest.read_text())
    paths = {e["path"] for e in doc["entries"] if not e.get("implied")}
    assert paths >= truth and not missing.exists()
