"""A Comparison as text (for people) or JSON (the stable schema in docs/DIFF-FORMAT.md).

Everything that comes from the registry (paths, link targets, build steps,
config values, references) goes through `printable.visible`, so control
characters (C0, C1, bidi overrides) reach the terminal escaped, never raw.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from layerslayer_tui.compare import (ADDED, MOVED, RECOMPRESSED, REMOVED, SHARED, Comparison, config_value,
                                     image_size)
from layerslayer_tui.fs.diff import CHANGED, DirTotals, PathChange
from layerslayer_tui.fs.export import mode_string
from layerslayer_tui.units import human_size
from layerslayer_tui.printable import visible
from layerslayer_tui.fs.node import Node
from layerslayer_tui.fs.paths import split
from layerslayer_tui.image import ImageInfo, LayerInfo

FORMAT_VERSION = 1
STAT_DEPTH = 2  # --stat and the directory totals group by this many path parts ("usr/lib")

_MARK = {"added": "+", "removed": "-", "changed": "~"}
_ROW_MARK = {SHARED: "=", RECOMPRESSED: "≈", MOVED: "↕", ADDED: "+", REMOVED: "-"}


# -- JSON --------------------------------------------------------------------


def _mtime(value: float) -> int | float:
    if not math.isfinite(value):
        return 0
    return int(value) if value == int(value) else value


def entry_dict(node: Node | None, image: ImageInfo) -> dict[str, Any] | None:
    """One side of a file change, with the fields of an export entry (docs/EXPORT-FORMATS.md)."""
    if node is None:
        return None
    e = node.entry
    index = node.layer_index
    digest = image.layers[index].digest if index is not None and 0 <= index < len(image.layers) else None
    if e is None:  # a directory no entry declares
        return {"path": node.path, "type": node.kind, "size": 0, "mode": None, "uid": None, "gid": None,
                "uname": None, "gname": None, "mtime": None, "link": None, "layer": index,
                "layer_digest": digest, "change": None, "implied": True}
    return {
        "path": node.path, "type": node.kind, "size": e.size if node.kind == "file" else 0, "mode": e.mode,
        "uid": e.uid, "gid": e.gid, "uname": e.uname, "gname": e.gname, "mtime": _mtime(e.mtime),
        "link": e.link, "layer": index, "layer_digest": digest, "change": None,
    }  # fmt: skip


def _layer_dict(layer: LayerInfo | None) -> dict[str, Any] | None:
    if layer is None:
        return None
    return {"index": layer.index, "digest": layer.digest, "media_type": layer.media_type, "size": layer.size,
            "step": layer.step.step if layer.step is not None else None}


def _side(image: ImageInfo, partial: list[int]) -> dict[str, Any]:
    return {
        "image": image.reference,
        "platform": str(image.platform) if image.platform else None,
        "manifest_digest": image.manifest_digest,
        "config_digest": image.config_digest,
        "size": image_size(image),
        "layers": [_layer_dict(layer) for layer in image.layers],
        "partial_layers": partial,
    }


def _totals(t: DirTotals) -> dict[str, Any]:
    return {"path": t.path, "added": t.added, "removed": t.removed, "changed": t.changed,
            "directories": t.dirs, "bytes_delta": t.bytes_delta}


def to_json(cmp: Comparison, *, stat: bool = False) -> dict[str, Any]:
    """The document `diff --json` writes (schema: docs/DIFF-FORMAT.md)."""
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "complete": cmp.complete,
        "same": cmp.same,
        "a": _side(cmp.a, cmp.partial_a),
        "b": _side(cmp.b, cmp.partial_b),
        "filter": cmp.filter,
        "config": [{"field": c.field, "a": c.a, "b": c.b} for c in cmp.config],
        "layers": [{"status": r.status, "a": _layer_dict(r.a), "b": _layer_dict(r.b)} for r in cmp.layers],
        "totals": _totals(cmp.files.totals()),
        "directories": [_totals(t) for t in cmp.files.by_directory(STAT_DEPTH)],
    }
    if not stat:
        doc["files"] = [
            {"path": c.path, "change": c.change, "fields": list(c.fields),
             "a": entry_dict(c.a, cmp.a), "b": entry_dict(c.b, cmp.b)}
            for c in cmp.files.changes
        ]
    return doc


def write_json(cmp: Comparison, out: TextIO, *, stat: bool = False) -> None:
    import json

    json.dump(to_json(cmp, stat=stat), out, ensure_ascii=True)
    out.write("\n")


# -- text --------------------------------------------------------------------


def signed_size(n: int) -> str:
    return f"+{human_size(n, compact=True)}" if n >= 0 else f"-{human_size(-n, compact=True)}"


def totals_text(t: DirTotals) -> str:
    """'+312 files, -2 files, ~4 changed, +48.0M'."""
    parts = []
    if t.added:
        parts.append(f"+{t.added} file{'s' if t.added != 1 else ''}")
    if t.removed:
        parts.append(f"-{t.removed} file{'s' if t.removed != 1 else ''}")
    if t.changed:
        parts.append(f"~{t.changed} changed")
    if t.dirs:
        parts.append(f"{t.dirs} dir{'s' if t.dirs != 1 else ''}")
    if t.bytes_delta or not parts:
        parts.append(signed_size(t.bytes_delta))
    return ", ".join(parts)


def _field_text(name: str, a: Node, b: Node) -> str:
    ea, eb = a.entry, b.entry
    if name == "type":
        return f"type {a.kind} -> {b.kind}"
    assert ea is not None and eb is not None
    if name == "size":
        return f"size {human_size(ea.size, compact=True)} -> {human_size(eb.size, compact=True)}"
    if name == "mode":
        return f"mode {mode_string(a.kind, ea.mode)} -> {mode_string(b.kind, eb.mode)}"
    if name == "owner":
        return f"owner {ea.uname or ea.uid}:{ea.gname or ea.gid} -> {eb.uname or eb.uid}:{eb.gname or eb.gid}"
    if name == "link":
        return f"link {ea.link or ''} -> {eb.link or ''}"
    if name == "device":
        return f"device {ea.devmajor},{ea.devminor} -> {eb.devmajor},{eb.devminor}"
    if name == "mtime":
        return "mtime"
    return name


def change_text(c: PathChange) -> str:
    """The detail after a path: size for added/removed files, what differs for changed ones."""
    if c.change != CHANGED:
        node = c.b if c.b is not None else c.a
        assert node is not None
        if node.kids is not None:
            return "dir"
        if node.kind == "symlink" and node.entry is not None:
            return f"-> {node.entry.link or ''}"
        return human_size(node.entry.size, compact=True) if node.entry is not None and node.kind == "file" else node.kind
    assert c.a is not None and c.b is not None
    return ", ".join(_field_text(f, c.a, c.b) for f in c.fields)


def _image_line(label: str, image: ImageInfo) -> str:
    plat = str(image.platform) if image.platform else "?"
    return (f"{label} {image.reference}  {image.manifest_digest[:19]}  {plat}, "
            f"{len(image.layers)} layers, {human_size(image_size(image), compact=True)}")


def _layer_cell(layer: LayerInfo | None) -> str:
    if layer is None:
        return ""
    step = layer.step.step if layer.step is not None else ""
    return f"{layer.index:>3} {layer.digest[7:19]} {human_size(layer.size, compact=True):>7}  {step[:60]}"


def text_lines(cmp: Comparison, *, stat: bool = False) -> Iterator[str]:
    """The readable report, line by line (escaped: safe for a terminal)."""
    yield visible(_image_line("A:", cmp.a))
    yield visible(_image_line("B:", cmp.b))
    if cmp.a.config_digest != cmp.b.config_digest:
        yield visible(f"config {cmp.a.config_digest[:19]} -> {cmp.b.config_digest[:19]}")
    yield ""
    if cmp.config:
        yield "Config:"
        for c in cmp.config:
            yield visible(f"  {c.field}: {config_value(c.a)} -> {config_value(c.b)}")
        yield ""
    if not stat:
        yield "Layers (A | B):"
        for row in cmp.layers:
            mark = _ROW_MARK[row.status]
            if row.status in (SHARED, RECOMPRESSED):
                other = "" if row.status == SHARED or row.b is None else \
                    f"  (recompressed in B: {row.b.digest[7:19]} {human_size(row.b.size, compact=True)})"
                yield visible(f"  {mark} {_layer_cell(row.a)}{other}")
            elif row.a is not None:
                yield visible(f"  {mark} {_layer_cell(row.a)}  (A only)" if row.status == REMOVED
                            else f"  {mark} {_layer_cell(row.a)}  (A, moved)")
            else:
                yield visible(f"  {mark} {_layer_cell(row.b)}  (B only)" if row.status == ADDED
                            else f"  {mark} {_layer_cell(row.b)}  (B, moved)")
        yield ""
    files = cmp.files
    filt = visible(f" matching {cmp.filter!r}") if cmp.filter else ""
    if not files:
        yield f"Files{filt}: no differences."
    else:
        yield f"Files{filt}: {totals_text(files.totals())}"
        if stat:
            for t in files.by_directory(STAT_DEPTH):
                yield visible(f"  {t.path or '/'}: {totals_text(t)}")
        else:
            by_dir: dict[str, list[PathChange]] = {}
            for c in files.changes:
                by_dir.setdefault(split(c.path)[0], []).append(c)
            totals = {t.path: t for t in files.by_directory()}
            for d in sorted(by_dir, key=lambda p: p.split("/")):
                yield ""
                yield visible(f"{d or '/'}: {totals_text(totals[d])}")
                for c in by_dir[d]:
                    yield visible(f"  {_MARK[c.change]} {c.path}  {change_text(c)}")
    if not cmp.complete:
        yield ""
        yield f"INCOMPLETE: {incomplete_sentence(cmp)}"


def incomplete_sentence(cmp: Comparison) -> str:
    parts = []
    if cmp.partial_a:
        parts.append(f"A {', '.join(map(str, cmp.partial_a))}")
    if cmp.partial_b:
        parts.append(f"B {', '.join(map(str, cmp.partial_b))}")
    return (f"layers {'; '.join(parts)} were listed partially, so this is not a full diff "
            "(differences in or above them may be missing or only apparent); use --full.")


def write_text(cmp: Comparison, out: TextIO, *, stat: bool = False) -> None:
    for line in text_lines(cmp, stat=stat):
        out.write(line + "\n")


def default_name(cmp: Comparison) -> str:
    """compare_<repo>_<tag A>_<tag B>.txt, from safe characters only."""
    import re

    def part(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "x"

    def tag(image: ImageInfo) -> str:
        return part(image.tag or image.manifest_digest.partition(":")[2][:12])

    return f"compare_{part(cmp.a.repository.rsplit('/', 1)[-1])}_{tag(cmp.a)}_{tag(cmp.b)}.txt"


def save(cmp: Comparison, dest: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write the comparison to a file: JSON when the name ends in .json, else
    the text report. Temp file + rename; an existing file is kept unless
    `overwrite`; the folder must exist. ExportError with one sentence."""
    from layerslayer_tui import atomic
    from layerslayer_tui.errors import ExportError

    target = Path(dest)
    if target.is_dir():
        raise ExportError(f"{target} is a directory; give a file name to export to.")
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; choose another name or allow overwriting.")
    if not target.parent.is_dir():
        raise ExportError(f"Cannot export to {target}: the folder {target.parent} does not exist.")
    try:
        with atomic.writing(target, "w", overwrite=overwrite, chmod=0o644, encoding="utf-8",
                            errors="backslashreplace", newline="") as out:
            if target.name.lower().endswith(".json"):
                write_json(cmp, out)
            else:
                write_text(cmp, out)
    except atomic.TempFileError as err:
        raise ExportError(f"Cannot write in {target.parent}: {err.strerror or err}.") from None
    except FileExistsError:  # appeared since the check above: link() refused to clobber it
        raise ExportError(f"{target} already exists; choose another name or allow overwriting.") from None
    except OSError as err:
        raise ExportError(f"Could not write {target}: {err.strerror or err}.") from None
    return target
