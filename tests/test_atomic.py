"""atomic: the one temp-file-then-rename every writer uses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from layerslayer_tui import atomic


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(atomic.SUFFIX))


def test_writing_publishes_on_a_clean_exit_with_the_mode_asked(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    with atomic.writing(dest, "w", chmod=0o644, encoding="utf-8") as out:
        out.write("hello")
        assert not dest.exists()  # nobody sees half a file
    assert dest.read_text() == "hello"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_an_error_inside_leaves_neither_the_file_nor_a_temp(tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(ValueError):
        with atomic.writing(dest) as out:
            out.write(b"new")
            raise ValueError("digest mismatch")
    assert dest.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["file", "dangling symlink"])
def test_no_clobber_refuses_anything_at_the_name(tmp_path: Path, kind: str) -> None:
    dest = tmp_path / "out.txt"
    if kind == "file":
        dest.write_text("mine")
    else:
        os.symlink(tmp_path / "nowhere", dest)
    with pytest.raises(FileExistsError):
        with atomic.writing(dest, "w", overwrite=False) as out:
            out.write("theirs")
    assert os.path.lexists(dest) and not (tmp_path / "nowhere").exists()
    if kind == "file":
        assert dest.read_text() == "mine"
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_a_temp_file_error(tmp_path: Path) -> None:
    with pytest.raises(atomic.TempFileError):
        with atomic.writing(tmp_path / "absent" / "out.txt"):
            pass
