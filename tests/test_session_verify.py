"""A full read of a layer whose listing came from its index (eStargz, zstd:chunked)
streams the layer, checks the index against it field by field and says so; the
cache then holds the verified streamed listing. The layers come from the real
producers (tests/bed/lazy.py) through the real registry; one eStargz layer has
its TOC edited (and its annotation re-digested) so that index and layer differ."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from bed.lazy import OCI_MANIFEST, LazyImage, push_image, tar_truth

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.peek import estargz
from layerslayer_tui.peek.index import ESTARGZ, ZSTD_CHUNKED, compare, normalise
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


@pytest.fixture(params=["zstd:chunked", "estargz"])
def image(request: pytest.FixtureRequest) -> LazyImage:
    return request.getfixturevalue("zstd_chunked_image" if request.param == "zstd:chunked" else "estargz_image")


def _label(image: LazyImage) -> str:
    return "eStargz index" if image.kind == "estargz" else "zstd:chunked index"


def _truth(image: LazyImage) -> list[str]:
    return [row["path"] for row in tar_truth(image.tar_bytes())]  # type: ignore[misc]


def _shown(image: LazyImage) -> int:
    """Entries an index listing shows: the tar's, less the converter's files."""
    hidden = estargz.HIDDEN_NAMES if image.kind == "estargz" else frozenset()
    return sum(1 for path in _truth(image) if path not in hidden)


def _push(registry, image: LazyImage, name: str) -> str:
    push_image(registry, name, image, tag="1")
    return f"{registry.host}/{name}:1"


# -- an eStargz layer whose TOC says something its tar does not -------------------------


def tamper_estargz(image: LazyImage, dest: Path, edit: Callable[[dict], None]) -> LazyImage:
    """The same layer with its TOC JSON edited by `edit`, the TOC member rebuilt in
    place (same offset, so the footer stands) and the annotation re-digested."""
    data = image.blob.read_bytes()
    found = estargz.parse_footer(data[-estargz.FOOTER_SIZE :])
    assert found is not None
    toc_offset, footer_len = found
    toc_tar = zlib.decompressobj(wbits=31).decompress(data[toc_offset : len(data) - footer_len])
    with tarfile.open(fileobj=io.BytesIO(toc_tar), mode="r:") as tf:
        member = tf.next()
        assert member is not None and member.name.removeprefix("./") == estargz.TOC_NAME
        handle = tf.extractfile(member)
        assert handle is not None
        toc = json.loads(handle.read())
    edit(toc)
    document = json.dumps(toc).encode()
    header = tarfile.TarInfo(member.name)
    header.size, header.mode, header.mtime, header.type = len(document), member.mode, member.mtime, member.type
    data_end = member.offset_data + -(-member.size // 512) * 512
    rebuilt = header.tobuf(tarfile.USTAR_FORMAT) + document + b"\0" * (-len(document) % 512) + toc_tar[data_end:]
    blob = data[:toc_offset] + gzip.compress(rebuilt, mtime=0) + data[len(data) - footer_len :]
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    (dest / "blobs/sha256").mkdir(parents=True)
    (dest / "blobs/sha256" / digest.split(":", 1)[1]).write_bytes(blob)
    annotations = dict(image.annotations)
    annotations[estargz.TOC_DIGEST_ANNOTATION] = "sha256:" + hashlib.sha256(document).hexdigest()
    if estargz.UNCOMPRESSED_SIZE_ANNOTATION in annotations:
        annotations[estargz.UNCOMPRESSED_SIZE_ANNOTATION] = str(len(gzip.decompress(blob)))
    layer = dict(image.layer, digest=digest, size=len(blob), annotations=annotations)
    manifest = json.loads(image.manifest)
    manifest["layers"] = [layer]
    return LazyImage("estargz", dest, json.dumps(manifest).encode(), image.config, layer)


def _edit(toc: dict) -> None:
    for raw in toc["entries"]:
        if normalise(raw["name"]) == "etc/owned":
            raw["size"] += 2
        elif normalise(raw["name"]) == "etc/os-release":
            raw["mode"] = 0o600


@pytest.fixture(scope="module")
def lying_estargz(estargz_image: LazyImage, tmp_path_factory: pytest.TempPathFactory) -> LazyImage:
    return tamper_estargz(estargz_image, tmp_path_factory.mktemp("lying-estargz"), _edit)


# -- agreeing layers from the real producers ----------------------------------------------


def test_full_read_checks_the_index_and_caches_the_stream(registry, image: LazyImage, tmp_path: Path) -> None:
    ref = _push(registry, image, f"verify/full-{image.kind.replace(':', '-')}")
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        info = s.open_image(ref)
        listing = s.listing(info, 0, full=True)
        batches = list(listing)
        last = batches[-1].progress
        streamed = [e.path for b in batches for e in b.entries]
        assert streamed == _truth(image)  # the layer's own entries, converter files included
        assert last.complete and last.verified and last.source == "stream"
        assert f"{_label(image)} and the layer agree ({_shown(image)} entries)" in last.note, last.note
        assert listing.entries == [e for b in batches for e in b.entries]
        state = s.cache.listing_state(info.layers[0].digest)
        assert state is not None and state.complete and state.verified and "agree" in state.note
    with Session(cache_path=db, offline=True) as s:
        again = s.listing(s.open_image(ref), 0, full=True)
        assert again.cached and [e.path for b in again for e in b.entries] == streamed


def test_cached_index_listing_is_checked_by_a_full_read(registry, zstd_chunked_image: LazyImage, tmp_path: Path) -> None:
    ref = _push(registry, zstd_chunked_image, "verify/cached")
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        first = s.listing(s.open_image(ref), 0)
        list(first)
        assert first.complete and first.progress.source == ZSTD_CHUNKED and not first.progress.verified
    with Session(cache_path=db, offline=True) as s:
        # Offline, the cached index listing is all there is: shown as it is.
        offline = s.listing(s.open_image(ref), 0, full=True)
        assert offline.cached and list(offline)[-1].progress.source == ZSTD_CHUNKED
    with Session(cache_path=db) as s:
        info = s.open_image(ref)
        full = s.listing(info, 0, full=True)
        assert not full.cached
        batches = list(full)
        last = batches[-1].progress
        assert last.verified and f"agree ({_shown(zstd_chunked_image)} entries)" in last.note
        assert [e.path for b in batches for e in b.entries] == _truth(zstd_chunked_image)
        state = s.cache.listing_state(info.layers[0].digest)
        assert state is not None and state.verified and state.source == "stream"


def test_continue_full_after_an_index_listing_checks_it(registry, image: LazyImage, tmp_path: Path) -> None:
    ref = _push(registry, image, f"verify/continue-{image.kind.replace(':', '-')}")
    with Session(cache_path=tmp_path / "c.db") as s:
        listing = s.listing(s.open_image(ref), 0)
        shown = [e for b in listing for e in b.entries]
        assert listing.complete and len(shown) == _shown(image)
        rest = list(listing.continue_full())
        assert rest and all(not b.entries for b in rest)  # nothing differs, so nothing new to show
        last = rest[-1].progress
        assert last.verified and last.complete and f"agree ({len(shown)} entries)" in last.note
        assert listing.progress is last and [e.path for e in listing.entries] == _truth(image)
        assert list(listing.continue_full()) == []  # verified now: nothing left to do


# -- an index that does not match its layer -----------------------------------------------


def test_a_differing_index_is_reported_by_a_full_read(registry, lying_estargz: LazyImage, tmp_path: Path) -> None:
    ref = _push(registry, lying_estargz, "verify/lying-full")
    with Session(cache_path=tmp_path / "c.db") as s:
        info = s.open_image(ref)
        listing = s.listing(info, 0)
        by_path = {e.path: e for b in listing for e in b.entries}
        assert by_path["etc/owned"].size == 7 and by_path["etc/os-release"].mode == 0o600  # the index's word
        full = s.listing(info, 0, full=True)
        batches = list(full)
        last = batches[-1].progress
        assert last.verified and last.complete  # the blob itself is sound
        assert (
            "The eStargz index and the layer differ: 2 paths "
            "(first: etc/os-release mode 0o600 in the index, 0o644 in the layer)."
        ) in last.note, last.note
        cached = s.cache.get_listing(info.layers[0].digest)
        assert cached is not None and cached.progress.verified and "differ: 2 paths" in cached.progress.note
        by_path = {e.path: e for e in cached.entries}
        assert by_path["etc/owned"].size == 5 and by_path["etc/os-release"].mode == 0o644  # the layer's word


def test_continue_full_hands_over_the_layers_version(registry, lying_estargz: LazyImage, tmp_path: Path) -> None:
    ref = _push(registry, lying_estargz, "verify/lying-continue")
    with Session(cache=False) as s:
        listing = s.listing(s.open_image(ref), 0)
        list(listing)
        rest = list(listing.continue_full())
        assert all(not b.entries for b in rest[:-1])
        fixed = rest[-1].entries
        assert [(e.path, e.size, e.mode) for e in fixed] == [("etc/os-release", 8, 0o644), ("etc/owned", 5, 0o644)]
        assert "differ: 2 paths" in rest[-1].progress.note and rest[-1].progress.verified


# -- the comparison itself ------------------------------------------------------------------


def _e(path: str, **kw: object) -> TarEntry:
    fields: dict = {"type": EntryType.FILE, "size": 3, "mode": 0o644, "mtime": 1_700_000_000.0}
    fields.update(kw)
    return TarEntry(path, **fields)


def test_compare_ignores_what_the_producer_leaves_out() -> None:
    layer = [
        _e("a", uname="root", gname="root", mtime=1_700_000_000.75),  # fractions beyond the index's seconds
        _e("stargz.index.json"),  # the converter's own file
        _e(".prefetch.landmark"),
        _e("d", type=EntryType.DIR, size=0),
        _e("h", type=EntryType.HARDLINK, size=0, link="a"),
    ]
    index = [_e("a"), _e("d", type=EntryType.DIR), _e("h", type=EntryType.HARDLINK, link="a", mtime=0.0)]
    check = compare(ESTARGZ, index, layer)
    assert check.agree and check.note == "The eStargz index and the layer agree (3 entries)."


def test_compare_names_each_kind_of_difference() -> None:
    layer = [_e("a"), _e("b", uid=1), _e("c", type=EntryType.SYMLINK, size=0, link="x"), _e("only-layer")]
    index = [_e("a", uname="alice"), _e("b"), _e("c", type=EntryType.SYMLINK, link="y"), _e("only-index")]
    check = compare(ZSTD_CHUNKED, index, layer)
    assert check.differing == ("a", "b", "c", "only-layer", "only-index")
    assert check.note == (
        "The zstd:chunked index and the layer differ: 5 paths (first: a user 'alice' in the index, '' in the layer)."
    )
    one = compare(ZSTD_CHUNKED, [_e("x", size=10)], [_e("x", size=12)])
    assert one.note == "The zstd:chunked index and the layer differ: 1 path (first: x size 10 in the index, 12 in the layer)."
    assert compare(ZSTD_CHUNKED, [_e("x")], [_e("x", type=EntryType.DIR)]).first == "x type file in the index, dir in the layer"
    assert compare(ZSTD_CHUNKED, [_e("x")], []).first == "x only in the index"
