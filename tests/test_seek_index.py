"""The seek index against the real registry: after one full read, any file
costs one small Range request (access log), the bytes equal tarfile's
extraction for every member, the index survives a restart, a damaged row is
dropped with one warning, an interrupted read keeps its access points."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from bed.images import PushedImage, push_image
from bed.layers import Item, build_tar, gnu_sparse_tar, gzip_bytes, sparse_file_bytes
from test_session import blob_gets as _blob_gets
from test_session import settle

from layerslayer_tui import seek_store
from layerslayer_tui.content import wait_for_indexes
from layerslayer_tui.entry import EntryType
from layerslayer_tui.peek import gzindex
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry
SPACING = 256 * 1024


def blob_gets(registry, mark: int) -> list:
    """Blob GETs logged after mark. The registry may log a range answer a
    moment after the client has all its bytes (after a later sentinel), so
    wait for the first one before settling."""
    registry.access_log(mark, until=lambda recs: any(r.is_blob_get for r in recs), timeout=5)
    return _blob_gets(registry, mark)


def _strip_end(data: bytes) -> bytes:
    while data.endswith(bytes(512)):
        data = data[:-512]
    return data


def seek_layer_tar(workdir: Path) -> bytes:
    """~5 MiB of tar: text and random files, a 1.5 MiB file spanning access
    points, hardlinks (to a file and to a hardlink), empty files, a GNU
    sparse file, a symlink, long PAX names; the last member a small file."""
    rng = random.Random(13)
    items: list[Item] = [Item("srv/", "dir")]
    for n in range(400):
        if n % 3 == 0:
            data = rng.randbytes(rng.randint(0, 9000))
        else:
            words = [rng.choice(["alpha", "beta", "gamma", "delta", str(n)]) for _ in range(rng.randint(0, 3000))]
            data = " ".join(words).encode()
        items.append(Item(f"srv/d{n // 40}/file{n:03d}.txt", data=data))
        if n == 200:
            items.append(Item("srv/big.bin", data=rng.randbytes(1536 * 1024)))
            items.append(Item("srv/empty", data=b""))
            items.append(Item("srv/hard-big", "hardlink", link="srv/big.bin"))
            items.append(Item("srv/hard-hard", "hardlink", link="srv/hard-big"))
            items.append(Item("srv/link", "symlink", link="big.bin"))
            items.append(Item("srv/" + "long-name-" * 20 + ".txt", data=b"long\n" * 300))
    items.append(Item("srv/last-empty", data=b""))
    items.append(Item("srv/zz-last.xml", data=b"<config>" + b"<item/>" * 700 + b"</config>\n"))
    sparse = _strip_end(gnu_sparse_tar(workdir, sparse_file_bytes(segments=30, gap=65536, chunk=7000)))
    return sparse + build_tar(items, tarfile.PAX_FORMAT)


def tarfile_contents(tar: bytes) -> dict[str, bytes]:
    """What extraction yields for every regular file and hardlink (last copy wins)."""
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as tf:
        for member in tf.getmembers():
            if member.isfile() or member.islnk():
                fh = tf.extractfile(member)
                assert fh is not None
                out[member.name.removeprefix("./")] = fh.read()
    return out


@dataclass
class SeekBed:
    registry: object
    tar: bytes
    blob: bytes
    image: PushedImage
    truth: dict[str, bytes]


@pytest.fixture(scope="module")
def seek_bed(registry, tmp_path_factory) -> SeekBed:
    tar = seek_layer_tar(tmp_path_factory.mktemp("seek"))
    blob = gzip_bytes(tar)
    assert len(blob) > 2 * (1 << 20)  # several MiB, about ten access points at the test spacing
    image = push_image(registry, "seek/one", "1", [blob])
    return SeekBed(registry, tar, blob, image, tarfile_contents(tar))


@pytest.fixture
def small_spacing(monkeypatch):
    monkeypatch.setattr(gzindex, "DEFAULT_SPACING", SPACING)


def full_read(session: Session, ref: str):
    image = session.open_image(ref)
    listing = session.listing(image, 0, full=True)
    entries = [e for batch in listing for e in batch.entries]
    assert listing.complete and listing.progress.verified
    wait_for_indexes(session)  # the recorder may finish after the listing: its index is stored then
    return image, entries


def test_every_member_through_the_index_equals_tarfile(seek_bed, small_spacing, tmp_path) -> None:
    with Session(cache_path=tmp_path / "c.db") as session:
        image, entries = full_read(session, seek_bed.image.ref)
        row = session.cache.get_seek_index(image.layers[0].digest, "x")
        assert row is not None and row[1] == seek_store.SHARED  # verified bytes: shared by digest
        index = gzindex.decode(row[0])
        assert len(index.points) >= 6 and index.complete
        assert len(row[0]) <= 0.02 * len(seek_bed.blob) * 8  # small-spacing index; the 2 % figure is the benchmark's
        files = [e for e in entries if e.type in (EntryType.FILE, EntryType.HARDLINK)]
        assert {e.path for e in files} == set(seek_bed.truth)
        spanning = 0
        for entry in files:
            mark = settle(seek_bed.registry)
            read = session.read_file(image, 0, entry.path, cap=1 << 30)
            want = seek_bed.truth[entry.path]
            assert read.carved.content == want, entry.path
            if entry.type is EntryType.FILE and entry.size == 0:
                assert read.via == "listing" and read.requests == 0  # nothing to fetch for an empty file
                continue
            assert read.via == "seek index", entry.path
            gets = blob_gets(seek_bed.registry, mark)
            assert len(gets) == 1, (entry.path, read.compressed_read, read.requests)
            point = index.before(entry.offset)
            nxt = index.after(point)
            segment = (nxt.compressed if nxt else len(seek_bed.blob)) - point.compressed
            assert gets[0].written <= segment + len(want) + 64 * 1024, entry.path
            if index.before(entry.offset) is not index.before(entry.offset + len(want)):
                spanning += 1
        assert spanning >= 3  # files across access points were read too
        hard = session.read_file(image, 0, "srv/hard-hard", cap=1 << 30)
        assert hard.carved.resolved is not None and hard.carved.resolved.path == "srv/big.bin"


def test_last_file_costs_one_small_request(seek_bed, small_spacing, tmp_path) -> None:
    with Session(cache_path=tmp_path / "c.db") as session:
        image, _ = full_read(session, seek_bed.image.ref)
        mark = settle(seek_bed.registry)
        read = session.read_file(image, 0, "srv/zz-last.xml")
        gets = blob_gets(seek_bed.registry, mark)
        want = seek_bed.truth["srv/zz-last.xml"]
        assert read.carved.content == want
        assert len(gets) == 1 and gets[0].written <= SPACING + len(want) + 64 * 1024
        assert "via the seek index" in read.cost()


RESTART = r"""
import sys
from layerslayer_tui.session import Session
with Session(cache_path=sys.argv[1], offline=False) as s:
    image = s.open_image(sys.argv[2])
    r = s.read_file(image, 0, "srv/zz-last.xml")
    sys.stdout.buffer.write(r.via.encode() + b"\n" + r.carved.content)
