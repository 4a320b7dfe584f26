"""What the file tree shows, as data (no Textual): the merged view or a
layer's own, the filter pattern, the change markers, and whether a growing
view is due for a rebuild. The tree-view mixin draws it; tests check it
without a screen."""

from __future__ import annotations

from dataclasses import dataclass, field

from layerslayer_tui.fs import Change, Filter

MARKERS = (Change.ADDED, Change.MODIFIED, Change.REMOVED, Change.UNMODIFIED)


@dataclass(slots=True)
class TreeViewState:
    merged: bool = False  # merged view up to the selected layer
    pattern: str | None = None  # the filter typed with /
    markers: set[Change] = field(default_factory=lambda: set(MARKERS))  # the kinds 1-4 leave on
    stale: bool = False  # entries arrived that a rebuild of the view would show
    built_at: float = 0.0  # time.monotonic() of the last rebuild
    build_seconds: float = 0.0  # what the last view built off the UI thread took
    shown_upto: int | None = None  # the merged view on screen: up to this layer (None: all, or not merged)

    def shows_merged(self, layer: int | None) -> bool:
        """The merged view (up to `layer`; the whole image when no layer is selected)."""
        return self.merged or layer is None

    def filter(self, layer: int | None) -> Filter | None:
        """The filter on screen; change markers only exist in a layer's own view."""
        markers = None
        if len(self.markers) < len(MARKERS) and not self.shows_merged(layer):
            markers = self.markers
        if self.pattern is None and markers is None:
            return None
        return Filter.of(self.pattern, markers)

    def title(self, layer: int | None) -> str:
        if layer is None:
            title = "Files: image (merged)"
        elif self.merged:
            title = f"Files: merged up to layer {layer}"
        else:
            title = f"Files: layer {layer}"
        extras = []
        if self.pattern:
            extras.append(f"filter {self.pattern}")
        if len(self.markers) < len(MARKERS):
            extras.append("showing " + ",".join(m.value for m in MARKERS if m in self.markers))
        return title + (f" ({'; '.join(extras)})" if extras else "")

    def toggle_marker(self, which: int) -> None:
        marker = MARKERS[which]
        if marker in self.markers:
            self.markers.discard(marker)
        else:
            self.markers.add(marker)

    def built(self, now: float) -> None:
        self.stale = False
        self.built_at = now

    def due(self, now: float, interval: float) -> bool:
        """A growing merged view is rebuilt at most once per `interval` seconds."""
        return now - self.built_at >= interval
