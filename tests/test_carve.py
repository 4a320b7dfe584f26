"""Carving one file out of a layer, against the bytes tarfile extracts."""

from __future__ import annotations

import io
import tarfile

import pytest
from bed.layers import (
    VERY_LONG,
    Item,
    RecordingSource,
    build_tar,
    gnu_sparse_tar,
    gzip_bytes,
    many_files_spec,
    raw_tar,
    sparse_file_bytes,
    zstd_bytes,
)

from layerslayer_tui.entry import EntryType
from layerslayer_tui.errors import NotFoundError
from layerslayer_tui.peek import BytesSource, carve


def extract(layer: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(raw_tar(layer)), mode="r:") as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


@pytest.mark.parametrize("compress", [gzip_bytes, zstd_bytes, lambda d: d])
def test_carve_file_content(format_tars, compress) -> None:
    layer = compress(format_tars["gnu"])
    got = carve(BytesSource(layer), "./usr/bin/tool")
    assert got.content == extract(layer, "usr/bin/tool") and len(got.content) == 102400
    assert got.entry.path == "usr/bin/tool" and not got.truncated
    assert carve(BytesSource(layer), VERY_LONG).content == b"deep"
    assert carve(BytesSource(layer), "usr/empty").content == b""


def test_carve_stops_reading_once_the_file_is_complete() -> None:
    layer = gzip_bytes(build_tar(many_files_spec(2500)))
    src = RecordingSource(layer)
    got = carve(src, "data/d0/f3.bin")
    assert got.content == extract(layer, "data/d0/f3.bin")
    assert src.closes == 1
    assert src.sent <= 1 << 20  # one read chunk, out of several MiB
    assert len(layer) > 3 * (1 << 20)


def test_cap_and_dest(format_tars, tmp_path) -> None:
    layer = gzip_bytes(format_tars["pax"])
    capped = carve(BytesSource(layer), "usr/bin/tool", cap=1000)
    assert capped.truncated and capped.content == extract(layer, "usr/bin/tool")[:1000]
    dest = tmp_path / "out" / "tool"
    written = carve(BytesSource(layer), "usr/bin/tool", cap=1000, dest=dest)
    assert written.dest == dest and written.content is None and not written.truncated
    assert dest.read_bytes() == extract(layer, "usr/bin/tool")
    assert [p.name for p in dest.parent.iterdir()] == ["tool"]  # no temp file left behind


def test_symlink_reports_target_and_hardlink_resolves(format_tars) -> None:
    layer = gzip_bytes(format_tars["pax"])
    link = carve(BytesSource(layer), "usr/bin/link")
    assert link.target == "tool" and link.content is None and link.entry.type is EntryType.SYMLINK
    hard = carve(BytesSource(layer), "usr/bin/hard")
    assert hard.entry.type is EntryType.HARDLINK and hard.resolved is not None
    assert hard.resolved.path == "usr/bin/tool"
    assert hard.content == extract(layer, "usr/bin/tool")
    deep = carve(BytesSource(layer), "links/hard-to-long")
    assert deep.content == b"deep"


def test_missing_path_is_a_clear_error(format_tars) -> None:
    with pytest.raises(NotFoundError, match="no file named 'nope'"):
        carve(BytesSource(format_tars["ustar"]), "nope")


def test_directory_has_no_content(format_tars) -> None:
    got = carve(BytesSource(format_tars["ustar"]), "etc/")
    assert got.entry.type is EntryType.DIR and got.content is None


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_gnu_sparse_file_is_expanded(layer_workdir, fmt: str) -> None:
    content = sparse_file_bytes()
    layer = gzip_bytes(gnu_sparse_tar(layer_workdir, content, fmt))
    got = carve(BytesSource(layer), "holes.bin")
    assert got.content == content == extract(layer, "holes.bin")
    assert carve(BytesSource(layer), "plain.txt").content == b"plain\n"


def test_hardlink_chain_in_one_layer() -> None:
    layer = build_tar([Item("a", data=b"AAA"), Item("b", "hardlink", link="a"), Item("c", "hardlink", link="./b")])
    got = carve(BytesSource(layer), "c")
    assert got.content == b"AAA" and got.resolved is not None and got.resolved.path == "a"
