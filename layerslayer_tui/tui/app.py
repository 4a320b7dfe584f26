"""The Textual app: reference input, layer pane, file tree, status line.

All network and parse work runs in thread workers that call the Session and
post messages back; the UI thread owns the Workspace (it is thread-confined)
and feeds it from those messages. Nothing here parses bytes or speaks HTTP.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, OptionList, Static
from textual.worker import Worker, get_current_worker

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.errors import ExportError, LayerslayerError
from layerslayer_tui.fs import Change, Filter, FilteredView
from layerslayer_tui.registry.models import ImageInfo, LayerInfo, Platform

from . import history
from .messages import Failed, ImageLoaded, LayerBatch, LayerDone, PlatformsFound, Progress
from .screens.choice import ChoiceScreen
from .screens.dialogs import ConfirmScreen, PromptScreen
from .screens.help import HelpScreen
from .screens.platform import PlatformScreen
from .screens.viewer import ViewerScreen
from .screens.wasted import WastedScreen
from .text import join, plain, short_digest, size
from .widgets.file_tree import FileTree
from .widgets.layer_list import LayerList, parse_id

POST_INTERVAL = 0.1  # seconds between batches a worker posts (coalescing)
FEED_SLICE = 1000  # entries fed to the workspace per trip through the event loop
MERGED_REFRESH = 1.0  # seconds between rebuilds of a merged view that is still growing
VIEW_CAP = 16 * 1024 * 1024  # bytes of a file the viewer carves
MARKERS = (Change.ADDED, Change.MODIFIED, Change.REMOVED, Change.UNMODIFIED)


def _unexpected(what: str, err: BaseException) -> LayerslayerError:
    # A bug in a lower layer must not take the screen down: show one sentence.
    return LayerslayerError(f"Unexpected failure while {what}: {type(err).__name__}: {err}")


def _merge(batches: list[EntryBatch]) -> EntryBatch:
    if len(batches) == 1:
        return batches[0]
    entries = [e for b in batches for e in b.entries]
    return EntryBatch(entries, batches[-1].progress)


def _safe_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"


def listing_state(progress: ListingProgress | None) -> str:
    if progress is None:
        return "not listed"
    if progress.verified:
        return "complete, verified"
    if progress.complete:
        return "complete" + (f" ({progress.source})" if progress.source != "stream" else "")
    return f"partial ({percent(progress):.1f} % read)"


def percent(progress: ListingProgress) -> float:
    if not progress.layer_size:
        return 0.0
    return min(100.0, 100.0 * progress.compressed_read / progress.layer_size)


class LayerslayerApp(App[int]):
    TITLE = "layerslayer"
    CSS_PATH = "app.tcss"

    BINDINGS = [
        Binding("f", "fetch_full", "Full listing"),
        Binding("F", "fetch_all", "All layers", key_display="F"),
        Binding("m", "toggle_merged", "Merged"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("1", "toggle_marker(0)", "Added", show=False),
        Binding("2", "toggle_marker(1)", "Modified", show=False),
        Binding("3", "toggle_marker(2)", "Removed", show=False),
        Binding("4", "toggle_marker(3)", "Unmodified", show=False),
        Binding("v", "view_file", "View"),
        Binding("s", "save_file", "Save", show=False),
        Binding("e", "export", "Export"),
        Binding("d", "download", "Download", show=False),
        Binding("t", "tags", "Tags", show=False),
        Binding("w", "wasted", "Wasted", show=False),
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    HELP = [
        ("Enter", "load the reference typed at the top (recent ones are suggested)"),
        ("Tab", "move between the reference, the layers and the tree"),
        ("j k / arrows", "move in lists; h l collapse / expand in the tree"),
        ("f", "fetch the full listing of the selected layer (continues the partial read)"),
        ("F", "full listing of every layer (exact merged view and wasted space)"),
        ("m", "toggle the merged view (layers up to the selected one)"),
        ("/", "filter the tree by glob or substring (empty clears)"),
        ("1 2 3 4", "show or hide added / modified / removed / unmodified"),
        ("v", "view the selected file"),
        ("s", "save the selected file into a folder"),
        ("e", "export the tree on screen (format from the extension: txt json csv tar.txt)"),
        ("d", "download the selected layer blob (digest verified)"),
        ("t", "pick another tag of this repository"),
        ("w", "wasted-space report"),
        ("escape", "cancel the running listing"),
        ("?", "this help"),
        ("q / ctrl+q", "quit"),
    ]

    def __init__(self, reference: str | None = None, *, platform: str | None = None, session: Any = None) -> None:
        super().__init__()
        self.initial_reference = reference
        self.platform_arg = platform
        self._own_session = session is None
        self.session = session
        self.image: ImageInfo | None = None
        self.workspace: Any = None
        self.layer: int | None = None  # selected layer; None = the "Image (merged)" row
        self.merged = False  # merged view up to the selected layer
        self.pattern: str | None = None
        self.markers: set[Change] = set(MARKERS)
        self.listings: dict[int, Any] = {}  # layer -> its LayerListing (for f and cancel)
        self.finished: set[int] = set()  # layers whose listing stream ended
        self.full_running = False
        self.history = history.load()
        self._merged_dirty = False
        self._last_merged = 0.0
        self._feed_queue: collections.deque[tuple[int, EntryBatch | None]] = collections.deque()
        self._drain_scheduled = False
        self._marking = False
        self._marked: set[int] = set()  # layers whose change markers are current
        self._status = Text("")

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="image reference, e.g. docker.io/library/debian:12 (Enter loads)",
            suggester=SuggestFromList(self.history, case_sensitive=True),
            id="reference",
        )
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LayerList(id="layers")
                yield Static(id="details")
            yield FileTree(id="tree")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#layers").border_title = "Layers"
        self.query_one("#tree").border_title = "Files"
        self.query_one("#details").border_title = "Details"
        self.set_status("Type an image reference and press Enter.")
        if self.session is None:
            self._start_session()
        pop = getattr(self.session, "pop_warnings", None)
        for warning in pop() if pop is not None else []:
            self.notify(warning, severity="warning", markup=False)
        self.set_interval(MERGED_REFRESH, self._refresh_merged_if_dirty)
        if self.initial_reference:
            self.query_one("#reference", Input).value = self.initial_reference
            self.load(self.initial_reference, self.platform_arg)
        else:
            self.query_one("#reference", Input).focus()

    def _start_session(self) -> None:
        from layerslayer_tui.session import Session

        try:
            self.session = Session()
        except LayerslayerError as err:
            self.show_error("starting", err)

    async def on_unmount(self) -> None:
        self._cancel_listings()
        if self._own_session and self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001 - quitting must not fail
                pass

    # -- status ---------------------------------------------------------------

    def set_status(self, text: str | Text, style: str = "") -> None:
        self._status = text if isinstance(text, Text) else plain(text, style)
        self.query_one("#status", Static).update(self._status)

    @property
    def status_text(self) -> str:
        return self._status.plain

    def show_error(self, what: str, err: LayerslayerError) -> None:
        message = str(err)
        self.notify(message, title=f"Error while {what}", severity="error", markup=False, timeout=8)
        self.set_status(join(("Error: ", "bold red"), (message, "red")))

    # -- loading a reference --------------------------------------------------

    @on(Input.Submitted, "#reference")
    def _reference_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.load(text, self.platform_arg)

    def load(self, reference: str, platform: str | Platform | None = None) -> None:
        self._cancel_listings()
        self.set_status(f"Resolving {reference} …")
        self._resolve(reference, platform)

    @work(thread=True, exclusive=True, group="resolve")
    def _resolve(self, reference: str, platform: str | Platform | None) -> None:
        worker = get_current_worker()
        try:
            if platform is None:
                platforms = self.session.platforms(reference)
                if len(platforms) > 1:
                    if not worker.is_cancelled:
                        self.post_message(PlatformsFound(reference, platforms))
                    return
                if platforms:
                    platform = platforms[0]
            image = self.session.open_image(reference, platform)
        except LayerslayerError as err:
            self.post_message(Failed(f"loading {reference}", err))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(Failed(f"loading {reference}", _unexpected("loading", err)))
            return
        if not worker.is_cancelled:
            self.post_message(ImageLoaded(image))

    def on_platforms_found(self, message: PlatformsFound) -> None:
        self.set_status(f"{message.reference} has {len(message.platforms)} platforms: pick one.")

        def chosen(index: int | None) -> None:
            if index is None:
                self.set_status("No platform chosen.")
                return
            platform = message.platforms[index]
            self.set_status(f"Resolving {message.reference} for {platform} …")
            self._resolve(message.reference, platform)

        self.push_screen(PlatformScreen(message.reference, message.platforms), chosen)

    def on_image_loaded(self, message: ImageLoaded) -> None:
        from layerslayer_tui.workspace import Workspace

        self._cancel_listings()
        image = message.image
        self.image = image
        self.workspace = Workspace(image)
        gc.unfreeze()  # the previous image's trees may now be collected
        self.listings.clear()
        self.finished.clear()
        self._feed_queue.clear()
        self._marked.clear()
        self.full_running = False
        self.layer = None
        self.history = history.remember(image.reference, self.history)
        reference_input = self.query_one("#reference", Input)
        reference_input.suggester = SuggestFromList(self.history, case_sensitive=True)
        self.sub_title = image.reference + (f" ({image.platform})" if image.platforms and image.platform else "")
        layers = self.query_one(LayerList)
        layers.load(image)
        total = sum(layer.size for layer in image.layers)
        self.set_status(f"{image.reference}: {len(image.layers)} layers, {size(total)} compressed.")
        self.query_one(FileTree).show(None, keep=False)
        layers.focus()
        if image.layers:
            layers.highlight_layer(image.layers[0].index)
            self.select_layer(image.layers[0].index)
        else:
            self.select_layer(None)

    # -- selecting layers -----------------------------------------------------

    @on(OptionList.OptionHighlighted, "#layers")
    def _layer_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.image is None:
            return
        index = parse_id(event.option.id)
        if index == self.layer and self.query_one(FileTree).view is not None:
            return
        self.select_layer(index)

    def select_layer(self, index: int | None) -> None:
        self.layer = index
        self.update_details()
        if index is not None and not self.full_running:
            if index not in self.finished:
                self.start_listing(index)
            else:
                self.workers.cancel_group(self, "listing")
        self.refresh_view()

    def layer_info(self, index: int | None) -> LayerInfo | None:
        if self.image is None or index is None:
            return None
        for layer in self.image.layers:
            if layer.index == index:
                return layer
        return None

    # -- listing workers ------------------------------------------------------

    def start_listing(self, index: int, *, full: bool = False) -> None:
        self._close_listing_except(index)
        resume = self._resumable(index) if full else None
        self.finished.discard(index)
        self.set_status(f"{'Fetching' if full else 'Peeking'} layer {index} …")
        self._list_layer(self.image, index, full, resume)

    def _resumable(self, index: int) -> Any:
        """The layer's ended partial listing, which continue_full() carries on."""
        previous = self.listings.get(index)
        if previous is not None and index in self.finished and not previous.complete:
            return previous
        return None

    def _open_batches(self, image: ImageInfo, index: int, full: bool, resume: Any) -> tuple[Any, Iterator[EntryBatch]]:
        if resume is not None:
            return resume, iter(resume.continue_full())
        listing = self.session.listing(image, index, full=full)
        self.listings[index] = listing
        return listing, iter(listing)

    @work(thread=True, exclusive=True, group="listing")
    def _list_layer(self, image: ImageInfo, index: int, full: bool, resume: Any) -> None:
        worker = get_current_worker()
        listing = None
        try:
            listing, batches = self._open_batches(image, index, full, resume)
            self._pump(worker, image, index, batches)
        except LayerslayerError as err:
            if not worker.is_cancelled:
                self.post_message(Failed(f"listing layer {index}", err, image, index))
        except Exception as err:  # noqa: BLE001
            if not worker.is_cancelled:
                self.post_message(Failed(f"listing layer {index}", _unexpected(f"listing layer {index}", err), image, index))
        finally:
            if worker.is_cancelled and listing is not None:
                listing.close()

    def _pump(self, worker: Worker[Any], image: ImageInfo, index: int, batches: Iterator[EntryBatch]) -> bool:
        """Post the batches, coalesced to about ten a second; True when the stream ended."""
        pending: list[EntryBatch] = []
        last = 0.0  # the first batch goes out at once: first entries on screen fast
        for batch in batches:
            if worker.is_cancelled:
                return False
            pending.append(batch)
            now = time.monotonic()
            if now - last >= POST_INTERVAL:
                self.post_message(LayerBatch(image, index, _merge(pending)))
                pending = []
                last = now
        if worker.is_cancelled:
            return False
        if pending:
            self.post_message(LayerBatch(image, index, _merge(pending)))
        self.post_message(LayerDone(image, index))
        return True

    @work(thread=True, exclusive=True, group="full")
    def _list_all(self, image: ImageInfo, todo: list[tuple[int, Any]]) -> None:
        worker = get_current_worker()
        for index, resume in todo:
            if worker.is_cancelled:
                return
            listing = None
            try:
                listing, batches = self._open_batches(image, index, True, resume)
                if not self._pump(worker, image, index, batches):
                    return
            except LayerslayerError as err:
                self.post_message(Failed(f"listing layer {index}", err, image, index))
            except Exception as err:  # noqa: BLE001
                self.post_message(Failed(f"listing layer {index}", _unexpected(f"listing layer {index}", err), image, index))
            finally:
                if worker.is_cancelled and listing is not None:
                    listing.close()
        self.call_from_thread(self._all_done, image)

    def _all_done(self, image: ImageInfo) -> None:
        if image is self.image:
            self.full_running = False
            self.set_status(f"Every layer of {image.reference} is listed.")
            self.refresh_view()

    def _close_listing_except(self, keep: int | None) -> None:
        for index, listing in list(self.listings.items()):
            if index != keep and index not in self.finished:
                listing.close()
                del self.listings[index]

    def _cancel_listings(self) -> None:
        self.workers.cancel_group(self, "listing")
        self.workers.cancel_group(self, "full")
        self.full_running = False
        for index, listing in list(self.listings.items()):
            if index not in self.finished:
                try:
                    listing.close()
                except Exception:  # noqa: BLE001 - cancelling a dead stream
                    pass
                del self.listings[index]

    # Batches are fed to the workspace in slices of FEED_SLICE entries, one
    # slice per trip through the event loop, so a big coalesced batch never
    # holds the screen and the keys for long. "done" travels the same queue so
    # it is handled after the last slice.

    def on_layer_batch(self, message: LayerBatch) -> None:
        if message.image is self.image and self.workspace is not None:
            self._feed_queue.append((message.layer, message.batch))
            self._schedule_drain()

    def on_layer_done(self, message: LayerDone) -> None:
        if message.image is self.image and self.workspace is not None:
            self._feed_queue.append((message.layer, None))
            self._schedule_drain()

    def _schedule_drain(self) -> None:
        if not self._drain_scheduled and not self._marking:
            self._drain_scheduled = True
            # Not call_later: Textual handles queued messages back to back
            # without returning to the asyncio loop, so a chain of Callback
            # messages starves timers, input and screen updates until the whole
            # queue is fed (measured: 7-11 slices in a row, 150 ms).
            # Handing the next slice to the loop first lets everything that is
            # ready run between two slices. (A 0-delay set_timer would do, but
            # Textual's timer skips a deadline already passed.)
            asyncio.get_running_loop().call_soon(self.call_next, self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if self._marking or not self._feed_queue or self.workspace is None:
            return
        index, batch = self._feed_queue[0]
        if batch is None:
            self._feed_queue.popleft()
            self._layer_done(index)
        else:
            entries = batch.entries
            if len(entries) > FEED_SLICE:
                head = EntryBatch(entries[:FEED_SLICE], dataclasses.replace(batch.progress, complete=False, verified=False))
                self._feed_queue[0] = (index, EntryBatch(entries[FEED_SLICE:], batch.progress))
                self._feed(index, head)
            else:
                self._feed_queue.popleft()
                self._feed(index, batch)
        if self._feed_queue:
            self._schedule_drain()

    def _feed(self, index: int, batch: EntryBatch) -> None:
        self.workspace.feed(index, batch)
        # 100k+ long-lived nodes make every full collection scan them all
        # (150+ ms, a visible freeze). They live as long as the image is open,
        # so move them out of the collector's way; unfrozen on the next image.
        gc.freeze()
        self._marked.difference_update(range(index, len(self.image.layers)))
        progress = batch.progress
        self.set_status(self._progress_line(index, progress, streaming=True))
        if self.merged or self.layer is None:
            self._merged_dirty = True
            if time.monotonic() - self._last_merged >= MERGED_REFRESH:
                self.refresh_view()
            return
        if index == self.layer:
            tree = self.query_one(FileTree)
            if self.current_filter() is not None or tree.view is None:
                self._merged_dirty = True  # filtered views are rebuilt on the timer
            else:
                tree.extend(e.path.strip("/") for e in batch.entries)
                tree.set_note(self._note(index))
            self.update_details()

    def _layer_done(self, index: int) -> None:
        self.finished.add(index)
        progress = self.workspace.progress(index)
        self.set_status(self._progress_line(index, progress, streaming=False))
        if index == self.layer or self.merged or self.layer is None:
            self.refresh_view()
            self.update_details()

    def _ensure_marks(self) -> None:
        """Change markers of the selected layer, computed off the UI thread.

        The workspace is confined to one thread at a time: feeding pauses
        while the marker worker runs, and resumes when it is done."""
        index = self.layer
        if index is None or self.merged or index in self._marked or self._marking or index not in self.finished:
            return
        self._marking = True
        self._mark_worker(self.workspace, index)

    @work(thread=True, group="mark")
    def _mark_worker(self, workspace: Any, index: int) -> None:
        try:
            workspace.changes(index)
        finally:
            self.call_from_thread(self._marks_ready, workspace, index)

    def _marks_ready(self, workspace: Any, index: int) -> None:
        self._marking = False
        if workspace is not self.workspace:
            return
        self._marked.add(index)
        if index == self.layer and not self.merged:
            if self.current_filter() is not None and self.current_filter().markers is not None:
                self.refresh_view()
            else:
                self.query_one(FileTree).refresh_labels()
        self._schedule_drain()

    def on_failed(self, message: Failed) -> None:
        if message.image is not None and message.image is not self.image:
            return
        self.show_error(message.what, message.error)
        if message.layer is not None:
            self.finished.add(message.layer)  # keep what was listed; f retries
            if message.layer == self.layer:
                self.refresh_view()

    def on_progress(self, message: Progress) -> None:
        self.set_status(message.text)

    def _progress_line(self, index: int, progress: ListingProgress | None, *, streaming: bool) -> str:
        if progress is None:
            return f"Layer {index}: nothing listed."
        verb = "Peeking" if streaming else "Listed"
        total = f" of {size(progress.layer_size)}" if progress.layer_size else ""
        state = listing_state(progress) if not streaming or progress.complete else ("complete" if progress.complete else "partial")
        line = f"{verb} layer {index}: {size(progress.compressed_read)}{total}, {progress.entries:,} entries, {state}"
        if progress.note and not progress.complete:
            line += f". {progress.note}"
        return line

    # -- the tree view ----------------------------------------------------------

    def _note(self, index: int) -> Text | None:
        progress = self.workspace.progress(index) if self.workspace is not None else None
        if progress is None or progress.complete:
            return None
        running = index not in self.finished
        if running:
            return Text(f"… {percent(progress):.1f} % of this layer read so far", style="italic dim", end="")
        return Text(f"… {percent(progress):.1f} % of this layer read: press f for all of it", style="bold yellow", end="")

    def current_view(self) -> tuple[Any, bool]:
        """The tree to show (before filtering) and whether it has removals."""
        ws = self.workspace
        if self.layer is None:
            return ws.merged(), False
        if self.merged:
            return ws.merged(self.layer), False
        # changes() marks the layer's own tree in place: tree() is the same
        # object, marked once the marker worker has run.
        self._ensure_marks()
        return ws.tree(self.layer), True

    def refresh_view(self) -> None:
        tree = self.query_one(FileTree)
        if self.workspace is None:
            tree.show(None, keep=False)
            return
        view, removals = self.current_view()
        note = self._merged_note() if (self.merged or self.layer is None) else self._note(self.layer)
        flt = self.current_filter()
        if flt is not None:
            view = FilteredView(view, flt, removals=removals)
        tree.show(view, removals=removals, note=note)
        tree.border_title = self._tree_title()
        self._merged_dirty = False
        self._last_merged = time.monotonic()

    def current_filter(self) -> Filter | None:
        """The filter on screen; change markers only exist in a layer's own view."""
        markers = None
        if len(self.markers) < len(MARKERS) and self.layer is not None and not self.merged:
            markers = self.markers
        if self.pattern is None and markers is None:
            return None
        return Filter.of(self.pattern, markers)

    def _refresh_merged_if_dirty(self) -> None:
        if self._merged_dirty and self.workspace is not None:
            self.refresh_view()

    def _merged_note(self) -> Text | None:
        if self.workspace is None:
            return None
        upto = None if self.layer is None else self.layer
        partial = self.workspace.partial_layers(upto)
        if not partial:
            return None
        layers = ", ".join(str(i) for i in partial[:8]) + (" …" if len(partial) > 8 else "")
        return Text(f"… layers {layers} are only partly listed: press F for all of them", style="bold yellow", end="")

    def _tree_title(self) -> str:
        if self.layer is None:
            title = "Files: image (merged)"
        elif self.merged:
            title = f"Files: merged up to layer {self.layer}"
        else:
            title = f"Files: layer {self.layer}"
        extras = []
        if self.pattern:
            extras.append(f"filter {self.pattern}")
        if len(self.markers) < len(MARKERS):
            extras.append("showing " + ",".join(m.value for m in MARKERS if m in self.markers))
        return title + (f" ({'; '.join(extras)})" if extras else "")

    def update_details(self) -> None:
        details = self.query_one("#details", Static)
        image = self.image
        if image is None:
            details.update("")
            return
        layer = self.layer_info(self.layer)
        lines: list[Text] = []

        def field(name: str, value: str, style: str = "") -> None:
            lines.append(join((name + " ", "bold"), (value, style)))

        if layer is None:
            total = sum(l.size for l in image.layers)
            field("Image", image.reference)
            field("Digest", image.manifest_digest)
            field("Platform", str(image.platform or "?"))
            field("Layers", f"{len(image.layers)}, {size(total)} compressed")
            if not image.history_aligned:
                lines.append(plain("History does not match the layers: steps are not shown.", "yellow"))
        else:
            progress = self.workspace.progress(layer.index) if self.workspace is not None else None
            field("Step", layer.step.created_by if layer.step is not None else "(no build step recorded)")
            field("Digest", layer.digest)
            field("Type", layer.media_type)
            sizes = f"{size(layer.size)} compressed"
            if progress is not None and progress.complete:
                sizes += f", {size(progress.uncompressed_read)} uncompressed"
            field("Size", sizes)
            state = listing_state(progress) + (f", {progress.entries:,} entries" if progress else "")
            field("Listing", state, "green" if progress is not None and progress.complete else "yellow")
        details.update(Text("\n", end="").join(lines))

    # -- actions: listing -------------------------------------------------------

    def action_fetch_full(self) -> None:
        if self.image is None:
            return
        if self.layer is None or self.merged:
            self.action_fetch_all()
            return
        if self.workspace.is_complete(self.layer):
            self.set_status(f"Layer {self.layer} is already completely listed.")
            return
        self.start_listing(self.layer, full=True)

    def action_fetch_all(self) -> None:
        if self.image is None:
            return
        todo = [l.index for l in self.image.layers if not self.workspace.is_complete(l.index)]
        if not todo:
            self.set_status("Every layer is already completely listed.")
            return
        self.workers.cancel_group(self, "listing")
        self._close_listing_except(None)
        self.full_running = True
        self.set_status(f"Fetching the full listing of {len(todo)} layers …")
        plan = [(index, self._resumable(index)) for index in todo]
        self.finished.difference_update(todo)
        self._list_all(self.image, plan)

    def action_cancel(self) -> None:
        if self.image is None:
            return
        self._cancel_listings()
        self.finished.update(l.index for l in self.image.layers if self.workspace.progress(l.index) is not None)
        self.set_status("Cancelled; what was listed stays on screen.")
        self.refresh_view()

    def action_toggle_merged(self) -> None:
        if self.image is None:
            return
        self.merged = not self.merged
        self.refresh_view()

    # -- actions: filter --------------------------------------------------------

    def action_filter(self) -> None:
        def done(value: str | None) -> None:
            if value is None:
                return
            self.pattern = value.strip() or None
            self.refresh_view()

        self.push_screen(
            PromptScreen("Filter the tree", self.pattern or "", "A glob (*.so, usr/lib/*) or a substring; empty clears.", "pattern"),
            done,
        )

    def action_toggle_marker(self, which: int) -> None:
        marker = MARKERS[which]
        if marker in self.markers:
            self.markers.discard(marker)
        else:
            self.markers.add(marker)
        self.refresh_view()

    # -- actions: export / save / download / view -------------------------------

    def default_export_name(self) -> str:
        image = self.image
        assert image is not None
        repo = _safe_part(image.repository.rsplit("/", 1)[-1])
        tag = _safe_part(image.tag or short_digest(image.manifest_digest))
        which = "merged" if (self.layer is None or self.merged) else str(self.layer)
        return f"{repo}_{tag}_{which}.txt"

    def action_export(self) -> None:
        if self.image is None:
            return
        default = "./" + self.default_export_name()

        def chosen(value: str | None) -> None:
            if not value:
                return
            dest = Path(value.strip()).expanduser()
            if dest.exists():
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self.export_to(dest, True))
            else:
                self.export_to(dest, False)

        self.push_screen(PromptScreen("Export the tree", default, "Format from the extension: .txt .json .csv .tar.txt", "path"), chosen)

    def export_to(self, dest: Path, overwrite: bool) -> Path | None:
        view = "merged" if (self.layer is None or self.merged) else "layer"
        try:
            written = self.workspace.export(dest, view=view, layer_index=self.layer, filter=self.current_filter(), overwrite=overwrite)
        except LayerslayerError as err:
            self.show_error("exporting", err)
            return None
        except OSError as err:
            self.show_error("exporting", ExportError(f"Cannot write {dest}: {err.strerror or err}."))
            return None
        self.set_status(f"Exported to {written}.")
        self.notify(f"Exported to {written}.", markup=False)
        return written

    def _selected_file(self, what: str) -> Any:
        node = self.query_one(FileTree).selected_node
        if self.image is None or node is None:
            self.set_status(f"Select a file in the tree to {what} it.")
            return None
        if node.is_dir or node.is_removal:
            self.set_status(f"{node.path} is not a file.")
            return None
        return node

    def _node_layer(self, node: Any) -> int | None:
        if node.layer_index is not None:
            return node.layer_index
        return self.layer

    def action_view_file(self) -> None:
        node = self._selected_file("view")
        if node is None:
            return
        self.set_status(f"Reading {node.path} …")
        self._carve(self.image, self._node_layer(node), node.path)

    @work(thread=True, exclusive=True, group="carve")
    def _carve(self, image: ImageInfo, layer: int, path: str) -> None:
        try:
            carved = self.session.carve(image, layer, path, cap=VIEW_CAP)
        except LayerslayerError as err:
            self.post_message(Failed(f"reading {path}", err))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(Failed(f"reading {path}", _unexpected(f"reading {path}", err)))
            return
        data, note = carved_content(carved)
        self.call_from_thread(self._show_file, path, data, note)

    def _show_file(self, path: str, data: bytes, note: str) -> None:
        self.set_status(f"{path}: {len(data):,} bytes.")
        self.push_screen(ViewerScreen(path, data, note))

    def action_save_file(self) -> None:
        node = self._selected_file("save")
        if node is None:
            return
        name = save_name(node.name)

        def chosen(value: str | None) -> None:
            if not value:
                return
            try:
                dest = safe_destination(Path(value.strip() or ".").expanduser(), name)
            except ExportError as err:
                self.show_error("saving", err)
                return
            if dest.exists() or dest.is_symlink():
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self._save(node, dest, True))
            else:
                self._save(node, dest, False)

        self.push_screen(PromptScreen(f"Save {name} into folder", ".", f"The file is written as <folder>/{name}.", "folder"), chosen)

    def _save(self, node: Any, dest: Path, overwrite: bool) -> None:
        self.set_status(f"Saving {node.path} to {dest} …")
        self._save_worker(self.image, self._node_layer(node), node.path, dest, overwrite)

    @work(thread=True, group="save")
    def _save_worker(self, image: ImageInfo, layer: int, path: str, dest: Path, overwrite: bool) -> None:
        tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
        try:
            self.session.carve(image, layer, path, dest=tmp)
            if not overwrite and dest.exists():
                raise ExportError(f"{dest} appeared while saving; it was left alone.")
            if dest.is_symlink():
                dest.unlink()
            os.replace(tmp, dest)
        except LayerslayerError as err:
            self.post_message(Failed(f"saving {path}", err))
            return
        except OSError as err:
            self.post_message(Failed(f"saving {path}", ExportError(f"Cannot write {dest}: {err.strerror or err}.")))
            return
        finally:
            if tmp.exists():
                tmp.unlink()
        self.post_message(Progress(f"Saved {path} to {dest}."))

    def action_download(self) -> None:
        layer = self.layer_info(self.layer)
        if layer is None or self.image is None:
            self.set_status("Select a layer to download it.")
            return
        ext = ".tar.zst" if "zstd" in layer.media_type else ".tar.gz" if "gzip" in layer.media_type else ".tar"
        default = f"./{short_digest(layer.digest)}{ext}"

        def chosen(value: str | None) -> None:
            if not value:
                return
            dest = Path(value.strip()).expanduser()
            if dest.exists():
                self.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"), lambda yes: yes and self._download(layer.index, dest, True))
            else:
                self._download(layer.index, dest, False)

        self.push_screen(PromptScreen(f"Download layer {layer.index} ({size(layer.size)})", default, "The blob is saved compressed, digest verified.", "path"), chosen)

    def _download(self, index: int, dest: Path, overwrite: bool) -> None:
        self.set_status(f"Downloading layer {index} to {dest} …")
        self._download_worker(self.image, index, dest, overwrite)

    @work(thread=True, group="download")
    def _download_worker(self, image: ImageInfo, index: int, dest: Path, overwrite: bool) -> None:
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] >= POST_INTERVAL:
                last[0] = now
                pct = f" ({100 * done / total:.0f} %)" if total else ""
                self.post_message(Progress(f"Downloading layer {index}: {size(done)} of {size(total)}{pct}"))

        try:
            written = self.session.download_layer(image, index, dest, progress=progress, overwrite=overwrite)
        except LayerslayerError as err:
            self.post_message(Failed(f"downloading layer {index}", err))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(Failed(f"downloading layer {index}", _unexpected("downloading", err)))
            return
        self.post_message(Progress(f"Downloaded layer {index} to {written} (digest verified)."))

    # -- actions: tags / wasted / help --------------------------------------------

    def action_tags(self) -> None:
        if self.image is None:
            return
        self.set_status(f"Listing the tags of {self.image.repository} …")
        self._tags(self.image)

    @work(thread=True, exclusive=True, group="tags")
    def _tags(self, image: ImageInfo) -> None:
        try:
            tags = self.session.tags(image)
        except LayerslayerError as err:
            self.post_message(Failed("listing tags", err))
            return
        except Exception as err:  # noqa: BLE001
            self.post_message(Failed("listing tags", _unexpected("listing tags", err)))
            return
        self.call_from_thread(self._pick_tag, image, tags)

    def _pick_tag(self, image: ImageInfo, tags: list[str]) -> None:
        if not tags:
            self.set_status(f"{image.repository} has no tags.")
            return
        selected = tags.index(image.tag) if image.tag in tags else 0
        self.set_status(f"{len(tags)} tags.")

        def chosen(index: int | None) -> None:
            if index is None:
                return
            reference = f"{image.registry}/{image.repository}:{tags[index]}"
            self.query_one("#reference", Input).value = reference
            self.load(reference, self.platform_arg)

        self.push_screen(ChoiceScreen(f"Tags of {image.repository}", tags, selected, "Enter opens the tag."), chosen)

    def action_wasted(self) -> None:
        if self.workspace is None or self.image is None:
            return
        report = self.workspace.wasted()
        self.push_screen(WastedScreen(report, sum(l.size for l in self.image.layers)))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.HELP))


