"""CLI paths that need no registry: cache management, usage errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from layerslayer_tui.cache import Cache
from layerslayer_tui.cli import main
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cache"
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(d))
    return d


def fill(n_layers: int = 12) -> None:
    import random

    rnd = random.Random(7)
    c = Cache()
    for i in range(n_layers):
        entries = [TarEntry(f"{rnd.getrandbits(64):x}/{j}", EntryType.FILE, j) for j in range(3000)]
        assert c.put_listing(f"sha256:{i:064d}", entries, ListingProgress(entries=3000, complete=True, verified=True))
    c.close()


def test_cache_info_clear_prune(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill()
    assert main(["cache", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["listings"] == 12 and info["entries"] == 36000 and info["size"] > 100_000
    assert main(["cache", "prune", "--max-size", str(info["size"] // 2)]) == 0
    assert "freed" in capsys.readouterr().out
    left = Cache().info()
    assert 0 < left["listings"] < 12 and left["size"] <= info["size"] // 2 + 64 * 1024
    assert main(["cache", "clear"]) == 0
    assert "Cache cleared" in capsys.readouterr().out
    assert Cache().info()["listings"] == 0
    assert main(["cache", "info"]) == 0
    assert "listings: 0" in capsys.readouterr().out


def test_cache_clear_mends_a_corrupt_file(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache_dir.mkdir(parents=True)
    (cache_dir / "cache.sqlite3").write_bytes(b"garbage" * 1000)
    assert main(["cache", "info"]) == 0
    err = capsys.readouterr().err
    assert "cannot be used" in err and err.count("\n") == 1
    assert main(["cache", "clear"]) == 0
    assert Cache().enabled


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["cache", "prune"], "--max-size"),
        (["cache", "prune", "--max-size", "lots"], "not a size"),
        (["cache", "explode"], "cache info"),
        (["search"], "one pattern"),
        (["a", "b"], "one image"),
        (["--export", "x.json"], "Name the image"),
        (["--export", "x.json", "--json", "img"], "not both"),
        (["--frobnicate"], "Unrecognized"),
        (["--export", "x.json", "UPPER/Case"], ""),
        (["--budget", "zero", "--json", "localhost:1/x"], "not a size"),
    ],
)
def test_usage_errors_are_one_sentence_and_exit_2(
    cache_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("layerslayer-tui: ")
    assert needle in captured.err
    assert "Traceback" not in captured.err


def test_offline_without_cache_entry_is_a_clear_error(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--offline", "--json", "localhost:5999/never/seen:1"]) == 2
    err = capsys.readouterr().err
    assert "Offline" in err and err.count("\n") == 1


def test_console_script_runs_as_a_process(cache_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", "search", "x"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "no cached listing" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "cache info|clear|prune" in proc.stdout
