"""The compact listing model (columns.Entries) and the trees built on it:
what goes in comes out field by field, the scanner's fast path agrees with
tarfile on the same bytes, and a tree keeps rows, not entry objects."""

from __future__ import annotations

import io
import tarfile

from hypothesis import given, settings
from hypothesis import strategies as st

from entry_strategies import tar_entries
from layerslayer_tui.columns import Entries
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs.merged import MergedTree, merge
from layerslayer_tui.fs.node import Leaf, Node
from layerslayer_tui.fs.tree import LayerTree
from layerslayer_tui.listing_codec import decode_entries, encode_entries
from layerslayer_tui.peek.scanner import TarScanner

_entry = tar_entries(
    max_path=20,
    uid=st.integers(-(2**40), 2**40),
    owner=st.sampled_from(["", "root", "nobody", "ünïcode", "wheel"]),
    xattrs=st.none() | st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), min_size=1, max_size=2),
    extra=st.none() | st.just({"sparse": [[0, 1]]}),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_entry, max_size=30), st.lists(_entry, max_size=10), st.data())
def test_entries_hold_what_went_in(first: list[TarEntry], second: list[TarEntry], data: st.DataObject) -> None:
    rows = Entries(first)
    assert list(rows) == first and len(rows) == len(first)
    other = Entries(second)  # its own owner table, joined below
    rows.extend(other)
    assert list(rows) == first + second
    assert rows == first + second
    start = data.draw(st.integers(0, len(rows)))
    stop = data.draw(st.integers(start, len(rows)))
    assert list(rows[start:stop]) == (first + second)[start:stop]
    if rows:
        i = data.draw(st.integers(-len(rows), len(rows) - 1))
        assert rows[i] == (first + second)[i]
    assert list(Entries.concat([Entries(first), second])) == first + second
    assert decode_entries(encode_entries(rows)) == first + second


def test_an_entry_from_the_rows_is_a_copy() -> None:
    rows = Entries([TarEntry("a", EntryType.FILE, 3)])
    e = rows[0]
    e.size = 99
    assert rows[0].size == 3


def test_numbers_out_of_range_are_refused_whole() -> None:
    rows = Entries([TarEntry("a", EntryType.FILE, 1)])
    try:
        rows.append(TarEntry("b", EntryType.FILE, 1, uid=2**70))
    except ValueError as err:
        assert "out of range" in str(err)
    else:
        raise AssertionError("a uid of 2**70 was stored")
    assert list(rows) == [TarEntry("a", EntryType.FILE, 1)]  # no half row left behind
    rows.append(TarEntry("c", EntryType.FILE, 2))
    assert [e.path for e in rows] == ["a", "c"] and rows[1].size == 2


