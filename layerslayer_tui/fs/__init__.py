"""The file model: layer trees, the merged view, change markers, wasted space,
search, filters and export. Knows nothing of HTTP, bytes or screens."""

from __future__ import annotations

from .changes import mark_all, mark_changes
from .filter import Filter, FilteredView, PathMatcher
from .merged import MergedTree, merge
from .node import Change, FlaggedNode, Node, View
from .search import Hit, search
from .tree import LayerTree
from .wasted import Offender, WastedReport, wasted

__all__ = [
    "Change",
    "Filter",
    "FilteredView",
    "FlaggedNode",
    "Hit",
    "LayerTree",
    "MergedTree",
    "Node",
    "Offender",
    "PathMatcher",
    "View",
    "WastedReport",
    "mark_all",
    "mark_changes",
    "merge",
    "search",
    "wasted",
]
