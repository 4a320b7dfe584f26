"""Path patterns and the view filter shared by the TUI, search and export."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fnmatch import translate
from operator import attrgetter

from .node import Change, Node, TreeView, walk

_GLOB_CHARS = frozenset("*?[")
_FILES, _BYTES = attrgetter("total_files"), attrgetter("total_bytes")
CHECK_EVERY = 8192  # nodes walked between two looks at a filter's `cancelled`


class Cancelled(Exception):
    """A filter was cancelled before it finished (a newer one replaced it)."""


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
            # what fnmatchcase does, compiled once rather than looked up per call
            self._match = re.compile(translate(self._glob)).match
        else:
            self._fold = pattern == pattern.lower()
            self._needle = pattern.lower() if self._fold else pattern

    def __call__(self, path: str, name: str) -> bool:
        if self.is_glob:
            if self._basename and self._match(name) is not None:
                return True
            return self._match(path) is not None
        return self._needle in (path.lower() if self._fold else path)

    def select(self, nodes: list[Node]) -> list[Node]:
        """The nodes whose path matches, in order: one comprehension per
        directory's files rather than a call per node (the filter's hot loop)."""
        if self.is_glob:
            match = self._match
            if self._basename:
                return [n for n in nodes if match(n.name) is not None or match(n.path) is not None]
            return [n for n in nodes if match(n.path) is not None]
        needle = self._needle
        if self._fold:
            return [n for n in nodes if needle in n.path.lower()]
        return [n for n in nodes if needle in n.path]

    def required(self) -> tuple[str, bool]:
        """A substring every matching path holds, and whether it is held by
        the lowercased path rather than the path: what an index can look for
        before asking this matcher. ("", False) when nothing is required."""
        if not self.is_glob:
            return self._needle, self._fold
        return max(_glob_literals(self._glob), key=len, default=""), False


def _glob_literals(glob: str) -> list[str]:
    """The runs of plain characters in a glob, outside `*`, `?` and `[...]`
    (read as fnmatch reads them: `[!` negates, a `]` right after `[` or `[!`
    is a member, and a `[` with no closing `]` is a plain character, which
    ends a run here all the same: dropping a character only widens the net)."""
    runs, run, i = [], [], 0
    while i < len(glob):
        c = glob[i]
        i += 1
        if c not in _GLOB_CHARS:
            run.append(c)
            continue
        runs.append("".join(run))
        run = []
        if c == "[":
            j = i
            if j < len(glob) and glob[j] == "!":
                j += 1
            if j < len(glob) and glob[j] == "]":
                j += 1
            close = glob.find("]", j)
            if close >= 0:
                i = close + 1
    runs.append("".join(run))
    return [r for r in runs if r]


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
        return self.apply(view, removals=removals).shown

    def apply(self, view: TreeView, *, removals: bool = False,
              cancelled: Callable[[], bool] | None = None) -> FilterResult:
        """What the filter keeps, in one walk of the view: the nodes to show,
        the nodes it matched itself, and per directory the files and bytes it
        keeps (so a label can say "1 of 111,368 files"). `cancelled` is asked
        every CHECK_EVERY nodes; when it says True, raises Cancelled."""
        match = PathMatcher(self.pattern) if self.pattern else None
        markers = self.markers
        if match is not None and markers is None:
            return _by_directory(view, match, removals, cancelled)
        shown: set[int] = set()
        matched_dirs: set[int] = set()  # directories the pattern itself matched
        matches: list[Node] = []
        # directory id -> [children shown, files kept right in it, bytes kept right in it]
        stats: dict[int, list[int]] = {}
        dirs: list[Node] = []  # every directory walked, parents before children
        root = view.root
        # bound once: this loop runs for every node of a 125k-entry layer
        shown_add, stats_get, keep_match, keep_dir = shown.add, stats.get, matches.append, dirs.append
        walked = view.walk(removals=removals)
        if cancelled is not None:
            walked = _checked(walked, cancelled)
        for node in walked:
            parent = node.parent
            pid = id(parent)
            inherited = pid in matched_dirs
            ok = match is None or inherited or match(node.path, node.name)
            leaf = node.kids is None
            if not leaf:
                keep_dir(node)
                if ok and match is not None:
                    matched_dirs.add(id(node))
            if not ok or (markers is not None and node.change not in markers):
                continue
            if not inherited:
                keep_match(node)
            shown_add(id(node))
            acc = stats_get(pid)
            if acc is None:
                acc = stats[pid] = [0, 0, 0]
            acc[0] += 1
            if leaf:
                acc[1] += node.total_files
                acc[2] += node.total_bytes
            # every directory above it not shown yet (walked parents first, so
            # usually none: the loop stops at once)
            while parent is not root and parent is not None and id(parent) not in shown:
                shown_add(id(parent))
                parent = parent.parent
                up = stats_get(id(parent))
                if up is None:
                    up = stats[id(parent)] = [0, 0, 0]
                up[0] += 1
        return _totals(root, shown, matches, stats, dirs)


def _by_directory(view: TreeView, match: PathMatcher, removals: bool,
                  cancelled: Callable[[], bool] | None) -> FilterResult:
    """Filter.apply for a pattern alone (no markers), a directory at a time:
    the files of a directory are matched in one comprehension, and those that
    do not match cost nothing more. Same result as the walk per node; the
    matches come in walk order (a directory's subdirectories and what they
    hold before its files, as children() lists them)."""
    shown: set[int] = set()
    matched_dirs: set[int] = set()  # directories the pattern matched, or under one that did
    matches: list[Node] = []
    stats: dict[int, list[int]] = {}  # directory id -> [children shown, files kept in it, bytes kept in it]
    dirs: list[Node] = []
    root = view.root
    shown_add = shown.add

    def show_above(parent: Node | None) -> None:
        # every directory above a node just shown that is not shown yet
        while parent is not root and parent is not None and id(parent) not in shown:
            shown_add(id(parent))
            parent = parent.parent
            up = stats.get(id(parent))
            if up is None:
                up = stats[id(parent)] = [0, 0, 0]
            up[0] += 1

    def acc(node: Node) -> list[int]:
        got = stats.get(id(node))
        if got is None:
            got = stats[id(node)] = [0, 0, 0]
        return got

    # A task is (a directory to visit, then open) or (None, a directory, its files).
    tasks: list[tuple[Node | None, Node, list[Node]]] = []

    def open_dir(directory: Node) -> None:
        kids = view.children(directory.path, removals=removals)
        subdirs = [n for n in kids if n.kids is not None]
        if kids[: len(subdirs)] == subdirs:
            # children() lists directories first: its files come after their subtrees
            tasks.append((None, directory, kids[len(subdirs):]))
            tasks.extend((d, d, []) for d in reversed(subdirs))
            return
        # files before a directory (flagged names at the root): in runs, in order
        seq: list[tuple[Node | None, Node, list[Node]]] = []
        for n in kids:
            if n.kids is not None:
                seq.append((n, n, []))
            elif seq and seq[-1][0] is None:
                seq[-1][2].append(n)
            else:
                seq.append((None, directory, [n]))
        tasks.extend(reversed(seq))

    open_dir(root)
    budget = CHECK_EVERY
    while tasks:
        visit, directory, files = tasks.pop()
        if budget <= 0:
            budget = CHECK_EVERY
            if cancelled is not None and cancelled():
                raise Cancelled
        if visit is None:
            budget -= len(files)
            if not files:
                continue
            if id(directory) in matched_dirs:
                hits = files  # under a matched directory: all shown, none a match of its own
            else:
                hits = match.select(files)
                if not hits:
                    continue
                matches.extend(hits)
            shown.update(map(id, hits))
            a = acc(directory)
            a[0] += len(hits)
            a[1] += sum(map(_FILES, hits))
            a[2] += sum(map(_BYTES, hits))
            show_above(directory)
            continue
        budget -= 1
        parent = visit.parent
        inherited = id(parent) in matched_dirs
        dirs.append(visit)
        if inherited or match(visit.path, visit.name):
            matched_dirs.add(id(visit))
            if not inherited:
                matches.append(visit)
            shown_add(id(visit))
            acc(parent)[0] += 1
            show_above(parent)
        open_dir(visit)
    return _totals(root, shown, matches, stats, dirs)


def _totals(root: Node, shown: set[int], matches: list[Node], stats: dict[int, list[int]],
            dirs: list[Node]) -> FilterResult:
    """Children before parents: each directory's total goes up once (no walk per leaf)."""
    kept: dict[int, tuple[int, int]] = {}
    rows: dict[int, int] = {}
    for node in reversed(dirs):
        acc = stats.get(id(node))
        if acc is None:
            continue
        rows[id(node)] = acc[0]
        if acc[1] or acc[2]:
            kept[id(node)] = (acc[1], acc[2])
            up = stats.get(id(node.parent))
            if up is None:
                up = stats[id(node.parent)] = [0, 0, 0]
            up[1] += acc[1]
            up[2] += acc[2]
    acc = stats.get(id(root), [0, 0, 0])
    rows[id(root)] = acc[0]
    kept[id(root)] = (acc[1], acc[2])
    return FilterResult(shown, matches, kept, rows)


