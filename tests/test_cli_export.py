"""Headless export through the CLI against the real registry: every format,
exit codes, --json to stdout, --force, search, offline."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path

import pytest

from bed.images import PushedImage, make_layer, push_image
from layerslayer_tui.cli import main

pytestmark = pytest.mark.registry

LOWER = {"etc": None, "etc/passwd": b"root:x:0:0\n", "etc/old.conf": b"x" * 100, "usr": None, "usr/bin": None,
         "usr/bin/tool": b"\x7fELF" + b"\x00" * 1000}
UPPER = {"etc": None, "etc/.wh.old.conf": b"", "etc/new.conf": b"y" * 10, "home": None,
         "home/u": None, "home/u/.ssh": None, "home/u/.ssh/id_rsa": b"-----BEGIN-----\n"}


@pytest.fixture(scope="module")
def image(registry) -> PushedImage:
    return push_image(registry, "cli/app", "1", [make_layer(LOWER, "gzip"), make_layer(UPPER, "zstd")])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def names(blob: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tf:
        return {m.name.removeprefix("./").rstrip("/") for m in tf.getmembers()}


MERGED = (names(make_layer(LOWER, "none")) - {"etc/old.conf"}) | {
    "etc/new.conf", "home", "home/u", "home/u/.ssh", "home/u/.ssh/id_rsa"}


def test_json_export_of_the_merged_view(image: PushedImage, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "m.json"
    assert main([image.ref, "--export", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert {e["path"] for e in doc["entries"]} == MERGED
    assert doc["view"] == "merged" and doc["manifest_digest"] == image.manifest_digest
    assert [layer["digest"] for layer in doc["layers"]] == [layer.digest for layer in image.layers]
    assert all(layer["complete"] for layer in doc["layers"])  # small layers fit the budget
    assert capsys.readouterr().out == ""  # stdout stays clean; no TTY, no progress line


def test_each_format_and_layer_choice(image: PushedImage, env: Path) -> None:
    assert main([image.ref, "--layer", "1", "--export", str(env / "l1.csv")]) == 0
    rows = list(csv.DictReader((env / "l1.csv").open()))
    paths = {r["path"] for r in rows}
    assert {"etc/new.conf", "home/u/.ssh/id_rsa"} <= paths
    assert {r["type"] for r in rows if r["path"] == "etc/old.conf"} == {"whiteout"}

    assert main([image.ref, "--layer", "0", "--export", str(env / "l0.tar.txt")]) == 0
    lines = (env / "l0.tar.txt").read_text().splitlines()
    assert len(lines) == len(names(image.layers[0].data))
    assert any(line.endswith("usr/bin/tool") for line in lines)

    assert main([image.ref, "--export", str(env / "m.out"), "--format", "txt"]) == 0
    assert "id_rsa" in (env / "m.out").read_text()

    assert main([image.ref, "--layer", "all", "--export", str(env / "each.json")]) == 0
    for i, layer in enumerate(image.layers):
        doc = json.loads((env / f"each.{i}.json").read_text())
        assert doc["view"] == "layer" and doc["layers"][0]["digest"] == layer.digest


def test_json_to_stdout_with_filter(image: PushedImage, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([image.ref, "--json", "--filter", "*/id_rsa"]) == 0
    doc = json.loads(capsys.readouterr().out)
    files = [e["path"] for e in doc["entries"] if e["type"] == "file"]
    assert files == ["home/u/.ssh/id_rsa"]
    assert doc["filter"]["pattern"] == "*/id_rsa"


def test_exit_codes(image: PushedImage, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = env / "x.json"
    assert main([image.ref, "--export", str(out)]) == 0
    capsys.readouterr()
    cases = [
        [image.ref, "--export", str(out)],  # exists, no --force
        ["Not/A:Ref!", "--export", str(env / "y.json")],  # bad reference
        [f"{image.host}/cli/app:nope", "--export", str(env / "z.json")],  # unknown tag
        [image.ref, "--layer", "9", "--export", str(env / "z.json")],  # no such layer
        [image.ref, "--export", str(env / "missing-dir" / "z.json")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
    assert not (env / "z.json").exists()
    assert main([image.ref, "--export", str(out), "--force", "--layer", "-1"]) == 0
    assert json.loads(out.read_text())["view"] == "layer"


def test_search_and_offline_after_an_export(image: PushedImage, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([image.ref, "--export", str(env / "a.json")]) == 0
    capsys.readouterr()
    assert main(["search", "id_rsa", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [(h["layer_index"], h["path"]) for h in hits] == [(1, "home/u/.ssh/id_rsa")]
    assert main([image.ref, "--offline", "--json"]) == 0
    assert {e["path"] for e in json.loads(capsys.readouterr().out)["entries"]} == MERGED
    assert main(["--no-cache", "--offline", image.ref, "--json"]) == 2