def _tar(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info, body in members:
            tar.addfile(info, io.BytesIO(body) if body else None)
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, body: bytes = b"", **kw: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mtime, info.mode = kind, len(body), 1_700_000_000, 0o644
    for key, value in kw.items():
        setattr(info, key, value)
    return info, body


def test_fast_path_matches_tarfile_field_by_field_with_names_that_are_not_utf8() -> None:
    latin = b"caf\xe9/men\xfc.txt".decode("utf-8", "surrogateescape")  # latin-1 bytes, as old tars hold them
    members = [
        _member("caf\udce9", tarfile.DIRTYPE, mode=0o755),
        _member(latin, body=b"x" * 700, uname="us\xe9r", gname="staff", uid=1000, gid=50),
        _member("./dot/slash/", tarfile.DIRTYPE),
        _member("dot/slash/link", tarfile.SYMTYPE, linkname="../target"),
        _member("dot/slash/hard", tarfile.LNKTYPE, linkname="./caf\udce9/men\udcfc.txt"),
        _member("a" * 90 + "/" + "b" * 90, body=b"long"),  # ustar prefix field
    ]
    blob = _tar(members, tarfile.USTAR_FORMAT)
    scanner = TarScanner()
    rows = Entries()
    for i in range(0, len(blob), 333):  # headers split across feeds
        rows.extend(scanner.feed(blob[i : i + 333]))
    assert scanner.finished
    with tarfile.open(fileobj=io.BytesIO(blob), encoding="utf-8", errors="surrogateescape") as tar:
        truth = tar.getmembers()
    assert len(rows) == len(truth)
    for got, want in zip(rows, truth):
        assert got.path == want.name.removeprefix("./").rstrip("/")
        assert (got.size, got.mode, got.uid, got.gid, got.uname, got.gname, got.mtime, got.offset) == (
            want.size, want.mode, want.uid, want.gid, want.uname, want.gname, float(want.mtime), want.offset)
        assert got.type is {tarfile.DIRTYPE: EntryType.DIR, tarfile.SYMTYPE: EntryType.SYMLINK,
                            tarfile.LNKTYPE: EntryType.HARDLINK}.get(want.type, EntryType.FILE)
    assert rows[3].link == "../target"
    assert rows[4].link == "caf\udce9/men\udcfc.txt"  # a hardlink target is a stored name, normalised like one


def test_a_listing_that_stops_half_way_holds_exactly_the_headers_it_saw() -> None:
    members = [_member(f"d/f{i:03d}", body=b"y" * (i % 7 * 100)) for i in range(120)]
    blob = _tar(members)
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        truth = tar.getmembers()
    cut = truth[60].offset + 100  # in the middle of member 60's header
    scanner = TarScanner()
    rows = scanner.feed(blob[:cut])
    assert not scanner.finished
    assert [e.path for e in rows] == [m.name for m in truth[:60]]
    tree = LayerTree(0)
    tree.add(rows)
    assert tree.total_files == 60 and tree.get("d/f059") is not None and tree.get("d/f060") is None
    tree.add(scanner.feed(blob[cut:]))
    assert tree.total_files == 120


def test_a_tree_keeps_rows_in_slim_leaves_and_a_million_entries_fit() -> None:
    rows = Entries()
    owner = rows.owner_index("root", "root")
    n = 1_000_000
    for d in range(1000):
        rows.add(f"m{d:04d}", 1, 0, 0o755, 0, 0, owner, 1.0, d * 1024)  # type code 1: dir
        for f in range(999):
            rows.add(f"m{d:04d}/f{f:03d}.js", 0, f, 0o644, 0, 0, owner, 1.0, d * 1024 + f)
    assert len(rows) == n
    tree = LayerTree(0, complete=True)
    tree.add(rows)
    assert len(tree) == n
    assert tree.total_files == 999_000 and tree.total_bytes == 1000 * sum(range(999))
    leaf = tree.get("m0500/f998.js")
    assert type(leaf) is Leaf and not hasattr(leaf, "__dict__") and len(Leaf.__slots__) == 6
    assert leaf.layer_index == 0  # from its rows' span, not a slot of its own
    assert leaf.entry == TarEntry("m0500/f998.js", EntryType.FILE, 998, 0o644, 0, 0, "root", "root", 1.0, None,
                                  500 * 1024 + 998)
    assert isinstance(tree.get("m0500"), Node) and tree.get("m0500").total_files == 999
    assert [n.name for n in tree.children("m0999")][:3] == ["f000.js", "f001.js", "f002.js"]
    # The merged view shares the rows and the path strings.
    merged = merge([tree])
    same = merged.get("m0500/f998.js")
    assert same is not leaf and same.path is leaf.path and same.entry == leaf.entry
    assert same.layer_index == 0
    moved = MergedTree()
    moved.apply(tree, 3)  # the same rows placed as layer 3 keep that layer themselves
    assert moved.get("m0500/f998.js").layer_index == 3 and moved.get("m0500").layer_index == 3


def test_the_collector_is_back_on_after_a_big_build_even_one_that_fails() -> None:
    import gc

    from layerslayer_tui.gcpause import BIG, paused

    assert gc.isenabled()
    rows = Entries(TarEntry(f"d/f{i}", EntryType.FILE, 1) for i in range(BIG))
    LayerTree(0).add(rows)
    assert gc.isenabled()
    try:
        with paused(BIG):
            assert not gc.isenabled()
            raise KeyError("boom")
    except KeyError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with paused(BIG):  # off already: left off, and not switched on behind the caller's back
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
