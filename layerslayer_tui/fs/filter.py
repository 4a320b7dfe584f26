"""Path patterns and the view filter shared by the TUI, search and export."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase

from .node import Change, Node, TreeView, walk

_GLOB_CHARS = frozenset("*?[")


class PathMatcher:
    """A glob (when the pattern has `*`, `?` or `[`) or else a substring.

    Globs match the full path, or the basename when the pattern has no `/`,
    case-sensitively like a shell. Substrings are "smart case": case-blind
    unless the pattern has an uppercase letter.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.is_glob = any(c in _GLOB_CHARS for c in pattern)
        if self.is_glob:
            self._glob = pattern.strip("/")
            self._basename = "/" not in self._glob
        else:
            self._fold = pattern == pattern.lower()
            self._needle = pattern.lower() if self._fold else pattern

    def __call__(self, path: str, name: str) -> bool:
        if self.is_glob:
            if self._basename and fnmatchcase(name, self._glob):
                return True
            return fnmatchcase(path, self._glob)
        return self._needle in (path.lower() if self._fold else path)


@dataclass(frozen=True, slots=True)
class Filter:
    """What to show: paths matching `pattern` (None = all) whose change marker
    is in `markers` (None = any). Directories holding a match stay visible,
    and everything under a directory the pattern matches is shown."""

    pattern: str | None = None
    markers: frozenset[Change] | None = None

    @classmethod
    def of(cls, pattern: str | None = None, markers: Iterable[Change | str] | None = None) -> Filter:
        marks = None if markers is None else frozenset(Change(m) for m in markers)
        return cls(pattern or None, marks)

    @property
    def active(self) -> bool:
        return self.pattern is not None or self.markers is not None

    def visible(self, view: TreeView, *, removals: bool = False) -> set[int]:
        """ids of the nodes to show: the matches and every directory above them."""
        match = PathMatcher(self.pattern) if self.pattern else None
        markers = self.markers
        shown: set[int] = set()
        matched_dirs: set[int] = set()  # directories the pattern itself matched
        for node in view.walk(removals=removals):
            parent = node.parent
            ok = match is None or (parent is not None and id(parent) in matched_dirs) or match(node.path, node.name)
            if ok and node.kids is not None and match is not None:
                matched_dirs.add(id(node))
            if ok and (markers is None or node.change in markers):
                shown.add(id(node))
                p = node.parent
                while p is not None and id(p) not in shown and p is not view.root:
                    shown.add(id(p))
                    p = p.parent
        return shown


class FilteredView:
    """A tree view that shows only what a filter lets through; same reading API."""

    def __init__(self, view: TreeView, flt: Filter, *, removals: bool = False) -> None:
        self.view = view
        self.filter = flt
        self._shown = flt.visible(view, removals=removals)

    def __getattr__(self, name: str):
        return getattr(self.view, name)

    def get(self, path: str) -> Node | None:
        node = self.view.get(path)
        if node is None or (node is not self.view.root and id(node) not in self._shown):
            return None
        return node

    def children(self, path: str = "", *, removals: bool = False) -> list[Node]:
        return [n for n in self.view.children(path, removals=removals) if id(n) in self._shown]

    def walk(self, path: str = "", *, removals: bool = False) -> Iterator[Node]:
        return walk(self, path, removals=removals)

    def __len__(self) -> int:
        return sum(1 for _ in self.walk())

    def shows(self, node: Node) -> bool:
        return id(node) in self._shown
