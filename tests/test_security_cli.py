"""Issue 10, the CLI half: registry text never reaches the terminal raw (#6),
impossible sizes are one sentence (#10), and the incomplete-layers message
names only what this run listed (#14). The CLI runs as a process."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from bed.images import PushedImage, make_layer, push_image
from bed.layers import build_tar, many_files_spec

# ESC/CSI (clear screen), OSC (retitle, ended by BEL), a lone BEL, C1 CSI, DEL, a newline.
HOSTILE_NAMES = [
    "evil\x1b]0;PWNED\x07title",
    "clear\x1b[2Jscreen",
    "c1\x9b31mred",
    "bell\x07ring",
    "del\x7fete",
    "new\nline",
]


def run(argv: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "layerslayer_tui", *argv], capture_output=True, text=True,
                          timeout=180, env=env)


def raw_controls(text: str) -> list[str]:
    """Control characters a terminal would act on (newline and tab end lines and columns)."""
    return [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def one_sentence(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


# -- #6: escape sequences -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_names(registry) -> PushedImage:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in HOSTILE_NAMES:
            info = tarfile.TarInfo(f"names/{name}")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return push_image(registry, "sec/escapes", "1", [gzip.compress(buf.getvalue(), mtime=0)])


def test_search_prints_hostile_names_escaped(hostile_names, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    listed = run([hostile_names.ref, "--json", "--layer", "0"], cache)
    assert listed.returncode == 0, listed.stderr
    # JSON stays JSON: every control escaped by json.dumps, names round-trip exactly
    assert raw_controls(listed.stdout) == []
    assert sorted(e["path"] for e in json.loads(listed.stdout)["entries"]) == sorted(
        f"names/{n}" for n in HOSTILE_NAMES)

    found = run(["search", "names/"], cache)
    assert found.returncode == 0, found.stderr
    assert raw_controls(found.stdout) == [] and raw_controls(found.stderr) == []
    lines = found.stdout.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)  # a newline in a name does not make two hits
    assert {line.split("\t")[-1] for line in lines} == {
        "names/evil\\x1b]0;PWNED\\x07title", "names/clear\\x1b[2Jscreen", "names/c1\\x9b31mred",
        "names/bell\\x07ring", "names/del\\x7fete", "names/new\\x0aline"}

    as_json = run(["search", "names/", "--json"], cache)
    assert as_json.returncode == 0 and raw_controls(as_json.stdout) == []
    assert sorted(h["path"] for h in json.loads(as_json.stdout)) == sorted(f"names/{n}" for n in HOSTILE_NAMES)

    # the pattern itself, echoed when nothing matches
    none = run(["search", "\x1b]0;nothing\x07"], cache)
    assert none.returncode == 0 and raw_controls(none.stderr) == [] and "no cached listing" in none.stderr


def test_error_messages_quote_registry_text_escaped(hostile_registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    media = "application/vnd.evil\x1b[2J\x1b]0;PWNED\x07+json"
    ref = hostile_registry.serve_image("evil/media", "1", [], media_type=media)
    err = one_sentence(run([ref, "--json"], cache))
    assert raw_controls(err) == [] and "\\x1b[2J\\x1b]0;PWNED\\x07" in err

    ref = hostile_registry.serve_index("evil/platforms", "1", [
        {"os": "linux\x1b]0;PWNED\x07", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64\x9b2J"},
    ])
    err = one_sentence(run([ref, "--json", "--platform", "windows/s390x"], cache))
    assert raw_controls(err) == [], err
    assert "\\x1b]0;PWNED\\x07" in err or "\\x9b2J" in err, err  # the platforms are named, escaped


# -- #10: sizes no byte count can be ---------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["127.0.0.1:9/never/contacted:1", "--json", "--budget", "inf"],
    ["127.0.0.1:9/never/contacted:1", "--json", "--budget", "1e400"],
    ["127.0.0.1:9/never/contacted:1", "--json", "--budget", "nan"],
    ["cache", "prune", "--max-size", "inf"],
    ["cache", "prune", "--max-size", "1e400G"],
], ids=lambda a: " ".join(a[-2:]))
def test_impossible_sizes_are_one_sentence(argv: list[str], tmp_path: Path) -> None:
    err = one_sentence(run(argv, tmp_path / "cache"))
    assert "is not a size" in err


# -- #14: which layers were listed partially ------------------------------------------------------


@pytest.fixture(scope="module")
def two_layers(registry) -> PushedImage:
    big = gzip.compress(build_tar(many_files_spec(300)), mtime=0)  # about 450 KB: a 64K budget is partial
    return push_image(registry, "sec/partial", "1", [big, make_layer({"top.txt": b"top"})])


def test_full_names_no_layer_it_did_not_list(two_layers, tmp_path: Path) -> None:
    out = tmp_path / "l0.json"
    full = run([two_layers.ref, "--layer", "0", "--full", "--export", str(out)], tmp_path / "c1")
    assert full.returncode == 0 and full.stderr == "", full.stderr  # layer 1 was never listed: not named
    doc = json.loads(out.read_text())
    assert doc["layers"][0]["complete"] and doc["layers"][0]["verified"]


def test_partial_names_exactly_the_partial_layers(two_layers, tmp_path: Path) -> None:
    partial = run([two_layers.ref, "--layer", "1", "--budget", "64K", "--export", str(tmp_path / "m.json")],
                  tmp_path / "c2")
    assert partial.returncode == 0, partial.stderr
    assert partial.stderr == "layerslayer-tui: layers 0 were listed partially; use --full for everything.\n"


def test_full_read_that_stays_incomplete_says_why(two_layers, hostile_registry, tmp_path: Path) -> None:
    """--full cannot be the advice after --full: the reader's own reason is."""
    real = two_layers.layers[1]
    other = make_layer({"top.txt": b"not the real one"})
    ref = hostile_registry.serve_image("evil/partial", "1", [(real.digest, other)])
    out = run([ref, "--full", "--export", str(tmp_path / "e.json")], tmp_path / "c3")
    assert out.returncode == 0, out.stderr
    assert "use --full" not in out.stderr
    assert out.stderr.startswith("layerslayer-tui: layer 0 is incomplete even read in full: The layer's bytes "
                                 "do not match its digest"), out.stderr
