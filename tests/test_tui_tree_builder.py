"""The tree builder's thread (tui/tree_builder.py) without a screen, and the
app putting a cached listing on screen through it (Pilot, real registry)."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bed.images import push_image
from layerslayer_tui.entry import EntryBatch, EntryType, ListingProgress, TarEntry
from layerslayer_tui.fs import Filter, FilteredView, LayerTree
from layerslayer_tui.fs.filter import Cancelled
from layerslayer_tui.session import Session
from layerslayer_tui.tui import tree_builder
from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.listing_state import ListingState
from layerslayer_tui.tui.tree_builder import Growth, Relayed, TreeBuilder, ViewJob, ViewReady
from layerslayer_tui.workspace import Workspace
from test_tui_listing_state import image
from tui_images import layer, many_items
from tui_pilot import run, tree_of, truth_paths, wait_for


def files(n: int, folder: str = "d", per_dir: int = 1000) -> list[TarEntry]:
    return [TarEntry(f"{folder}{i // per_dir:03d}/f{i:06d}", EntryType.FILE, 1, 0o644) for i in range(n)]


class Harness:
    """A builder over one Workspace; its results land in a queue (the UI thread's part)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.results: queue.Queue[Any] = queue.Queue()
        self.builder = TreeBuilder(lambda: self.ws, ListingState(), self.results.put)

    def next(self, kind: type, timeout: float = 30.0) -> Any:
        """The next result of that kind (others are marked handled on the way)."""
        end = time.monotonic() + timeout
        while True:
            result = self.results.get(timeout=max(0.01, end - time.monotonic()))
            self.builder.handled(result.jobs if isinstance(result, (Growth, tree_builder.JobFailed)) else 1)
            if isinstance(result, kind):
                return result


def test_a_big_batch_into_an_empty_layer_is_built_apart_and_adopted_whole() -> None:
    ws = Workspace(image(1))
    h = Harness(ws)
    count = tree_builder.BUILD_APART + 5000
    progress = ListingProgress(entries=count, complete=True, verified=True, cached=True)
    before = ws.tree(0)
    h.builder.feed(ws.image, 0, EntryBatch(files(count), progress))
    seen = []
    done = threading.Event()

    def watch() -> None:  # what another thread sees while the tree is built
        while not done.is_set():
            with ws.lock:
                seen.append((ws.progress(0) is not None, ws.is_complete(0), len(ws.tree(0))))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        building = h.next(Growth)
        assert building.building == count and building.jobs == 0  # the status says what the wait is for
        grown = h.next(Growth)
    finally:
        done.set()
        watcher.join()
    assert grown.replaced and grown.jobs == 1 and grown.progress is progress
    assert ws.tree(0) is not before and ws.is_complete(0) and len(ws.tree(0)) == count + count // 1000
    # never half fed: either nothing at all, or everything and complete
    assert seen and all(s in ((False, False, 0), (True, True, len(ws.tree(0)))) for s in seen)
    h.builder.relay(ws.image, "end")
    assert h.next(Relayed).payload == "end"
    assert h.builder.pending() == 0


def test_streamed_batches_extend_the_shown_tree_and_name_the_directories_that_grew() -> None:
    ws = Workspace(image(1))
    ws.feed(0, EntryBatch(files(10), ListingProgress(entries=10)))
    shown = ws.tree(0)
    h = Harness(ws)
    more = [TarEntry(f"a/b/f{i}", EntryType.FILE, 1) for i in range(2 * tree_builder.FEED_CHUNK + 1)]
    more.append(TarEntry("top", EntryType.FILE, 1))
    h.builder.feed(ws.image, 0, EntryBatch(more, ListingProgress(entries=len(more) + 10)))
    h.builder.relay(ws.image, "done")
    grown = h.next(Growth)
    assert not grown.replaced and grown.dirs == {"a/b", ""}
    assert ws.tree(0) is shown and len(shown) == 10 + 1 + 2 + len(more)  # d000, a, a/b implied
    assert not ws.is_complete(0)
    assert h.next(Relayed).payload == "done"  # after the feeds ahead of it
    assert h.builder.pending() == 0


def test_a_build_apart_is_dropped_when_the_layer_was_started_over() -> None:
    ws = Workspace(image(1))
    h = Harness(ws)
    gate = threading.Event()
    real_add = LayerTree.add

    def slow_add(self: LayerTree, entries: Any) -> None:
        gate.wait(10)
        real_add(self, entries)

    LayerTree.add = slow_add  # type: ignore[method-assign]
    try:
        h.builder.feed(ws.image, 0, EntryBatch(files(tree_builder.BUILD_APART), ListingProgress(complete=True)))
        h.next(Growth)  # building
        with ws.lock:
            ws.reset_layer(0)  # f on an index listing starts the tree over
        fresh = ws.tree(0)
        gate.set()
        grown = h.next(Growth)
    finally:
        LayerTree.add = real_add  # type: ignore[method-assign]
    # the listing read before the reset is dropped, not put over the fresh tree
    assert not grown.replaced and grown.progress is None
    assert ws.tree(0) is fresh and len(fresh) == 0 and ws.progress(0) is None


def test_a_newer_view_cancels_the_filter_that_runs() -> None:
    ws = Workspace(image(1))
    ws.feed(0, EntryBatch(files(200_000), ListingProgress(entries=200_000, complete=True)))
    h = Harness(ws)
    flt = Filter.of("f1999")
    h.builder.view(ViewJob(1, ws.image, 0, False, flt, True, (50, 200)))
    h.builder.view(ViewJob(2, ws.image, 0, False, Filter.of("f000001"), True, (50, 200)))
    first = h.next(ViewReady)
    assert first.job.token == 1 and first.view is None  # cancelled: nothing to show
    second = h.next(ViewReady)
    assert second.job.token == 2 and second.view is ws.tree(0)
    view = FilteredView(second.view, second.job.flt, removals=True, result=second.result)
    assert [n.path for n in view.result.matches] == ["d000/f000001"]
    assert second.plan is not None and second.plan.expand == ["d000"]  # planned off the UI thread
    assert h.builder.pending() == 0


def test_a_cancelled_filter_raises_instead_of_returning_half_a_result() -> None:
    tree = LayerTree(0, complete=True)
    tree.add(files(50_000))
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(Cancelled):
        Filter.of("f0").apply(tree, cancelled=cancelled)
    assert len(asked) == 3  # asked every CHECK_EVERY nodes, not per node
    assert len(Filter.of("f04").apply(tree, cancelled=lambda: False).matches) == 10_000


def test_the_merged_view_is_kept_until_something_changes() -> None:
    ws = Workspace(image(2))
    ws.feed(0, EntryBatch(files(5), ListingProgress(entries=5, complete=True)))
    assert ws.merged_ready() is None
    merged = ws.merged()
    assert ws.merged() is merged and ws.merged_ready() is merged
    assert ws.merged_ready(0) is None  # one slot: another layer's merged view is built again
    ws.feed(1, EntryBatch(files(1, "e"), ListingProgress(entries=1, complete=True)))
    assert ws.merged_ready() is None and ws.merged() is not merged


# -- the app -------------------------------------------------------------------------


@pytest.mark.registry
def test_a_cached_listing_is_never_shown_half_fed_nor_called_partial(registry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(tree_builder, "BUILD_APART", 500, raising=False)  # the 3,000-entry layer counts as big
    blob = layer(many_items(3000))
    ref = push_image(registry, "tree/cached", "1", [blob]).ref
    truth = truth_paths(blob)
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        first = LayerslayerApp(ref, session=session)

        async def fill(pilot: Any) -> None:
            await wait_for(pilot, lambda: first.workspace is not None and 0 in first.finished, "the peek")
            await pilot.press("f")
            await wait_for(pilot, lambda: first.workspace.is_complete(0) and 0 in first.finished, "the full listing")

        run(first, fill)
        app = LayerslayerApp(ref, session=session)
        states: list[tuple[bool, bool, str]] = []

        async def body(pilot: Any) -> None:
            def sample() -> None:
                ws = app.workspace
                if ws is not None:
                    p = ws.progress(0)
                    states.append((p is not None and p.complete, ws.is_complete(0), app.status_text))

            app.set_interval(0.001, sample)
            tree = tree_of(app)
            await wait_for(pilot, lambda: app.workspace is not None and app.workspace.is_complete(0)
                           and 0 in app.finished and tree.view is app.workspace.tree(0), "the cached listing")
            await pilot.pause()
            sample()
            assert {n.path for n in app.workspace.tree(0).walk()} == truth
            assert "from the cache" in app.status_text and "complete" in app.status_text

        run(app, body)
    assert states
    # The progress says complete only once every entry is in the tree, and the status never says partial.
    assert all(is_complete for says_complete, is_complete, _ in states if says_complete)
    assert not [s for *_, s in states if "partial" in s]


def test_a_job_that_fails_still_answers_and_is_counted_once(monkeypatch) -> None:
    ws = Workspace(image(1))
    ws.feed(0, EntryBatch(files(10), ListingProgress(entries=10, complete=True)))
    h = Harness(ws)

    def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("a bug in the filter")

    monkeypatch.setattr(Filter, "apply", broken)
    h.builder.view(ViewJob(1, ws.image, 0, False, Filter.of("f"), True, None))
    ready = h.next(ViewReady)  # the UI stops waiting for its view
    assert ready.view is None
    failed = h.next(tree_builder.JobFailed)
    assert "a bug in the filter" in str(failed.error)
    assert h.builder.pending() == 0


@pytest.mark.registry
def test_big_views_are_built_off_the_ui_thread_and_the_last_asked_wins(registry, tmp_path: Path, monkeypatch) -> None:
    from layerslayer_tui.fs import MergedTree
    from layerslayer_tui.tui import tree_view
    from layerslayer_tui.tui.widgets.layer_list import LayerList

    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(tree_view, "SYNC_BELOW", 0)  # every merged view and filter counts as big
    blob = layer(many_items(3000))
    ref = push_image(registry, "tree/views", "1", [blob]).ref
    with Session(cache_path=tmp_path / "c.sqlite3") as session:
        app = LayerslayerApp(ref, session=session)

        async def body(pilot: Any) -> None:
            tree = tree_of(app)
            await wait_for(pilot, lambda: app.workspace is not None and 0 in app.finished, "the peek")
            app.query_one(LayerList).highlight_layer(None)  # the image's merged view
            await wait_for(pilot, lambda: isinstance(tree.view, MergedTree), "the merged view, built apart")
            assert "data" in {c.data.path for c in tree.root.children if c.data is not None}
            # two filters asked in a row: the first is cancelled, the second shown
            app.view_state.pattern = "f000001"
            app.refresh_view(reveal=True)
            app.view_state.pattern = "f00002"
            app.refresh_view(reveal=True)
            await wait_for(pilot, lambda: isinstance(tree.view, FilteredView), "the filtered view")
            assert tree.view.filter.pattern == "f00002"
            assert sorted(n.path for n in tree.view.result.matches) == [
                f"data/d0000/f0000{i}{j}.bin" for i in "2" for j in "0123456789"]
            await wait_for(pilot, lambda: not app._feed_queue, "every job answered")

        run(app, body)
