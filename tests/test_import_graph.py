"""The import graph stays one-way: no circles at import time, and the app and
the cache get image values from `layerslayer_tui.image`, never from the
registry client (scripts/import_graph.py prints the whole graph)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts" / "import_graph.py")
graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(graph)

# Units that consume image values and must not reach into the registry client for them.
VALUE_CONSUMERS = ("tui", "cache", "image_codec", "listing_codec", "workspace", "fs", "peek", "image", "entry")


def test_no_import_circle_at_module_level() -> None:
    top, _lazy = graph.edges(ROOT)
    assert len(top) > 50  # the walk really saw the package
    assert graph.circles(top) == []


def test_the_app_and_the_cache_do_not_import_the_registry_package() -> None:
    # Annotations under TYPE_CHECKING (e.g. the Hub search page the browse screen shows) load nothing.
    top, lazy = graph.edges(ROOT, typing=False)
    offenders = sorted(
        f"{mod} -> {target}"
        for g in (top, lazy)
        for mod, targets in g.items()
        for target in targets
        if graph.unit(mod) in VALUE_CONSUMERS and graph.unit(target) == "registry"
    )
    assert offenders == []
    assert any(graph.unit(t) == "image" for t in top["layerslayer_tui.tui.app"])


def test_registry_models_still_re_exports_the_values() -> None:
    from layerslayer_tui import image
    from layerslayer_tui.registry import models

    assert models.ImageInfo is image.ImageInfo and models.Descriptor is image.Descriptor
