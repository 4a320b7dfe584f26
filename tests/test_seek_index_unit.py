"""gzip access points without a registry: recorded points resume to the
same bytes (every bit offset, multi-member gzip, chunk boundaries), the
stored form round-trips and refuses damage, the recorder (a child process)
keeps a valid prefix when cut off."""

from __future__ import annotations

import gzip
import io
import random
import tarfile

import pytest

from layerslayer_tui.peek import BytesSource, complete, gzindex, listing, partial
from layerslayer_tui.peek import randomaccess as ra

pytestmark = pytest.mark.skipif(not gzindex.available(), reason="no usable system libz")


def sample(n: int = 3000, seed: int = 1) -> bytes:
    rnd = random.Random(seed)
    parts = []
    for i in range(n):
        k = rnd.randint(0, 8000)
        parts.append((str(i) * k)[:k].encode() + rnd.randbytes(rnd.randint(0, 300)))
    return b"".join(parts)


def tar_of(data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for i in range(0, len(data), 100_000):
            info = tarfile.TarInfo(f"part{i}")
            piece = data[i : i + 100_000]
            info.size = len(piece)
            tf.addfile(info, io.BytesIO(piece))
    return buf.getvalue()


def record(blob: bytes, spacing: int, step: int) -> gzindex.SeekIndex:
    inf = gzindex.Inflater(spacing)
    for i in range(0, len(blob), step):
        inf.feed(blob[i : i + step])
    return inf.finish()


def resume(blob: bytes, point: gzindex.Checkpoint, step: int = 77777) -> bytes:
    out: list[bytes] = []
    r = gzindex.ResumedInflate(point, out.append)
    for i in range(gzindex.ResumedInflate.start_offset(point), len(blob), step):
        r.write(blob[i : i + step])
    r.close()
    return b"".join(out)


@pytest.mark.parametrize("step", [1 << 20, 4096, 65537])
def test_every_point_resumes_to_the_same_bytes(step: int) -> None:
    raw = sample()
    blob = gzip.compress(raw[: len(raw) // 3]) + b"\0\0\0" + gzip.compress(raw[len(raw) // 3 :])  # two members, padding
    index = record(blob, 32 * 1024, step)
    assert index.complete and index.covered == len(blob) and index.uncompressed_covered == len(raw)
    assert len(index.points) >= 8
    assert {p.bits for p in index.points} - {0}  # points inside bytes, not only at byte boundaries
    for point in index.points:
        assert resume(blob, point) == raw[point.uncompressed :]


def test_the_end_of_the_stream_is_seen_at_any_spacing() -> None:
    for k in range(12):
        raw = sample(200 + 50 * k, seed=k)
        blob = gzip.compress(raw)
        for spacing in (2000, 50000):
            index = record(blob, spacing, 1 << 20)
            assert index.complete and index.uncompressed_covered == len(raw), (k, spacing)


def test_stored_form_round_trips_and_refuses_damage() -> None:
    blob = gzip.compress(sample())
    index = record(blob, 16 * 1024, 1 << 20)
    data = gzindex.encode(index)
    assert gzindex.decode(data) == index
    assert len(data) < len(blob) // 4
    for bad in (b"", b"junk", data[:-5], gzip.compress(b"LSGZIX1\0" + b"\xff" * 40)):
        with pytest.raises(ValueError):
            gzindex.decode(bad)
    shuffled = gzindex.SeekIndex(points=list(reversed(index.points)), covered=index.covered)
    with pytest.raises(ValueError):
        gzindex.decode(gzindex.encode(shuffled))


def test_stored_windows_stay_packed_until_used_and_version_1_still_reads() -> None:
    import struct
    import zlib

    blob = gzip.compress(sample())
    index = record(blob, 16 * 1024, 1 << 20)
    assert len(index.points) > 5
    back = gzindex.decode(gzindex.encode(index))
    assert all(p._packed is not None for p in back.points)  # nothing inflated by decoding
    assert back.before(index.points[3].uncompressed).window == index.points[3].window
    assert sum(p._packed is None for p in back.points) == 1  # only the window asked for
    # version 1 (one zlib stream, windows raw), as caches made before version 2 hold it
    parts = [b"LSGZIX1\0", struct.pack("<QQQB", index.spacing, index.covered, index.uncompressed_covered,
                                         int(index.complete)), struct.pack("<I", len(index.points))]
    parts += [struct.pack("<QQBI", p.compressed, p.uncompressed, p.bits, len(p.window)) for p in index.points]
    parts += [p.window for p in index.points]
    assert gzindex.decode(zlib.compress(b"".join(parts))) == index


def test_a_damaged_window_is_an_index_mismatch_when_used() -> None:
    import struct

    raw = tar_of(random.Random(5).randbytes(300_000))
    blob = gzip.compress(raw)
    index = record(blob, 16 * 1024, 1 << 20)
    entries, _progress = listing(complete(BytesSource(blob)))
    member = [e for e in entries if e.size > 0][-1]
    k = index.points.index(index.before(member.offset))
    assert k > 0
    data = bytearray(gzindex.encode(index))
    table = 8 + 25 + 4
    at = table + len(index.points) * 21 + sum(len(p.packed()) for p in index.points[:k])
    assert struct.unpack_from("<Q", data, table + k * 21)[0] == index.points[k].compressed
    data[at : at + 4] = b"\xff\xff\xff\xff"  # that window's zlib header
    damaged = gzindex.decode(bytes(data))  # the table still reads
    with pytest.raises(ValueError):
        damaged.points[k].window
    assert ra.read_via_index(BytesSource(blob), member, index, cap=1 << 20).carved.content
    with pytest.raises(ra.IndexMismatch, match="damaged"):
        ra.read_via_index(BytesSource(blob), member, gzindex.decode(bytes(data)), cap=1 << 20)


def test_the_cache_reads_the_table_and_one_window(tmp_path) -> None:
    from layerslayer_tui.cache import Cache

    raw = tar_of(random.Random(6).randbytes(400_000))
    blob = gzip.compress(raw)
    index = record(blob, 16 * 1024, 1 << 20)
    entries, _progress = listing(complete(BytesSource(blob)))
    member = [e for e in entries if e.size > 0][-1]
    cache = Cache(tmp_path / "c.db")
    digest = "sha256:" + "a" * 64
    assert cache.put_seek_index(digest, "", gzindex.encode(index), covered=index.covered, points=len(index.points))
    kind, got, scope = cache.get_seek_index_at(digest, "r/x", member.offset)
    assert kind == "index" and scope == "" and len(got.points) == len(index.points)
    loaded = [p for p in got.points if p._packed is not gzindex._UNLOADED]
    assert loaded == [got.before(member.offset)]  # one window read, the one the member needs
    other = next(p for p in got.points if p is not loaded[0])
    with pytest.raises(ValueError, match="not read"):
        other.window  # noqa: B018
    read = ra.read_via_index(BytesSource(blob), member, got, cap=1 << 20)
    assert read.carved.content == tarfile.open(fileobj=io.BytesIO(raw)).extractfile(member.path).read()
    # damage in that window: reported, not raised, and the cache stays usable
    data = bytearray(gzindex.encode(index))
    _idx, spans = gzindex.decode_table(bytes(data), len(data))
    start, _length = spans[index.points.index(index.before(member.offset))]
    data[start : start + 4] = b"\xff\xff\xff\xff"
    cache.drop_seek_index(digest, "")
    cache.put_seek_index(digest, "", bytes(data), covered=index.covered, points=len(index.points))
    kind, got, _scope = cache.get_seek_index_at(digest, "r/x", member.offset)
    with pytest.raises(ra.IndexMismatch, match="damaged"):
        ra.read_via_index(BytesSource(blob), member, got, cap=1 << 20)
    data[:4] = b"XXXX"  # a record that is no index at all
    cache.drop_seek_index(digest, "")
    cache.put_seek_index(digest, "", bytes(data), covered=index.covered, points=len(index.points))
    assert cache.get_seek_index_at(digest, "r/x", member.offset)[0] == "damaged"
    assert cache.enabled and cache.warning is None


def test_an_interrupted_read_keeps_a_valid_prefix(monkeypatch) -> None:
    monkeypatch.setattr(gzindex, "DEFAULT_SPACING", 16 * 1024)
    raw = tar_of(random.Random(3).randbytes(5 << 20))  # incompressible: several 1 MiB reads
    blob = gzip.compress(raw)
    peek = partial(BytesSource(blob), budget=64 * 1024, interval=0)
    listing(peek)
    batches = peek.continue_full()
    next(batches)
    peek.close()
    index = peek.seek_index()
    assert index is not None and not index.complete and index.points
    assert len(blob) // 2 > index.covered > 0
    for point in index.points:
        assert resume(blob, point)[:1000] == raw[point.uncompressed : point.uncompressed + 1000]


def test_the_recorder_process_keeps_up_or_stops_with_a_prefix() -> None:
    raw = sample()
    blob = gzip.compress(raw)
    rec = gzindex.Recorder(16 * 1024)
    for i in range(0, len(blob), 1 << 16):
        rec.feed(blob[i : i + (1 << 16)])
    index = rec.finish()
    assert index.complete and index.uncompressed_covered == len(raw) and not rec.running
    for point in index.points[::5]:
        assert resume(blob, point)[:500] == raw[point.uncompressed : point.uncompressed + 500]
    early = gzindex.Recorder(16 * 1024)
    early.feed(blob[: len(blob) // 3])
    cut = early.abandon()
    assert not cut.complete and cut.covered <= len(blob) // 3
    assert all(p.compressed <= cut.covered for p in cut.points)


def test_members_read_through_the_index_equal_tarfile(monkeypatch) -> None:
    monkeypatch.setattr(gzindex, "DEFAULT_SPACING", 32 * 1024)
    buf = io.BytesIO()
    rnd = random.Random(5)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for i in range(300):
            data = rnd.randbytes(rnd.randint(0, 3000)) if i % 2 else (b"x%d " % i) * rnd.randint(0, 2000)
            info = tarfile.TarInfo(f"d/{'long-' * (i % 40)}f{i}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    tar = buf.getvalue()
    blob = gzip.compress(tar)
    peek = complete(BytesSource(blob))
    entries, progress = listing(peek)
    index = peek.seek_index()
    assert progress.complete and index is not None and len(index.points) > 5
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        for entry in entries:
            got = ra.read_via_index(BytesSource(blob), entry, index, cap=1 << 30)
            assert got.carved.content == tf.extractfile(entry.path).read(), entry.path
            assert len(got.requests) == 1
            plain = ra.read_plain(BytesSource(tar), entry, cap=1 << 30)
            assert plain.carved.content == got.carved.content
    wrong = entries[10]
    wrong.offset += 512
    with pytest.raises(ra.IndexMismatch):
        ra.read_via_index(BytesSource(blob), wrong, index, cap=1 << 30)


def test_a_partial_listing_continued_later_still_records(monkeypatch) -> None:
    """Storing a partial listing asks for its index (none yet); the kept head
    must survive that, so `f` afterwards records from byte 0."""
    monkeypatch.setattr(gzindex, "DEFAULT_SPACING", 16 * 1024)
    raw = tar_of(random.Random(4).randbytes(3 << 20))
    blob = gzip.compress(raw)
    peek = partial(BytesSource(blob), budget=64 * 1024)
    listing(peek)
    assert not peek.recording and peek.seek_index() is None
    listing(peek.continue_full())
    index = peek.seek_index()
    assert index is not None and index.complete and index.covered == len(blob)
    for point in index.points[::7]:
        assert resume(blob, point)[:700] == raw[point.uncompressed : point.uncompressed + 700]



def test_plan_groups_reads_through_small_gaps_only() -> None:
    from layerslayer_tui.entry import EntryType, TarEntry

    mib = 1 << 20
    index = gzindex.SeekIndex(points=[gzindex.Checkpoint(c, u, 0, b"") for c, u in
                                      ((10, 0), (600 << 10, 2 * mib), (6 * mib, 18 * mib))], covered=8 * mib)

    def member(offset: int) -> TarEntry:
        return TarEntry(f"f{offset}", EntryType.FILE, size=1000, offset=offset)

    a, b, c, d = member(100), member(2000), member(2 * mib + 100), member(18 * mib + 100)
    groups = ra.plan_groups(index, [d, c, b, a, member(2000)], 8 * mib)
    # a and b share a point; c's starts ~560 KiB past their bound (read through); d's ~5.3 MiB past c's
    assert [[e.offset for e in g] for g in groups] == [[a.offset, b.offset, c.offset], [d.offset]]
