"""How far a layer's listing got, in words for the status line and details."""

from __future__ import annotations

from rich.text import Text

from layerslayer_tui.entry import ListingProgress

from .text import size


def percent(progress: ListingProgress) -> float:
    if not progress.layer_size:
        return 0.0
    return min(100.0, 100.0 * progress.compressed_read / progress.layer_size)


def listing_state(progress: ListingProgress | None) -> str:
    if progress is None:
        return "not listed"
    if progress.verified:
        return "complete, verified"
    if progress.complete:
        return "complete" + (f" ({progress.source})" if progress.source != "stream" else "")
    return f"partial ({percent(progress):.1f} % read)"


def progress_line(index: int, progress: ListingProgress | None, *, streaming: bool) -> str:
    """The status line while a layer streams in, or once it ended."""
    if progress is None:
        return f"Layer {index}: nothing listed."
    verb = "Peeking" if streaming else "Listed"
    total = f" of {size(progress.layer_size)}" if progress.layer_size else ""
    state = listing_state(progress) if not streaming or progress.complete else ("complete" if progress.complete else "partial")
    line = f"{verb} layer {index}: {size(progress.compressed_read)}{total}, {progress.entries:,} entries, {state}"
    if progress.note and not progress.complete:
        line += f". {progress.note}"
    return line


def partial_note(progress: ListingProgress | None, *, running: bool) -> Text | None:
    """The line that ends the tree of a layer listed only in part."""
    if progress is None or progress.complete:
        return None
    if running:
        return Text(f"… {percent(progress):.1f} % read so far", style="italic dim", end="")
    # short enough for the tree pane at 80x24 (46 cells)
    return Text(f"… {percent(progress):.1f} % read: press f for all of it", style="bold yellow", end="")


def partial_subtitle(progress: ListingProgress | None, *, running: bool) -> str:
    """The tree's border subtitle: stays in sight however long the tree is."""
    if progress is None or progress.complete:
        return ""
    return f"{percent(progress):.1f} % read" + ("" if running else " · f for all")
