"""Streaming exports of a layer tree or the merged view: txt, json, csv, tar.txt.

Every writer walks the view once and writes as it goes, so memory stays flat
whatever the tree size. The JSON layout is a stable interface documented in
docs/EXPORT-FORMATS.md; change it only additively.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import atomic
from ..errors import ExportError
from ..units import human_size
from .filter import Filter, FilteredView
from .merged import MergedTree
from .node import DIR, OPAQUE, WHITEOUT, Change, Node, TreeView
from .paths import normalize, quote
from .tree import LayerTree

FORMAT_VERSION = 1
FORMATS = ("txt", "json", "csv", "tar.txt")
_ALIASES = {"ls": "tar.txt", "tar": "tar.txt", "tartxt": "tar.txt", "text": "txt", "tree": "txt"}
FIELDS = (
    "path", "type", "size", "mode", "uid", "gid", "uname", "gname",
    "mtime", "link", "layer", "layer_digest", "change", "unsafe", "implied",
)  # fmt: skip

# CSV is read by people too: beside the integer mode, its ls -l form (493 is drwxr-xr-x).
CSV_FIELDS = FIELDS[:4] + ("mode_text",) + FIELDS[4:]

# What a runtime gives a directory no tar entry declares (umoci and containerd
# create it with MkdirAll: 0755, owned by the unpacking user, root in a
# container runtime, stamped with the time of the unpack, which no listing knows).
IMPLIED_MODE = 0o755
IMPLIED_UID = IMPLIED_GID = 0


@dataclass(slots=True)
class ExportLayer:
    index: int
    digest: str
    media_type: str = ""
    size: int = 0
    step: str | None = None  # the pretty build step, when history is aligned
    complete: bool = False  # the listing reached the end of the layer
    verified: bool = False  # the layer's digest was checked over the whole blob

    @classmethod
    def from_layer(cls, layer: Any, *, complete: bool = False, verified: bool = False) -> ExportLayer:
        """From an image.LayerInfo (or anything with the same attributes)."""
        step = getattr(layer, "step", None)
        return cls(
            index=layer.index,
            digest=layer.digest,
            media_type=layer.media_type,
            size=layer.size,
            step=getattr(step, "step", step),
            complete=complete,
            verified=verified,
        )


@dataclass(slots=True)
class ExportMeta:
    image: str  # the normalised reference
    platform: str | None = None  # "os/arch[/variant]"
    manifest_digest: str | None = None
    view: str = "layer"  # "layer" (one layer's own entries) or "merged"
    layers: list[ExportLayer] = field(default_factory=list)  # the layers the view is made of

    def header(self, flt: Filter | None) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "image": self.image,
            "platform": self.platform,
            "manifest_digest": self.manifest_digest,
            "view": self.view,
            "layers": [
                {
                    "index": layer.index,
                    "digest": layer.digest,
                    "media_type": layer.media_type,
                    "size": layer.size,
                    "step": layer.step,
                    "complete": layer.complete,
                    "verified": layer.verified,
                }
                for layer in self.layers
            ],
            "partial_layers": [layer.index for layer in self.layers if not layer.complete],
            "filter": None
            if flt is None or not flt.active
            else {
                "pattern": flt.pattern,
                "markers": None if flt.markers is None else sorted(m.value for m in flt.markers),
            },
        }


def format_for(dest: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format: the explicit one, else from the file name."""
    if fmt:
        name = fmt.lower().lstrip(".")
        name = _ALIASES.get(name, name)
        if name not in FORMATS:
            raise ExportError(f"Unknown export format {fmt!r}; use one of txt, json, csv, tar.txt (ls).")
        return name
    lower = os.fspath(dest).lower()
    if lower.endswith(".tar.txt") or lower.endswith(".ls"):
        return "tar.txt"
    for name in ("txt", "json", "csv"):
        if lower.endswith("." + name):
            return name
    raise ExportError(
        f"Cannot tell the export format from {os.fspath(dest)!r}; end the name in .txt, .json, .csv or .tar.txt."
    )


