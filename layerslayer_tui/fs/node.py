"""Tree nodes, change markers and the reading API every view shares.

This is the leaf of fs/: layer trees, merged views, filtered views, change
marking and export all import from here and nothing here imports them.

Nodes are plain slotted objects (no widgets, no Rich text) so 125k of them
stay small; directory totals are kept current on every insert and removal by
walking up the parent chain, which costs O(depth) per change.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Protocol

from ..entry import EntryType, TarEntry
from .paths import split


class Change(str, enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    UNMODIFIED = "unmodified"


DIR = EntryType.DIR.value
FILE = EntryType.FILE.value
WHITEOUT = "whiteout"
OPAQUE = "opaque"


class Node:
    __slots__ = (
        "name",
        "path",
        "kind",
        "entry",
        "parent",
        "kids",
        "total_files",
        "total_bytes",
        "change",
        "layer_index",
        "target",
        "_sorted",
    )

    def __init__(
        self,
        path: str,
        kind: str,
        entry: TarEntry | None,
        layer_index: int | None = None,
        name: str | None = None,
    ) -> None:
        self.path = path
        self.name = split(path)[1] if name is None else name
        self.kind = kind
        self.entry = entry
        self.parent: Node | None = None
        self.change: Change | None = None
        self.layer_index = layer_index
        # For merged hardlinks: the entry the link target had when the link was applied.
        self.target: TarEntry | None = None
        self._sorted: list[Node] | None = None
        # A leaf counts itself so removing any node subtracts the same pair it added.
        if kind == FILE:
            self.kids: dict[str, Node] | None = None
            self.total_files = 1
            self.total_bytes = entry.size if entry is not None else 0
        elif kind == DIR:
            self.kids = {}
            self.total_files = self.total_bytes = 0
        else:
            self.kids = None
            self.total_files = 0 if kind in (WHITEOUT, OPAQUE) else 1
            self.total_bytes = 0

    @property
    def is_dir(self) -> bool:
        return self.kids is not None

    @property
    def implied(self) -> bool:
        """A directory no entry declared, created because something lives under it."""
        return self.entry is None and self.kind == DIR

    @property
    def is_removal(self) -> bool:
        return self.kind in (WHITEOUT, OPAQUE)

    # Why this entry is flagged (see paths.ABSOLUTE...; None for ordinary
    # nodes); only FlaggedNode stores one, so ordinary nodes pay no slot.
    unsafe: str | None = None

    def __repr__(self) -> str:
        return f"Node({self.path!r}, {self.kind}, files={self.total_files}, bytes={self.total_bytes})"


class FlaggedNode(Node):
    """An entry shown with a warning: a name that is absolute or escapes the
    root (paths.ABSOLUTE, paths.ESCAPES...), or one the merged view could not
    place because a symlink on its way does not resolve (LINK_LOOP)."""

    __slots__ = ("unsafe",)

    def __init__(self, path: str, kind: str, entry: TarEntry | None, layer_index: int | None, name: str, unsafe: str) -> None:
        super().__init__(path, kind, entry, layer_index, name)
        self.unsafe = unsafe


class View(Protocol):
    """The reading API of every view (layer, merged, filtered)."""

    root: Node

    def get(self, path: str) -> Node | None: ...

    def children(self, path: str = "", *, removals: bool = False) -> list[Node]: ...

    def walk(self, path: str = "", *, removals: bool = False) -> Iterator[Node]: ...


def walk(view: View, path: str = "", *, removals: bool = False) -> Iterator[Node]:
    """Depth-first over any view's get()/children(), so a filtered view walks
    only what it shows (its children() leave the rest out)."""
    start = view.get(path)
    if start is None:
        return
    stack = [iter(view.children(start.path, removals=removals))]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node
        if node.kids is not None:
            stack.append(iter(view.children(node.path, removals=removals)))


def _sort_key(node: Node) -> tuple[bool, str]:
    return (node.kids is None, node.name)


class TreeView:
    """Reading API common to LayerTree and MergedTree."""

    def __init__(self) -> None:
        self.root = Node("", DIR, None, name="")
        self._nodes: dict[str, Node] = {}
        # Entries listed under the name they were stored with, beside the tree
        # (children of the root, never in `kids`): see FlaggedNode.
        self._flagged: dict[str, FlaggedNode] = {}

    # -- reading -----------------------------------------------------------

    def get(self, path: str) -> Node | None:
        if path in ("", "/", "."):
            return self.root
        # The tree's own node first: a merged entry flagged because its parent
        # does not resolve keeps its ordinary name, and must not hide the real
        # directory of that name. Flagged names that are not clean tree paths
        # (`../x`, `/abs`) are found next, before the stripped form.
        node = self._nodes.get(path)
        if node is not None:
            return node
        if self._flagged:
            flagged = self._flagged.get(path)
            if flagged is not None:
                return flagged
        return self._nodes.get(path.strip("/"))

    def children(self, path: str = "", *, removals: bool = False) -> list[Node]:
        """Children of a directory, directories first then by name ([] for non-dirs);
        flagged entries come last in the root."""
        node = self.get(path)
        if node is None or node.kids is None:
            return []
        if node._sorted is None:
            node._sorted = sorted(node.kids.values(), key=_sort_key)
        out = list(node._sorted)
        if node is self.root and self._flagged:
            out.extend(sorted(self._flagged.values(), key=lambda n: n.name))
        extra = self._removals_under(node.path) if removals else None
        if extra:
            out.extend(sorted(extra, key=lambda n: n.name))
        return out

    def nodes(self) -> Iterator[Node]:
        """Every node of the tree in insertion order (a directory before what
        it holds); removals and flagged entries are not included."""
        return iter(list(self._nodes.values()))

    @property
    def flagged(self) -> list[FlaggedNode]:
        """Entries listed beside the tree under their stored name, in listing order."""
        return list(self._flagged.values())

    def walk(self, path: str = "", *, removals: bool = False) -> Iterator[Node]:
        """Depth-first, parents before children, in children() order; excludes the start node."""
        return walk(self, path, removals=removals)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    @property
    def total_files(self) -> int:
        return self.root.total_files

    @property
    def total_bytes(self) -> int:
        return self.root.total_bytes

    def _removals_under(self, path: str) -> list[Node]:
        return []

    # -- building ----------------------------------------------------------

    def _attach(self, parent: Node, node: Node) -> None:
        node.parent = parent
        parent.kids[node.name] = node  # type: ignore[index]
        parent._sorted = None
        self._nodes[node.path] = node
        files, size = node.total_files, node.total_bytes
        if files or size:
            p: Node | None = parent
            while p is not None:
                p.total_files += files
                p.total_bytes += size
                p = p.parent

    def _detach(self, node: Node) -> None:
        """Remove node and its subtree."""
        parent = node.parent
        if parent is None:
            return
        del parent.kids[node.name]  # type: ignore[union-attr]
        parent._sorted = None
        nodes = self._nodes
        nodes.pop(node.path, None)
        if node.kids:
            stack = list(node.kids.values())
            while stack:
                n = stack.pop()
                nodes.pop(n.path, None)
                if n.kids:
                    stack.extend(n.kids.values())
        files, size = node.total_files, node.total_bytes
        p: Node | None = parent
        while p is not None:
            p.total_files -= files
            p.total_bytes -= size
            p = p.parent
        node.parent = None

    def _add_flagged(self, node: FlaggedNode) -> None:
        old = self._flagged.pop(node.path, None)
        delta_files, delta_bytes = node.total_files, node.total_bytes
        if old is not None:
            delta_files -= old.total_files
            delta_bytes -= old.total_bytes
        node.parent = self.root  # linked upwards only, like removals
        self._flagged[node.path] = node
        self.root.total_files += delta_files
        self.root.total_bytes += delta_bytes

    def _ensure_dir(self, path: str, layer_index: int | None) -> Node:
        """The directory at path, implying it (and its parents) when missing.
        Iterative: a hostile path may have thousands of parts."""
        nodes = self._nodes
        missing: list[str] = []
        parent: Node = self.root
        while path:
            node = nodes.get(path)
            if node is not None and node.kids is not None:
                parent = node
                break
            missing.append(path)
            path = split(path)[0]
        for path in reversed(missing):
            node = nodes.get(path)
            if node is not None:
                # Something that is not a directory sits where a directory is needed:
                # extraction would replace it, so do the same.
                self._detach(node)
            node = Node(path, DIR, None, layer_index)
            self._attach(parent, node)
            parent = node
        return parent
