"""Compression sniffing and streaming decompression on real gzip/zstd bytes."""

from __future__ import annotations

import gzip
import tarfile
import zlib

import pytest
import zstandard
from bed.layers import Item, build_tar, entry_tuples, gzip_bytes, skippable_frame, tarfile_listing, zstd_bytes

from layerslayer_tui.errors import LayerFormatError
from layerslayer_tui.peek import BytesSource, complete, listing
from layerslayer_tui.peek.decompress import OUT_PIECE, StreamDecoder, check_media_type, have_isal, sniff


def decode(data: bytes, chunk: int = 65536, use_isal: bool = True) -> tuple[bytes, bool, StreamDecoder]:
    out: list[bytes] = []
    dec = StreamDecoder(lambda b: out.append(bytes(b)), use_isal=use_isal)
    for i in range(0, len(data), chunk):
        dec.write(data[i : i + chunk])
    clean = dec.finish()
    return b"".join(out), clean, dec


def v7_tar() -> bytes:
    """A pre-POSIX tar: no magic at 257, only a valid checksum."""
    block = bytearray(build_tar([Item("old", data=b"v7")], tarfile.USTAR_FORMAT)[:512])
    block[257:265] = bytes(8)
    block[265:345] = bytes(80)
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block) + b"v7".ljust(512, b"\x00") + bytes(1024)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (gzip.compress(b"x"), "gzip"),
        (zstandard.ZstdCompressor().compress(b"x"), "zstd"),
        (skippable_frame(b"meta", 3) + zstandard.ZstdCompressor().compress(b"x"), "zstd"),
        (build_tar([Item("a")], tarfile.USTAR_FORMAT), "tar"),
        (v7_tar(), "tar"),
        (bytes(1024), "tar"),
    ],
)
def test_sniff_by_magic(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


def test_sniff_waits_for_enough_bytes_then_refuses_garbage() -> None:
    assert sniff(b"\x1f") is None
    assert sniff(b"PK\x03\x04") is None  # could still be a tar until its first block is in
    with pytest.raises(LayerFormatError, match="^Cannot read this layer type: .*50 4b 03 04"):
        sniff(b"PK\x03\x04" + bytes(600))


def test_encrypted_layers_are_refused_clearly() -> None:
    with pytest.raises(LayerFormatError, match="Cannot read this layer type"):
        check_media_type("application/vnd.oci.image.layer.v1.tar+gzip+encrypted")
    check_media_type("application/vnd.oci.image.layer.v1.tar+zstd")
    with pytest.raises(LayerFormatError, match="encrypted"):
        complete(BytesSource(b""), media_type="application/vnd.oci.image.layer.v1.tar+encrypted")


def test_v7_tar_lists(format_tars) -> None:
    entries, progress = listing(complete(BytesSource(v7_tar())))
    assert [e.path for e in entries] == ["old"] and progress.complete


@pytest.mark.skipif(not have_isal(), reason="python-isal is not installed")
@pytest.mark.parametrize("members", [1, 4])
def test_isal_and_zlib_paths_agree(format_tars, members: int) -> None:
    raw = format_tars["pax"] * 1
    layer = gzip_bytes(raw, members, padding=37)
    fast, clean_fast, dec_fast = decode(layer, 1000, use_isal=True)
    slow, clean_slow, dec_slow = decode(layer, 1000, use_isal=False)
    assert fast == slow == raw
    assert clean_fast and clean_slow
    assert dec_fast._impl._mod is not zlib and dec_slow._impl._mod is zlib  # really two code paths
    assert dec_fast._impl.members == members
    a, _ = listing(complete(BytesSource(layer), use_isal=True))
    b, _ = listing(complete(BytesSource(layer), use_isal=False))
    assert entry_tuples(a) == entry_tuples(b) == tarfile_listing(raw)


def test_every_gzip_member_is_read_and_padding_skipped(format_tars) -> None:
    raw = format_tars["gnu"]
    layer = gzip_bytes(raw, 7, padding=1024)
    out, clean, dec = decode(layer, 333)
    assert out == raw and clean and dec._impl.members == 7
    assert zlib.decompressobj(31).decompress(layer) != raw  # a single-member reader would fall short


def test_zstd_all_frames_and_skippable_frames(format_tars) -> None:
    raw = format_tars["pax"]
    layer = zstd_bytes(raw, frames=5, skippable=True)
    assert layer[:4] != b"\x28\xb5\x2f\xfd"  # starts with a skippable frame
    out, _, _ = decode(layer, 777)
    assert out == raw
    entries, progress = listing(complete(BytesSource(layer)))
    assert entry_tuples(entries) == tarfile_listing(raw) and progress.complete


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_bombs_come_out_in_bounded_pieces(kind: str) -> None:
    zeros = bytes(64 * 1024 * 1024)
    layer = gzip.compress(zeros, 9) if kind == "gzip" else zstandard.ZstdCompressor(level=19).compress(zeros)
    assert len(layer) < 200 * 1024
    biggest = 0
    total = 0

    def sink(piece: bytes) -> None:
        nonlocal biggest, total
        biggest = max(biggest, len(piece))
        total += len(piece)

    dec = StreamDecoder(sink)
    dec.write(layer)  # the whole compressed bomb in one write
    dec.finish()
    assert total == len(zeros)
    assert biggest <= OUT_PIECE


def test_corrupt_gzip_is_a_clear_error(format_tars) -> None:
    layer = bytearray(gzip_bytes(format_tars["pax"]))
    layer[40:60] = b"\xff" * 20
    with pytest.raises(LayerFormatError, match="gzip data is corrupt"):
        listing(complete(BytesSource(bytes(layer))))


def test_trailing_garbage_after_gzip_is_ignored(format_tars) -> None:
    layer = gzip_bytes(format_tars["ustar"]) + b"\x00\x00garbage"
    out, clean, dec = decode(layer, 5)
    assert out == format_tars["ustar"] and dec._impl.trailing_garbage and clean


def test_truncated_gzip_is_not_clean(format_tars) -> None:
    layer = gzip_bytes(format_tars["pax"])
    _, clean, _ = decode(layer[: len(layer) // 2])
    assert not clean


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from layerslayer_tui.peek.reader import Pipeline  # noqa: E402


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["gzip", "zstd"]), sizes=st.lists(st.one_of(st.integers(1, 64), st.integers(1, 4 * 1024 * 1024)), min_size=1, max_size=30))
def test_compressed_feed_size_fuzzing(format_tars, kind: str, sizes: list[int]) -> None:
    raw = format_tars["gnu"]
    layer = gzip_bytes(raw, 3, padding=100) if kind == "gzip" else zstd_bytes(raw, 3)
    pipe = Pipeline()
    pos = n = 0
    while pos < len(layer):
        step = sizes[n % len(sizes)]
        pipe.feed(layer[pos : pos + step])
        pos += step
        n += 1
    pipe.end()
    assert entry_tuples(pipe.take()) == tarfile_listing(raw)
    assert pipe.scanner.finished and pipe.raw == len(layer)
