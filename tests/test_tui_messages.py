"""Messages that may merge in the app's queue, and those that may not."""

from __future__ import annotations

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.tui.messages import Failed, LayerBatch, Progress


def test_a_queued_status_line_supersedes_the_one_before() -> None:
    assert Progress("Downloading layer 0: 1 MiB of 9 MiB").can_replace(Progress("Downloading layer 0: 2 MiB of 9 MiB"))
    assert not Progress("Downloading layer 0").can_replace(Failed("downloading layer 0", LayerslayerError("x.")))


def test_entry_batches_never_merge_away() -> None:
    batch = EntryBatch([], ListingProgress())
    assert not LayerBatch(None, 0, batch).can_replace(LayerBatch(None, 0, batch))
