"""How far a layer's listing got, in words for the status line and details.

Every decision here reads `ListingProgress`'s typed fields; its `note` and
`source` label are only ever shown."""

from __future__ import annotations

from rich.text import Text

from layerslayer_tui.entry import ListingProgress, SourceKind

from .text import size

# ListingProgress.source values of the lazy-pull indexes, as people spell them.
INDEX_LABELS = {"estargz index": "eStargz index", "zstd:chunked index": "zstd:chunked index"}


def percent(progress: ListingProgress) -> float:
    if not progress.layer_size:
        return 0.0
    return min(100.0, 100.0 * progress.compressed_read / progress.layer_size)


def from_index(progress: ListingProgress | None) -> bool:
    """Complete from the layer's own index, its bytes never checked: `f` checks them."""
    return progress is not None and progress.complete and not progress.verified and progress.kind is SourceKind.INDEX


def cut_short(progress: ListingProgress | None) -> bool:
    """The whole blob was read and its archive still did not end: nothing more to fetch."""
    return progress is not None and progress.cut_short and not progress.complete


def index_label(progress: ListingProgress) -> str:
    return INDEX_LABELS.get(progress.source, progress.source)


def listing_state(progress: ListingProgress | None) -> str:
    if progress is None:
        return "not listed"
    if from_index(progress):
        return f"complete (from {index_label(progress)}, {size(progress.compressed_read)} read)"
    if progress.complete:
        return "complete, verified" if progress.verified else "complete"
    if cut_short(progress):
        return "incomplete" if progress.note else "incomplete (the layer ends before its archive does)"
    return f"partial ({percent(progress):.1f} % read)"


def progress_line(index: int, progress: ListingProgress | None, *, streaming: bool, note: bool = False) -> str:
    """The status line while a layer streams in, or once it ended. The note
    of a complete listing is shown only when asked (`note`: the result of an
    index check); a partial one's always says why it stopped."""
    if progress is None:
        return f"Layer {index}: nothing listed."
    if progress.cached:
        # nothing is being read: a stored listing is being put on screen
        verb, where = ("Loading" if streaming else "Listed"), " from the cache"
    else:
        # Streaming but complete: every byte is read and the last entries are
        # being put in the tree ("Peeking" beside "complete, verified" read oddly).
        verb, where = ("Listed" if not streaming else "Read" if progress.complete else "Peeking"), ""
    total = f" of {size(progress.layer_size)}" if progress.layer_size else ""
    state = listing_state(progress) if not streaming or progress.complete or progress.cached else "partial"
    if from_index(progress):
        line = f"{verb} layer {index}{where}: {progress.entries:,} entries, {state}"
    else:
        line = f"{verb} layer {index}{where}: {size(progress.compressed_read)}{total}, {progress.entries:,} entries, {state}"
    # The note says why a listing stopped where it did; while bytes still
    # stream in, an earlier stop's note (the peek's "Partial listing from the
    # first 256 KiB" during f) would contradict the figures before it.
    if progress.note and not streaming and (not progress.complete or note):
        line += f". {progress.note}"
    return line


def checking_line(index: int, progress: ListingProgress, label: str) -> str:
    """The status line while a full read checks an index listing."""
    total = f" of {size(progress.layer_size)}" if progress.layer_size else ""
    return f"Checking layer {index} against its {label}: {size(progress.compressed_read)}{total} read …"


def partial_note(progress: ListingProgress | None, *, running: bool) -> Text | None:
    """The line that ends the tree of a layer listed only in part."""
    if progress is None or progress.complete:
        return None
    if running:
        return Text(f"… {percent(progress):.1f} % read so far", style="italic dim", end="")
    if cut_short(progress):
        return Text("… the layer ends here: its archive is cut short", style="bold red", end="")
    # short enough for the tree pane at 80x24 (46 cells)
    return Text(f"… {percent(progress):.1f} % read: press f for all of it", style="bold yellow", end="")


def partial_subtitle(progress: ListingProgress | None, *, running: bool, checking: bool = False) -> str:
    """The tree's border subtitle: stays in sight however long the tree is."""
    if progress is None:
        return ""
    if from_index(progress):
        return f"checking its {index_label(progress)} …" if checking else f"from its {index_label(progress)} · f checks it"
    if progress.complete:
        return ""
    if cut_short(progress) and not running:
        return "cut short"
    return f"{percent(progress):.1f} % read" + ("" if running else " · f for all")


def partly_listed(layers: list[int], *, most: int = 8) -> str:
    """'Layer 0 is only partly listed', 'Layers 0 and 2 are …', 'Layers 0, 1, 2 … (12 in all) are …'."""
    if len(layers) == 1:
        return f"Layer {layers[0]} is only partly listed"
    if len(layers) > most:
        return f"Layers {', '.join(str(i) for i in layers[:most])} … ({len(layers)} in all) are only partly listed"
    return f"Layers {', '.join(str(i) for i in layers[:-1])} and {layers[-1]} are only partly listed"
