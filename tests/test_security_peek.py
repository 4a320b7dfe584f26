"""Hostile layer bytes (issue 10, findings 4, 9 and 12): memory and disk stay
bounded, what is refused is said, and honest entries are still listed."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tracemalloc

import pytest
import zstandard
from bed.layers import gnu_sparse_tar, gzip_bytes, raw_tar

from layerslayer_tui.errors import ExportError, LayerFormatError
from layerslayer_tui.peek import BytesSource, TarScanner, carve, partial
from layerslayer_tui.peek import tarformat as tf
from layerslayer_tui.peek.decompress import StreamDecoder

# -- crafted tar pieces -------------------------------------------------------


def pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def member(name: str, typeflag: bytes, data: bytes = b"") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = typeflag
    info.size = len(data)
    info.mtime = 1_700_000_000
    head = info.tobuf(format=tarfile.USTAR_FORMAT)
    return head + data + bytes(-len(data) % 512)


def global_xattr_bomb(keys: int = 33_000) -> bytes:
    """One 'g' header of just under 1 MiB with `keys` SCHILY.xattr records."""
    return b"".join(pax_record(f"SCHILY.xattr.user.k{i:06d}", "v") for i in range(keys))


def end_of_archive() -> bytes:
    return bytes(1024)


# -- finding 4: global PAX state -----------------------------------------------


def test_global_pax_bomb_is_refused_and_memory_stays_flat() -> None:
    record = global_xattr_bomb()
    assert len(record) <= tf.MAX_RECORD
    files = [member(f"f{i:03d}", tf.REGTYPE, b"x" * 10) for i in range(60)]
    own = member("own.pax", tf.XHDTYPE, pax_record("SCHILY.xattr.user.own", "1")) + member(
        "withown", tf.REGTYPE, b"y"
    )
    layer = gzip_bytes(member("pax_global_header", tf.XGLTYPE, record) + b"".join(files) + own + end_of_archive())
    tracemalloc.start()
    try:
        with partial(BytesSource(layer), budget=len(layer) + 1) as peek:
            entries = [e for batch in peek for e in batch.entries]
            note = peek.progress.note
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before the fix every entry got its own 33,000-key dict: ~200 MB here.
    assert peak < 24 * 1024 * 1024, peak
    assert [e.path for e in entries] == [f"f{i:03d}" for i in range(60)] + ["withown"]
    assert all(e.xattrs is None for e in entries[:60])
    assert entries[-1].xattrs == {"user.own": "1"}
    assert "global PAX header was ignored" in note


def _scan(data: bytes) -> tuple[TarScanner, list]:
    scanner = TarScanner()
    return scanner, scanner.feed(data)


def test_small_global_pax_applies_and_is_shared_not_copied() -> None:
    record = pax_record("SCHILY.xattr.user.g", "global") + pax_record("comment", "c" * 40)
    own = pax_record("SCHILY.xattr.user.own", "1") + pax_record("SCHILY.xattr.user.g", "")
    data = (
        member("g", tf.XGLTYPE, record)
        + member("a", tf.REGTYPE, b"1")
        + member("b", tf.REGTYPE, b"2")
        + member("x", tf.XHDTYPE, own)
        + member("c", tf.REGTYPE, b"3")
        + end_of_archive()
    )
    scanner, entries = _scan(data)
    a, b, c = entries
    assert a.xattrs == {"user.g": "global"} and a.xattrs is b.xattrs  # one dict, shared
    assert c.xattrs == {"user.own": "1"}  # an empty own record deletes the global value
    assert scanner.warning == ""
    # Same answer as tarfile for the plain entries.
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getmember("a").pax_headers["SCHILY.xattr.user.g"] == "global"


def test_global_pax_state_over_the_key_bound_is_refused_whole() -> None:
    small = b"".join(pax_record(f"k{i}", "v") for i in range(tf.MAX_GLOBAL_PAX_KEYS))
    more = pax_record("mtime", "5")
    data = member("g1", tf.XGLTYPE, small) + member("g2", tf.XGLTYPE, more) + member("a", tf.REGTYPE) + end_of_archive()
    scanner, (entry,) = _scan(data)
    assert scanner.global_pax_refused == 1 and entry.mtime == 1_700_000_000
    assert "ignored" in scanner.warning


def test_pax_records_of_one_entry_are_bounded_together() -> None:
    big = pax_record("comment", "c" * (600 * 1024))
    data = member("x1", tf.XHDTYPE, big) + member("x2", tf.XHDTYPE, big) + member("a", tf.REGTYPE) + end_of_archive()
    with pytest.raises(LayerFormatError, match="PAX records over 1 MiB for one entry"):
        _scan(data)
    # One record each for two entries is fine.
    ok = member("x1", tf.XHDTYPE, big) + member("a", tf.REGTYPE) + member("x2", tf.XHDTYPE, big)
    _, entries = _scan(ok + member("b", tf.REGTYPE) + end_of_archive())
    assert [e.path for e in entries] == ["a", "b"]


# -- finding 9: zstd window ---------------------------------------------------


def _zstd_with_window_log(data: bytes, window_log: int) -> bytes:
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log, write_content_size=0)
    obj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    return obj.compress(data) + obj.flush()


def test_zstd_window_over_128_mib_is_refused_with_a_sentence() -> None:
    tar = member("a", tf.REGTYPE, b"hello") + end_of_archive()
    frame = _zstd_with_window_log(tar, 31)
    assert frame[5] >> 3 == 31 - 10  # the window descriptor asks for 2 GiB
    out: list[bytes] = []
    decoder = StreamDecoder(out.append)
    with pytest.raises(LayerFormatError, match="window over 128 MiB"):
        decoder.write(frame)
    assert not out
    with pytest.raises(LayerFormatError, match="window over 128 MiB"):
        carve(BytesSource(frame), "a")


def test_zstd_window_at_the_limit_still_reads() -> None:
    tar = member("a", tf.REGTYPE, b"hello") + end_of_archive()
    assert carve(BytesSource(_zstd_with_window_log(tar, 27)), "a").content == b"hello"


# -- finding 12: sparse saves -------------------------------------------------


def _big_sparse_tar(workdir, logical: int) -> bytes:
    import shutil
    import subprocess

    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    src = workdir / "big-sparse"
    src.mkdir(parents=True, exist_ok=True)
    with open(src / "holes.bin", "wb") as fh:
        fh.write(b"head")
        fh.seek(logical // 2)
        fh.write(b"middle")
        fh.truncate(logical)
    args = ["tar", "--sparse", "--sparse-version=1.0", "--format=posix", "-cf", "-", "-C", str(src), "holes.bin"]
    return subprocess.run(args, check=True, capture_output=True).stdout


def _sha(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def test_saving_a_pax_sparse_file_writes_holes_as_holes(tmp_path) -> None:
    logical = 64 * 1024 * 1024
    layer = gzip_bytes(_big_sparse_tar(tmp_path, logical))
    assert len(layer) < 64 * 1024
    dest = tmp_path / "out" / "holes.bin"
    got = carve(BytesSource(layer), "holes.bin", dest=dest)
    st = os.stat(dest)
    assert st.st_size == logical == got.written
    assert st.st_blocks * 512 < 1024 * 1024, st.st_blocks  # was all 64 MiB before
    with tarfile.open(fileobj=io.BytesIO(raw_tar(layer))) as tar:
        tar.extract("holes.bin", tmp_path / "tarfile", filter="data")
    assert _sha(dest) == _sha(tmp_path / "tarfile" / "holes.bin")


def test_saving_an_old_gnu_sparse_file_keeps_its_content_and_holes(layer_workdir, tmp_path) -> None:
    content = bytes(1 << 20) + b"data" + bytes(1 << 20)
    layer = gnu_sparse_tar(layer_workdir, content, "gnu")
    dest = tmp_path / "holes.bin"
    carve(BytesSource(layer), "holes.bin", dest=dest)
    assert dest.read_bytes() == content
    assert os.stat(dest).st_blocks * 512 < 256 * 1024


def test_a_save_over_the_limit_is_refused_unless_asked(tmp_path) -> None:
    layer = _big_sparse_tar(tmp_path, 8 * 1024 * 1024)
    dest = tmp_path / "saved.bin"
    with pytest.raises(ExportError, match="over the 1048576-byte limit for a save"):
        carve(BytesSource(layer), "holes.bin", dest=dest, max_save=1 << 20)
    assert not dest.exists() and not list(tmp_path.glob(".carve-*"))
    carve(BytesSource(layer), "holes.bin", dest=dest, max_save=16 << 20)
    assert dest.stat().st_size == 8 * 1024 * 1024


def test_a_sparse_map_past_the_file_size_is_refused(tmp_path) -> None:
    # PAX sparse 1.0 whose map puts a segment beyond GNU.sparse.realsize.
    sparse_map = b"1\n" + str(1 << 40).encode() + b"\n4\n"
    stored = sparse_map + bytes(-len(sparse_map) % 512) + b"data" + bytes(508)
    records = (
        pax_record("GNU.sparse.major", "1")
        + pax_record("GNU.sparse.minor", "0")
        + pax_record("GNU.sparse.name", "holes.bin")
        + pax_record("GNU.sparse.realsize", "100")
    )
    info = tarfile.TarInfo("GNUSparseFile.0/holes.bin")
    info.size = len(stored)
    layer = member("x", tf.XHDTYPE, records) + info.tobuf(format=tarfile.USTAR_FORMAT) + stored + end_of_archive()
    with pytest.raises(LayerFormatError, match="past the file's size"):
        carve(BytesSource(layer), "holes.bin", dest=tmp_path / "h")
    assert not (tmp_path / "h").exists()


@pytest.mark.registry
def test_global_pax_bomb_pushed_to_the_registry_is_listed_with_a_warning(registry) -> None:
    from bed.images import push_blob

    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.image import Descriptor

    files = b"".join(member(f"f{i:03d}", tf.REGTYPE, b"x" * 10) for i in range(60))
    layer = gzip_bytes(member("pax_global_header", tf.XGLTYPE, global_xattr_bomb()) + files + end_of_archive())
    digest = push_blob(registry, "sec/paxbomb", layer)
    client = RegistryClient(registry.host)
    try:
        source = client.blob_source("sec/paxbomb", Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, len(layer)))
        tracemalloc.start()
        try:
            with partial(source, size=len(layer), digest=digest) as peek:
                entries = [e for batch in peek for e in batch.entries]
                progress = peek.progress
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        client.close()
    assert peak < 24 * 1024 * 1024, peak
    assert [e.path for e in entries] == [f"f{i:03d}" for i in range(60)]
    assert progress.complete and progress.verified
    assert "global PAX header was ignored" in progress.note
