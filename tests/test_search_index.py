"""The indexed search (cache schema 4, search_index.py) against the search it
replaced (every listing decoded, tests/search_support.py): the same hits in
the same order on the same data, the scoping rule kept, records written with
their listing, dropped with it, and built for listings that have none."""

from __future__ import annotations

import sqlite3
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerslayer_tui import cache as cache_module
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry
from layerslayer_tui.fs import PathMatcher
from layerslayer_tui.registry.models import Descriptor, ImageInfo, LayerInfo, Platform
from layerslayer_tui.session import Session

from search_support import decode_every_listing

SHARED_DIGEST = "sha256:" + "1" * 64
SCOPED_DIGEST = "sha256:" + "2" * 64
NUL_DIGEST = "sha256:" + "3" * 64
OTHER_DIGEST = "sha256:" + "4" * 64

PATHS = [
    "etc", "etc/passwd", "root/.ssh/id_rsa", "home/u/.ssh/id_rsa.pub", "usr/lib/libc.so.6", "usr/lib/x86/libz.so",
    "opt/App/README.md", "opt/App/Makefile", "srv/ÄÖÜ/Straße.txt", "srv/\udcff\udcfe-raw.bin",
    "srv/İstanbul/KELVIN-\u212a.txt", "tmp/new\nline", "var/.wh.deleted", "var/.wh..wh..opq", "weird/[brackets]/x",
    "weird/star*name", "weird/q?mark", "dup/x", "dup/x", "Σίσυφος/ΟΔΟΣ", "a/b/c/d/e/f/g", "big/file.bin",
]

PATTERNS = [
    "id_rsa", "*/id_rsa", "*.so", "*.so*", "ssh", "SSH", "readme", "README", "Makefile", "makefile", "straße",
    "STRASSE", "ä", "Ä", "k", "\u212a", "i̇", "İ", "line", "new\nline", "*[!a-z]*", "[", "*[*", "weird/[[]brackets]/x",
    "*brackets*", "x", "?", "*", "wh", ".wh.", "*.wh.*", "Σ", "ς", "οδος", "ΟΔΟΣ", "usr/lib/*.so", "/usr/lib/*",
    "\udcff", "raw", "c/d/e", "*/d/*/f/*", "[]]", "[!]", "*[]a]*", "x\0y", "dup/x", "nothing-at-all", "etc", "ETC",
    "big/file.bin", "file", "FILE", "tbl",
]


def entries(paths: list[str], seed: int = 0) -> list[TarEntry]:
    return [TarEntry(p, EntryType.FILE, (i * 7919 + seed) % 100_000, 0o644) for i, p in enumerate(paths)]


def image(repository: str, layers: list[str], registry: str = "localhost:5000") -> ImageInfo:
    infos = [LayerInfo(i, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d, 100)) for i, d in
             enumerate(layers)]
    return ImageInfo(registry, repository, f"{registry}/{repository}:1", "sha256:" + "m" * 64,
                     "application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, {}, infos, [], False,
                     Platform("linux", "amd64"))


def verified(n: int) -> ListingProgress:
    return ListingProgress(1, 1, 1, n, True, True)


def partial(n: int) -> ListingProgress:
    return ListingProgress(1, 1, 1, n, False, False)


@pytest.fixture
def session(tmp_path: Path):
    s = Session(cache_path=tmp_path / "c.db", offline=True)
    c = s.cache
    assert c is not None
    c.put_listing(SHARED_DIGEST, entries(PATHS), verified(len(PATHS)))
    c.put_listing(SCOPED_DIGEST, entries(PATHS[::-1], 3), partial(len(PATHS)), "localhost:5000/a/one")
    c.put_listing(NUL_DIGEST, entries(["nul/x\0y", "nul/id_rsa", "nul/README"]), partial(3), "localhost:5000/a/one")
    c.put_listing(OTHER_DIGEST, entries(["other/id_rsa", "other/Makefile"]), partial(2), "other.example/b/two")
    c.record_image(image("a/one", [SHARED_DIGEST, SCOPED_DIGEST, NUL_DIGEST]))
    c.record_image(image("b/two", [SHARED_DIGEST, SCOPED_DIGEST, NUL_DIGEST, OTHER_DIGEST]))
    c.record_image(image("b/two", [OTHER_DIGEST, SCOPED_DIGEST], registry="other.example"))
    yield s
    s.close()


def records(s: Session) -> int:
    assert s.cache is not None
    return s.cache._run(lambda db: db.execute("SELECT COUNT(*) FROM search_index").fetchone()[0], -1)


def test_the_index_answers_exactly_as_decoding_every_listing(session: Session) -> None:
    for pattern in PATTERNS:
        want = decode_every_listing(session, pattern)
        assert session.search(pattern) == want, pattern
        for limit in (1, 3):
            assert session.search(pattern, limit=limit) == want[:limit], (pattern, limit)
    assert session.search("id_rsa")  # the comparison is not between two empty answers
    assert session.pop_warnings() == []


