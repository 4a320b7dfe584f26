"""The tar scanner against ground truth (tarfile, GNU tar) in every format."""

from __future__ import annotations

import io
import stat
import tarfile
import tracemalloc

import pytest
from bed.layers import (
    FORMATS,
    Item,
    build_tar,
    entry_tuples,
    format_tar,
    gnu_sparse_tar,
    huge_declared_tar,
    sparse_file_bytes,
    tar_tv_listing,
    tarfile_listing,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerslayer_tui.entry import EntryType
from layerslayer_tui.errors import LayerFormatError
from layerslayer_tui.peek.scanner import TarScanner


def scan(data: bytes, chunk: int = 1 << 20) -> tuple[list, TarScanner]:
    scanner = TarScanner()
    out = []
    for i in range(0, len(data), chunk):
        out += scanner.feed(data[i : i + chunk])
    scanner.end_of_stream()
    return out, scanner


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("chunk", [1, 511, 513, 4096, 1 << 20])
def test_listing_equals_tarfile_field_by_field(format_tars: dict[str, bytes], fmt: str, chunk: int) -> None:
    entries, scanner = scan(format_tars[fmt], chunk)
    assert scanner.finished
    assert entry_tuples(entries) == tarfile_listing(format_tars[fmt])


def test_listing_equals_gnu_tar_tv() -> None:
    data = format_tar("gnu", control_chars=False)
    entries, _ = scan(data)
    ours = []
    for e in entries:
        mode = stat.filemode(e.mode)[1:]
        ours.append((e.path, e.type.value, e.size if e.type.value not in ("char", "block") else 0, mode, e.uid, e.gid, e.link))
    theirs = [(p, k, s, m, u, g, link) for (p, k, s, m, u, g, _t, link) in tar_tv_listing(data)]
    assert ours == theirs
    assert len(ours) >= 20


def test_formats_really_differ(format_tars: dict[str, bytes]) -> None:
    # The fixtures exercise what they claim: GNU long names, PAX records, ustar prefixes.
    assert b"././@LongLink" in format_tars["gnu"]
    assert b" path=" in format_tars["pax"] and b"SCHILY.xattr.user.k" in format_tars["pax"]
    assert b"\x80" in format_tars["gnu"][: 512 * 400]  # base-256 uid 3_000_000
    entries, _ = scan(format_tars["pax"])
    by_path = {e.path: e for e in entries}
    assert by_path["frac"].mtime == pytest.approx(1_700_000_000.25)
    assert by_path["xattr"].xattrs == {"user.k": "v", "security.capability": "cap"}
    assert by_path["bigid"].uid == 3_000_000
    assert by_path["dev/null"].type is EntryType.CHAR and (by_path["dev/null"].devmajor, by_path["dev/null"].devminor) == (1, 3)
    assert by_path["usr/bin/hard"].link == "usr/bin/tool"
    assert "\x1b[31mred" in by_path and "[bold]x[/bold]" in by_path and "a[/]b" in by_path


def test_global_pax_header_applies_to_every_member() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"uname": "globaluser", "comment": "hi"}) as tar:
        for name in ("a", "b"):
            info = tarfile.TarInfo(name)
            info.uname = ""
            tar.addfile(info, io.BytesIO(b""))
    entries, _ = scan(buf.getvalue())
    assert entry_tuples(entries) == tarfile_listing(buf.getvalue())
    assert [e.uname for e in entries] == ["globaluser", "globaluser"]


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_files_from_gnu_tar(layer_workdir, fmt: str) -> None:
    content = sparse_file_bytes()
    data = gnu_sparse_tar(layer_workdir, content, fmt)
    entries, scanner = scan(data, 777)
    assert scanner.finished
    assert entry_tuples(entries) == tarfile_listing(data)
    holes = next(e for e in entries if e.path == "holes.bin")
    assert holes.size == len(content)
    assert holes.extra and ("sparse" in holes.extra or "sparse_pax" in holes.extra)
    if fmt == "gnu":
        assert b"S" == data[156:157]  # old GNU sparse header...
        assert len(holes.extra["sparse"]) > 4  # ...with extension blocks


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_file_declaring_more_than_8_gib(fmt: int) -> None:
    data = huge_declared_tar(fmt)
    if fmt == tarfile.GNU_FORMAT:
        assert data[-64 * 1024 - 512 + 124] & 0x80  # the size really is base-256
    entries, scanner = scan(data, 4096)
    assert [(e.path, e.size) for e in entries] == [("before", 1), ("huge.img", 9 * 1024**3)]
    assert not scanner.finished  # cut off inside the content: never "complete"


