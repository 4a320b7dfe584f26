"""The bridge between the listing workers and the UI thread.

Thread workers pull `EntryBatch`es from the Session and hand them to the
tree builder (tui/tree_builder.py), one thread that adds them to the
Workspace's trees and reports, about ten times a second, which directories
grew; the UI thread only extends what is shown (or, for a layer built apart,
such as a cached listing, shows the new tree at once). Merged views, filters
and change markers are built on that thread too. Mixed into `LayerslayerApp`.
"""

from __future__ import annotations

import gc
import itertools
import sys
from collections.abc import Iterator
from typing import Any

from textual import work
from textual.message import Message
from textual.worker import Worker, get_current_worker

from layerslayer_tui.entry import EntryBatch
from layerslayer_tui.errors import AuthError
from layerslayer_tui.gcpause import quiet
from layerslayer_tui.image import ImageInfo
from layerslayer_tui.session import LayerListing

from .login_actions import auth_failed_listing
from .messages import AllListed, Failed, LayerDone
from .listing_state import ListingState
from .progress_text import checking_line, cut_short, from_index, progress_line
from .text import size
from .tree_builder import Growth, JobFailed, MarksReady, Relayed, TreeBuilder, ViewReady
from .widgets.file_tree import FileTree

__all__ = ["ListingMixin", "MARKS_DELAY", "TreeWork"]

MARKS_DELAY = 0.2  # seconds between a big layer's listing on screen and its change markers asked for
MARKS_DELAY_FROM = 100_000  # entries: a smaller layer's markers are asked for at once