def _checked(nodes: Iterator[Node], cancelled: Callable[[], bool]) -> Iterator[Node]:
    """The nodes, with a look at `cancelled` every CHECK_EVERY of them."""
    while True:
        if cancelled():
            raise Cancelled
        n = 0
        for node in nodes:
            yield node
            n += 1
            if n == CHECK_EVERY:
                break
        else:
            return


@dataclass(slots=True)
class FilterResult:
    """What a filter keeps of one view (ids are those of the view's nodes)."""

    shown: set[int]  # the nodes to show: matches, what a matched directory holds, and directories above them
    matches: list[Node]  # the nodes the filter matched itself, in walk order (not what a matched directory holds)
    kept: dict[int, tuple[int, int]]  # directory id -> (files, bytes) kept below it; absent: none
    rows: dict[int, int]  # directory id -> how many of its children are shown

    def reveal(self, *, max_matches: int = 50, max_rows: int = 200) -> Reveal:
        """The directories to expand so that the first matches are in sight:
        as many as fit in `max_matches` matches and `max_rows` tree rows."""
        expanded: dict[int, Node] = {}  # insertion order: parents before children
        rows = 0
        in_sight = 0
        for node in self.matches:
            chain: list[Node] = []
            p = node.parent
            while p is not None and p.parent is not None and id(p) not in expanded:
                chain.append(p)
                p = p.parent
            if in_sight >= max_matches:
                break
            cost = sum(self.rows.get(id(d), 0) for d in chain)
            if rows + cost > max_rows:
                # open what fits on the way down to it, so the view still narrows toward the matches
                for d in reversed(chain):
                    rows += self.rows.get(id(d), 0)
                    if rows > max_rows:
                        break
                    expanded[id(d)] = d
                break
            rows += cost
            for d in reversed(chain):
                expanded[id(d)] = d
            in_sight += 1
        # matches further down whose directories happen to be expanded already are in sight too
        seen = sum(1 for n in self.matches if n.parent is None or n.parent.parent is None or id(n.parent) in expanded)
        return Reveal([d.path for d in expanded.values()], seen, len(self.matches) - seen)


@dataclass(frozen=True, slots=True)
class Reveal:
    expand: list[str]  # directory paths to expand, parents first
    in_sight: int  # matches shown once those are expanded
    collapsed: int  # matches left inside collapsed directories


class FilteredView:
    """A tree view that shows only what a filter lets through; same reading API."""

    def __init__(self, view: TreeView, flt: Filter, *, removals: bool = False,
                 result: FilterResult | None = None) -> None:
        """`result`: `flt.apply(view, removals=removals)` when it was computed already (off the UI thread)."""
        self.view = view
        self.filter = flt
        self.result = flt.apply(view, removals=removals) if result is None else result
        self._shown = self.result.shown

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

    def kept(self, node: Node) -> tuple[int, int]:
        """(files, bytes) the filter keeps under a directory (the node's own for a leaf)."""
        if node.kids is None:
            return (node.total_files, node.total_bytes) if id(node) in self._shown else (0, 0)
        return self.result.kept.get(id(node), (0, 0))
