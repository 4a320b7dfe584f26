"""Messages that may merge in the app's queue, and those that may not."""

from __future__ import annotations

from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.tui.messages import Failed, Progress


def test_a_queued_status_line_supersedes_the_one_before() -> None:
    assert Progress("Downloading layer 0: 1 MiB of 9 MiB").can_replace(Progress("Downloading layer 0: 2 MiB of 9 MiB"))
    assert not Progress("Downloading layer 0").can_replace(Failed("downloading layer 0", LayerslayerError("x.")))
