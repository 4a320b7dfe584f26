"""The listing cache on its own: encoding round trips, upgrades, schema
rebuild, corruption, two processes writing at once, prune/clear."""

from __future__ import annotations

import dataclasses
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entry_strategies import tar_entries
from layerslayer_tui import cache as cache_mod
from layerslayer_tui.cache import Cache, decode_entries, encode_entries, image_from_json, image_to_json, parse_size
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry
from layerslayer_tui.image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
SCOPE = "localhost:5000/x/y"  # where an unverified listing came from


def sample_entries(n: int = 300) -> list[TarEntry]:
    out = [TarEntry("etc", EntryType.DIR, 0, 0o755, 0, 0, "root", "root", 1.0, None, 0)]
    for i in range(1, n):
        if i % 10 == 0:
            out.append(TarEntry(f"etc/l{i}", EntryType.SYMLINK, 0, 0o777, 0, 0, "root", "root", 2.5, f"f{i}", i * 512))
        else:
            out.append(TarEntry(f"etc/f{i}", EntryType.FILE, i * 3, 0o644, i % 3, 7, "u", "g", 1e9 + i, None, i * 512))
    if n > 6:
        out[5].xattrs = {"security.capability": "abc"}
        out[6].extra = {"sparse": True}
    return out


_entry = tar_entries()


@settings(max_examples=60, deadline=None)
@given(st.lists(_entry, max_size=25))
def test_encoding_round_trips_any_entries(entries: list[TarEntry]) -> None:
    assert decode_entries(encode_entries(entries)) == entries


def test_encoding_keeps_names_that_are_not_utf8() -> None:
    # tar names are bytes; readers decode them with surrogateescape
    name = b"bad\xff\xfename".decode("utf-8", "surrogateescape")
    entries = [TarEntry(name, EntryType.FILE, 1), TarEntry("ok", EntryType.FILE, 2)]
    assert decode_entries(encode_entries(entries)) == entries


def test_listing_store_and_upgrade_rules(tmp_path: Path) -> None:
    c = Cache(tmp_path / "c.db")
    assert c.enabled and c.warning is None
    entries = sample_entries()
    partial = ListingProgress(1000, 5000, 9000, 100, False, False, "stream", "")
    assert c.put_listing(D1, entries[:100], partial, scope=SCOPE)
    got = c.get_listing(D1, SCOPE)
    assert got is not None and not got.complete and got.entries == entries[:100]
    assert got.progress.compressed_read == 1000 and got.progress.uncompressed_read == 5000
    # a shorter partial never replaces a longer one
    assert not c.put_listing(D1, entries[:10], ListingProgress(10, 10, 9000, 10), scope=SCOPE)
    full = ListingProgress(9000, 90000, 9000, len(entries), True, True, "stream", "")
    assert c.put_listing(D1, entries, full)
    # and a partial never replaces a complete one
    assert not c.put_listing(D1, entries[:200], partial, scope=SCOPE)
    got = c.get_listing(D1, SCOPE)
    assert got is not None and got.complete and got.progress.verified and got.entries == entries
    assert c.listing_state(D1).entries == len(entries)
    assert c.get_listing(D2) is None
    assert D1 in c.listed_digests()


def test_tags_expire(tmp_path: Path) -> None:
    c = Cache(tmp_path / "c.db", tag_ttl=300)
    c.put_tag("localhost:5000", "a/b", "1", D1)
    assert c.get_tag("localhost:5000", "a/b", "1") == D1
    assert c.get_tag("localhost:5000", "a/b", "2") is None
    with sqlite3.connect(tmp_path / "c.db") as db:
        db.execute("UPDATE tags SET stored = stored - 301")
    assert c.get_tag("localhost:5000", "a/b", "1") is None
    assert c.get_tag("localhost:5000", "a/b", "1", max_age=float("inf")) == D1