def write(
    view: TreeView,
    dest: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    meta: ExportMeta,
    filter: Filter | None = None,
    overwrite: bool = False,
) -> int:
    """Write the view to dest safely (temp file + rename); returns the rows written.

    Refuses to replace an existing file unless overwrite=True, and never
    creates directories: the parent must exist.
    """
    dest = Path(dest)
    fmt = format_for(dest, fmt)
    if dest.is_dir():
        raise ExportError(f"{dest} is a directory; give a file name to export to.")
    if dest.exists() and not overwrite:
        raise ExportError(f"{dest} already exists; choose another name or allow overwriting.")
    parent = dest.parent
    if not parent.is_dir():
        raise ExportError(f"Cannot export to {dest}: the folder {parent} does not exist.")
    try:
        with atomic.writing(
            dest, "w", overwrite=overwrite, chmod=0o644, encoding="utf-8", errors="backslashreplace", newline=""
        ) as out:
            return write_to(view, out, fmt=fmt, meta=meta, filter=filter)
    except atomic.TempFileError as err:
        raise ExportError(f"Cannot write in {parent}: {err.strerror or err}.") from None
    except FileExistsError:  # appeared since the check above: link() refused to clobber it
        raise ExportError(f"{dest} already exists; choose another name or allow overwriting.") from None
    except OSError as err:
        raise ExportError(f"Could not write {dest}: {err.strerror or err}.") from None


def publish(tmp: str | os.PathLike[str], dest: Path, overwrite: bool) -> None:
    """atomic.publish with export's sentence when dest exists (the TUI's saving uses it)."""
    try:
        atomic.publish(tmp, dest, overwrite=overwrite)
    except FileExistsError:
        raise ExportError(f"{dest} already exists; choose another name or allow overwriting.") from None


def write_to(
    view: TreeView, out: TextIO, *, fmt: str, meta: ExportMeta, filter: Filter | None = None
) -> int:
    """Stream the view to an open text file (stdout for `--json`); returns rows written."""
    fmt = format_for("", fmt)
    if meta.view not in ("layer", "merged"):
        raise ExportError(f"Unknown export view {meta.view!r}; use layer or merged.")
    with_removals = isinstance(view, LayerTree)
    shown: TreeView | FilteredView = (
        FilteredView(view, filter, removals=with_removals) if filter is not None and filter.active else view
    )
    writer = {"txt": _write_txt, "json": _write_json, "csv": _write_csv, "tar.txt": _write_ls}[fmt]
    # A merged view is the image as a container sees it, implied directories
    # included; a layer view lists only what its tar holds.
    return writer(shown, out, meta, filter, with_removals, isinstance(view, MergedTree))


# -- rows ------------------------------------------------------------------


def _entries(shown: Any, with_removals: bool, implied: bool) -> Iterator[Node]:
    """Nodes that stand for an entry, and implied directories when asked."""
    for node in shown.walk(removals=with_removals):
        if node.has_entry or (implied and node.kind == DIR):
            yield node


def _digests(meta: ExportMeta) -> tuple[dict[int, str], str | None]:
    by_index = {layer.index: layer.digest for layer in meta.layers}
    only = meta.layers[0].digest if len(meta.layers) == 1 else None
    return by_index, only


def _mtime(value: float) -> int | float:
    if type(value) is float:
        if value.is_integer():  # the common case first: whole seconds (false for inf and nan)
            return int(value)
        return value if math.isfinite(value) else 0
    return int(value)


def _row(node: Node, by_index: dict[int, str], only: str | None) -> tuple:
    """The FIELDS of one node, CSV-ready (implied is "true" or None)."""
    f = node.fields()  # read from the listing's columns: no entry object made
    index = node.layer_index
    digest = by_index.get(index, only) if index is not None else only
    change = node.change.value if node.change is not None else None
    if f is None:  # an implied directory: what a runtime creates
        return (node.path, DIR, 0, IMPLIED_MODE, IMPLIED_UID, IMPLIED_GID, "", "",
                None, None, index, digest, change, node.unsafe, "true")  # fmt: skip
    size, mode, uid, gid, uname, gname, mtime, link = f
    kind = node.kind
    if kind in (WHITEOUT, OPAQUE):
        link, size = None, 0
    elif kind == DIR:
        size = 0
    return (node.path, kind, size, mode, uid, gid, uname, gname,
            _mtime(mtime), link, index, digest, change, node.unsafe, None)  # fmt: skip


class _Memo(dict):
    """`make(key)` kept per distinct key, for the JSON text of fields that
    repeat from row to row (owners, mtimes, digests, markers); bounded, so a
    hostile variety of values costs time, not memory."""

    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: Any) -> str:
        value = self.make(key)
        if len(self) < 4096:
            self[key] = value
        return value


