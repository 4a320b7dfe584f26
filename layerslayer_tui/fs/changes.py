"""Change markers of one layer against the merged view of the layers below."""

from __future__ import annotations

from collections import Counter

from .merged import MergedTree
from .node import Change, Node
from .paths import classify
from .tree import LayerTree

__all__ = ["Change", "compare", "mark_all", "mark_changes"]


def compare(node: Node, lower: Node | None) -> Change:
    """Marker for a (non-removal) node given what the lower view has at its path."""
    if lower is None:
        return Change.ADDED
    if node.kind != lower.kind:
        return Change.MODIFIED
    # (size, mode, uid, gid, mtime, link), read from the rows: no entry object made.
    a, b = node.attrs(), lower.attrs()
    if a is None or b is None:
        # An implied directory declares no attributes, so it changes nothing.
        return Change.UNMODIFIED
    return Change.MODIFIED if a != b else Change.UNMODIFIED


def mark_changes(tree: LayerTree, lower: MergedTree | None) -> Counter[Change]:
    """Set `change` on every node and removal of `tree`; return the counts.

    `lower` is the merged view of the layers below (None for the bottom layer).
    Whiteouts and opaque markers are always "removed", even when nothing below
    matched, because that is what the layer says.
    """
    counts: Counter[Change] = Counter()
    lower_get = lower.get if lower is not None else (lambda _p: None)
    if lower is None:
        # The bottom layer adds everything it holds (a million nodes is common).
        added = Change.ADDED
        n = 0
        for node in tree.nodes():
            node.change = added
            n += 1
        counts[added] = n
    else:
        for node in tree.nodes():
            node.change = compare(node, lower_get(node.path))
            counts[node.change] += 1
    for node in tree.unsafe:
        # Compared where a runtime puts it (see merged.py).
        place = classify(node.path)[0]
        node.change = compare(node, lower_get(place) if place else None)
        counts[node.change] += 1
    for node in tree.removals:
        node.change = Change.REMOVED
        counts[Change.REMOVED] += 1
    return counts


def mark_all(trees: list[LayerTree | None]) -> MergedTree:
    """Mark every listed layer against its lower merged view; returns the full merge."""
    merged = MergedTree()
    for index, tree in enumerate(trees):
        if tree is not None:
            mark_changes(tree, merged if merged.layers_applied else None)
        merged.apply(tree, index)
    return merged