def test_search_never_decodes_an_indexed_listing(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    want = decode_every_listing(session, "*.so")

    def refuse(data: bytes) -> list[TarEntry]:
        raise AssertionError("search decoded a listing")

    monkeypatch.setattr(cache_module, "decode_entries", refuse)
    # The listing holding a NUL path has no index text: only it may be decoded, so leave it out here.
    got = [h for h in session.search("*.so") if h.layer_digest != NUL_DIGEST]
    assert got == [h for h in want if h.layer_digest != NUL_DIGEST] and got


def test_an_unverified_listing_is_attributed_only_to_its_own_scope(session: Session) -> None:
    hits = session.search("id_rsa")
    by_image = {(h.image, h.layer_digest) for h in hits}
    # a/one sees the shared listing and its own scoped ones
    assert ("localhost:5000/a/one:1", SCOPED_DIGEST) in by_image
    assert ("localhost:5000/a/one:1", NUL_DIGEST) in by_image
    # b/two on the same registry sees only the shared listing: a/one's unverified rows are not its own
    assert {d for i, d in by_image if i == "localhost:5000/b/two:1"} == {SHARED_DIGEST}
    # other.example/b/two sees its own scoped listing, never a/one's under the same digest
    assert {d for i, d in by_image if i == "other.example/b/two:1"} == {OTHER_DIGEST}
    assert [h.path for h in hits if h.image == "other.example/b/two:1"] == ["other/id_rsa"]


def test_records_are_written_and_dropped_with_their_listing(session: Session) -> None:
    c = session.cache
    assert c is not None
    assert records(session) == 4
    # A verified listing replaces the scoped one of its digest: its record goes too, and the new paths answer.
    c.put_listing(SCOPED_DIGEST, entries(["new/id_rsa"]), verified(1))
    assert records(session) == 4
    assert [h.path for h in session.search("id_rsa") if h.layer_digest == SCOPED_DIGEST] == ["new/id_rsa"] * 3  # three images hold it
    c.drop_listing(OTHER_DIGEST, "other.example/b/two")
    assert records(session) == 3
    c.clear()
    assert records(session) == 0 and session.search("id_rsa") == []


def test_listings_without_a_record_are_indexed_on_the_first_search(session: Session) -> None:
    """Listings stored before the index (or by a run that could not write it):
    the first search decodes them once and writes their record."""
    want = decode_every_listing(session, "README")
    session.cache._run(lambda db: db.execute("DELETE FROM search_index"), None, write=True)
    assert records(session) == 0
    assert session.search("README") == want and want
    assert records(session) == 4
    assert session.search("readme") == decode_every_listing(session, "readme")


def test_a_damaged_record_is_rebuilt_with_one_note(session: Session, tmp_path: Path) -> None:
    want = decode_every_listing(session, "ssh")
    with sqlite3.connect(tmp_path / "c.db") as con:
        con.execute("UPDATE search_index SET paths = x'28b52ffd00', sizes = 'text'")
    assert session.search("ssh") == want and want
    notes = session.pop_warnings()
    assert len(notes) == 1 and "damaged record" in notes[0]
    assert session.search("ssh") == want and session.pop_warnings() == []


def test_an_old_schema_is_dropped_with_the_cache(tmp_path: Path) -> None:
    """Schema 3 had no index: like every layout change, the cache is rebuilt empty."""
    db = tmp_path / "c.db"
    s = Session(cache_path=db, offline=True)
    s.cache.put_listing(SHARED_DIGEST, entries(PATHS), verified(len(PATHS)))
    s.close()
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE search_index")
        con.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    s = Session(cache_path=db, offline=True)
    assert s.cache.listed_digests() == [] and records(s) == 0
    s.close()


_GLOB = st.text(alphabet="ab/.*?[]!-Aé", max_size=8)
_PATH = st.text(alphabet="ab/.[]!-Aé*?", max_size=12)


@settings(max_examples=3000, deadline=None)
@given(pattern=_GLOB, path=_PATH)
def test_what_a_pattern_requires_is_in_every_path_it_matches(pattern: str, path: str) -> None:
    m = PathMatcher(pattern)
    needle, fold = m.required()
    if m(path, path.rpartition("/")[2]):
        assert needle in (path.lower() if fold else path)
    if m.is_glob and needle:
        assert fnmatchcase(needle, needle)  # a literal run, never a pattern piece
        assert not set(needle) & set("*?")


def test_a_listing_of_many_blocks_answers_the_same(tmp_path: Path) -> None:
    """Text over many index blocks, with characters that change length when
    lowercased (İ, K) spread through it, so the folded blocks cut elsewhere."""
    from layerslayer_tui import search_index

    kelvin = "\u212a"
    paths = [f"srv/Dir{i % 97}/{'İ' if i % 5 == 0 else kelvin if i % 7 == 0 else 'x'}file_{i:06d}.Txt"
             for i in range(40_000)]
    assert len("\0".join(paths).encode()) > 4 * search_index._BLOCK
    s = Session(cache_path=tmp_path / "c.db", offline=True)
    s.cache.put_listing(SHARED_DIGEST, entries(paths), verified(len(paths)))
    s.cache.record_image(image("a/one", [SHARED_DIGEST]))
    for pattern in ("file_039999", "i̇file_000005", "İfile_0000", "kfile_0000", "dir96/", "DIR96", ".txt", "*_01234?.Txt",
                    "srv/Dir3/*", "\u212a"):
        want = decode_every_listing(s, pattern)
        assert s.search(pattern) == want, pattern
    assert len(s.search("file_03")) == 10_000
    s.close()
