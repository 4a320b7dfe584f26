"""The listing bookkeeping of one open image, as plain Python (no Textual):
which layers have a listing, which streams ended, which index listings a
full read is checking, which layers' change markers are current. The app's
listing mixin drives it from messages and workers and draws what it decides;
tests drive it without a screen (toolong keeps its scanning the same way, in
plain code the widget calls).

Thread use: `open_batches` runs in a listing worker (it records the listing
it opens); `held_for_check` on the tree builder's thread, holding the
Workspace's lock (as does the UI thread's `layer_done`); everything else runs
on the UI thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.image import ImageInfo
from layerslayer_tui.session import LayerListing
from layerslayer_tui.workspace import Workspace

from .progress_text import cut_short, from_index, index_label


class Lister(Protocol):
    """The part of the session a listing needs."""

    def listing(self, image: ImageInfo, layer: int, *, full: bool = False) -> LayerListing: ...


class ListingState:
    def __init__(self) -> None:
        self.listings: dict[int, LayerListing] = {}  # layer -> its listing (for f and cancel)
        self.finished: set[int] = set()  # layers whose listing stream ended
        self.full_running = False  # F's worker is listing every layer
        self.marked: set[int] = set()  # layers whose change markers are current
        self.checking: dict[int, str] = {}  # layers whose index listing a full read checks -> the index's label
        # the last progress of a check not yet fed (the tree keeps the index's until the end)
        self.check_progress: dict[int, ListingProgress] = {}
        self.unsafe_told: dict[str, int] = {}  # layer digest -> unsafe members already reported

    def reset(self) -> None:
        """A new image: forget every listing of the previous one."""
        self.listings.clear()
        self.finished.clear()
        self.marked.clear()
        self.checking.clear()
        self.check_progress.clear()
        self.full_running = False

    # -- starting and stopping listings --

    def resumable(self, index: int) -> LayerListing | None:
        """The layer's ended listing that continue_full() carries on: a partial
        one (the rest of the layer), or one read from the layer's index (the
        layer read whole to check the index)."""
        previous = self.listings.get(index)
        if previous is not None and index in self.finished and (not previous.complete or from_index(previous.progress)):
            return previous
        return None

    def plan_check(self, workspace: Workspace, index: int, resume: LayerListing | None) -> str | None:
        """Before a full read: when the layer was listed from its index, note
        that this read checks it; returns the index's label (None: no check)."""
        progress = workspace.progress(index)
        if not from_index(progress):
            return None
        if resume is None:
            # A fresh full read yields the layer's own entries: start the tree over.
            workspace.reset_layer(index)
        label = index_label(progress)
        self.checking[index] = label
        return label

    def open_batches(
        self, session: Lister, image: ImageInfo, index: int, full: bool, resume: LayerListing | None
    ) -> tuple[LayerListing, Iterator[EntryBatch]]:
        if resume is not None:
            return resume, iter(resume.continue_full())
        listing = session.listing(image, index, full=full)
        self.listings[index] = listing
        return listing, iter(listing)

    def close_except(self, keep: int | None) -> None:
        """Close every running listing but `keep`'s."""
        for index, listing in list(self.listings.items()):
            if index != keep and index not in self.finished:
                listing.close()
                del self.listings[index]
                self.checking.pop(index, None)
                self.check_progress.pop(index, None)

    def cancel_all(self) -> None:
        """Close every running listing (the app cancels their workers)."""
        self.full_running = False
        for index, listing in list(self.listings.items()):
            if index not in self.finished:
                try:
                    listing.close()
                except Exception:  # noqa: BLE001 - cancelling a dead stream
                    pass
                del self.listings[index]
        self.checking.clear()
        self.check_progress.clear()

    def running(self) -> bool:
        """A listing has not ended (the app also asks its workers)."""
        return self.full_running or any(index not in self.finished for index in self.listings)

    def failed(self, layer: int) -> None:
        """A layer's listing failed: keep what was listed; f retries."""
        self.finished.add(layer)
        self.checking.pop(layer, None)
        self.check_progress.pop(layer, None)

    def stopped(self, workspace: Workspace, layers: Iterable[int]) -> None:
        """After a cancel: a layer with something listed counts as ended."""
        self.finished.update(i for i in layers if workspace.progress(i) is not None)

    # -- which layers f and F read --

    def wants_full(self, workspace: Workspace, index: int) -> bool:
        progress = workspace.progress(index)
        if from_index(progress):
            return True
        return not workspace.is_complete(index) and not (cut_short(progress) and index in self.finished)

    # -- feeding --

    def held_for_check(self, index: int, batch: EntryBatch) -> str | None:
        """A check in progress keeps the index listing (complete) in the tree
        until the layer's bytes have all been compared: a progress-only batch
        is held, not fed. Returns the index's label when held."""
        label = self.checking.get(index)
        if label is not None and not batch.entries and not batch.progress.complete:
            self.check_progress[index] = batch.progress
            return label
        self.check_progress.pop(index, None)
        return None

    def fed(self, index: int, layer_count: int) -> None:
        """Entries reached layer `index`: markers of it and every layer above are stale."""
        self.marked.difference_update(range(index, layer_count))

    def layer_done(self, workspace: Workspace, index: int) -> str | None:
        """A layer's stream ended: feed a held check progress; returns the
        index's label when the stream checked one."""
        self.finished.add(index)
        checked = self.checking.pop(index, None)
        unfed = self.check_progress.pop(index, None)
        if unfed is not None:
            workspace.feed(index, EntryBatch([], unfed))
        return checked

    def unsafe_news(self, digest: str, count: int) -> bool:
        """True once per layer digest and count of unsafe members (one notification each)."""
        if count > self.unsafe_told.get(digest, 0):
            self.unsafe_told[digest] = count
            return True
        return False
