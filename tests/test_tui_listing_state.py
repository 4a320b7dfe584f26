"""The app's listing bookkeeping without Textual: checks of index listings,
what f resumes, cancelling."""

from __future__ import annotations

import json
import subprocess
import sys

from layerslayer_tui.entry import EntryBatch, EntryType, ListingProgress, SourceKind, TarEntry
from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo, Platform
from layerslayer_tui.tui.listing_state import ListingState
from layerslayer_tui.workspace import Workspace


def image(n: int = 2) -> ImageInfo:
    layers = [
        LayerInfo(i, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", f"sha256:{i:064d}", 100 + i))
        for i in range(n)
    ]
    return ImageInfo("localhost:5000", "t/s", "localhost:5000/t/s:1", "sha256:" + "m" * 64,
                     "application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, {}, layers, [], False,
                     Platform("linux", "amd64"))


def files(n: int) -> list[TarEntry]:
    return [TarEntry(f"f{i}", EntryType.FILE, 1, 0o644) for i in range(n)]


class FakeListing:
    def __init__(self, progress: ListingProgress) -> None:
        self.progress = progress
        self.closed = False

    @property
    def complete(self) -> bool:
        return self.progress.complete

    def close(self) -> None:
        self.closed = True

    def continue_full(self):
        return iter([EntryBatch([], self.progress)])


def test_a_check_holds_progress_until_the_layer_ends_then_feeds_it() -> None:
    ws = Workspace(image())
    indexed = ListingProgress(entries=3, complete=True, source="eStargz index", kind=SourceKind.INDEX)
    ws.feed(0, EntryBatch(files(3), indexed))
    state = ListingState()
    label = state.plan_check(ws, 0, resume=FakeListing(indexed))
    assert label is not None and state.checking == {0: label}
    assert ws.progress(0) is not None  # resumed: the index listing stays in the tree

    streaming = ListingProgress(compressed_read=50, layer_size=100, source="stream")
    assert state.held_for_check(0, EntryBatch([], streaming)) == label
    assert ws.progress(0).kind is SourceKind.INDEX  # not fed yet
    final = ListingProgress(compressed_read=100, layer_size=100, entries=3, complete=True, verified=True,
                            source="stream", index_agrees=True)
    assert state.held_for_check(0, EntryBatch([], final)) is None  # complete: fed by the caller
    state.held_for_check(0, EntryBatch([], streaming))
    assert state.layer_done(ws, 0) == label
    assert 0 in state.finished and not state.checking and not state.check_progress
    assert ws.progress(0).source == "stream"  # the held progress reached the workspace


def test_a_fresh_full_read_of_an_index_listing_starts_the_tree_over() -> None:
    ws = Workspace(image())
    ws.feed(1, EntryBatch(files(2), ListingProgress(entries=2, complete=True, source="zstd:chunked index",
                                                    kind=SourceKind.INDEX)))
    state = ListingState()
    assert state.plan_check(ws, 1, resume=None) is not None
    assert ws.progress(1) is None


def test_what_f_resumes_and_what_cancel_closes() -> None:
    state = ListingState()
    partial, running, done = (FakeListing(ListingProgress(entries=1)), FakeListing(ListingProgress(entries=1)),
                              FakeListing(ListingProgress(entries=1, complete=True, verified=True, source="stream")))
    state.listings.update({0: partial, 1: running, 2: done})
    state.finished.update({0, 2})
    assert state.resumable(0) is partial  # ended partial: continue_full carries on
    assert state.resumable(1) is None  # still running
    assert state.resumable(2) is None  # complete and verified: nothing to resume
    assert state.running()
    state.close_except(None)
    assert running.closed and not partial.closed and 1 not in state.listings
    assert not state.running()
    state.listings[1] = running = FakeListing(ListingProgress())
    state.full_running = True
    state.cancel_all()
    assert running.closed and not state.full_running and set(state.listings) == {0, 2}


def test_unsafe_names_are_told_once_per_count() -> None:
    state = ListingState()
    assert state.unsafe_news("sha256:a", 2)
    assert not state.unsafe_news("sha256:a", 2)
    assert state.unsafe_news("sha256:a", 3)
    state.reset()
    assert not state.unsafe_news("sha256:a", 3)  # kept across images: same layer, same news


def test_the_state_module_loads_no_textual() -> None:
    # (Rich comes with progress_text's display helpers: a text library, not the UI framework.)
    probe = ("import json, sys; import layerslayer_tui.tui.listing_state; "
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
