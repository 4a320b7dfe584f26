"""Tree nodes, change markers and the reading API every view shares.

This is the leaf of fs/: layer trees, merged views, filtered views, change
marking and export all import from here and nothing here imports them.

Nodes are plain slotted objects (no widgets, no Rich text) so 125k of them
stay small; directory totals are kept current on every insert and removal by
walking up the parent chain, which costs O(depth) per change.
"""

from __future__ import annotations

import enum
from abc import ABCMeta
from collections.abc import Callable, Iterator
from typing import Protocol

from typing import TYPE_CHECKING

from ..entry import EntryType, TarEntry
from .paths import split

if TYPE_CHECKING:
    from ..columns import Entries, RowSpan


class Change(str, enum.Enum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
    UNMODIFIED = "unmodified"


DIR = EntryType.DIR.value
FILE = EntryType.FILE.value
HARDLINK = EntryType.HARDLINK.value
WHITEOUT = "whiteout"
OPAQUE = "opaque"


def _row_entry(src: Entries | TarEntry | None, row: int) -> TarEntry | None:
    return src.entry(row) if row >= 0 else src  # type: ignore[union-attr,return-value]


def _row_fields(src: Entries | TarEntry | None, row: int) -> tuple | None:
    if row >= 0:
        return src.fields(row)  # type: ignore[union-attr]
    if src is None:
        return None
    e: TarEntry = src  # type: ignore[assignment]
    return (e.size, e.mode, e.uid, e.gid, e.uname, e.gname, e.mtime, e.link)


def _row_attrs(src: Entries | TarEntry | None, row: int) -> tuple | None:
    if row >= 0:
        return src.attrs(row)  # type: ignore[union-attr]
    if src is None:
        return None
    e: TarEntry = src  # type: ignore[assignment]
    return (e.size, e.mode, e.uid, e.gid, e.mtime, e.link)


class Node(metaclass=ABCMeta):
    """A directory, a removal marker or a flagged entry (everything but the
    plain leaves, which are `Leaf`s: a million of them is common, so they
    carry fewer slots).

    The entry is kept as a row of the layer's `Entries` (`_src`, `_row`) and
    made into a TarEntry when asked for; `_row` is -1 when `_src` is a
    TarEntry itself (or None: an implied directory)."""

    __slots__ = (
        "name",
        "path",
        "kind",
        "_src",
        "_row",
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
        *,
        src: Entries | None = None,
        row: int = -1,
    ) -> None:
        self.path = path
        self.name = split(path)[1] if name is None else name
        self.kind = kind
        if src is not None:
            self._src, self._row = src, row
        else:
            self._src, self._row = entry, -1
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
            self.total_bytes = self.size
        elif kind == DIR:
            self.kids = {}
            self.total_files = self.total_bytes = 0
        else:
            self.kids = None
            self.total_files = 0 if kind in (WHITEOUT, OPAQUE) else 1
            self.total_bytes = 0

    @property
    def entry(self) -> TarEntry | None:
        """The tar entry behind the node (a new object each time for a row of
        a listing: changing it changes nothing); None for implied directories."""
        return _row_entry(self._src, self._row)

    @entry.setter
    def entry(self, entry: TarEntry | None) -> None:
        self._src, self._row = entry, -1

    def take_entry(self, other: Node | Leaf) -> None:
        """Use other's entry (the same row, no copy)."""
        self._src, self._row = other._src, other._row

    @property
    def has_entry(self) -> bool:
        return self._src is not None

    @property
    def source_row(self) -> tuple[Entries, int] | None:
        """(the listing's Entries, row) behind the node, for readers of many
        rows that index the columns themselves; None without a listing row."""
        if self._row < 0:
            return None
        src = self._src
        return src.whole, src.base + self._row  # type: ignore[union-attr]

    @property
    def size(self) -> int:
        """The entry's size field (0 without an entry)."""
        src, row = self._src, self._row
        if row >= 0:
            return src.size_of(row)  # type: ignore[union-attr]
        return src.size if src is not None else 0  # type: ignore[union-attr]

    @property
    def link(self) -> str | None:
        src, row = self._src, self._row
        if row >= 0:
            return src.link_of(row)  # type: ignore[union-attr]
        return src.link if src is not None else None  # type: ignore[union-attr]

    def attrs(self) -> tuple | None:
        """(size, mode, uid, gid, mtime, link) of the entry, None without one."""
        return _row_attrs(self._src, self._row)

    def fields(self) -> tuple | None:
        """(size, mode, uid, gid, uname, gname, mtime, link) of the entry, None without one."""
        return _row_fields(self._src, self._row)

    @property
    def is_dir(self) -> bool:
        return self.kids is not None

    @property
    def implied(self) -> bool:
        """A directory no entry declared, created because something lives under it."""
        return self._src is None and self.kind == DIR

    @property
    def is_removal(self) -> bool:
        return self.kind in (WHITEOUT, OPAQUE)

    # Why this entry is flagged (see paths.ABSOLUTE...; None for ordinary
    # nodes); only FlaggedNode stores one, so ordinary nodes pay no slot.
    unsafe: str | None = None

    def __repr__(self) -> str:
        return f"Node({self.path!r}, {self.kind}, files={self.total_files}, bytes={self.total_bytes})"


class Leaf:
    """A plain file, symlink, hardlink, device or fifo in a tree: the same
    reading API as Node with six slots instead of thirteen (its name is the
    last part of its path, its totals follow from its kind and size, its
    layer is its RowSpan's; `PlacedLeaf` keeps its own layer)."""

    __slots__ = ("path", "kind", "_src", "_row", "parent", "change")

    kids = None
    _sorted = None
    target: TarEntry | None = None
    unsafe: str | None = None
    is_dir = False
    implied = False
    is_removal = False

    def __init__(self, path: str, kind: str, src: RowSpan | Entries, row: int) -> None:
        self.path = path
        self.kind = kind
        self._src = src
        self._row = row
        self.parent: Node | None = None
        self.change: Change | None = None

    entry = Node.entry
    take_entry = Node.take_entry
    has_entry = Node.has_entry
    source_row = Node.source_row
    size = Node.size
    link = Node.link
    attrs = Node.attrs
    fields = Node.fields

    @property
    def layer_index(self) -> int | None:
        return self._src.layer  # type: ignore[union-attr]

    @property
    def name(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def total_files(self) -> int:
        return 1

    @property
    def total_bytes(self) -> int:
        return self.size if self.kind == FILE else 0

    def __repr__(self) -> str:
        return f"Leaf({self.path!r}, {self.kind})"


class PlacedLeaf(Leaf):
    """A leaf whose layer is not its rows' (or whose rows have none)."""

    __slots__ = ("layer_index",)

    def __init__(self, path: str, kind: str, src: RowSpan | Entries | TarEntry | None, row: int,
                 layer_index: int | None) -> None:
        super().__init__(path, kind, src, row)  # type: ignore[arg-type]
        self.layer_index = layer_index  # type: ignore[misc]


class LinkLeaf(PlacedLeaf):
    """A merged hardlink: remembers the entry its target had when it was applied."""

    __slots__ = ("target",)

    def __init__(self, path: str, kind: str, src: RowSpan | Entries | TarEntry | None, row: int,
                 layer_index: int | None) -> None:
        super().__init__(path, kind, src, row, layer_index)
        self.target = None


def new_leaf(path: str, kind: str, src: RowSpan | Entries | TarEntry | None, row: int,
             layer_index: int | None) -> Leaf:
    """The leaf for an entry placed in layer `layer_index`: a plain Leaf when
    its rows say that layer, else one that keeps it."""
    if kind == HARDLINK:
        return LinkLeaf(path, kind, src, row, layer_index)
    if row >= 0 and getattr(src, "layer", _NOT_A_LAYER) == layer_index:
        return Leaf(path, kind, src, row)  # type: ignore[arg-type]
    return PlacedLeaf(path, kind, src, row, layer_index)


_NOT_A_LAYER = object()


# A Leaf reads like a Node (isinstance(leaf, Node) holds), without Node's slots.
Node.register(Leaf)


def make_node(path: str, kind: str, src: Entries | TarEntry | None, row: int, layer_index: int | None,
              name: str | None = None) -> Node | Leaf:
    """The node for one placed entry: a Leaf unless it is a directory."""
    if kind == DIR:
        if row >= 0:
            return Node(path, kind, None, layer_index, name, src=src, row=row)  # type: ignore[arg-type]
        return Node(path, kind, src, layer_index, name)  # type: ignore[arg-type]
    return new_leaf(path, kind, src, row, layer_index)


class FlaggedNode(Node):
    """An entry shown with a warning: a name that is absolute or escapes the
    root (paths.ABSOLUTE, paths.ESCAPES...), or one the merged view could not
    place because a symlink on its way does not resolve (LINK_LOOP)."""

    __slots__ = ("unsafe",)

    def __init__(self, path: str, kind: str, entry: TarEntry | None, layer_index: int | None, name: str, unsafe: str,
                 *, src: Entries | None = None, row: int = -1) -> None:
        super().__init__(path, kind, entry, layer_index, name, src=src, row=row)
        self.unsafe = unsafe

    @classmethod
    def like(cls, node: Node | Leaf, path: str, layer_index: int | None, name: str, unsafe: str) -> FlaggedNode:
        """A flagged node holding node's entry (the same row, no copy)."""
        flagged = cls(path, node.kind, None, layer_index, name, unsafe)
        flagged.take_entry(node)
        if flagged.kind == FILE:
            flagged.total_bytes = flagged.size
        return flagged


class View(Protocol):
    """The reading API of every view (layer, merged, filtered)."""

    root: Node

    def get(self, path: str) -> Node | None: ...

    def children(self, path: str = "", *, removals: bool = False) -> list[Node]: ...

    def walk(self, path: str = "", *, removals: bool = False) -> Iterator[Node]: ...


def walk(view: View, path: str = "", *, removals: bool = False,
         order: Callable[[Node], list[Node]] | None = None) -> Iterator[Node]:
    """Depth-first over any view's get()/children(), so a filtered view walks
    only what it shows (its children() leave the rest out). `order`: a node's
    children in hand, for a view that has them cheaper than by path."""
    start = view.get(path)
    if start is None:
        return
    if order is None:
        def order(node: Node) -> list[Node]:
            return view.children(node.path, removals=removals)
    stack = [iter(order(start))]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            continue
        yield node
        if node.kids is not None:
            stack.append(iter(order(node)))


def _item_key(item: tuple[str, Node | Leaf]) -> tuple[bool, str]:
    return (item[1].kids is None, item[0])


def _sorted_kids(node: Node) -> list[Node]:
    """A directory's children, directories first, then by name (the kids'
    keys are their names: no name is made to sort them)."""
    return [n for _, n in sorted(node.kids.items(), key=_item_key)]  # type: ignore[union-attr]


def carry(node: Node, files: int, size: int) -> None:
    """Add files and bytes to node and every directory above it. Builders sum
    a run of siblings and carry it once (a tar lists a directory's files
    together). A directory detached meanwhile only drops what it gets: the
    totals it was detached with never held these, so nothing above loses them."""
    p: Node | None = node
    while p is not None:
        p.total_files += files
        p.total_bytes += size
        p = p.parent


class TreeView:
    """Reading API common to LayerTree and MergedTree.

    Directories are indexed by path; leaves are found in their directory's
    `kids` (an index of every path would cost about 50 bytes a node)."""

    def __init__(self) -> None:
        self.root = Node("", DIR, None, name="")
        self._nodes: dict[str, Node] = {}  # directories only
        self._count = 0  # nodes in the tree (root, removals and flagged entries not counted)
        # Entries listed under the name they were stored with, beside the tree
        # (children of the root, never in `kids`): see FlaggedNode.
        self._flagged: dict[str, FlaggedNode] = {}

    # -- reading -----------------------------------------------------------

    def _lookup(self, path: str) -> Node | Leaf | None:
        """The tree's node at a clean path (no flagged entries)."""
        node = self._nodes.get(path)
        if node is not None:
            return node
        parent_path, _, name = path.rpartition("/")
        parent = self._nodes.get(parent_path) if parent_path else self.root
        if parent is None or parent.kids is None:
            return None
        return parent.kids.get(name)

    def get(self, path: str) -> Node | None:
        if path in ("", "/", "."):
            return self.root
        # The tree's own node first: a merged entry flagged because its parent
        # does not resolve keeps its ordinary name, and must not hide the real
        # directory of that name. Flagged names that are not clean tree paths
        # (`../x`, `/abs`) are found next, before the stripped form.
        node = self._lookup(path)
        if node is not None:
            return node  # type: ignore[return-value]
        if self._flagged:
            flagged = self._flagged.get(path)
            if flagged is not None:
                return flagged
        stripped = path.strip("/")
        return self._lookup(stripped) if stripped and stripped != path else None  # type: ignore[return-value]

    def children(self, path: str = "", *, removals: bool = False) -> list[Node]:
        """Children of a directory, directories first then by name ([] for non-dirs);
        flagged entries come last in the root."""
        node = self.get(path)
        if node is None or node.kids is None:
            return []
        if node._sorted is None:
            node._sorted = _sorted_kids(node)  # kept: the screen asks for a directory again and again
        return list(self._in_order(node, removals))

    def nodes(self) -> Iterator[Node]:
        """Every node of the tree, each directory before what it holds (a
        directory's leaves right after it, in the order they were added);
        removals and flagged entries are not included."""
        dirs = [self.root, *self._nodes.values()]
        for d in dirs:
            if d is not self.root:
                yield d
            kids = d.kids
            if kids:
                for kid in list(kids.values()):
                    if kid.kids is None:
                        yield kid

    @property
    def flagged(self) -> list[FlaggedNode]:
        """Entries listed beside the tree under their stored name, in listing order."""
        return list(self._flagged.values())

    def walk(self, path: str = "", *, removals: bool = False) -> Iterator[Node]:
        """Depth-first, parents before children, in children() order; excludes the start node.
        A directory's order is not kept for later (children() keeps it): a
        walk sees each directory once, and an export of a million entries
        would otherwise leave a sorted list behind in every directory."""
        return walk(self, path, removals=removals, order=lambda node: self._in_order(node, removals))

    def _in_order(self, node: Node, removals: bool) -> list[Node]:
        """children(node.path) for a node in hand (not to be changed: it may be the kept list)."""
        if node.kids is None:
            return []
        out = node._sorted if node._sorted is not None else _sorted_kids(node)
        if node is self.root and self._flagged:
            out = out + sorted(self._flagged.values(), key=lambda n: n.name)
        extra = self._removals_under(node.path) if removals else None
        if extra:
            out = out + sorted(extra, key=lambda n: n.name)
        return out

    def __len__(self) -> int:
        return self._count

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

    def _attach(self, parent: Node, node: Node | Leaf, name: str | None = None) -> None:
        """Put node under parent as `name` (its name unless given: callers
        that have the name pass it, so a leaf does not make it again)."""
        node.parent = parent
        parent.kids[node.name if name is None else name] = node  # type: ignore[index]
        parent._sorted = None
        self._count += 1
        if node.kids is not None:
            self._nodes[node.path] = node  # type: ignore[assignment]
        files, size = node.total_files, node.total_bytes
        if files or size:
            p: Node | None = parent
            while p is not None:
                p.total_files += files
                p.total_bytes += size
                p = p.parent

    def _detach(self, node: Node | Leaf) -> None:
        """Remove node and its subtree."""
        parent = node.parent
        if parent is None:
            return
        del parent.kids[node.name]  # type: ignore[union-attr]
        parent._sorted = None
        self._count -= 1
        if node.kids is not None:
            nodes = self._nodes
            nodes.pop(node.path, None)
            stack = list(node.kids.values())
            while stack:
                n = stack.pop()
                self._count -= 1
                if n.kids is not None:
                    nodes.pop(n.path, None)
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
            if node is not None:
                parent = node
                break
            missing.append(path)
            path = split(path)[0]
        for path in reversed(missing):
            node = self._lookup(path)
            if node is not None:
                # Something that is not a directory sits where a directory is needed:
                # extraction would replace it, so do the same.
                self._detach(node)
            node = Node(path, DIR, None, layer_index)
            self._attach(parent, node)
            parent = node
        return parent
