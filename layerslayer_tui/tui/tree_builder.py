"""The one thread that writes an open image's trees, and does the heavy reads.

Listing workers hand every batch they read to this thread; it adds the
entries to the Workspace's layer trees, builds merged views, change markers
and filter results, and hands back what the UI thread needs to draw (the
directories that gained entries, a finished view). The UI thread never feeds
entries, so a million-entry listing never holds the screen.

Thread use (plain Python, no Textual): jobs are done one at a time, in the
order they came, filters, views and markers first; feeds and the stream ends
keep their order, so a layer's end reaches the UI after its last entries.
Every write to a tree the UI may be showing holds `Workspace.lock` for one
batch (at most FEED_CHUNK entries, 20-30 ms); a listing that arrives into an empty
layer (a cached listing: one big batch) is built apart, out of sight and
without the lock, then adopted in one step. Reads on this thread need no
lock: it is the only writer.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.gcpause import quiet
from layerslayer_tui.fs import Filter, LayerTree
from layerslayer_tui.fs.filter import Cancelled, FilterResult, Reveal
from layerslayer_tui.image import ImageInfo
from layerslayer_tui.workspace import Workspace

# Entries added to a shown tree per hold of the lock (20-30 ms). A reader's
# batches are smaller (about 10k entries): they go in whole, as they came.
FEED_CHUNK = 16_384
BUILD_APART = 20_000  # a batch this big into an empty layer is built out of sight, then adopted
POST_INTERVAL = 0.1  # seconds between two reports of growth to the UI
IDLE_EXIT = 5.0  # seconds without work before the thread ends (started again on demand)




class _Lister:
    """What the builder needs of the listing bookkeeping (ListingState)."""

    def held_for_check(self, index: int, batch: EntryBatch) -> str | None: ...


# -- jobs ----------------------------------------------------------------------


@dataclass(slots=True)
class Feed:
    image: ImageInfo
    layer: int
    batch: EntryBatch


@dataclass(slots=True)
class ViewJob:
    """The view to show: the merged view up to `layer` (None: all layers) or a
    layer's own tree, through `flt` when given."""

    token: int
    image: ImageInfo
    layer: int | None
    merged: bool
    flt: Filter | None
    removals: bool
    reveal: tuple[int, int] | None  # (matches, rows): plan the directories to open for the first matches


@dataclass(slots=True)
class MarkJob:
    image: ImageInfo
    layer: int


# -- what the UI thread gets -------------------------------------------------------


@dataclass(slots=True)
class Growth:
    """A layer grew since the last report (several batches coalesced)."""

    image: ImageInfo
    layer: int
    jobs: int = 0  # feed jobs this report accounts for
    progress: ListingProgress | None = None  # the last batch's
    dirs: set[str] = field(default_factory=set)  # directories that gained entries ("" the root)
    replaced: bool = False  # the layer's tree is a new object (built apart): show it anew
    held: str | None = None  # a check holds this progress back: the index's label
    building: int = 0  # reported before a big build apart starts: its entries (status only)


@dataclass(slots=True)
class ViewReady:
    job: ViewJob
    view: Any  # the base view (LayerTree or MergedTree); None: cancelled or the image is gone
    result: FilterResult | None
    seconds: float
    plan: Reveal | None = None  # the job's reveal, planned here (it goes through every match)


@dataclass(slots=True)
class MarksReady:
    image: ImageInfo
    layer: int


@dataclass(slots=True)
class Relayed:
    """Something handed to the UI after the feeds queued ahead of it (a
    stream's end): queued as a job, passed on as it is."""

    image: ImageInfo | None
    payload: Any


@dataclass(slots=True)
class JobFailed:
    image: ImageInfo | None
    layer: int | None
    error: Exception
    jobs: int = 0  # the failed job is counted by its own result (or its layer's growth)


