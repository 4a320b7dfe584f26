"""The merged image view (dive's "aggregated" view) up to a layer.

Layers are applied bottom up with the OCI image-spec rules: a layer's
whiteouts and opaque markers hide lower content only (so they are applied
before the layer's own entries), a directory over a directory updates its
attributes, anything else replaces the path and its subtree, and a hardlink
binds to the content its target had when the link was applied.

Names a runtime must clean are placed the way umoci and containerd place
them: clamped into the root ("../escape/evil" in "escape/evil", "/abs/file" in
"abs/file"), still flagged. Symlinks among a path's parents are followed
inside the root like filepath-securejoin does, but with Linux's limit of 40
links (ELOOP), a bound on the length of what they expand to, and a budget of
work per layer; an entry whose parents do not resolve within those bounds is
listed beside the tree under its own name, flagged LINK_LOOP, where a runtime
would have refused the whole layer.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..entry import EntryType
from ..gcpause import paused
from .node import FILE, FlaggedNode, Node, TreeView, carry, make_node, new_leaf
from .paths import WHITEOUT_PREFIX, classify, split
from .tree import LayerTree

HARDLINK = EntryType.HARDLINK.value
SYMLINK = EntryType.SYMLINK.value

MAX_LINK_HOPS = 40  # Linux's MAXSYMLINKS: one more is ELOOP
MAX_PATH_PARTS = 4096  # PATH_MAX is 4096 bytes, so no real path has more parts
WORK_PER_LAYER = 1_000_000  # path parts resolved per layer before giving up on the rest
LINK_LOOP = "too many levels of symbolic links"


class MergedTree(TreeView):
    """Same reading API as LayerTree; no whiteouts; each node's `layer_index`
    is the layer its entry (or, for directories, its attributes) came from.
    `flagged` lists entries that could not be placed (LINK_LOOP)."""

    def __init__(self) -> None:
        super().__init__()
        self.partial_layers: list[int] = []  # applied layers whose listing is partial or missing
        self.layers_applied = 0
        self._partial_trees: list[LayerTree | None] = []
        self._work = 0  # path parts resolved for the layer being applied
        self._link_parts: dict[str, list[str]] = {}  # link target -> its parts, reversed
        self._run: list = [None, 0, 0]  # [parent, files, bytes] of the leaves placed since the last carry

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
        with paused(len(tree)):
            try:
                self._apply(tree, index)
            finally:
                self._carry_run()

    def _apply(self, tree: LayerTree, index: int) -> None:
        self._work = 0
        lookup = self._lookup
        for dir_path in tree.opaque_dirs:
            holder = self.get(dir_path)
            if holder is None or holder.kids is None:
                real = self._resolve(dir_path)
                holder = self.get(real) if real is not None else None
            if holder is not None and holder.kids:
                for child in list(holder.kids.values()):
                    self._detach(child)
        for gone in tree.whiteouts:
            node = lookup(gone)
            if node is None:
                real = self._real(gone)
                node = lookup(real) if real is not None else None
            if node is not None:
                self._detach(node)
        links: list[Node] = []
        resolved: dict[str, str | None] = {}  # parent path -> where it lands, for this layer
        # Insertion order puts every directory before its contents, and is
        # cheaper than a sorted walk. Members with unsafe names come last, at
        # the place a runtime clamps them to.
        for src in tree.nodes():
            self._place(src, src.path, None, index, resolved, links)
        for src in tree.unsafe:
            place = classify(src.path)[0]
            if place is not None and not split(place)[1].startswith(WHITEOUT_PREFIX):
                self._place(src, place, src.unsafe, index, resolved, links)
        # Resolved after the layer's own entries so a link may name a file the
        # same layer adds later in sorted order (tar puts targets first).
        for node in links:
            link = node.link
            clean = classify(link)[0] if link else None
            target = lookup(clean) if clean else None
            if target is None and clean:
                real = self._real(clean)
                target = lookup(real) if real is not None else None
            if target is not None:
                node.target = target.target if target.kind == HARDLINK else target.entry

    def _place(
        self, src: Node, path: str, unsafe: str | None, index: int, resolved: dict[str, str | None], links: list[Node]
    ) -> None:
        parent_path, name = split(path)
        parent = self._nodes.get(parent_path) if parent_path else self.root
        if parent is None:
            # Extraction follows symlinks among the parents (inside the root),
            # so "lnk/x" over a lower "lnk -> usr" lands in "usr/x".
            real = self._resolve_cached(parent_path, resolved)
            if real is None:
                self._add_flagged(FlaggedNode.like(src, src.path, index, src.path, LINK_LOOP))
                return
            parent = self._ensure_dir(real, index)
        if parent.path != parent_path:
            path = f"{parent.path}/{name}" if parent.path else name  # else the source's own string, shared
        old = parent.kids.get(name)  # type: ignore[union-attr]
        if src.kids is not None:
            if old is not None and old.kids is not None:
                if src.has_entry:
                    old.take_entry(src)
                    old.layer_index = index
                return
            if not src.has_entry and old is not None and old.kind == SYMLINK:
                return  # only named as a parent: its children follow the link
        if old is not None:
            self._detach(old)
            resolved.clear()  # what it was may have been on a resolved path
        if src.kind == SYMLINK:
            resolved.clear()
        kind = src.kind
        if unsafe is None and src.kids is None:
            # A leaf, attached here: this runs once per entry of every layer, and
            # the totals of a run of siblings are carried up once (node.carry).
            leaf = new_leaf(path, kind, src._src, src._row, index)
            leaf.parent = parent
            parent.kids[name] = leaf  # type: ignore[index]
            parent._sorted = None
            self._count += 1
            run = self._run
            if run[0] is not parent:
                self._carry_run()
                run[0] = parent
            run[1] += 1
            if kind == FILE:
                run[2] += src.size
            if kind == HARDLINK:
                links.append(leaf)  # type: ignore[arg-type]
            return
        if unsafe is None:
            node = make_node(path, kind, src._src, src._row, index, name)
        else:
            node = FlaggedNode.like(src, path, index, name, unsafe)
        self._attach(parent, node, name)  # type: ignore[arg-type]
        if src.kind == HARDLINK:
            links.append(node)

    def _carry_run(self) -> None:
        run = self._run
        if run[0] is not None:
            carry(run[0], run[1], run[2])
        run[0], run[1], run[2] = None, 0, 0

    def _real(self, path: str) -> str | None:
        """path with symlinks among its parents followed (the last part is not);
        None when they do not resolve."""
        parent, name = split(path)
        if not parent:
            return path
        real_parent = self._resolve(parent)
        if real_parent is None:
            return None
        return f"{real_parent}/{name}" if real_parent else name

    def _resolve_cached(self, path: str, resolved: dict[str, str | None]) -> str | None:
        """_resolve with every ancestor's answer kept: resolving goes left to
        right, so "a/b/c" starts from where "a/b" landed, and nothing below a
        directory that did not resolve resolves either. Many entries share
        their directories, so each directory is resolved once per layer."""
        chain: list[str] = []
        known = path
        while known and known not in resolved:
            chain.append(known)
            known = split(known)[0]
        cur = resolved[known] if known else ""
        for prefix in reversed(chain):
            if cur is not None:
                cur = self._resolve(split(prefix)[1], cur)
            resolved[prefix] = cur
        return cur

    def _resolve(self, path: str, start: str = "") -> str | None:
        """Where path (relative to the resolved directory `start`) lands when
        every symlink in it is followed without leaving the root (".." stops at
        the root), like filepath-securejoin; None past MAX_LINK_HOPS links,
        MAX_PATH_PARTS parts, or the layer's work budget."""
        lookup = self._lookup
        todo = path.split("/")[::-1]
        cur = start  # kept as one string: a join per part would be quadratic
        depth = start.count("/") + 1 if start else 0
        hops = 0
        while todo:
            self._work += 1
            if self._work > WORK_PER_LAYER:
                return None
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if depth:
                    cur = cur.rpartition("/")[0]
                    depth -= 1
                continue
            candidate = f"{cur}/{part}" if cur else part
            node = lookup(candidate)
            link = node.link if node is not None and node.kind == SYMLINK else None
            if link:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    return None
                parts = self._link_parts.get(link)
                if parts is None:
                    parts = self._link_parts[link] = link.split("/")[::-1]
                if len(todo) + len(parts) > MAX_PATH_PARTS:
                    return None
                if link.startswith("/"):
                    cur, depth = "", 0
                todo.extend(parts)
                continue
            if depth >= MAX_PATH_PARTS:
                return None
            cur = candidate
            depth += 1
        return cur

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
