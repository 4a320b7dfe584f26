"""The merged image view (dive's "aggregated" view) up to a layer.

Layers are applied bottom up with the OCI image-spec rules: a layer's
whiteouts and opaque markers hide lower content only (so they are applied
before the layer's own entries), a directory over a directory updates its
attributes, anything else replaces the path and its subtree, and a hardlink
binds to the content its target had when the link was applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..entry import EntryType
from .node import Node, TreeView
from .paths import normalize, split
from .tree import LayerTree

HARDLINK = EntryType.HARDLINK.value
SYMLINK = EntryType.SYMLINK.value


class MergedTree(TreeView):
    """Same reading API as LayerTree; no whiteouts; each node's `layer_index`
    is the layer its entry (or, for directories, its attributes) came from."""

    def __init__(self) -> None:
        super().__init__()
        self.partial_layers: list[int] = []  # applied layers whose listing is partial or missing
        self.layers_applied = 0
        self._partial_trees: list[LayerTree | None] = []

    def apply(self, tree: LayerTree | None, index: int | None = None) -> None:
        """Put one more layer on top; None stands for a layer not listed yet."""
        if index is None:
            index = self.layers_applied
        self.layers_applied += 1
        if tree is None:
            self.partial_layers.append(index)
            self._partial_trees.append(None)
            return
        if not tree.complete:
            self.partial_layers.append(index)
            self._partial_trees.append(tree)
        nodes = self._nodes
        for dir_path in tree.opaque_dirs:
            holder = self.get(dir_path)
            if holder is None or holder.kids is None:
                holder = self.get(self._resolve(dir_path))
            if holder is not None and holder.kids:
                for child in list(holder.kids.values()):
                    self._detach(child)
        for gone in tree.whiteouts:
            node = nodes.get(gone) or nodes.get(self._real(gone))
            if node is not None:
                self._detach(node)
        links: list[Node] = []
        # Insertion order puts every directory before its contents, and is
        # cheaper than a sorted walk.
        for src in list(tree._nodes.values()):
            parent_path, name = split(src.path)
            parent = nodes.get(parent_path) if parent_path else self.root
            if parent is None or parent.kids is None:
                # Extraction follows symlinks among the parents (inside the root),
                # so "lnk/x" over a lower "lnk -> usr" lands in "usr/x".
                parent = self._ensure_dir(self._resolve(parent_path), index)
            path = f"{parent.path}/{name}" if parent.path else name
            old = parent.kids.get(name)  # type: ignore[union-attr]
            if src.kids is not None:
                if old is not None and old.kids is not None:
                    if src.entry is not None:
                        old.entry = src.entry
                        old.layer_index = index
                    continue
                if src.entry is None and old is not None and old.kind == SYMLINK:
                    continue  # only named as a parent: its children follow the link
            if old is not None:
                self._detach(old)
            node = Node(path, src.kind, src.entry, index, name)
            self._attach(parent, node)  # type: ignore[arg-type]
            if src.kind == HARDLINK:
                links.append(node)
        # Resolved after the layer's own entries so a link may name a file the
        # same layer adds later in sorted order (tar puts targets first).
        for node in links:
            link = node.entry.link if node.entry is not None else None
            clean = normalize(link) if link else None
            target = (nodes.get(clean) or nodes.get(self._real(clean))) if clean else None
            if target is not None:
                node.target = target.target if target.kind == HARDLINK else target.entry

    def _real(self, path: str) -> str:
        """path with symlinks among its parents followed (the last part is not)."""
        parent, name = split(path)
        if not parent:
            return path
        real_parent = self._resolve(parent)
        return f"{real_parent}/{name}" if real_parent else name

    def _resolve(self, path: str) -> str:
        """Where path lands when every symlink in it is followed without leaving
        the root (".." stops at the root), like filepath-securejoin."""
        nodes = self._nodes
        todo = path.split("/")[::-1]
        cur: list[str] = []
        hops = 0
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if cur:
                    cur.pop()
                continue
            candidate = "/".join(cur + [part])
            node = nodes.get(candidate)
            if node is not None and node.kind == SYMLINK and node.entry is not None and node.entry.link and hops < 255:
                hops += 1
                link = node.entry.link
                if link.startswith("/"):
                    cur = []
                todo.extend(link.split("/")[::-1])
                continue
            cur.append(part)
        return "/".join(cur)

    def may_be_incomplete(self, path: str = "") -> bool:
        """True when a partial or missing layer below could still change this directory."""
        for tree in self._partial_trees:
            if tree is None or tree.may_be_incomplete(path):
                return True
        return False

    @property
    def complete(self) -> bool:
        return not self.partial_layers


def merge(trees: Sequence[LayerTree | None], upto: int | None = None) -> MergedTree:
    """Merged view of layers 0..upto (inclusive; all when None). A None or
    missing tree is a layer without a listing and is reported as partial."""
    last = len(trees) - 1 if upto is None else upto
    merged = MergedTree()
    for index in range(last + 1):
        merged.apply(trees[index] if index < len(trees) else None, index)
    return merged