"""


def test_index_survives_a_restart(seek_bed, small_spacing, tmp_path) -> None:
    db = tmp_path / "c.db"
    with Session(cache_path=db) as session:
        full_read(session, seek_bed.image.ref)
    mark = settle(seek_bed.registry)
    out = subprocess.run([sys.executable, "-c", RESTART, str(db), seek_bed.image.ref], check=True,
                         capture_output=True).stdout
    via, _, content = out.partition(b"\n")
    assert via == b"seek index" and content == seek_bed.truth["srv/zz-last.xml"]
    gets = blob_gets(seek_bed.registry, mark)
    assert len(gets) == 1 and gets[0].written < len(seek_bed.blob) // 4


def test_damaged_index_row_is_dropped_with_one_warning(seek_bed, small_spacing, tmp_path) -> None:
    with Session(cache_path=tmp_path / "c.db") as session:
        image, _ = full_read(session, seek_bed.image.ref)
        digest = image.layers[0].digest
        session.cache._run(lambda db: db.execute("UPDATE seek_index SET data=?", (b"\x78\x9cgarbage",)), None, write=True)
        mark = settle(seek_bed.registry)
        read = session.read_file(image, 0, "srv/d5/file210.txt")
        assert read.carved.content == seek_bed.truth["srv/d5/file210.txt"] and read.via == "stream"
        warnings = session.pop_warnings()
        assert len(warnings) == 1 and "seek index" in warnings[0]
        gets = blob_gets(seek_bed.registry, mark)
        assert len(gets) == 1 and gets[0].path.endswith(digest)
        # the streamed read recorded access points again (scoped to this repository), stored once made
        wait_for_indexes(session)
        assert session.cache.get_seek_index(digest, "127.0.0.1") is None
        row = session.cache.get_seek_index(digest, f"{image.registry}/{image.repository}")
        assert row is not None and row[1] != seek_store.SHARED


def test_mismatched_index_is_ignored_and_the_file_streamed(seek_bed, small_spacing, tmp_path) -> None:
    """A well-formed index whose points lead elsewhere (shifted offsets)."""
    with Session(cache_path=tmp_path / "c.db") as session:
        image, _ = full_read(session, seek_bed.image.ref)
        digest = image.layers[0].digest
        data, _ = session.cache.get_seek_index(digest, "")
        index = gzindex.decode(data)
        index.points = [gzindex.Checkpoint(p.compressed, p.uncompressed + 512, p.bits, p.window) for p in index.points]
        session.cache._run(lambda db: db.execute("DELETE FROM seek_index"), None, write=True)
        session.cache.put_seek_index(digest, "", gzindex.encode(index), covered=index.covered, points=len(index.points))
        read = session.read_file(image, 0, "srv/zz-last.xml")
        assert read.carved.content == seek_bed.truth["srv/zz-last.xml"] and read.via == "stream"
        assert len(session.pop_warnings()) == 1
        assert session.cache.get_seek_index(digest, "") is None or read.via == "stream"


def test_without_an_index_a_read_streams_and_keeps_its_access_points(seek_bed, small_spacing, tmp_path) -> None:
    with Session(cache_path=tmp_path / "c.db") as session:
        image, _ = full_read(session, seek_bed.image.ref)
        session.cache._run(lambda db: db.execute("DELETE FROM seek_index"), None, write=True)
        first = session.read_file(image, 0, "srv/d3/file150.txt")
        assert first.via == "stream" and first.carved.content == seek_bed.truth["srv/d3/file150.txt"]
        assert first.compressed_read < len(seek_bed.blob)
        second = session.read_file(image, 0, "srv/d2/file100.txt")  # before the point reached
        assert second.via == "seek index" and second.carved.content == seek_bed.truth["srv/d2/file100.txt"]
        assert second.compressed_read < 3 * SPACING


def test_digest_mismatch_stores_no_index(registry, small_spacing, tmp_path) -> None:
    """A registry blob whose bytes do not match the digest in the manifest:
    the complete read is not verified and no access point is kept."""
    good = gzip_bytes(build_tar([Item(f"f{i}", data=random.Random(i).randbytes(20000)) for i in range(100)]))
    image = push_image(registry, "seek/mismatch", "1", [good])
    # Same size, same tar, other bytes: the gzip header's MTIME field is not checked by inflate.
    other = bytearray(good)
    other[4:8] = b"\x01\x02\x03\x04"
    registry.blob_path(image.layers[0].digest).write_bytes(bytes(other))
    with Session(cache_path=tmp_path / "c.db") as session:
        img = session.open_image(image.ref)
        digest, scope = img.layers[0].digest, f"{img.registry}/{img.repository}"
        stale = gzindex.SeekIndex(points=[gzindex.Checkpoint(10, 0, 0, b"")], covered=100)
        session.cache.put_seek_index(digest, scope, gzindex.encode(stale), covered=100, points=1)
        listing = session.listing(img, 0, full=True)
        names = [e.path for batch in listing for e in batch.entries]
        wait_for_indexes(session)
        assert len(names) == 100 and not listing.progress.verified and not listing.complete
        assert session.cache.get_seek_index(digest, scope) is None  # the earlier, scoped one went too


def test_a_read_with_no_cache_records_no_access_points(seek_bed, small_spacing, tmp_path) -> None:
    # Nothing could keep the index: the full read neither records one nor holds raw chunks for a recorder.
    with Session(cache=False) as session:
        image = session.open_image(seek_bed.image.ref)
        listing = session.listing(image, 0, full=True)
        for _ in listing:
            pass
        assert listing.complete and listing.progress.verified
        assert not listing._peek.recording
    with Session(cache_path=tmp_path / "c.db") as session:  # the same read with a cache records them
        image = session.open_image(seek_bed.image.ref)
        listing = session.listing(image, 0, full=True)
        for _ in listing:
            pass
        assert listing._peek.recording
