"""Issue 10, the cache half: a hostile registry cannot plant entries in another
image's listing (#1), the cache is private (#13), and a tampered cache
database costs one warning and a re-read, never a failure (#10).

The honest image lives in the real registry; the hostile one is
bed.hostile.HostileRegistry, whose manifest claims the honest layer's digest
and serves other bytes under it."""

from __future__ import annotations

import gzip
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings

from bed.images import PushedImage, push_image
from bed.layers import build_tar, many_files_spec, tarfile_listing
from fuzz_cache import check_blob, check_document, check_entries, damaged_blobs, damaged_documents
from layerslayer_tui.cache import Cache, scope_of
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry
from layerslayer_tui.errors import LayerFormatError
from layerslayer_tui.session import Session

BUDGET = 64 * 1024


def run(argv: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "layerslayer_tui", *argv], capture_output=True, text=True,
                          timeout=180, env=env)


def planted_layer(count: int = 3000) -> bytes:
    """What the hostile registry serves: many planted files and a setuid backdoor."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(count):
            info = tarfile.TarInfo(f"POISON/planted-{i}")
            data = f"planted {i}\n".encode() * 20
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("usr/bin/PLANTED-BACKDOOR")
        info.mode = 0o4755
        tar.addfile(info)
    return gzip.compress(buf.getvalue(), mtime=0)


@pytest.fixture(scope="module")
def honest(registry) -> PushedImage:
    """A layer of 600 poorly compressible files (about 900 KB): a budget read is partial."""
    blob = gzip.compress(build_tar(many_files_spec(600)), mtime=0)
    return push_image(registry, "sec/debian", "slim", [blob])


def truth(image: PushedImage) -> dict[str, tuple]:
    """path -> (type, size, mode, uid, gid, uname, gname, mtime, link) as tarfile reads the layer."""
    return {t[0]: (t[1], t[2], t[3], t[4], t[5], t[6], t[7], float(t[8]), t[9])
            for t in tarfile_listing(image.layers[0].data)}


def exported(doc: dict) -> dict[str, tuple]:
    return {e["path"]: (e["type"], e["size"], e["mode"], e["uid"], e["gid"], e["uname"], e["gname"],
                        float(e["mtime"]), e["link"]) for e in doc["entries"]}


# -- #1: cache poisoning across images --------------------------------------------------


def test_a_hostile_registry_cannot_plant_entries_in_another_image(honest, hostile_registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    digest = honest.layers[0].digest
    evil = hostile_registry.serve_image("evil/debian", "slim", [(digest, planted_layer())])

    # The hostile image is listed first (a budget read): its planted entries are
    # what that registry served, and they stay attributed to it.
    first = run([evil, "--json", "--layer", "0"], cache)
    assert first.returncode == 0, first.stderr
    planted = [e["path"] for e in json.loads(first.stdout)["entries"]]
    assert any(p.startswith("POISON/planted-") for p in planted)

    # A budget read of the honest image is its own registry's bytes, not the planted listing.
    partial = run([honest.ref, "--json", "--layer", "0", "--budget", "64K"], cache)
    assert partial.returncode == 0, partial.stderr
    doc = json.loads(partial.stdout)
    assert doc["layers"][0]["complete"] is False and doc["layers"][0]["verified"] is False
    got = exported(doc)
    assert got and not any(p.startswith("POISON") or "PLANTED" in p for p in got)
    want = truth(honest)
    assert all(want[p] == v for p, v in got.items())

    hits = run(["search", "PLANTED", "--json"], cache)
    assert hits.returncode == 0, hits.stderr
    found = json.loads(hits.stdout)
    assert found and {h["image"] for h in found} == {evil}  # planted files only under the image that served them

    # The full read: complete and verified only from the honest stream, field by field as tarfile reads it.
    full = run([honest.ref, "--json", "--layer", "0", "--full"], cache)
    assert full.returncode == 0, full.stderr
    doc = json.loads(full.stdout)
    assert doc["layers"][0]["complete"] is True and doc["layers"][0]["verified"] is True
    assert exported(doc) == want

    # From the cache now (offline), still the honest listing, and search finds nothing planted under it.
    again = run([honest.ref, "--json", "--layer", "0", "--offline"], cache)
    assert again.returncode == 0, again.stderr
    assert exported(json.loads(again.stdout)) == want
    hits = run(["search", "PLANTED", "--json"], cache)
    assert not [h for h in json.loads(hits.stdout) if h["image"] == honest.ref]


def test_a_full_read_never_tops_up_the_planted_partial(honest, hostile_registry, tmp_path: Path) -> None:
    """The issue's sequence in one step: planted partial, then --full on the honest image."""
    cache = tmp_path / "cache"
    evil = hostile_registry.serve_image("evil/debian", "slim", [(honest.layers[0].digest, planted_layer())])
    assert run([evil, "--json", "--layer", "0"], cache).returncode == 0
    full = run([honest.ref, "--json", "--layer", "0", "--full"], cache)
    assert full.returncode == 0, full.stderr
    doc = json.loads(full.stdout)
    assert doc["layers"][0]["complete"] and doc["layers"][0]["verified"]
    assert exported(doc) == truth(honest)


