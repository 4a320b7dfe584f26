"""Exports: JSON round trip, CSV rows, txt against a checked-in file,
tar.txt against GNU `tar -tv`, and safe writing."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from layerslayer_tui.errors import ExportError
from layerslayer_tui.fs import Filter, LayerTree, mark_all, merge
from layerslayer_tui.fs.export import ExportLayer, ExportMeta, format_for, mode_string, write, write_to
from fs_support import build_layer, read_entries

DATA = Path(__file__).parent / "data"

LAYER0 = [
    ("dir", "etc"),
    ("file", "etc/hostname", b"box\n"),
    ("file", "etc/passwd", b"root:x:0:0::/root:/bin/sh\n" * 100, 0o644),
    ("dir", "usr/bin"),
    ("file", "usr/bin/busybox", b"\x7fELF" + b"\0" * 3000, 0o4755),
    ("symlink", "bin", "usr/bin"),
    ("hardlink", "usr/bin/sh", "usr/bin/busybox"),
    ("file", "odd name\nwith newline", b"x"),
    ("dir", "tmp", 0o1777),
]
LAYER1 = [
    ("whiteout", "etc/hostname"),
    ("opaque", "usr/bin"),
    ("file", "usr/bin/env", b"#!"),
    ("file", "etc/passwd", b"root:x:0:0::/root:/bin/bash\n"),
]


@pytest.fixture(scope="module")
def layers() -> list[bytes]:
    return [build_layer(LAYER0), build_layer(LAYER1)]


@pytest.fixture(scope="module")
def trees(layers: list[bytes]) -> list[LayerTree]:
    out = []
    for index, data in enumerate(layers):
        tree = LayerTree(index, complete=True)
        tree.add(read_entries(data))
        out.append(tree)
    mark_all(out)
    return out


def meta(view: str, count: int = 2) -> ExportMeta:
    return ExportMeta(
        image="localhost:5000/demo:1",
        platform="linux/amd64",
        manifest_digest="sha256:" + "m" * 64,
        view=view,
        layers=[ExportLayer(i, f"sha256:{i:064d}", "application/vnd.oci.image.layer.v1.tar", 1000 + i,
                            f"RUN step {i}", complete=True) for i in range(count)],
    )  # fmt: skip


def test_json_round_trip_equals_the_model(trees, tmp_path: Path) -> None:
    dest = tmp_path / "layer1.json"
    rows = write(trees[1], dest, meta=meta("layer"))
    doc = json.loads(dest.read_text())
    assert doc["view"] == "layer" and doc["platform"] == "linux/amd64" and doc["partial_layers"] == []
    assert doc["layers"][1] == {"index": 1, "digest": "sha256:" + "0" * 63 + "1", "size": 1001, "complete": True,
                                "media_type": "application/vnd.oci.image.layer.v1.tar", "step": "RUN step 1",
                                "verified": False}  # fmt: skip
    got = {(e["path"], e["type"]): e for e in doc["entries"]}
    assert len(got) == rows == len(doc["entries"])
    want = {}
    for node in list(trees[1].walk()) + trees[1].removals:
        if node.entry is None:
            continue
        e = node.entry
        want[(node.path, node.kind)] = {
            "path": node.path, "type": node.kind, "size": e.size if node.kind == "file" else 0,
            "mode": e.mode, "uid": e.uid, "gid": e.gid, "uname": e.uname, "gname": e.gname,
            "mtime": e.mtime, "link": e.link if not node.is_removal else None, "layer": 1,
            "layer_digest": "sha256:" + "0" * 63 + "1", "change": node.change.value,
        }  # fmt: skip
    assert got == want
    assert ("etc/hostname", "whiteout") in got and ("usr/bin", "opaque") in got


def test_merged_json_has_no_whiteouts_and_digests_per_origin(trees, tmp_path: Path) -> None:
    view = merge(trees)
    out = io.StringIO()
    write_to(view, out, fmt="json", meta=meta("merged"))
    doc = json.loads(out.getvalue())
    types = {e["type"] for e in doc["entries"]}
    assert not types & {"whiteout", "opaque"}
    by_path = {e["path"]: e for e in doc["entries"]}
    # The merged view is the image as a container sees it: implied directories included.
    assert set(by_path) == {n.path for n in view.walk()}
    assert by_path["usr"]["implied"] is True and "implied" not in by_path["usr/bin"]
    assert by_path["etc/passwd"]["layer"] == 1 and by_path["etc/passwd"]["layer_digest"].endswith("1")
    assert by_path["tmp"]["layer"] == 0 and "usr/bin/busybox" not in by_path and "etc/hostname" not in by_path
    assert by_path["odd name\nwith newline"]["size"] == 1


def test_csv_rows_equal_entries_and_filter_applies(trees, tmp_path: Path) -> None:
    dest = tmp_path / "all.csv"
    write(trees[0], dest, meta=meta("layer", 1))
    with dest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(1 for n in trees[0].walk() if n.entry is not None) == len(read_entries(build_layer(LAYER0)))
    assert {r["path"] for r in rows} >= {"usr/bin/sh", "odd name\nwith newline"}
    # the mode for people beside the integer (issue 14 #12): 493 is rwxr-xr-x
    for r in rows:
        assert r["mode_text"] == mode_string(r["type"], int(r["mode"]))
    usr_bin = next(r for r in rows if r["path"] == "usr/bin")
    assert usr_bin["mode_text"] == "d" + stat.filemode(int(usr_bin["mode"]))[1:]
    filtered = io.StringIO()
    n = write_to(trees[0], filtered, fmt="csv", meta=meta("layer", 1), filter=Filter.of("busybox"))
    paths = [r["path"] for r in csv.DictReader(io.StringIO(filtered.getvalue()))]
    assert n == 2 and paths == ["usr/bin", "usr/bin/busybox"]  # usr is implied: no entry to list


def test_txt_matches_checked_in_tree(trees) -> None:
    out = io.StringIO()
    write_to(trees[0], out, fmt="txt", meta=meta("layer", 1))
    expected = (DATA / "fs_layer0_tree.txt").read_text(encoding="utf-8")
    assert out.getvalue() == expected
    out1 = io.StringIO()
    write_to(trees[1], out1, fmt="txt", meta=meta("layer"))
    assert "hostname  (removed by whiteout)" in out1.getvalue()


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is not installed")
@pytest.mark.parametrize("index", [0, 1])
def test_ls_style_matches_gnu_tar(index: int, layers, trees, tmp_path: Path) -> None:
    blob = tmp_path / "layer.tar"
    blob.write_bytes(layers[index])
    env = {**os.environ, "TZ": "UTC", "LC_ALL": "C.UTF-8"}
    real = subprocess.run(["tar", "-tvf", str(blob), "--utc", "--quoting-style=escape"],
                          capture_output=True, text=True, check=True, env=env).stdout  # fmt: skip
    out = io.StringIO()
    write_to(trees[index], out, fmt="ls", meta=meta("layer"))
    # Same lines (column widths aside: GNU tar widens them as it goes, in stream order).
    assert sorted(" ".join(l.split()) for l in out.getvalue().splitlines()) == sorted(
        " ".join(l.split()) for l in real.splitlines()
    )


def test_format_choice() -> None:
    assert format_for("a.tar.txt") == "tar.txt" and format_for("A.JSON") == "json" and format_for("x.txt") == "txt"
    assert format_for("x.out", "ls") == "tar.txt" and format_for("x.csv") == "csv"
    with pytest.raises(ExportError, match="Cannot tell the export format"):
        format_for("noext")
    with pytest.raises(ExportError, match="Unknown export format"):
        format_for("x.txt", "xml")


def test_safe_writing(trees, tmp_path: Path) -> None:
    dest = tmp_path / "out.json"
    dest.write_text("precious")
    with pytest.raises(ExportError, match="already exists") as err:
        write(trees[0], dest, meta=meta("layer", 1))
    assert "\n" not in str(err.value) and dest.read_text() == "precious"
    write(trees[0], dest, meta=meta("layer", 1), overwrite=True)
    assert json.loads(dest.read_text())["entries"]
    with pytest.raises(ExportError, match="does not exist"):
        write(trees[0], tmp_path / "missing" / "x.json", meta=meta("layer", 1))
    with pytest.raises(ExportError, match="is a directory"):
        write(trees[0], tmp_path, fmt="json", meta=meta("layer", 1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp files left behind
    with pytest.raises(ExportError, match="Unknown export view"):
        write_to(trees[0], io.StringIO(), fmt="json", meta=meta("image"))