class TreeWork(Message):
    """A result of the tree builder's thread (tree_builder.Growth, ViewReady, ...)."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result


def _later(make: Any) -> Iterator[EntryBatch]:
    """The batches of make(), called only when reached (after a paused stream's end)."""
    yield from make()


class ListingMixin:
    """Listing workers, the feed queue and the listing keys (f, F, escape)."""

    def _init_listing(self) -> None:
        self.listing_state = ListingState()
        # Two threads busy in Python (a listing's reader, the tree builder)
        # share the GIL with the UI thread, which waited up to 300 ms for it
        # with the default 5 ms switch interval on the 1M layer; at 1 ms the
        # longest stall during f came down to about 100 ms, at no cost in time.
        sys.setswitchinterval(0.001)
        self.tree_builder = TreeBuilder(lambda: self.workspace, self.listing_state,
                                        lambda result: self.post_message(TreeWork(result)))
        self._marking = False
        # Escape pauses a single layer's read instead of dropping it: the worker
        # leaves (listing, its batch iterator, batches in hand) here, so f carries
        # on with the same stream and decompressor (issue 14 #10).
        self._pause_wanted: set[int] = set()
        self._paused: dict[int, tuple[Any, Iterator[EntryBatch], list[EntryBatch]]] = {}
        self._resume_wanted: set[int] = set()  # f pressed before the paused worker had stopped

    # Read by the other mixins and the pilot tests.
    @property
    def listings(self) -> dict[int, LayerListing]:
        return self.listing_state.listings

    @property
    def finished(self) -> set[int]:
        return self.listing_state.finished

    @property
    def full_running(self) -> bool:
        return self.listing_state.full_running

    @property
    def _feed_queue(self) -> int:
        """How many jobs handed to the tree builder are not on screen yet (0: none)."""
        return self.tree_builder.pending()

    def _reset_listing(self) -> None:
        """A new image: forget every listing of the previous one."""
        self._drop_paused()
        self.listing_state.reset()
        self._marking = False
        if self.workspace is not None:
            self.query_one(FileTree).guard = self.workspace.lock

    def _drop_paused(self) -> None:
        for listing, _batches, _held in self._paused.values():
            try:
                listing.close()
            except Exception:  # noqa: BLE001 - closing an idle stream
                pass
        self._paused.clear()
        self._pause_wanted.clear()
        self._resume_wanted.clear()

    # -- workers ----------------------------------------------------------------

    def start_listing(self, index: int, *, full: bool = False) -> None:
        state = self.listing_state
        state.close_except(index)
        if index in self._pause_wanted and index not in self._paused:
            # The paused worker has not stopped yet (it may wait on the network): resume when it has.
            self._resume_wanted.add(index)
            self.set_status(f"Layer {index}: carrying on where the read stopped …")
            return
        stash = self._paused.pop(index, None)
        if stash is not None:
            state.finished.discard(index)
            self.set_status(f"Layer {index}: carrying on where the read stopped …")
            self._list_layer(self.image, index, full, stash)
            return
        resume = state.resumable(index) if full else None
        label = state.plan_check(self.workspace, index, resume) if full else None
        state.finished.discard(index)
        listed = self.workspace.progress(index)
        if full and resume is None and label is None and listed is not None and listed.entries and not listed.cached:
            # A cancelled read that was not kept (F's, or a failed one): say so; the tree keeps its entries.
            self.set_status(f"Layer {index}: reading again from the start (the stopped read was not kept); "
                            f"the {listed.entries:,} entries listed stay on screen …")
        elif label is not None:
            self.set_status(f"Checking layer {index} against its {label} …")
            if index == self.layer:
                self.query_one(FileTree).border_subtitle = self._subtitle()
        else:
            self.set_status(f"{'Fetching' if full else 'Peeking'} layer {index} …")
        self._list_layer(self.image, index, full, resume)

    @work(thread=True, exclusive=True, group="listing")
    def _list_layer(self, image: ImageInfo, index: int, full: bool, resume: Any) -> None:
        worker = get_current_worker()
        listing = None
        kept = False
        try:
            if isinstance(resume, tuple):  # a paused read: the batches in hand, the rest of its stream, then (f) the layer's rest
                listing, rest, held = resume
                more = (lambda: listing.continue_full()) if full else (lambda: iter(()))
                batches: Iterator[EntryBatch] = itertools.chain(held, rest, _later(more))
            else:
                with quiet():  # a cached listing is decoded here: a million entries at once
                    listing, batches = self.listing_state.open_batches(self.session, image, index, full, resume)
            in_hand: list[EntryBatch] = []
            if not self._pump(worker, image, index, batches, in_hand) and index in self._pause_wanted:
                kept = True
                self.call_from_thread(self._stash, image, index, (listing, batches, in_hand))
                return
        except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
            if not worker.is_cancelled:
                self.post_message(Failed(f"listing layer {index}", err, image, index))
            elif index in self._pause_wanted:
                self.call_from_thread(self._pause_lost, image, index)
        finally:
            if worker.is_cancelled and listing is not None and not kept:
                listing.close()

    def _pump(self, worker: Worker[Any], image: ImageInfo, index: int, batches: Iterator[EntryBatch],
              held: list[EntryBatch] | None = None) -> bool:
        """Hand the batches to the tree builder; True when the stream ended.
        Cancelled: the batch read but not handed over goes into `held` (a pause keeps it)."""
        builder = self.tree_builder
        for batch in batches:
            if worker.is_cancelled:
                if held is not None:
                    held.append(batch)
                return False
            builder.feed(image, index, batch)
        if worker.is_cancelled:
            return False
        builder.relay(image, LayerDone(image, index))
        return True

    @work(thread=True, exclusive=True, group="full")
    def _list_all(self, image: ImageInfo, todo: list[tuple[int, LayerListing | None]]) -> None:
        worker = get_current_worker()
        for index, resume in todo:
            if worker.is_cancelled:
                return
            listing = None
            try:
                with quiet():
                    listing, batches = self.listing_state.open_batches(self.session, image, index, True, resume)
                if not self._pump(worker, image, index, batches):
                    return
            except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
                self.post_message(Failed(f"listing layer {index}", err, image, index))
            finally:
                if worker.is_cancelled and listing is not None:
                    listing.close()
        # Through the builder: it must reach the UI behind the last LayerDone,
        # so that the summary is the status line's last word.
        self.tree_builder.relay(image, AllListed(image))

    def _all_done(self, image: ImageInfo) -> None:
        if image is self.image:
            self.listing_state.full_running = False
            self.set_status(f"Every layer of {image.reference} is listed.")
            self.refresh_view()

    def _cancel_listings(self) -> None:
        self._drop_paused()
        self.workers.cancel_group(self, "listing")
        self.workers.cancel_group(self, "full")
        self.listing_state.cancel_all()

    # -- what the tree builder hands back --------------------------------------------

    def on_tree_work(self, message: TreeWork) -> None:
        result = message.result
        try:
            if isinstance(result, Growth):
                self._grew(result)
            elif isinstance(result, Relayed):
                self._relayed(result)
            elif isinstance(result, ViewReady):
                self._view_ready(result)
            elif isinstance(result, MarksReady):
                self._marks_ready(result.image, result.layer)
            elif isinstance(result, JobFailed):
                self.post_message(Failed("building the file tree", result.error, result.image, result.layer))
        finally:
            jobs = result.jobs if isinstance(result, (Growth, JobFailed)) else 1
            self.tree_builder.handled(jobs)

    def _relayed(self, result: Relayed) -> None:
        if result.image is not self.image or self.workspace is None or not self.query("#status"):
            return  # another image, or the app is closing
        payload = result.payload
        if isinstance(payload, LayerDone):
            with self.workspace.lock:
                self._layer_done(payload.layer)
        elif isinstance(payload, AllListed):
            self._all_done(payload.image)

    def _grew(self, g: Growth) -> None:
        ws = self.workspace
        if g.image is not self.image or ws is None or not self.query("#status"):
            return
        index = g.layer
        if g.building:
            what = "from the cache" if g.progress is not None and g.progress.cached else "listed"
            self.set_status(f"Layer {index}: putting the {g.building:,} entries {what} in the tree …")
            return
        if g.held is not None:
            self.set_status(checking_line(index, g.progress, g.held))
            return
        # 100k+ long-lived nodes make every full collection scan them all
        # (150+ ms, a visible freeze). They live as long as the image is open,
        # so move them out of the collector's way; unfrozen on the next image.
        gc.freeze()
        self.listing_state.fed(index, len(self.image.layers))
        if g.progress is not None:
            self.set_status(progress_line(index, g.progress, streaming=True))
        with ws.lock:
            if self.merged or self.layer is None:
                # built again on the builder's thread, at most once per _refresh_interval()
                self.view_state.stale = True
                self._refresh_merged_if_dirty()
                return
            if index != self.layer:
                return
            tree = self.query_one(FileTree)
            if g.replaced or tree.view is None:
                self.refresh_view()
            elif self.current_filter() is not None:
                self.view_state.stale = True  # filtered views are built again on the timer
            else:
                tree.extend_dirs(g.dirs)
                tree.set_note(self._note(index))
                tree.border_subtitle = self._subtitle()
            self.update_details()

    def _layer_done(self, index: int) -> None:
        self._pause_wanted.discard(index)  # it ended before the pause took
        self._resume_wanted.discard(index)
        checked = self.listing_state.layer_done(self.workspace, index)
        progress = self.workspace.progress(index)
        self.set_status(progress_line(index, progress, streaming=False, note=checked is not None))
        if progress is not None and progress.note:
            if checked is not None:
                agree = progress.complete and progress.index_agrees is True
                self.notify(progress.note, title=f"Layer {index}: {checked} checked",
                            severity="information" if agree else "warning", markup=False)
            elif cut_short(progress):
                self.notify(progress.note, title=f"Layer {index} is incomplete", severity="warning", markup=False)
        self._warn_unsafe(index)
        self.show_session_warnings()
        if index == self.layer or self.merged or self.layer is None:
            self.refresh_view()
            self.update_details()
        self._reveal_pending(index)

    def _warn_unsafe(self, index: int) -> None:
        """One notification per layer (per count) when its names are absolute or escape the root."""
        tree = self.workspace.tree(index)
        if self.listing_state.unsafe_news(self.image.layers[index].digest, len(tree.unsafe)):
            self.notify(tree.unsafe_note() or "", title=f"Layer {index}: unsafe names", severity="warning", markup=False)

    # -- change markers -----------------------------------------------------------

    def _ensure_marks(self) -> None:
        """Change markers of the selected layer, computed on the tree builder's thread."""
        index = self.layer
        if index is None or self.merged or index in self.listing_state.marked or self._marking or index not in self.finished:
            return
        self._marking = True
        # A moment later: the listing is drawn before the markers (0.3 s of
        # Python for a million entries) take their share of the GIL; measured
        # on the 1M layer, asking at once kept the first frame 0.3 s late.
        image = self.image
        if len(self.workspace.tree(index)) < MARKS_DELAY_FROM:
            self.tree_builder.mark(image, index)  # a few ms of work: at once
        else:
            self.set_timer(MARKS_DELAY, lambda: self.tree_builder.mark(image, index))

    def _marks_ready(self, image: ImageInfo, index: int) -> None:
        if image is not self.image:
            return
        self._marking = False
        self.listing_state.marked.add(index)
        if index == self.layer and not self.merged:
            if self.current_filter() is not None and self.current_filter().markers is not None:
                self.refresh_view()
            else:
                self.query_one(FileTree).refresh_labels()

    def on_failed(self, message: Failed) -> None:
        if message.image is not None and message.image is not self.image:
            return
        self.show_error(message.what, message.error)
        if message.layer is not None:
            self.listing_state.failed(message.layer)  # keep what was listed; f retries
            if message.layer == self.layer:
                self.refresh_view()
            if isinstance(message.error, AuthError) and message.image is not None:
                auth_failed_listing(self, message.image, message.layer, message.error)

    # -- keys: f, F, escape ---------------------------------------------------------

    def action_fetch_full(self) -> None:
        if self.image is None:
            return
        if self.layer is None or self.merged:
            self.action_fetch_all()
            return
        progress = self.workspace.progress(self.layer)
        if self.workspace.is_complete(self.layer) and not from_index(progress):
            self.set_status(f"Layer {self.layer} is already completely listed.")
            return
        if cut_short(progress) and self.layer in self.finished:
            self.set_status(f"Layer {self.layer} was read to its end: its archive is cut short, there is nothing more to list.")
            return
        self.start_listing(self.layer, full=True)

    def action_fetch_all(self) -> None:
        if self.image is None:
            return
        state = self.listing_state
        todo = [l.index for l in self.image.layers if state.wants_full(self.workspace, l.index)]
        if not todo:
            self.set_status("Every layer is already completely listed.")
            return
        self.workers.cancel_group(self, "listing")
        state.close_except(None)
        state.full_running = True
        self.set_status(f"Fetching the full listing of {len(todo)} layers …")
        plan = [(index, state.resumable(index)) for index in todo]
        for index, resume in plan:
            state.plan_check(self.workspace, index, resume)
        state.finished.difference_update(todo)
        self._list_all(self.image, plan)

    def _listing_running(self) -> bool:
        return self.listing_state.running() or any(w.is_running for w in self.workers if w.group in ("listing", "full"))

    def _stash(self, image: ImageInfo, index: int, paused: tuple[Any, Iterator[EntryBatch], list[EntryBatch]]) -> None:
        """On the UI thread: a paused worker left its read here."""
        if image is not self.image or index not in self._pause_wanted:
            paused[0].close()
            return
        self._pause_wanted.discard(index)
        self._paused[index] = paused
        if index in self._resume_wanted:
            self._resume_wanted.discard(index)
            self.start_listing(index, full=True)

    def _pause_lost(self, image: ImageInfo, index: int) -> None:
        """The paused read failed as it stopped: nothing to carry on; f reads again."""
        if image is not self.image:
            return
        self._pause_wanted.discard(index)
        if index in self._resume_wanted:
            self._resume_wanted.discard(index)
            self.start_listing(index, full=True)

    def _pause(self) -> bool:
        """Escape during one layer's read: stop posting, keep the stream for f."""
        running = [i for i in self.listings if i not in self.finished]
        if self.full_running or len(running) != 1:
            return False
        index = running[0]
        self._pause_wanted.add(index)
        self.workers.cancel_group(self, "listing")
        self.finished.add(index)
        progress = self.workspace.progress(index)
        done = f" at {size(progress.compressed_read)} of {size(progress.layer_size)}" if progress and progress.layer_size else ""
        self.set_status(f"Cancelled: layer {index} paused{done}; f carries on from there, what was listed stays on screen.")
        self.refresh_view()
        return True

    def action_cancel(self) -> None:
        if self.image is None:
            return
        if not self._listing_running():
            self.set_status("Nothing to cancel: no listing is running.")
            return
        if self._pause():
            return
        self._cancel_listings()
        self.listing_state.stopped(self.workspace, (l.index for l in self.image.layers))
        self.set_status("Cancelled; what was listed stays on screen.")
        self.refresh_view()
