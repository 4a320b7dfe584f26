"""The file tree pane: a Textual Tree over an fs view, built lazily.

Only the children of expanded directories exist as widgets' nodes, so a
125k-entry layer costs what is on screen. While a listing streams in,
`extend_dirs(dirs)` adds just the new entries of the directories that grew,
when they are shown, at their sorted place, and refreshes the labels of the
directories above them (their sizes grew).

Another thread may be adding to the view's tree: every read of it here holds
`guard` (the Workspace's lock; the app sets it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from layerslayer_tui.fs import Change, Node

from .. import keys, settings
from ..bars import BAR_STYLE, bar, percent
from ..text import join, size

ORDERS = ("name", "size")  # the tree's sort orders; "size": biggest first, directories by their totals

CHANGE_STYLE = {
    Change.ADDED: "green",
    Change.MODIFIED: "yellow",
    Change.REMOVED: "red",
    Change.UNMODIFIED: "",
}
_MORE = " …"  # after a directory name: more entries may still arrive under it


def dir_totals(node: Node, kept: tuple[int, int] | None = None) -> str:
    """"4.1 GiB in 111,368 files", or under a filter that keeps less of it,
    "12.0 KiB in 1 of 111,368 files" (the size is what the filter keeps)."""
    files = node.total_files
    if kept is None or kept == (files, node.total_bytes):
        return f"{size(node.total_bytes)} in {files:,} file{'' if files == 1 else 's'}"
    return f"{size(kept[1])} in {kept[0]:,} of {files:,} file{'' if files == 1 else 's'}"


def share_parts(share: tuple[int, int] | None, selected: bool) -> list[tuple[str, str] | str]:
    """The bar of a node's share of its directory ((bytes, directory's bytes)),
    with the percentage on the selected row."""
    if share is None:
        return []
    parts: list[tuple[str, str] | str] = ["  ", (bar(*share), BAR_STYLE)]
    if selected:
        parts.append((" " + percent(*share), "bold magenta"))
    return parts


def node_label(node: Node, *, may_grow: bool = False, kept: tuple[int, int] | None = None,
               share: tuple[int, int] | None = None, selected: bool = False) -> Text:
    """One line for a node: name, type marker, size, link target, change colour.
    `kept`: for a directory under a filter, the (files, bytes) the filter keeps;
    `share`: (bytes, the parent's bytes) for the bar after the size."""
    entry = node.entry
    if node.kind == "whiteout":
        return join((node.name, "red strike"), ("  removed", "red dim"))
    if node.kind == "opaque":
        return join((node.path.rsplit("/", 1)[-1] or "/", "red"), ("  lower contents hidden", "red dim"))
    style = CHANGE_STYLE.get(node.change, "") if node.change is not None else ""
    if node.is_dir:
        parts: list[tuple[str, str] | str] = [(node.name + "/", style or "bold")]
        parts.append(("  " + dir_totals(node, kept), "dim"))
        parts.extend(share_parts(share, selected))
        if may_grow:
            parts.append((_MORE, "italic dim"))
        return join(*parts)
    parts = [(node.name, style)]
    kind = node.kind
    if kind == "symlink":
        parts.append((" -> " + (entry.link or "" if entry else ""), "cyan"))
    elif kind == "hardlink":
        parts.append((" => " + (entry.link or "" if entry else ""), "cyan"))
    elif kind in ("char", "block") and entry is not None:
        parts.append((f"  [{kind[0]} {entry.devmajor},{entry.devminor}]", "dim"))
    elif kind == "fifo":
        parts.append(("|", "dim"))
    else:
        if entry is not None and entry.mode & 0o111:
            parts.append(("*", "dim"))
        parts.append((f"  {size(node.total_bytes)}", "dim"))
        parts.extend(share_parts(share, selected))
    return join(*parts)


class FileTree(Tree[Any]):
    """Tree data is the fs `Node` (or None for the trailing note line)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("l", "expand", "Expand", show=False),
        Binding("h", "collapse", "Collapse", show=False),
        *keys.TREE_KEYS,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("/"), **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self.view: Any = None
        self.removals = False
        self._shown: dict[str, TreeNode[Any]] = {}  # path -> widget node
        self._loaded: set[str] = set()  # directories whose children exist as widget nodes
        self._note: TreeNode[Any] | None = None
        self._growing: set[str] = set()  # directories labelled as possibly incomplete
        self._bulk = 0
        self._bulk_dirty = False
        self.order = settings.get("sort", ORDERS, "name")
        self._cursor_path: str | None = None  # the row showing its share in percent
        self.guard: AbstractContextManager[Any] = nullcontext()  # held while the view is read

    # Tree invalidates its line cache and schedules a layout on every add; adding
    # 10k children one by one would do that 10k times, so adds are batched.
    def _invalidate(self) -> None:
        if getattr(self, "_bulk", 0):  # also called from Tree.__init__, before ours runs
            self._bulk_dirty = True
            return
        super()._invalidate()

    @contextmanager
    def _batch(self) -> Iterator[None]:
        self._bulk += 1
        try:
            with self.guard:
                yield
        finally:
            self._bulk -= 1
            if not self._bulk and self._bulk_dirty:
                self._bulk_dirty = False
                super()._invalidate()

    def process_label(self, label: Any) -> Text:
        # Our labels are single-line Text already (text.visible escapes newlines),
        # so the default split-on-newline pass is skipped; strings never get here
        # as markup either.
        return label if isinstance(label, Text) else Text(str(label))

    def get_label_width(self, node: TreeNode[Any]) -> int:
        # The default renders every label again for each rebuild of the lines;
        # the plain width plus the expand icon is the same number, much cheaper.
        return node._label.cell_len + 2

    # -- public -------------------------------------------------------------

    def show(self, view: Any, *, removals: bool = False, note: Text | None = None, keep: bool = True) -> None:
        """Display a new view (LayerTree, MergedTree or FilteredView); keeps
        the expanded directories and the cursor path when they still exist."""
        with self._batch():
            self._show(view, removals, note, keep)

    def _show(self, view: Any, removals: bool, note: Text | None, keep: bool) -> None:
        expanded = sorted(p for p, n in self._shown.items() if n.is_expanded and p in self._loaded) if keep else []
        cursor = self.cursor_node.data.path if keep and self.cursor_node is not None and isinstance(self.cursor_node.data, Node) else None
        self.view = view
        self.removals = removals
        self.clear()
        self._shown.clear()
        self._loaded.clear()
        self._growing.clear()
        self._note = None
        self.root.expand()
        if view is not None:
            self._load(self.root, "")
            for path in expanded:
                widget = self._shown.get(path)
                if widget is not None:
                    self._load(widget, path)
                    widget.expand()
        self.set_note(note)
        if cursor is not None and cursor in self._shown:
            self.move_cursor(self._shown[cursor])

    def set_note(self, note: Text | None) -> None:
        """The trailing line (e.g. how much of a partial layer was read)."""
        if note is None:
            if self._note is not None:
                self._note.remove()
                self._note = None
            return
        if self._note is None:
            self._note = self.root.add_leaf(note, None)
        else:
            self._note.set_label(note)

    def extend(self, paths: Iterable[str]) -> None:
        """New entries arrived in the view: show those under loaded
        directories and refresh the labels of their shown ancestors."""
        self.extend_dirs({p.strip("/").rpartition("/")[0] for p in paths})

    def extend_dirs(self, dirs: Iterable[str]) -> None:
        """New entries arrived in these directories ("" the root): show them
        where their directory is loaded, and relabel the shown directories
        above them. Costs what is shown, not what arrived."""
        if self.view is None:
            return
        with self._batch():
            self._extend(dirs)

    def _extend(self, dirs: Iterable[str]) -> None:
        grow: dict[str, None] = {}  # loaded directories that gained children (ordered set)
        touched: set[str] = set()
        loaded, shown = self._loaded, self._shown
        for directory in dirs:
            # Walk down from the root: the deepest loaded directory on the way
            # gained a child (the directory itself, or a new one on its way).
            parent = ""
            if directory:
                for part_end in [i for i, ch in enumerate(directory) if ch == "/"] + [len(directory)]:
                    prefix = directory[:part_end]
                    if parent not in loaded:
                        break
                    if prefix not in shown:
                        grow[parent] = None
                        break
                    touched.add(prefix)
                    parent = prefix
                else:
                    if parent in loaded:
                        grow[parent] = None
            elif "" in loaded:
                grow[""] = None
        for parent in grow:
            self._add_missing(parent)
        for path in touched | self._growing:
            widget = shown.get(path)
            if widget is not None and isinstance(widget.data, Node):
                widget.set_label(self._label(widget.data))

    def refresh_labels(self) -> None:
        """Relabel every shown node (sizes, change markers, 'may grow' marks)."""
        with self.guard:
            for widget in self._shown.values():
                if isinstance(widget.data, Node):
                    widget.set_label(self._label(widget.data))

    @property
    def selected_node(self) -> Node | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, Node) else None

    def widget_for(self, path: str) -> TreeNode[Any] | None:
        """The shown widget node of a path (None while its directory is not loaded)."""
        return self._shown.get(path)

    def expand_path(self, path: str) -> TreeNode[Any] | None:
        """Expand the directory at path (loading its ancestors); returns its widget node."""
        with self._batch():
            return self._expand_path(path)

    def _expand_path(self, path: str) -> TreeNode[Any] | None:
        widget = self.root
        current = ""
        for part in path.strip("/").split("/"):
            if not part:
                continue
            current = f"{current}/{part}" if current else part
            self._load(widget, widget.data.path if isinstance(widget.data, Node) else "")
            nxt = self._shown.get(current)
            if nxt is None:
                return None
            widget = nxt
            self._load(widget, current)
            widget.expand()
        return widget

    # -- events -------------------------------------------------------------

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        data = event.node.data
        if isinstance(data, Node) and data.is_dir:
            with self._batch():
                self._load(event.node, data.path)

    def _on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Any]) -> None:
        # The percentage follows the cursor: relabel the row it left and the one it reached.
        data = event.node.data
        previous, self._cursor_path = self._cursor_path, data.path if isinstance(data, Node) and not data.is_removal else None
        with self.guard:
            for path in (previous, self._cursor_path):
                widget = self._shown.get(path) if path is not None else None
                if widget is not None and isinstance(widget.data, Node):
                    widget.set_label(self._label(widget.data))

    def on_focus(self) -> None:
        # Focus arriving with no cursor would leave l / Enter doing nothing.
        if self.cursor_line < 0 and self.root.children:
            self.cursor_line = 0

    def action_expand(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()

    def action_collapse(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    # -- internals ----------------------------------------------------------

    def _label(self, node: Node) -> Text:
        grow = False
        kept = None
        if node.is_dir and self.view is not None:
            may = getattr(self.view, "may_be_incomplete", None)
            grow = bool(may(node.path)) if may is not None else False
            if grow:
                self._growing.add(node.path)
            else:
                self._growing.discard(node.path)
            counted = getattr(self.view, "kept", None)  # a FilteredView: what the filter keeps
            kept = counted(node) if counted is not None else None
        share = None
        if self.view is not None and node.parent is not None and not node.is_removal:
            share = (self.weight(node), self.weight(node.parent))
        selected = node.path == self._cursor_path
        return node_label(node, may_grow=grow, kept=kept, share=share, selected=selected)

    def _children(self, path: str) -> list[Node]:
        try:
            nodes = self.view.children(path, removals=self.removals)
        except TypeError:  # views without removals (merged)
            nodes = self.view.children(path)
        if self.order == "size":
            nodes = sorted(nodes, key=self.weight, reverse=True)  # stable: equal sizes stay by name
        return nodes

    def weight(self, node: Node) -> int:
        """The bytes a node counts for in this view (under a filter: what it keeps)."""
        counted = getattr(self.view, "kept", None)
        return counted(node)[1] if counted is not None else node.total_bytes

    def toggle_order(self) -> str:
        """Sort by size (biggest first) or back by name; remembered. Returns the new order."""
        self.order = "name" if self.order == "size" else "size"
        settings.remember("sort", self.order)
        self.show(self.view, removals=self.removals, note=self._note.label if self._note is not None else None)
        return self.order

    def _make(self, parent: TreeNode[Any], node: Node, before: int | None) -> None:
        if node.is_removal:
            key = "\0" + node.kind + ":" + node.path
            widget = parent.add_leaf(self._label(node), node, before=before)
        else:
            key = node.path
            if node.is_dir:
                widget = parent.add(self._label(node), node, before=before)
            else:
                widget = parent.add_leaf(self._label(node), node, before=before)
        self._shown[key] = widget

    def _load(self, widget: TreeNode[Any], path: str) -> None:
        if path in self._loaded:
            return
        self._loaded.add(path)
        before = self._note_index(widget)
        for node in self._children(path):
            self._make(widget, node, before)
            if before is not None:
                before += 1

    def _note_index(self, widget: TreeNode[Any]) -> int | None:
        if widget is self.root and self._note is not None:
            return len(widget.children) - 1
        return None

    def _add_missing(self, path: str) -> None:
        widget = self.root if path == "" else self._shown.get(path)
        if widget is None:
            return
        shown = self._shown
        position = 0
        for node in self._children(path):
            key = ("\0" + node.kind + ":" + node.path) if node.is_removal else node.path
            if key not in shown:
                self._make(widget, node, position if position < len(widget.children) else None)
            position += 1
        if widget is not self.root and isinstance(widget.data, Node):
            widget.set_label(self._label(widget.data))