def _write_json(
    shown: Any, out: TextIO, meta: ExportMeta, flt: Filter | None, with_removals: bool, implied: bool
) -> int:
    header = json.dumps(meta.header(flt), ensure_ascii=True)
    out.write(header[:-1] + ', "entries": [')
    enc = json.encoder.encode_basestring_ascii  # the C escaper json.dumps uses; one call per string
    text = _Memo(enc)
    by_index, only = _digests(meta)

    # The pieces of a row that repeat, each made once as JSON text.
    def owner(key: tuple[int, int, tuple[str, str]]) -> str:
        uid, gid, (uname, gname) = key
        return f'"uid": {uid}, "gid": {gid}, "uname": {text[uname]}, "gname": {text[gname]}'

    def tail(key: tuple[int | None, Change | None]) -> str:
        index, change = key
        digest = by_index.get(index, only) if index is not None else only
        return (f'"layer": {"null" if index is None else index}, '
                f'"layer_digest": {"null" if digest is None else text[digest]}, '
                f'"change": {"null" if change is None else text[change.value]}')

    owners, tails = _Memo(owner), _Memo(tail)
    mtimes = _Memo(lambda m: "null" if m is None else repr(_mtime(m)))
    # Hit first through dict.get (a memo's own [] is the slower path of a dict subclass): this runs per row.
    owner_of, tail_of, mtime_of = owners.get, tails.get, mtimes.get
    columns: dict[int, tuple] = {}  # id(Entries) -> its row_columns(), for the rows read below
    sep = "\n"
    rows = 0
    pending: list[str] = []  # written a few thousand rows at a time: one write per row costs as much as the row
    for node in shown.walk(removals=with_removals):
        kind = node.kind
        at = node.source_row
        if at is None or node.unsafe or kind == WHITEOUT or kind == OPAQUE:
            if not node.has_entry and not (implied and kind == DIR):
                continue  # an implied directory, left out of a layer's view
            # implied directories, removals, flagged entries, entries from a TarEntry: the general form
            (path, kind, size, mode, uid, gid, uname, gname, mtime, link, index, _digest, _change, unsafe,
             dir_implied) = _row(node, by_index, only)
            # "unsafe" and "implied" are written only when set (docs/EXPORT-FORMATS.md).
            flags = (f', "unsafe": {enc(unsafe)}' if unsafe else "") + (', "implied": true' if dir_implied else "")
            okey = (uid, gid, (uname, gname))
        else:
            # A row of the listing's columns, read in place: no entry object made.
            whole, row = at
            cols = columns.get(id(whole))
            if cols is None:
                cols = columns[id(whole)] = whole.row_columns()
            sizes, modes, uids, gids, owner_rows, owner_table, mtime_col, links = cols
            path, size, mode = node.path, 0 if kind == DIR else sizes[row], modes[row]
            okey = (uids[row], gids[row], owner_table[owner_rows[row]])
            mtime, link, index, flags = mtime_col[row], links.get(row) if links else None, node.layer_index, ""
        tkey = (index, node.change)
        pending.append(
            f'{sep}{{"path": {enc(path)}, "type": "{kind}", "size": {size}, "mode": {mode}, '
            f'{owner_of(okey) or owners[okey]}, "mtime": {mtime_of(mtime) or mtimes[mtime]}, '
            f'"link": {"null" if link is None else enc(link)}, {tail_of(tkey) or tails[tkey]}{flags}}}'
        )
        sep = ",\n"
        rows += 1
        if len(pending) >= 4096:
            out.write("".join(pending))
            pending.clear()
    out.write("".join(pending))
    out.write("\n]}\n")
    return rows


def _write_csv(
    shown: Any, out: TextIO, meta: ExportMeta, flt: Filter | None, with_removals: bool, implied: bool
) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    by_index, only = _digests(meta)
    rows = 0
    for node in _entries(shown, with_removals, implied):
        row = _row(node, by_index, only)
        writer.writerow(row[:4] + (mode_string(row[1], row[3]),) + row[4:])
        rows += 1
    return rows


# -- text formats ----------------------------------------------------------