def test_end_with_one_or_no_zero_blocks() -> None:
    data = build_tar([Item("a", data=b"x" * 600), Item("b")], tarfile.USTAR_FORMAT)
    body = data.rstrip(b"\x00")
    body = data[: -(-len(body) // 512) * 512]
    for tail in (bytes(1024), bytes(512), b""):
        entries, scanner = scan(body + tail, 100)
        assert [e.path for e in entries] == ["a", "b"]
        assert scanner.finished
    _, cut = scan(body[:-10])
    assert not cut.finished


def _raw_header(name: bytes, typeflag: bytes, size_field: bytes) -> bytearray:
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\x00"
    block[108:116] = b"0000000\x00"
    block[116:124] = b"0000000\x00"
    block[124:136] = size_field
    block[136:148] = b"00000000000\x00"
    block[156:157] = typeflag
    block[257:265] = b"ustar\x0000"
    return block


def _seal(block: bytearray, signed: bool = False) -> bytes:
    block[148:156] = b" " * 8
    total = sum((b - 256 if b >= 128 and signed else b) for b in block)
    block[148:156] = b"%06o\x00 " % total
    return bytes(block)


def test_signed_checksum_and_unknown_typeflag() -> None:
    hdr = _raw_header("é-dump".encode() + b"\xff", b"D", b"00000000000\x00")
    data = _seal(hdr, signed=True) + bytes(1024)
    entries, scanner = scan(data)
    assert scanner.finished and len(entries) == 1
    assert entries[0].type is EntryType.FILE and entries[0].extra == {"typeflag": "D"}
    assert entry_tuples(entries)[0][0] == tarfile_listing(data)[0][0]


def test_bad_checksum_is_a_clear_error() -> None:
    data = bytearray(build_tar([Item("a", data=b"x")], tarfile.USTAR_FORMAT))
    data[10] ^= 0x55
    with pytest.raises(LayerFormatError, match="checksum at offset 0"):
        scan(bytes(data))


def test_negative_size_is_refused() -> None:
    neg = b"\xff" * 12
    with pytest.raises(LayerFormatError, match="impossible entry size"):
        scan(_seal(_raw_header(b"neg", b"0", neg)) + bytes(1024))


@pytest.mark.parametrize("typeflag", [b"x", b"L"])
def test_oversized_record_is_refused_before_buffering(typeflag: bytes) -> None:
    header = _seal(_raw_header(b"././@PaxHeader", typeflag, b"%011o\x00" % (2 * 1024 * 1024)))
    scanner = TarScanner()
    with pytest.raises(LayerFormatError, match="over 1 MiB"):
        scanner.feed(header + bytes(4096))


def test_malformed_pax_record_is_a_clear_error() -> None:
    record = b"99 path=x\n"
    header = _seal(_raw_header(b"././@PaxHeader", b"x", b"%011o\x00" % len(record)))
    with pytest.raises(LayerFormatError, match="PAX"):
        scan(header + record + bytes(512 - len(record)) + bytes(1024))


def test_contents_are_skipped_not_buffered() -> None:
    # A 256 MiB file fed in 1 MiB pieces of one reused buffer: the scanner
    # itself must allocate next to nothing.
    info = tarfile.TarInfo("big")
    info.size = 256 * 1024 * 1024
    header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    piece = bytes(1 << 20)
    scanner = TarScanner()
    tracemalloc.start()
    try:
        found = scanner.feed(header)
        for _ in range(256):
            found += scanner.feed(piece)
        found += scanner.feed(bytes(1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.path for e in found] == ["big"] and scanner.finished
    assert peak < 256 * 1024


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.one_of(st.integers(1, 600), st.integers(1, 4 * 1024 * 1024)), min_size=1, max_size=40))
def test_feed_size_fuzzing(format_tars: dict[str, bytes], sizes: list[int]) -> None:
    data = format_tars["pax"] + format_tars["gnu"]  # the scanner stops at the first archive's end
    want = tarfile_listing(format_tars["pax"])
    scanner = TarScanner()
    out = []
    pos = 0
    n = 0
    while pos < len(data):
        step = sizes[n % len(sizes)]
        out += scanner.feed(data[pos : pos + step])
        pos += step
        n += 1
    assert entry_tuples(out) == want
    assert scanner.finished