def test_a_registry_that_changes_its_bytes_cannot_top_up_its_own_partial(honest, hostile_registry,
                                                                        tmp_path: Path) -> None:
    """The same repository first serves planted bytes (a partial listing is
    cached under its scope), then the real ones: continuing the cached partial
    must not label the planted prefix verified. The cached partial is dropped
    and the caller told; the next full read is the layer's own."""
    digest = honest.layers[0].digest
    real = honest.layers[0].data
    planted = planted_layer()
    planted += b"\0" * (len(real) - len(planted))  # the size the real bytes will have
    evil = hostile_registry.serve_image("evil/flip", "1", [(digest, planted)])
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        listing = s.listing(s.open_image(evil), 0, budget=BUDGET)
        batches = list(listing)
        assert any(e.path.startswith("POISON/") for b in batches for e in b.entries)
    hostile_registry.blobs[digest] = real  # now it serves the real bytes
    with Session(cache_path=db) as s:
        image = s.open_image(evil)
        listing = s.listing(image, 0)
        assert listing.cached and not listing.complete
        list(listing)
        seen = []
        with pytest.raises(LayerFormatError, match="do not match the listing cached"):
            for batch in listing.continue_full():
                seen.append(batch.progress)
        assert not any(p.verified or p.complete for p in seen)
        assert s.cache.get_listing(digest, scope_of(image.registry, image.repository)) is None
        with pytest.raises(LayerFormatError):  # asking again does not pretend otherwise
            list(listing.continue_full())
        fresh = s.listing(image, 0, full=True)
        entries = [e for b in fresh for e in b.entries]
        assert fresh.progress.complete and fresh.progress.verified
        assert {e.path for e in entries} == set(truth(honest))


def test_unverified_listings_are_scoped_and_never_merged(tmp_path: Path) -> None:
    """Index (eStargz / zstd:chunked TOC) listings are complete but not verified
    by the layer digest: scoped like partial ones. A verified listing replaces them."""
    digest = "sha256:" + "ab" * 32
    here, there = "127.0.0.1:5000/a/b", "127.0.0.1:6000/a/b"
    c = Cache(tmp_path / "c.db")
    index = ListingProgress(100, 0, 100, 1, complete=True, verified=False, source="estargz index")
    planted = [TarEntry("POISON/x", EntryType.FILE, 1)]
    assert c.put_listing(digest, planted, index, scope=there)
    assert c.get_listing(digest, here) is None and c.get_listing(digest) is None
    assert c.get_listing(digest, there).entries == planted
    with pytest.raises(ValueError):  # an unverified listing has to say where it came from
        c.put_listing(digest, planted, index)
    real = [TarEntry("etc/passwd", EntryType.FILE, 9)]
    verified = ListingProgress(100, 200, 100, 1, complete=True, verified=True)
    assert c.put_listing(digest, real, verified, scope=here)
    for scope in (here, there, None):
        assert c.get_listing(digest, scope).entries == real
    assert not c.put_listing(digest, planted, index, scope=there)  # nothing scoped beside a verified one
    # a digest in another spelling was never compared with a hash: not shared
    odd = "sha256:" + "AB" * 32
    assert c.put_listing(odd, real, verified, scope=here)
    assert c.get_listing(odd) is None and c.get_listing(odd, here) is not None