def carved_content(carved: Any) -> tuple[bytes, str]:
    """The bytes and a note (truncated, symlink...) from a peek.Carved."""
    data = carved.content or b""
    note = ""
    if carved.target is not None:
        note = f"symlink to {carved.target}"
    elif carved.resolved is not None and carved.resolved is not carved.entry:
        note = f"hard link to {carved.resolved.path}"
    if carved.truncated:
        note = (note + "; " if note else "") + f"only the first {size(len(data))} shown"
    return bytes(data), note


def save_name(name: str) -> str:
    """A file name safe to create: no separators, no dot-dot, controls removed."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", name).strip()
    if cleaned in ("", ".", ".."):
        cleaned = "file"
    return cleaned


def safe_destination(folder: Path, name: str) -> Path:
    """folder/name, refusing anything that would land outside folder."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder.")
    base = folder.resolve()
    dest = base / name
    if dest.parent.resolve() != base or Path(os.path.normpath(dest)).parent != base:
        raise ExportError(f"{name} would be written outside {folder}.")
    if dest.is_symlink():
        target = dest.resolve()
        if target.parent != base:
            raise ExportError(f"{dest} is a symlink pointing outside {folder}.")
    return dest


def run_app(reference: str | None, *, platform: str | None = None, session: Any = None) -> int:
    """Run the app full screen; the CLI's entry point. Returns the exit code."""
    app = LayerslayerApp(reference, platform=platform, session=session)
    result = app.run()
    return result if isinstance(result, int) else 0
