"""One layer's file tree, built incrementally from entry batches."""

from __future__ import annotations

from collections.abc import Iterable

from ..columns import KIND_OF, SPAN, SPAN_BITS, Entries, as_entries, spans
from ..entry import TarEntry
from ..gcpause import paused
from .node import DIR, FILE, HARDLINK, OPAQUE, WHITEOUT, FlaggedNode, Leaf, LinkLeaf, Node, TreeView, carry
from .paths import META_PREFIX, OPAQUE_MARKER, WHITEOUT_PREFIX, classify, quote


_MAX_NAMES = 1 << 20


class LayerTree(TreeView):
    """The files of one layer as the tar lists them.

    Whiteout markers never become ordinary nodes: `.wh.name` is recorded as a
    removal of `name` and `.wh..wh..opq` as the removal of the directory's
    lower contents (see `removals`). The caller says whether the listing is
    complete; a partial tree can tell which directories may still grow.

    A name that is absolute or holds ".." is listed under the name it was
    stored with, beside the tree (a FlaggedNode among the root's children,
    see `unsafe`), never dropped and never placed where the name points.
    """

    def __init__(self, index: int | None = None, *, complete: bool = False) -> None:
        super().__init__()
        self.index = index
        self.complete = complete
        self.last_path: str | None = None
        self.entries = 0  # entries accepted, whiteouts included
        self._whiteouts: dict[str, Node] = {}  # deleted path -> marker node
        self._opaque: dict[str, Node] = {}  # directory path -> marker node
        self._removals_by_dir: dict[str, list[Node]] = {}
        self._names: dict[str, str] = {}

    # -- building ----------------------------------------------------------

    def add(self, entries: Iterable[TarEntry]) -> None:
        """Add a batch of entries (an `Entries` is kept as it is and its rows
        are referenced by the nodes; anything else is copied into one)."""
        batch = as_entries(entries)
        if batch:
            with paused(len(batch)):
                self._add(batch)

    def _add(self, batch: Entries) -> None:
        nodes = self._nodes
        root = self.root
        index = self.index
        paths = batch.paths
        kinds = KIND_OF
        types = batch.column("type")
        sizes = batch.column("size")
        names = self._names
        span_of = spans(batch, index)  # nodes keep (span, row in span): small ints, shared (columns.RowSpan)
        # A tar lists a directory's files together: their totals are summed
        # here and carried up the parent chain once per run of siblings.
        run_parent: Node | None = None
        run_files = run_bytes = 0
        accepted = count = 0
        last_path = self.last_path
        try:
            for row in range(len(batch)):
                path = paths[row]
                # Most names are already clean; only suspicious ones pay for classify().
                if not path or path[0] == "/" or path[-1] == "/" or "//" in path or "/." in path or path[0] == "." \
                        or "\x00" in path:
                    place, unsafe = classify(path)
                    if unsafe is not None:
                        accepted += 1
                        self._add_flagged(FlaggedNode(path, kinds[types[row]], None, index, path, unsafe, src=batch,
                                                      row=row))
                        continue
                    if place is None:
                        continue  # the archive root ("./"): not a file of the layer
                    path = place
                accepted += 1
                last_path = path
                parent_path, _, name = path.rpartition("/")
                if name[:4] == WHITEOUT_PREFIX:
                    self._add_removal(batch, row, path, parent_path, name)
                    continue
                kind = kinds[types[row]]
                parent = nodes.get(parent_path) if parent_path else root
                if parent is None:
                    parent = self._ensure_dir(parent_path, index)
                kids = parent.kids
                old = kids.get(name)  # type: ignore[union-attr]
                if old is not None:
                    if kind == DIR and old.kids is not None:
                        # A directory listed twice (or after its children): keep the
                        # children, take the declared attributes.
                        old._src, old._row = span_of[row >> SPAN_BITS], row & (SPAN - 1)
                        continue
                    self._detach(old)
                # One str per distinct name: real trees repeat names a lot
                # (index.js, package.json, __init__.py), and each kids key is kept.
                name = names.setdefault(name, name) if len(names) < _MAX_NAMES else name
                span, r = span_of[row >> SPAN_BITS], row & (SPAN - 1)
                if kind == DIR:
                    node_dir = Node(path, DIR, None, index, name, src=span, row=r)  # type: ignore[arg-type]
                    self._attach(parent, node_dir, name)
                    continue
                # A leaf, attached here rather than by _attach: this loop runs once
                # per entry, and a leaf's totals are known without asking it.
                node = Leaf(path, kind, span, r) if kind != HARDLINK else LinkLeaf(path, kind, span, r, index)
                node.parent = parent
                kids[name] = node  # type: ignore[index]
                parent._sorted = None
                count += 1
                if parent is not run_parent:
                    if run_parent is not None:
                        carry(run_parent, run_files, run_bytes)
                    run_parent, run_files, run_bytes = parent, 0, 0
                run_files += 1
                if kind == FILE:
                    run_bytes += sizes[row]
        finally:
            if run_parent is not None:
                carry(run_parent, run_files, run_bytes)
            self.entries += accepted
            self._count += count
            self.last_path = last_path

    def _add_removal(self, batch: Entries, row: int, path: str, parent_path: str, name: str) -> None:
        if name == OPAQUE_MARKER:
            target, kind, holder = parent_path, OPAQUE, parent_path
            registry = self._opaque
        elif name.startswith(META_PREFIX):
            return
        else:
            target = f"{parent_path}/{name[len(WHITEOUT_PREFIX):]}" if parent_path else name[len(WHITEOUT_PREFIX):]
            kind, holder = WHITEOUT, parent_path
            registry = self._whiteouts
        # The marker lives in its directory, so that directory exists in this layer.
        holder_node = self._ensure_dir(parent_path, self.index)
        node = Node(target, kind, None, self.index, name=OPAQUE_MARKER if kind == OPAQUE else None, src=batch, row=row)
        # Linked upwards only (never in `kids`): filters can find its directory.
        node.parent = holder_node
        old = registry.get(target)
        bucket = self._removals_by_dir.setdefault(holder, [])
        if old is not None:
            bucket.remove(old)
        registry[target] = node
        bucket.append(node)

    # -- reading -----------------------------------------------------------

    @property
    def unsafe(self) -> list[FlaggedNode]:
        """Members whose stored name is absolute or holds "..", in listing order
        (`unsafe` says why; a merged view places them where a runtime would)."""
        return self.flagged

    def unsafe_note(self, first: int = 3) -> str | None:
        """The warning to show once a listing holds unsafe names (None when none
        does): the count and the first names, escaped for a terminal."""
        flagged = self.unsafe
        if not flagged:
            return None
        names = ", ".join(quote(n.path) for n in flagged[:first]) + (", …" if len(flagged) > first else "")
        layer = "This layer" if self.index is None else f"Layer {self.index}"
        count = "1 member whose name is" if len(flagged) == 1 else f"{len(flagged)} members whose names are"
        return (
            f"{layer} holds {count} absolute or outside the root ({names}); they are listed flagged "
            "under their stored names and the merged view places them inside the root, as umoci does."
        )

    @property
    def skipped(self) -> int:
        """How many members have an unsafe name (kept for older callers)."""
        return len(self._flagged)

    @property
    def removals(self) -> list[Node]:
        """Whiteouts (kind "whiteout", path = what they delete) and opaque markers
        (kind "opaque", path = the directory whose lower contents they hide)."""
        return list(self._whiteouts.values()) + list(self._opaque.values())

    @property
    def whiteouts(self) -> dict[str, Node]:
        return self._whiteouts

    @property
    def opaque_dirs(self) -> dict[str, Node]:
        return self._opaque

    def _removals_under(self, path: str) -> list[Node]:
        return self._removals_by_dir.get(path, [])

    def may_be_incomplete(self, path: str = "") -> bool:
        """Whether more entries may still arrive under this directory.

        A tar stream lists a directory's contents together, so in a partial
        listing only the directories on the path of the last entry seen can
        still grow; every other directory is finished.
        """
        if self.complete:
            return False
        path = path.strip("/")
        if not path:
            return True
        last = self.last_path
        if last is None:
            return True
        return last == path or last.startswith(path + "/")
