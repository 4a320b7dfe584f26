"""Find paths across every listed layer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .changes import compare
from .filter import PathMatcher
from .merged import MergedTree
from .node import Change, Node
from .tree import LayerTree


@dataclass(slots=True)
class Hit:
    layer: int
    path: str
    kind: str  # EntryType value, "whiteout" or "opaque"
    change: Change
    node: Node


def search(
    trees: Sequence[LayerTree | None],
    pattern: str,
    *,
    markers: Iterable[Change | str] | None = None,
    limit: int | None = None,
) -> list[Hit]:
    """Paths matching a glob or substring (see PathMatcher) in each listed
    layer, removals included, bottom layer first; each with its change marker
    against the layers below. Layers not listed (None) are skipped."""
    match = PathMatcher(pattern)
    wanted = None if markers is None else {Change(m) for m in markers}
    hits: list[Hit] = []
    below = MergedTree()
    for index, tree in enumerate(trees):
        if tree is not None:
            for node in tree.walk(removals=True):
                if not match(node.path, node.name):
                    continue
                change = Change.REMOVED if node.is_removal else compare(node, below.get(node.path))
                if wanted is not None and change not in wanted:
                    continue
                hits.append(Hit(index, node.path, node.kind, change, node))
                if limit is not None and len(hits) >= limit:
                    return hits
        below.apply(tree, index)
    return hits
