"""What one open image looks like to the UI and to the CLI.

A Workspace holds one `fs.LayerTree` per layer, fed from the entry batches a
`session.LayerListing` yields, plus how far each layer's listing got. The
merged view, change markers, wasted space, search and export are all asked
of the Workspace, so the TUI and the headless CLI share one implementation.
It never does I/O except `export` (writes a file) and `load` (pulls listings
through a Session).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.errors import ExportError
from layerslayer_tui.fs import Filter, LayerTree, MergedTree, WastedReport, mark_changes, merge, search, wasted
from layerslayer_tui.fs import Hit
from layerslayer_tui.image import ImageInfo

if TYPE_CHECKING:
    from layerslayer_tui.fs.export import ExportMeta
    from layerslayer_tui.session import Session


class Workspace:
    """Trees and listing state for one ImageInfo.

    Single-threaded callers (the CLI) just call it. When one thread writes
    the trees while another reads them (the TUI: a builder thread feeds, the
    UI thread shows), every write and every read that may meet a write holds
    `lock`; a tree built where nobody sees it is handed over with `adopt`."""

    def __init__(self, image: ImageInfo) -> None:
        self.image = image
        n = len(image.layers)
        self._trees: list[LayerTree] = [LayerTree(i) for i in range(n)]
        self._progress: list[ListingProgress | None] = [None] * n
        self._marked: list[bool] = [False] * n
        self._feeding: list[bool] = [False] * n  # the last batch fed was a slice with more to come
        # Re-entrant: the UI thread nests its reads (a refresh inside a handler).
        self.lock = threading.RLock()
        self._generation = 0  # bumped by every change to a tree or a progress
        # The last merged view asked for: (generation, upto, view). One slot: a
        # merged view of a 1M-entry image is as big as its layers.
        self._merged: tuple[int, int, MergedTree] | None = None

    def _check(self, layer_index: int) -> int:
        if not 0 <= layer_index < len(self._trees):
            raise ExportError(f"Layer {layer_index} does not exist: the image has {len(self._trees)} layers.")
        return layer_index

    # --- feeding ---------------------------------------------------------------

    def feed(self, layer_index: int, batch: EntryBatch, *, more: bool = False) -> None:
        """Add a batch's entries to the layer's tree and record its progress.
        `more`: the batch is a slice and the rest of it follows (the UI feeds
        big batches in slices); until the last slice the layer's tree is not
        complete, whatever its progress says."""
        tree = self._trees[self._check(layer_index)]
        tree.add(batch.entries)
        tree.complete = batch.progress.complete and not more
        self._progress[layer_index] = batch.progress
        self._feeding[layer_index] = more
        self._changed(layer_index)

    def adopt(self, layer_index: int, tree: LayerTree, progress: ListingProgress) -> None:
        """Put a tree built elsewhere (from every entry listed so far) in the
        layer's place, with its progress: what a thread builds out of sight is
        handed over in one step, so the layer is never seen half fed."""
        self._check(layer_index)
        tree.complete = progress.complete
        self._trees[layer_index] = tree
        self._progress[layer_index] = progress
        self._feeding[layer_index] = False
        self._changed(layer_index)

    def reset_layer(self, layer_index: int) -> None:
        """Forget a layer's entries (e.g. before re-listing it from scratch)."""
        self._trees[self._check(layer_index)] = LayerTree(layer_index)
        self._progress[layer_index] = None
        self._feeding[layer_index] = False
        self._changed(layer_index)

    def _changed(self, layer_index: int) -> None:
        self._generation += 1
        # markers of this layer and of every layer above it depend on it
        for i in range(layer_index, len(self._marked)):
            self._marked[i] = False

    @property
    def generation(self) -> int:
        """Changes with every batch fed, tree adopted or layer reset."""
        return self._generation

    # --- state -----------------------------------------------------------------

    def tree(self, layer_index: int) -> LayerTree:
        """The layer's own tree (whiteouts as removals); empty until fed."""
        return self._trees[self._check(layer_index)]

    def progress(self, layer_index: int) -> ListingProgress | None:
        """The last progress seen for the layer; None when never listed."""
        return self._progress[self._check(layer_index)]

    def is_listed(self, layer_index: int) -> bool:
        return self.progress(layer_index) is not None

    def is_complete(self, layer_index: int) -> bool:
        """The listing is complete and every entry of it is in the tree."""
        p = self.progress(layer_index)
        return p is not None and p.complete and not self._feeding[layer_index]

    def partial_layers(self, upto: int | None = None) -> list[int]:
        """Indexes (<= upto) whose listing is missing or partial."""
        last = len(self._trees) - 1 if upto is None else min(upto, len(self._trees) - 1)
        return [i for i in range(last + 1) if not self.is_complete(i)]

    def _listed(self) -> list[LayerTree | None]:
        return [t if p is not None else None for t, p in zip(self._trees, self._progress)]

    # --- derived views -----------------------------------------------------------

    def merged(self, upto: int | None = None) -> MergedTree:
        """Layers 0..upto (default: all) applied bottom up; layers not listed
        yet count as partial (`MergedTree.partial_layers`)."""
        last = len(self._trees) - 1 if upto is None else self._check(upto)
        ready = self.merged_ready(upto)
        if ready is not None:
            return ready
        generation = self._generation
        view = merge(self._listed(), upto)
        # Kept only if nothing changed while it was built (another thread may feed).
        self._merged = (generation, last, view)
        return view

    def merged_ready(self, upto: int | None = None) -> MergedTree | None:
        """The merged view when it is built and current (nothing fed since), else None."""
        last = len(self._trees) - 1 if upto is None else upto
        kept = self._merged
        if kept is not None and kept[0] == self._generation and kept[1] == last:
            return kept[2]
        return None

    def changes(self, layer_index: int) -> LayerTree:
        """The layer's tree with `Node.change` set against the merged view below it."""
        tree = self.tree(layer_index)
        if not self._marked[layer_index]:
            lower = merge(self._listed(), layer_index - 1) if layer_index > 0 else None
            mark_changes(tree, lower)
            self._marked[layer_index] = True
        return tree

    # The reads below walk whole trees and are asked from the UI thread while
    # a builder thread may be feeding: they hold the lock (uncontended in the CLI).

    def wasted(self) -> WastedReport:
        with self.lock:
            return wasted(self._listed())

    def search(self, pattern: str, *, limit: int | None = None) -> list[Hit]:
        with self.lock:
            return search(self._listed(), pattern, limit=limit)

    # --- output ------------------------------------------------------------------

    def export_meta(self, view: str = "layer", layer_index: int | None = None) -> ExportMeta:
        """The header of an export: which image, platform and layers the view is made of."""
        from layerslayer_tui.fs.export import ExportLayer, ExportMeta

        if view == "layer":
            if layer_index is None:
                raise ExportError("Say which layer to export (a layer number), or export the merged view.")
            indexes = [self._check(layer_index)]
        elif view == "merged":
            last = len(self._trees) - 1 if layer_index is None else self._check(layer_index)
            indexes = list(range(last + 1))
        else:
            raise ExportError(f"Unknown export view {view!r}; use layer or merged.")
        layers = []
        for i in indexes:
            p = self._progress[i]
            layers.append(ExportLayer.from_layer(self.image.layers[i], complete=self.is_complete(i),
                                                 verified=bool(p and p.verified)))
        plat = self.image.platform
        return ExportMeta(self.image.reference, str(plat) if plat else None, self.image.manifest_digest, view, layers)

    def _view_for(self, view: str, layer_index: int | None) -> LayerTree | MergedTree:
        if view == "layer":
            if layer_index is None:
                raise ExportError("Say which layer to export (a layer number), or export the merged view.")
            return self.changes(layer_index)
        return self.merged(layer_index)

    @staticmethod
    def _filter(filter: str | Filter | None) -> Filter | None:
        if filter is None or isinstance(filter, Filter):
            return filter
        return Filter.of(filter)

    def export(
        self,
        dest: str | Path,
        view: str = "layer",
        layer_index: int | None = None,
        filter: str | Filter | None = None,
        fmt: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the layer (`view="layer"`, `layer_index` required) or the merged
        view (`view="merged"`, up to `layer_index`, default all) with fs.export.
        Raises ExportError with one sentence (file exists, no parent dir...)."""
        from layerslayer_tui.fs import export as fs_export

        with self.lock:
            meta = self.export_meta(view, layer_index)
            fs_export.write(self._view_for(view, layer_index), dest, fmt=fmt, meta=meta, filter=self._filter(filter),
                            overwrite=overwrite)
        return Path(dest)

    def export_to(
        self,
        out: TextIO,
        view: str = "layer",
        layer_index: int | None = None,
        filter: str | Filter | None = None,
        fmt: str = "json",
    ) -> int:
        """Stream an export to an open text file (stdout for `--json`); returns rows."""
        from layerslayer_tui.fs import export as fs_export

        with self.lock:
            meta = self.export_meta(view, layer_index)
            return fs_export.write_to(self._view_for(view, layer_index), out, fmt=fmt, meta=meta,
                                      filter=self._filter(filter))

    # --- headless convenience ----------------------------------------------------

    def load(
        self,
        session: Session,
        layers: Iterable[int] | None = None,
        *,
        full: bool = False,
        budget: int = 262144,
        on_batch: Callable[[int, EntryBatch], None] | None = None,
    ) -> None:
        """List the given layers (default all) through the session, feeding each
        batch; `on_batch` sees every batch (progress lines). Used by the CLI; the
        TUI drives `session.listing` itself from its workers."""
        for index in range(len(self._trees)) if layers is None else layers:
            self._check(index)
            self.reset_layer(index)
            listing = session.listing(self.image, index, full=full, budget=budget)
            try:
                for batch in listing:
                    self.feed(index, batch)
                    if on_batch is not None:
                        on_batch(index, batch)
            finally:
                listing.close()
