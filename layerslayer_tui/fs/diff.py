"""Two merged views compared path by path, with per-directory totals.

Both sides are read through the public view API (`walk`, `get`), so any
TreeView works: two images' merged views, or two layer trees. A path present
on one side only is "added" or "removed" (a directory that appears brings
each path under it as added too, so the list is complete path by path); a
path on both sides is "changed" when any compared field differs:

- `type`: file, dir, symlink... (a file replaced by a directory is a type change,
  and its new children are added);
- `size` (files), `mode`, `owner` (uid, gid, user and group names), `link`
  (symlink or hardlink target), `device` (major, minor), `mtime`;
- `content`: both entries carry a content digest (eStargz / zstd:chunked
  TOCs do) and the digests differ. Without digests, equal size is all we know.

Directory mtimes are not compared: every file added or removed changes its
directory's mtime, so that field would only repeat what the children say.
Directories no entry declares (implied) have no attributes to compare: only
their type is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..entry import EntryType, TarEntry
from .node import Node, TreeView
from .paths import split

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
FIELDS = ("type", "size", "mode", "owner", "link", "device", "mtime", "content")

_DIR = EntryType.DIR.value
_FILE = EntryType.FILE.value


@dataclass(slots=True)
class PathChange:
    path: str
    change: str  # ADDED, REMOVED or CHANGED
    a: Node | None  # the node in the first view (None when added)
    b: Node | None  # the node in the second view (None when removed)
    fields: tuple[str, ...] = ()  # for CHANGED: which of FIELDS differ

    @property
    def is_file(self) -> bool:
        """Counts as a file in the totals (anything but a directory)."""
        node = self.b if self.b is not None else self.a
        return node is not None and node.kids is None

    @property
    def size_delta(self) -> int:
        return _size(self.b) - _size(self.a)


def _size(node: Node | None) -> int:
    if node is None or node.kind != _FILE or node.entry is None:
        return 0
    return node.entry.size


@dataclass(slots=True)
class DirTotals:
    """What changed at or under one directory ("" is the whole image)."""

    path: str
    added: int = 0  # files (non-directories) only, in all three counts
    removed: int = 0
    changed: int = 0
    bytes_delta: int = 0  # content bytes of B minus those of A, over the changes counted
    dirs: int = 0  # directories added, removed or changed (attributes only)

    def add(self, change: PathChange) -> None:
        self.bytes_delta += change.size_delta
        if not change.is_file and not (change.change == CHANGED and "type" in change.fields):
            self.dirs += 1
            return
        if change.change == ADDED:
            self.added += 1
        elif change.change == REMOVED:
            self.removed += 1
        else:
            self.changed += 1

    @property
    def files(self) -> int:
        return self.added + self.removed + self.changed


@dataclass(slots=True)
class TreeDiff:
    changes: list[PathChange] = field(default_factory=list)  # sorted like a tree walk (parents first)
    complete: bool = True  # both views were made of complete listings

    def totals(self) -> DirTotals:
        total = DirTotals("")
        for c in self.changes:
            total.add(c)
        return total

    def by_directory(self, depth: int | None = None) -> list[DirTotals]:
        """Totals per directory, sorted by path. depth None: each change counts
        in its own parent directory only; depth N: in its ancestor N levels
        deep (or its parent when shallower), so `depth=2` gives "usr/lib"."""
        groups: dict[str, DirTotals] = {}
        for c in self.changes:
            parent = split(c.path)[0]
            if depth is not None:
                parent = "/".join(parent.split("/")[:depth]) if parent else ""
            groups.setdefault(parent, DirTotals(parent)).add(c)
        return [groups[k] for k in sorted(groups, key=_path_key)]

    def filtered(self, keep: Callable[[str, str], bool]) -> TreeDiff:
        """Only the changes whose (path, name) `keep` accepts (an fs.PathMatcher works)."""
        return TreeDiff([c for c in self.changes if keep(c.path, split(c.path)[1])], self.complete)

    def __bool__(self) -> bool:
        return bool(self.changes)


def _path_key(path: str) -> list[str]:
    return path.split("/")


def _owner(e: TarEntry) -> tuple:
    return (e.uid, e.gid, e.uname, e.gname)


def _content_digest(e: TarEntry) -> str | None:
    digest = e.extra.get("digest") if e.extra else None
    return digest if isinstance(digest, str) and digest else None


def compare_nodes(a: Node, b: Node) -> tuple[str, ...]:
    """Which FIELDS differ between two nodes at the same path (() when equal)."""
    ea, eb = a.entry, b.entry
    if ea is not None and ea is eb:
        return ()  # the same entry object: a layer both views share (compare.list_layers shares trees)
    if a.kind != b.kind:
        return ("type",)
    if ea is None or eb is None:
        return ()  # an implied directory has no attributes of its own
    out = []
    if a.kind == _FILE and ea.size != eb.size:
        out.append("size")
    if ea.mode != eb.mode:
        out.append("mode")
    if _owner(ea) != _owner(eb):
        out.append("owner")
    if (ea.link or None) != (eb.link or None):
        out.append("link")
    if (ea.devmajor, ea.devminor) != (eb.devmajor, eb.devminor):
        out.append("device")
    if a.kind != _DIR and ea.mtime != eb.mtime:
        out.append("mtime")
    da, db = _content_digest(ea), _content_digest(eb)
    if da is not None and db is not None and da != db:
        out.append("content")
    return tuple(out)


def _index(view: TreeView) -> dict[str, Node]:
    return {node.path: node for node in view.walk()}


def diff_views(a: TreeView, b: TreeView, *, complete: bool | None = None) -> TreeDiff:
    """Every path that differs between view `a` and view `b`. `complete`
    defaults to both views' own `complete` (MergedTree has it; others count as complete)."""
    left, right = _index(a), _index(b)
    changes: list[PathChange] = []
    for path, na in left.items():
        nb = right.get(path)
        if nb is None:
            changes.append(PathChange(path, REMOVED, na, None))
            continue
        fields = compare_nodes(na, nb)
        if fields:
            changes.append(PathChange(path, CHANGED, na, nb, fields))
    for path, nb in right.items():
        if path not in left:
            changes.append(PathChange(path, ADDED, None, nb))
    changes.sort(key=lambda c: _path_key(c.path))
    if complete is None:
        complete = bool(getattr(a, "complete", True)) and bool(getattr(b, "complete", True))
    return TreeDiff(changes, complete)


class DiffTree:
    """A TreeDiff arranged as a tree for display: the children of each
    directory that holds changes (changed paths, and directories that only
    lead to them) and cumulative totals per directory. Built once, O(changes x depth)."""

    def __init__(self, diff: TreeDiff) -> None:
        self.diff = diff
        self._changes = {c.path: c for c in diff.changes}
        self._kids: dict[str, dict[str, None]] = {}
        self._totals: dict[str, DirTotals] = {}
        for c in diff.changes:
            parts = c.path.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                self._kids.setdefault(parent, {})["/".join(parts[: depth + 1])] = None
                self._totals.setdefault(parent, DirTotals(parent)).add(c)

    def change(self, path: str) -> PathChange | None:
        """The change at this very path (None for a directory that only holds changes)."""
        return self._changes.get(path)

    def has_children(self, path: str) -> bool:
        return path in self._kids

    def children(self, path: str = "") -> list[str]:
        """Child paths, directories first, then by name."""
        kids = self._kids.get(path, {})
        return sorted(kids, key=lambda p: (p not in self._kids, split(p)[1]))

    def totals(self, path: str = "") -> DirTotals:
        """What changed under this directory (an empty DirTotals when nothing)."""
        return self._totals.get(path) or DirTotals(path)