def parents(entries: Any) -> set[str]:
    """The directories the entries live in ("" for the root), as the file tree names them.
    Read from the path column when there is one (no entry made per row)."""
    paths = getattr(entries, "paths", None)
    if paths is None:
        paths = [e.path for e in entries]
    return {p.strip("/").rpartition("/")[0] for p in paths}


class TreeBuilder:
    """See the module docstring. `workspace()` is the UI's current Workspace
    (jobs of another image are dropped); `post(result)` hands a result to the
    UI thread (thread-safe), which calls `handled(result)` once it is drawn."""

    def __init__(self, workspace: Callable[[], Workspace | None], lister: _Lister,
                 post: Callable[[Any], None]) -> None:
        self._workspace = workspace
        self._lister = lister
        self._post = post
        self._cond = threading.Condition()
        self._urgent: collections.deque[ViewJob | MarkJob] = collections.deque()
        self._feeds: collections.deque[Feed | Relayed] = collections.deque()
        self._thread: threading.Thread | None = None
        self._submitted = 0
        self._handled = 0
        self._latest_view = 0  # the newest ViewJob's token: older ones are cancelled
        self._growth: dict[tuple[int, int], Growth] = {}  # (id(image), layer) -> unreported growth
        self._last_post = 0.0
        self.busy_since: float | None = None

    # -- from any thread --

    def feed(self, image: ImageInfo, layer: int, batch: EntryBatch) -> None:
        self._submit(Feed(image, layer, batch), urgent=False)

    def relay(self, image: ImageInfo | None, payload: Any) -> None:
        """Hand `payload` to the UI once every feed submitted before it is done."""
        self._submit(Relayed(image, payload), urgent=False)

    def view(self, job: ViewJob) -> None:
        """Build a view; cancels the view job before it (a filter being typed)."""
        self._latest_view = job.token
        self._submit(job, urgent=True)

    def mark(self, image: ImageInfo, layer: int) -> None:
        self._submit(MarkJob(image, layer), urgent=True)

    def pending(self) -> int:
        """Jobs submitted whose result the UI has not handled yet."""
        return self._submitted - self._handled

    def handled(self, jobs: int = 1) -> None:
        """On the UI thread: a result (standing for `jobs` jobs) is drawn."""
        with self._cond:
            self._handled += jobs

    def view_cancelled(self, token: int) -> bool:
        return token != self._latest_view

    # -- the thread --

    def _submit(self, job: Any, *, urgent: bool) -> None:
        with self._cond:
            self._submitted += 1
            (self._urgent if urgent else self._feeds).append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tree-builder", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _next(self) -> Any:
        """The next job; None: time to report growth; raises StopIteration when idle long enough."""
        with self._cond:
            idle_since = time.monotonic()
            while not self._urgent and not self._feeds:
                now = time.monotonic()
                if self._growth:
                    wait = self._last_post + POST_INTERVAL - now
                    if wait <= 0:
                        return None
                elif now - idle_since >= IDLE_EXIT:
                    self._thread = None  # a submit from now on starts a new thread
                    raise StopIteration
                else:
                    wait = IDLE_EXIT - (now - idle_since)
                self._cond.wait(wait)
            return self._urgent.popleft() if self._urgent else self._feeds.popleft()

    def _run(self) -> None:
        while True:
            try:
                job = self._next()
            except StopIteration:
                return
            if job is None:
                self._report()
                continue
            if not isinstance(job, Feed):
                self._report()  # growth reaches the UI before what follows it
            try:
                self._do(job)
            except Exception as err:  # noqa: BLE001 - the UI says it in one sentence
                # The job's own result still goes out (the UI waits for it: a view
                # or markers asked for); it, or a feed's growth report, counts the job.
                if isinstance(job, ViewJob):
                    self._post(ViewReady(job, None, None, 0.0))
                elif isinstance(job, MarkJob):
                    self._post(MarksReady(job.image, job.layer))
                # a layer only for a feed: the listing keeps what it had (f retries); a view's or
                # markers' failure says so without ending the layer's listing
                self._post(JobFailed(getattr(job, "image", None), job.layer if isinstance(job, Feed) else None, err, 0))
                continue
            if isinstance(job, Feed) and time.monotonic() - self._last_post >= POST_INTERVAL:
                self._report()

    def _report(self) -> None:
        growth, self._growth = self._growth, {}
        self._last_post = time.monotonic()
        for g in growth.values():
            self._post(g)

    def _current(self, image: ImageInfo | None) -> Workspace | None:
        ws = self._workspace()
        return ws if ws is not None and (image is None or ws.image is image) else None

    def _do(self, job: Any) -> None:
        if isinstance(job, Feed):
            with quiet():
                self._feed(job)
        elif isinstance(job, Relayed):
            self._post(job)
        elif isinstance(job, ViewJob):
            with quiet() if job.merged else nullcontext():  # a merged view is as big as its layers
                self._view(job)
        else:
            ws = self._current(job.image)
            if ws is not None:
                with quiet():  # the merged view below the layer is built to compare with
                    ws.changes(job.layer)
            self._post(MarksReady(job.image, job.layer))

    def _feed(self, job: Feed) -> None:
        key = (id(job.image), job.layer)
        g = self._growth.get(key)
        if g is None:
            g = self._growth[key] = Growth(job.image, job.layer)
        g.jobs += 1
        ws = self._current(job.image)
        if ws is None:
            return  # another image is open: the report only accounts for the job
        index, batch = job.layer, job.batch
        with ws.lock:
            g.held = self._lister.held_for_check(index, batch)
            g.progress = batch.progress
            if g.held is not None:
                return
            start = ws.tree(index)
            apart = ws.progress(index) is None and len(batch.entries) >= BUILD_APART
        if apart:
            self._build_apart(ws, g, start, batch)
            return
        entries = batch.entries
        total = len(entries)
        if total <= FEED_CHUNK:
            with ws.lock:
                ws.feed(index, batch)
            g.dirs |= parents(entries)
            return
        for start in range(0, total, FEED_CHUNK):
            chunk = entries[start:start + FEED_CHUNK]  # a list's or an Entries' slice: rows, not objects
            with ws.lock:
                ws.feed(index, EntryBatch(chunk, batch.progress), more=start + FEED_CHUNK < total)
            g.dirs |= parents(chunk)
            time.sleep(0)  # a UI thread waiting for the lock gets the GIL now

    def _build_apart(self, ws: Workspace, g: Growth, start: LayerTree, batch: EntryBatch) -> None:
        """Build the layer's tree out of sight and adopt it; dropped when the
        layer was started over meanwhile (a fresh read of it is on its way)."""
        index = g.layer
        building = Growth(g.image, index, progress=batch.progress, building=len(batch.entries))
        self._post(building)  # the status says what the wait is for
        tree = LayerTree(index)
        # In one call: the tree references the batch's rows as they are (a
        # million in 1-2 s); nobody sees it until it is adopted.
        tree.add(batch.entries)
        if self._current(g.image) is None:
            return
        with ws.lock:
            if ws.tree(index) is not start or ws.progress(index) is not None:
                g.progress = None  # nothing of it is shown: no progress to report
                return
            ws.adopt(index, tree, batch.progress)
        g.replaced = True
        g.dirs.clear()

    def _view(self, job: ViewJob) -> None:
        ws = self._current(job.image)
        if ws is None or self.view_cancelled(job.token):
            self._post(ViewReady(job, None, None, 0.0))
            return
        start = time.perf_counter()
        view = ws.merged(job.layer) if job.merged else ws.tree(job.layer)  # type: ignore[arg-type]
        result = plan = None
        if job.flt is not None:
            try:
                result = job.flt.apply(view, removals=job.removals,
                                       cancelled=lambda: self.view_cancelled(job.token))
            except Cancelled:
                view = None
        if result is not None and job.reveal is not None:
            plan = result.reveal(max_matches=job.reveal[0], max_rows=job.reveal[1])
        self._post(ViewReady(job, view, result, time.perf_counter() - start, plan))