def _write_txt(
    shown: Any, out: TextIO, meta: ExportMeta, flt: Filter | None, with_removals: bool, implied: bool
) -> int:
    out.write(".\n")
    dirs = files = rows = 0
    # Iterative depth-first walk keeping, per level, whether more siblings follow.
    stack: list[tuple[list[Node], int, str]] = [(shown.children("", removals=with_removals), 0, "")]
    while stack:
        siblings, pos, indent = stack.pop()
        if pos >= len(siblings):
            continue
        node = siblings[pos]
        last = pos == len(siblings) - 1
        stack.append((siblings, pos + 1, indent))
        out.write(f"{indent}{'└── ' if last else '├── '}{_txt_label(node)}\n")
        rows += 1
        if node.kind == DIR:
            dirs += 1
            stack.append((shown.children(node.path, removals=with_removals), 0, indent + ("    " if last else "│   ")))
        elif not node.is_removal:
            files += 1
    out.write(f"\n{dirs} directories, {files} files\n")
    return rows


def _txt_label(node: Node) -> str:
    if node.kind == WHITEOUT:
        return f"[     -]  {quote(node.name)}  (removed by whiteout)"
    if node.kind == OPAQUE:
        return "[     -]  (opaque: lower contents hidden)"
    size = node.total_bytes if node.kind == DIR else node.size
    label = f"[{human_size(size, compact=True):>6}]  {quote(node.name)}"
    link = node.link
    if link is not None and node.kind == "symlink":
        label += f" -> {quote(link)}"
    elif link is not None and node.kind == "hardlink":
        label += f" => {quote(link)}"
    if node.unsafe:
        label += f"  [unsafe: {node.unsafe}]"
    return label


_TYPE_CHAR = {"file": "-", "dir": "d", "symlink": "l", "hardlink": "h", "char": "c", "block": "b", "fifo": "p"}


def mode_string(kind: str, mode: int) -> str:
    """The 10-character mode column of `tar -tv` / `ls -l`."""
    chars = [_TYPE_CHAR.get(kind, "-")]
    for shift, special, on, off in ((6, 0o4000, "s", "S"), (3, 0o2000, "s", "S"), (0, 0o1000, "t", "T")):
        bits = (mode >> shift) & 7
        chars.append("r" if bits & 4 else "-")
        chars.append("w" if bits & 2 else "-")
        if mode & special:
            chars.append(on if bits & 1 else off)
        else:
            chars.append("x" if bits & 1 else "-")
    return "".join(chars)


_NO_STAMP = "????-??-?? ??:??"  # an implied directory's time is the time of the unpack


def _write_ls(
    shown: Any, out: TextIO, meta: ExportMeta, flt: Filter | None, with_removals: bool, implied: bool
) -> int:
    # GNU tar widens the owner/size column as it meets longer values (list.c).
    ugswidth = 19
    rows = 0
    gmtime = time.gmtime
    stamps: dict[float, str] = {}  # layers share a handful of mtimes
    for node in _entries(shown, with_removals, implied):
        e = node.entry
        if e is None:
            user, group = str(IMPLIED_UID), str(IMPLIED_GID)
            pad = len(user) + 1 + len(group) + 1
            ugswidth = max(ugswidth, pad)
            out.write(f"{mode_string(DIR, IMPLIED_MODE)} {user}/{group} {'0':>{ugswidth - pad + 1}} {_NO_STAMP} {quote(node.path)}/\n")
            rows += 1
            continue
        if node.is_removal:
            # A layer's tar holds the marker itself: list it as tar would.
            kind, name, link = e.type.value, normalize(e.path) or e.path, e.link
        else:
            kind, name, link = node.kind, node.path, e.link
        user = e.uname or str(e.uid)
        group = e.gname or str(e.gid)
        size = f"{e.devmajor},{e.devminor}" if kind in ("char", "block") else str(e.size if kind == "file" else 0)
        pad = len(user) + 1 + len(group) + len(size)
        if pad > ugswidth:
            ugswidth = pad
        stamp = stamps.get(e.mtime)
        if stamp is None:
            stamp = stamps[e.mtime] = time.strftime("%Y-%m-%d %H:%M", gmtime(_mtime(e.mtime)))
        line = f"{mode_string(kind, e.mode)} {user}/{group} {size:>{ugswidth - pad + len(size)}} {stamp} {quote(name)}"
        if kind == DIR:
            line += "/"
        elif kind == "symlink" and link is not None:
            line += f" -> {quote(link)}"
        elif kind == "hardlink" and link is not None:
            line += f" link to {quote(link)}"
        if node.unsafe:
            line += f"  [unsafe: {node.unsafe}]"
        out.write(line + "\n")
        rows += 1
    return rows


__all__ = [
    "ExportLayer", "ExportMeta", "FIELDS", "FORMATS", "IMPLIED_MODE", "format_for", "quote", "mode_string", "write",
    "write_to",
]  # fmt: skip