def make_image() -> ImageInfo:
    plat = Platform("linux", "arm", "v7")
    step = HistoryStep("/bin/sh -c echo hi", "RUN echo hi", "2024-01-01T00:00:00Z", None, False, 0)
    layer = LayerInfo(0, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", D1, 123, {"a": "b"}), D2, step)
    return ImageInfo(
        "localhost:5000", "x/y", "localhost:5000/x/y:1", D2, "application/vnd.oci.image.manifest.v1+json", D1,
        {"architecture": "arm"}, [layer], [step, HistoryStep("", "ENV A=b", empty_layer=True)], True, plat,
        [plat, Platform("linux", "amd64")], D1, "1",
    )


def test_image_round_trip_and_seen_images(tmp_path: Path) -> None:
    info = make_image()
    assert image_from_json(image_to_json(info)) == info
    c = Cache(tmp_path / "c.db")
    c.put_image("k", info)
    assert c.get_image("k") == info
    c.record_image(info)
    seen = c.images()
    assert [(s.reference, s.manifest_digest, s.layer_digests) for s in seen] == [(info.reference, D2, (D1,))]
    # picked from an index (index_digest set): the platform is kept, so a search hit reopens it directly
    assert seen[0].platform == str(info.platform)
    c.record_image(dataclasses.replace(info, manifest_digest=D1, index_digest=None))
    assert {s.manifest_digest: s.platform for s in c.images()} == {D2: str(info.platform), D1: ""}


def test_images_table_of_schema_1_is_rebuilt(tmp_path: Path) -> None:
    """Version 1 had no images.platform: such a cache is rebuilt, not half-used."""
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute("CREATE TABLE images (reference TEXT NOT NULL, manifest_digest TEXT NOT NULL, layers TEXT NOT NULL,"
                   " seen REAL NOT NULL, PRIMARY KEY (reference, manifest_digest))")
        db.execute("INSERT INTO images VALUES ('old/ref:1', ?, '[]', 0)", (D1,))
    c = Cache(path)
    assert c.enabled and c.warning is None and c.images() == []
    info = make_image()
    c.record_image(info)
    assert [(s.reference, s.platform) for s in c.images()] == [(info.reference, str(info.platform))]


def test_old_schema_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '0')")
        db.execute("CREATE TABLE listings (digest TEXT, blob BLOB)")
        db.execute("INSERT INTO listings VALUES ('x', 'y')")
    c = Cache(path)
    assert c.enabled and c.warning is None
    assert c.get_listing("x") is None
    assert c.put_listing(D1, sample_entries(8), ListingProgress(entries=5, complete=True, verified=True))
    assert c.get_listing(D1) is not None
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta").fetchone()[0] == str(cache_mod.SCHEMA_VERSION)


def test_corrupt_file_warns_once_and_runs_without_cache(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not a database at all" * 100)
    c = Cache(path)
    assert not c.enabled
    assert c.warning is not None and str(path) in c.warning and "\n" not in c.warning
    # everything is a miss, nothing raises
    assert c.get_listing(D1) is None
    assert not c.put_listing(D1, sample_entries(3), ListingProgress(complete=True, verified=True))
    assert c.images() == [] and c.get_tag("r", "p", "t") is None
    # clear removes the damaged file and starts afresh
    c.clear()
    assert c.enabled and c.warning is None
    assert c.put_listing(D1, sample_entries(3), ListingProgress(entries=3, complete=True, verified=True))


def test_damaged_row_is_skipped_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    c = Cache(path)
    c.put_listing(D1, sample_entries(3), ListingProgress(entries=3, complete=True, verified=True))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE listings SET data = x'00112233'")
    assert c.get_listing(D1) is None
    # the row is gone, the cache still works, and one note says so
    assert c.enabled and c.warning is None and len(c.notes) == 1 and "damaged" in c.notes[0]
    assert c.put_listing(D1, sample_entries(3), ListingProgress(entries=3, complete=True, verified=True))
    assert c.get_listing(D1) is not None


def test_unwritable_location_warns(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    c = Cache(blocker / "sub" / "c.db")  # parent is a file: cannot create
    assert not c.enabled and c.warning


_WRITER = textwrap.dedent(
    """
    import sys
    from layerslayer_tui.cache import Cache
    from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry
    path, who = sys.argv[1], sys.argv[2]
    c = Cache(path)
    assert c.enabled, c.warning
    for i in range(40):
        entries = [TarEntry(f"{who}/{i}/{j}", EntryType.FILE, j) for j in range(200)]
        assert c.put_listing(f"sha256:{who}{i:062d}", entries, ListingProgress(entries=200, complete=True, verified=True))
        c.put_tag("r", "p", f"{who}{i}", "sha256:x")
    assert c.enabled, c.warning
    print("ok")
    """
)


def test_two_processes_write_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for who in ("aa", "bb")
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        assert out.strip() == b"ok"
    c = Cache(path)
    digests = set(c.listed_digests())
    assert len(digests) == 80
    got = c.get_listing(f"sha256:bb{7:062d}")
    assert got is not None and got.entries[3].path == "bb/7/3"


def test_prune_and_clear(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    c = Cache(path)
    import random

    rnd = random.Random(1)
    for i in range(30):
        # random names so zstd cannot squeeze them to nothing
        entries = [TarEntry(f"{rnd.getrandbits(64):x}/{j}", EntryType.FILE, rnd.getrandbits(30)) for j in range(2000)]
        c.put_listing(f"sha256:{i:064d}", entries, ListingProgress(entries=2000, complete=True, verified=True))
    c.get_listing(f"sha256:{0:064d}")  # most recently used survives
    before = c.size()
    assert before > 400_000
    freed = c.prune(before // 3)
    assert freed > 0
    assert c.size() <= before // 3 + 64 * 1024
    left = set(c.listed_digests())
    assert 0 < len(left) < 30 and f"sha256:{0:064d}" in left
    assert c.prune(10**12) == 0
    c.clear()
    assert c.listed_digests() == [] and c.size() < before // 3
    assert c.info()["listings"] == 0


def test_parse_size() -> None:
    assert parse_size("1024") == 1024
    assert parse_size("500M") == 500 << 20
    assert parse_size("2GiB") == 2 << 30
    assert parse_size("1.5k") == 1536
    with pytest.raises(ValueError):
        parse_size("lots")