# -- #13: the cache is private ----------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cache_directory_and_database_are_private(tmp_path: Path) -> None:
    old = os.umask(0)  # whatever the umask, the modes are the cache's own
    try:
        where = tmp_path / "new" / "cache"
        c = Cache(where / "cache.sqlite3")
        assert c.put_listing("sha256:" + "1" * 64, [TarEntry("a", EntryType.FILE)],
                             ListingProgress(entries=1, complete=True, verified=True))
        assert _mode(where) == 0o700
        files = [where / n for n in ("cache.sqlite3", "cache.sqlite3-wal", "cache.sqlite3-shm")]
        assert all(f.exists() for f in files)
        assert [_mode(f) for f in files] == [0o600] * 3
        c.close()
        # looser modes left by an older version are tightened on the next open
        os.chmod(where, 0o755)
        for f in files:
            if f.exists():
                os.chmod(f, 0o644)
        c = Cache(where / "cache.sqlite3")
        assert c.enabled
        assert _mode(where) == 0o700
        assert all(_mode(f) == 0o600 for f in files if f.exists())
        c.close()
    finally:
        os.umask(old)


# -- #10: a tampered cache database ---------------------------------------------------------------


def _retamper(blob: bytes, change) -> bytes:
    """Decode a cached listing blob, let `change` edit its JSON header, encode it again."""
    raw = zstandard.ZstdDecompressor().decompress(blob)
    hlen = int.from_bytes(raw[:8], "big")
    head = json.loads(raw[8 : 8 + hlen])
    change(head)
    new = json.dumps(head).encode()
    return zstandard.ZstdCompressor().compress(len(new).to_bytes(8, "big") + new + raw[8 + hlen :])


def _set(key, value):
    return lambda head: head.__setitem__(key, value)


def _deep(head: dict) -> None:
    head["xattrs"] = json.loads("[" * 50 + "]" * 50)  # the codec's JSON with a nesting bomb follows
    head["_bomb"] = None


# Each tampering and the SQL that plants it (blob edits go through _retamper).
TAMPERINGS = {
    "type code out of range (IndexError)": ("data", _set("type", {"c": 99})),
    "links not an object (AttributeError)": ("data", _set("link", [])),
    "paths of the wrong type": ("data", lambda h: h.__setitem__("path", list(range(h["n"])))),
    "uname of the wrong type": ("data", _set("uname", {"c": 5})),
    "nesting bomb (RecursionError)": ("bomb", None),
    "not zstd": ("raw", b"\x28\xb5\x2f\xfd" + b"garbage" * 10),
    "progress of the wrong types": ("sql", "UPDATE listings SET note = x'00ff', entries = 'many'"),
}


def _tamper(db: Path, kind: str) -> None:
    what, how = TAMPERINGS[kind]
    with sqlite3.connect(db) as con:
        if what == "sql":
            con.execute(how)
            return
        (blob,) = con.execute("SELECT data FROM listings").fetchone()
        if what == "data":
            blob = _retamper(blob, how)
        elif what == "bomb":
            raw = zstandard.ZstdDecompressor().decompress(blob)
            hlen = int.from_bytes(raw[:8], "big")
            head = raw[8 : 8 + hlen]
            bomb = b'{"n":' + b"[" * 200_000 + b"]" * 200_000 + b"," + head[1:]
            blob = zstandard.ZstdCompressor().compress(len(bomb).to_bytes(8, "big") + bomb + raw[8 + hlen :])
        else:
            blob = how
        con.execute("UPDATE listings SET data = ?", (blob,))


@pytest.fixture(scope="module")
def small(registry) -> PushedImage:
    blob = gzip.compress(build_tar(many_files_spec(40, size=200)), mtime=0)
    return push_image(registry, "sec/tampered", "1", [blob])


