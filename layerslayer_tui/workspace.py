"""What one open image looks like to the UI and to the CLI.

A Workspace holds one `fs.LayerTree` per layer, fed from the entry batches a
`session.LayerListing` yields, plus how far each layer's listing got. The
merged view, change markers, wasted space, search and export are all asked
of the Workspace, so the TUI and the headless CLI share one implementation.
It never does I/O except `export` (writes a file) and `load` (pulls listings
through a Session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.registry.models import ImageInfo

if TYPE_CHECKING:
    from layerslayer_tui.fs import LayerTree, MergedTree
    from layerslayer_tui.session import Session


class Workspace:
    """Trees and listing state for one ImageInfo (thread-confined: feed it from
    the thread that reads it, or post batches to the UI thread first)."""

    def __init__(self, image: ImageInfo) -> None:
        raise NotImplementedError

    # --- feeding ---------------------------------------------------------------

    def feed(self, layer_index: int, batch: EntryBatch) -> None:
        """Add a batch's entries to the layer's tree and record its progress."""
        raise NotImplementedError

    def reset_layer(self, layer_index: int) -> None:
        """Forget a layer's entries (e.g. before re-listing it from scratch)."""
        raise NotImplementedError

    # --- state -----------------------------------------------------------------

    def tree(self, layer_index: int) -> LayerTree:
        """The layer's own tree (whiteouts as removals); empty until fed."""
        raise NotImplementedError

    def progress(self, layer_index: int) -> ListingProgress | None:
        """The last progress seen for the layer; None when never listed."""
        raise NotImplementedError

    def is_listed(self, layer_index: int) -> bool:
        raise NotImplementedError

    def is_complete(self, layer_index: int) -> bool:
        raise NotImplementedError

    def partial_layers(self, upto: int | None = None) -> list[int]:
        """Indexes (<= upto) whose listing is missing or partial."""
        raise NotImplementedError

    # --- derived views -----------------------------------------------------------

    def merged(self, upto: int | None = None) -> MergedTree:
        """Layers 0..upto (default: all) applied bottom up."""
        raise NotImplementedError

    def changes(self, layer_index: int) -> LayerTree:
        """The layer's tree with `Node.change` set against the merged view below it."""
        raise NotImplementedError

    def wasted(self):  # -> fs.WastedReport
        raise NotImplementedError

    def search(self, pattern: str) -> list:  # -> list[fs.Hit]
        raise NotImplementedError

    # --- output ------------------------------------------------------------------

    def export(
        self,
        dest: str | Path,
        view: str = "layer",
        layer_index: int | None = None,
        filter: str | None = None,
        fmt: str | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Write the layer (`view="layer"`, `layer_index` required) or the merged
        view (`view="merged"`, up to `layer_index`, default all) with fs.export.
        Raises ExportError with one sentence (file exists, no parent dir...)."""
        raise NotImplementedError

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
        raise NotImplementedError
