"""Listing fidelity (issue 11 #1 and #2, issue 10 #8): members whose names
are absolute or escape the root are listed and flagged, never dropped; the
merged view places them, and includes the directories no entry declares, the
way umoci unpacks the same layers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bed.images import push_image
from layerslayer_tui.fs import LayerTree, mark_all, merge
from layerslayer_tui.fs.export import IMPLIED_MODE, ExportLayer, ExportMeta, write, write_to
from layerslayer_tui.fs.paths import ABSOLUTE, DOTDOT, ESCAPES
from layerslayer_tui.peek.scanner import TarScanner
from fs_support import build_layer, have_umoci, read_entries, umoci_unpack

UNSAFE = [
    [
        ("dir", "etc"),
        ("file", "etc/ok", b"ok"),
        ("file", "../escape/evil", b"evil!"),
        ("file", "/abs/file", b"absolute"),
        ("file", "a/../b", b"bee"),
        ("file", "x/../../../up", b"up"),
    ],
]
STORED = {"../escape/evil": ESCAPES, "/abs/file": ABSOLUTE, "a/../b": DOTDOT, "x/../../../up": ESCAPES}

IMPLIED = [
    [
        ("dir", "etc"),
        ("file", "etc/app/conf", b"c"),  # etc/app is implied
        ("file", "var/lib/systemd/deb-systemd-helper-enabled/timers.target.wants/t.timer", b"t"),
        ("dir", "usr", 0o700),
        ("file", "usr/share/doc/x", b"x"),  # usr/share, usr/share/doc implied under a declared usr
    ],
    [
        ("file", "etc/app/more/two", b"22"),  # etc/app/more implied in the upper layer
        ("dir", "var/lib", 0o750),  # a later layer declares what a lower one implied
        ("file", "opt/new/file", b"n"),
    ],
]


def trees_of(layers: list[list[tuple]]) -> list[LayerTree]:
    out = []
    for index, specs in enumerate(layers):
        tree = LayerTree(index, complete=True)
        tree.add(read_entries(build_layer(specs)))
        out.append(tree)
    return out


def meta(view: str, count: int) -> ExportMeta:
    layers = [ExportLayer(i, f"sha256:{i:064x}", complete=True) for i in range(count)]
    return ExportMeta(image="localhost/fidelity:1", view=view, layers=layers)


def export(view: Any, fmt: str, kind: str, count: int) -> str:
    out = io.StringIO()
    write_to(view, out, fmt=fmt, meta=meta(kind, count))
    return out.getvalue()


def rootfs_view(root: Path) -> dict[str, tuple]:
    """path -> (type, size, mode, uid, gid) as lstat sees the unpacked image."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            st = full.lstat()
            kind = "dir" if stat.S_ISDIR(st.st_mode) else "symlink" if stat.S_ISLNK(st.st_mode) else "file"
            size = st.st_size if kind == "file" else 0
            out[full.relative_to(root).as_posix()] = (kind, size, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return out


def json_view(text: str) -> dict[str, tuple]:
    return {e["path"]: (e["type"], e["size"], e["mode"], e["uid"], e["gid"]) for e in json.loads(text)["entries"]}


# -- unsafe names ----------------------------------------------------------------


def test_the_reader_keeps_what_makes_a_name_unsafe() -> None:
    """The tar scanner used to strip the leading "/": the flag needs it kept."""
    names = [e.path for e in TarScanner().feed(build_layer(UNSAFE[0]))]
    assert names == ["etc", "etc/ok", "../escape/evil", "/abs/file", "a/../b", "x/../../../up"]


def test_unsafe_members_are_listed_and_flagged_in_a_layer_view() -> None:
    (tree,) = trees_of(UNSAFE)
    assert {n.path: n.unsafe for n in tree.unsafe} == STORED
    assert [n.name for n in tree.children("")][-4:] == sorted(STORED)  # beside the tree, under the root
    assert tree.get("../escape/evil").entry.size == 5 and tree.get("escape") is None and tree.get("abs") is None
    assert tree.total_files == 5  # etc/ok and the four flagged members: nothing dropped
    note = tree.unsafe_note()
    assert note.startswith("Layer 0 holds 4 members") and "../escape/evil, /abs/file, a/../b, …" in note


def test_unsafe_members_in_every_export_format() -> None:
    (tree,) = trees_of(UNSAFE)
    rows = {e["path"]: e for e in json.loads(export(tree, "json", "layer", 1))["entries"]}
    assert {p: rows[p]["unsafe"] for p in STORED} == STORED
    assert "unsafe" not in rows["etc/ok"]
    table = {r["path"]: r for r in csv.DictReader(io.StringIO(export(tree, "csv", "layer", 1)))}
    assert {p: table[p]["unsafe"] for p in STORED} == STORED and table["etc/ok"]["unsafe"] == ""
    ls = export(tree, "tar.txt", "layer", 1).splitlines()
    assert any(line.endswith(" ../escape/evil  [unsafe: escapes the root]") for line in ls)
    assert any(line.endswith(" /abs/file  [unsafe: absolute]") for line in ls)
    txt = export(tree, "txt", "layer", 1)
    assert "/abs/file  [unsafe: absolute]" in txt and "../escape/evil  [unsafe: escapes the root]" in txt


@pytest.mark.skipif(not have_umoci(), reason="umoci is not installed")
def test_the_merged_view_places_unsafe_names_like_umoci(tmp_path: Path) -> None:
    """umoci clamps every name into the root ("../escape/evil" -> "escape/evil")."""
    rootfs = umoci_unpack([build_layer(specs) for specs in UNSAFE], tmp_path)
    merged = merge(trees_of(UNSAFE))
    assert json_view(export(merged, "json", "merged", 1)) == rootfs_view(rootfs)
    assert {p: merged.get(p).unsafe for p in ("escape/evil", "abs/file", "b", "up")} == {
        "escape/evil": ESCAPES, "abs/file": ABSOLUTE, "b": DOTDOT, "up": ESCAPES
    }  # fmt: skip
    assert merged.get("etc/ok").unsafe is None and merged.flagged == []


def test_change_markers_compare_an_unsafe_member_where_it_lands() -> None:
    trees = trees_of([[("file", "abs/file", b"same")], [("file", "/abs/file", b"same")]])
    mark_all(trees)
    assert trees[1].get("/abs/file").change.value == "unmodified"


def test_saving_an_unsafe_member_stays_in_the_chosen_folder(tmp_path: Path) -> None:
    from layerslayer_tui.tui.file_actions import safe_destination, save_name

    (tree,) = trees_of(UNSAFE)
    folder = tmp_path / "chosen"
    folder.mkdir()
    for node in tree.unsafe:
        dest = safe_destination(folder, save_name(node.name))
        assert dest.parent == folder.resolve(), node.name
    # An export of the view is one file in the folder, whatever the names inside.
    write(tree, folder / "layer.tar.txt", meta=meta("layer", 1))
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["layer.tar.txt"]


@pytest.mark.registry
def test_cli_lists_flags_and_warns(registry, tmp_path: Path) -> None:
    image = push_image(registry, "fidelity/unsafe", "1", [gzip.compress(build_layer(UNSAFE[0]), mtime=0)])
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "layerslayer_tui", image.ref, "--json", "--layer", "0"],
                          capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = {e["path"]: e.get("unsafe") for e in json.loads(done.stdout)["entries"]}
    assert {p: rows[p] for p in STORED} == STORED
    warning = [line for line in done.stderr.splitlines() if "outside the root" in line]
    assert len(warning) == 1 and "4 members" in warning[0] and "../escape/evil" in warning[0]
    merged = subprocess.run([sys.executable, "-m", "layerslayer_tui", image.ref, "--export", str(tmp_path / "m.csv")],
                            capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
    assert merged.returncode == 0 and "4 members" in merged.stderr
    table = {r["path"]: r["unsafe"] for r in csv.DictReader((tmp_path / "m.csv").open(newline=""))}
    assert table["escape/evil"] == ESCAPES and "../escape/evil" not in table


# -- implied directories ------------------------------------------------------------


def test_a_layer_view_lists_only_what_the_tar_holds() -> None:
    tree = trees_of(IMPLIED)[0]
    rows = json.loads(export(tree, "json", "layer", 1))["entries"]
    assert sorted(e["path"] for e in rows) == sorted(e.path for e in read_entries(build_layer(IMPLIED[0])))
    assert not any("implied" in e for e in rows)


@pytest.mark.skipif(not have_umoci(), reason="umoci is not installed")
@pytest.mark.parametrize("upto", [0, 1])
def test_the_merged_view_includes_implied_directories_like_umoci(upto: int, tmp_path: Path) -> None:
    rootfs = umoci_unpack([build_layer(specs) for specs in IMPLIED[: upto + 1]], tmp_path)
    merged = merge(trees_of(IMPLIED), upto)
    text = export(merged, "json", "merged", upto + 1)
    assert json_view(text) == rootfs_view(rootfs)
    rows = {e["path"]: e for e in json.loads(text)["entries"]}
    implied = {p for p, e in rows.items() if e.get("implied")}
    want = {"etc/app", "var", "var/lib/systemd", "usr/share", "usr/share/doc"}
    assert want <= implied and "etc" not in implied and "usr" not in implied
    assert all(rows[p]["mode"] == IMPLIED_MODE and rows[p]["mtime"] is None for p in implied)
    if upto == 1:
        assert "var/lib" not in implied and rows["var/lib"]["mode"] == 0o750 and "etc/app/more" in implied


def test_implied_directories_in_csv_and_tar_txt() -> None:
    merged = merge(trees_of(IMPLIED))
    table = {r["path"]: r for r in csv.DictReader(io.StringIO(export(merged, "csv", "merged", 2)))}
    assert table["etc/app"]["implied"] == "true" and table["etc/app"]["mtime"] == ""
    assert table["etc"]["implied"] == ""
    ls = export(merged, "tar.txt", "merged", 2).splitlines()
    line = next(line for line in ls if line.endswith(" etc/app/"))
    assert line.split() == ["drwxr-xr-x", "0/0", "0", "????-??-??", "??:??", "etc/app/"]
    assert len(line) == len(next(line for line in ls if line.endswith(" etc/"))) + 4  # columns aligned


@pytest.mark.registry
def test_the_app_warns_once_per_layer(registry, tmp_path: Path, monkeypatch) -> None:
    from layerslayer_tui.session import Session
    from layerslayer_tui.tui.app import LayerslayerApp
    from tui_pilot import labels, listed, run, tree_of, wait_for

    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    image = push_image(registry, "fidelity/app", "1", [gzip.compress(build_layer(UNSAFE[0]), mtime=0)])
    with Session(cache_path=tmp_path / "cache.sqlite3") as session:
        app = LayerslayerApp(image.ref, session=session)

        async def body(pilot: Any) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            await pilot.pause(0.1)
            warnings = [n for n in app._notifications if n.title == "Layer 0: unsafe names"]
            assert len(warnings) == 1 and "4 members" in warnings[0].message
            assert warnings[0].message == trees_of(UNSAFE)[0].unsafe_note()
            shown = labels(tree_of(app).root)
            assert any(label.startswith("../escape/evil") for label in shown), shown
            app._layer_done(0)  # the same listing again (e.g. after f): no second notification
            assert len([n for n in app._notifications if n.title == "Layer 0: unsafe names"]) == 1

        run(app, body)


@pytest.mark.registry
def test_the_app_views_a_clamped_member_from_the_merged_view(registry, tmp_path: Path, monkeypatch) -> None:
    """The merged view shows `../escape/evil` at `escape/evil` (where a runtime
    puts it); `v` there must read the member by its stored name, not 'not found'."""
    from layerslayer_tui.session import Session
    from layerslayer_tui.tui.app import LayerslayerApp
    from layerslayer_tui.tui.screens.viewer import ViewerScreen
    from layerslayer_tui.tui.widgets.layer_list import LayerList
    from tui_pilot import list_all, run, tree_of, wait_for, viewer_ready

    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    image = push_image(registry, "fidelity/view", "1", [gzip.compress(build_layer(UNSAFE[0]), mtime=0)])
    with Session(cache_path=tmp_path / "cache.sqlite3") as session:
        app = LayerslayerApp(image.ref, session=session)

        async def body(pilot: Any) -> None:
            await list_all(pilot)
            app.query_one(LayerList).highlight_layer(None)
            await pilot.pause(0.1)
            tree = tree_of(app)
            folder = tree.expand_path("escape")
            tree.focus()
            await pilot.pause()
            tree.move_cursor(next(c for c in folder.children if c.data.name == "evil"))
            await pilot.pause()
            await pilot.press("v")
            await wait_for(pilot, viewer_ready(app), "viewer")
            assert app.screen.data == b"evil!"

        run(app, body)
