"""What the tree shows, decided without a screen."""

from __future__ import annotations

from layerslayer_tui.fs import Change
from layerslayer_tui.tui.view_state import MARKERS, TreeViewState


def test_no_filter_until_a_pattern_or_a_marker_is_off() -> None:
    state = TreeViewState()
    assert state.filter(0) is None and state.title(0) == "Files: layer 0"
    state.toggle_marker(MARKERS.index(Change.UNMODIFIED))
    flt = state.filter(0)
    assert flt is not None and Change.UNMODIFIED not in flt.markers
    assert state.title(0) == "Files: layer 0 (showing added,modified,removed)"
    # markers only exist in a layer's own view
    assert state.filter(None) is None
    state.merged = True
    assert state.filter(0) is None and state.title(0).startswith("Files: merged up to layer 0")
    state.pattern = "*.so"
    assert state.filter(0) is not None and state.filter(0).markers is None
    assert state.title(None) == "Files: image (merged) (filter *.so; showing added,modified,removed)"
    state.toggle_marker(MARKERS.index(Change.UNMODIFIED))
    assert state.markers == set(MARKERS)


def test_a_growing_view_is_rebuilt_at_most_once_per_interval() -> None:
    state = TreeViewState()
    state.stale = True
    state.built(100.0)
    assert not state.stale
    assert not state.due(100.5, 1.0) and state.due(101.0, 1.0)