@pytest.mark.parametrize("kind", list(TAMPERINGS))
def test_a_tampered_listing_row_costs_one_warning_and_a_reread(small, kind: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = run([small.ref, "--json"], cache)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    want = json.loads(first.stdout)["entries"]
    _tamper(cache / "cache.sqlite3", kind)

    again = run([small.ref, "--json"], cache)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr
    lines = again.stderr.splitlines()
    assert len(lines) == 1 and "damaged record" in lines[0], again.stderr
    assert json.loads(again.stdout)["entries"] == want  # listed again from the registry
    # the bad row was replaced, not left to fail every run: offline it is served, silently
    offline = run([small.ref, "--json", "--offline"], cache)
    assert offline.returncode == 0 and offline.stderr == "", offline.stderr
    assert json.loads(offline.stdout)["entries"] == want


def test_tampered_image_and_search_rows_are_skipped(small, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert run([small.ref, "--json"], cache).returncode == 0
    db = cache / "cache.sqlite3"
    with sqlite3.connect(db) as con:
        # the loaded image (a document) with a layer size of the wrong type, the seen-images row with bad layers
        key, data = con.execute("SELECT key, data FROM docs WHERE key LIKE 'image:%'").fetchone()
        doc = json.loads(data)
        doc["layers"][0]["descriptor"]["size"] = "huge"
        con.execute("UPDATE docs SET data = ? WHERE key = ?", (json.dumps(doc).encode(), key))
        con.execute("UPDATE images SET layers = '[[[[1]]]]'")
        con.execute("UPDATE tags SET digest = 42")
    hits = run(["search", "f1.bin", "--json"], cache)
    assert hits.returncode == 0 and "Traceback" not in hits.stderr
    assert json.loads(hits.stdout) == []
    assert len(hits.stderr.splitlines()) == 1 and "damaged record" in hits.stderr
    again = run([small.ref, "--json"], cache)
    assert again.returncode == 0, again.stderr
    assert len(again.stderr.splitlines()) == 1 and "damaged record" in again.stderr
    assert json.loads(again.stdout)["layers"][0]["size"] == small.layers[0].size
    hits = run(["search", "f1.bin", "--json"], cache)
    assert hits.returncode == 0 and hits.stderr == ""
    assert {h["path"] for h in json.loads(hits.stdout)} >= {"data/d0/f1.bin"}


# -- the row decoders under fuzzing (a longer run: benchmarks/fuzz_cache_rows.py) ------------------------


@settings(max_examples=300, deadline=None)
@given(damaged_blobs())
def test_listing_decoder_refuses_or_types_every_value(blob: bytes) -> None:
    check_blob(blob)


@settings(max_examples=300, deadline=None)
@given(damaged_documents())
def test_image_decoder_refuses_or_types_every_value(doc: bytes) -> None:
    check_document(doc)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=damaged_blobs())
def test_the_cache_survives_any_listing_row(blob: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "c.db"
    c = Cache(path)
    digest = "sha256:" + "7" * 64
    assert c.put_listing(digest, [TarEntry("a", EntryType.FILE)], ListingProgress(entries=1, complete=True,
                                                                                  verified=True))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE listings SET data = ?", (blob,))
    got = c.get_listing(digest)
    assert c.enabled and c.warning is None
    if got is None:
        assert len(c.notes) == 1 and c.get_listing(digest) is None
    else:
        check_entries(got.entries)
    c.close()


@pytest.mark.registry
def test_the_app_shows_a_damaged_row_warning_when_the_layer_is_listed(small, tmp_path: Path, monkeypatch) -> None:
    """The session notes a skipped cache row while a layer is listed, after the
    app started: the app must show it then, not only the notes it had at start."""
    from layerslayer_tui.session import Session
    from layerslayer_tui.tui.app import LayerslayerApp
    from tui_pilot import listed, run as run_app, wait_for

    cache = tmp_path / "cache"
    assert run([small.ref, "--json"], cache).returncode == 0
    _tamper(cache / "cache.sqlite3", "not zstd")
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))
    with Session(cache_path=cache / "cache.sqlite3") as session:
        app = LayerslayerApp(small.ref, session=session)

        async def body(pilot) -> None:
            await wait_for(pilot, listed(app, 0), "layer 0")
            await pilot.pause(0.2)
            told = [n.message for n in app._notifications]
            assert any("damaged record" in m for m in told), told

        run_app(app, body)
