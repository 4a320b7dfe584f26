"""listing_rows.ListingRows reads listing_codec's encoded format row by row:
every row equals what decode_entries builds (so a change of the codec fails
here), the last entry of a path wins, and damage raises ValueError."""

from __future__ import annotations

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from entry_strategies import tar_entries
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.listing_codec import decode_entries, encode_entries
from layerslayer_tui.listing_rows import ListingRows

_entry = tar_entries(
    max_path=12,
    xattrs=st.none() | st.dictionaries(st.text(max_size=5), st.text(max_size=5), min_size=1, max_size=2),
    extra=st.none() | st.dictionaries(st.text(max_size=5), st.integers(), min_size=1, max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_entry, max_size=25))
def test_every_row_is_what_decode_entries_builds(entries: list[TarEntry]) -> None:
    blob = encode_entries(entries)
    full = decode_entries(blob)
    rows = ListingRows(blob)
    assert rows.n == len(full)
    for i, e in enumerate(full):
        assert rows.entry(i) == e
    for e in full:  # the last entry of a path, as extraction leaves it
        assert rows.get(e.path) == [x for x in full if x.path == e.path][-1]
    assert rows.get("\x00absent") is None


def _layer() -> list[TarEntry]:
    return [
        TarEntry("etc", EntryType.DIR, mode=0o755, offset=0),
        TarEntry("etc/passwd", EntryType.FILE, 10, 0o644, uname="root", offset=512),
        TarEntry("etc/link", EntryType.HARDLINK, link="etc/passwd", offset=1536),
        TarEntry("etc/passwd", EntryType.FILE, 20, 0o600, uname="daemon", mtime=1.5, offset=2048),
        TarEntry("etc/.wh.gone", EntryType.FILE, offset=3072),
        TarEntry("bad\udcffname", EntryType.FILE, 3, offset=3584),
    ]


def test_find_before_and_has_under() -> None:
    rows = ListingRows(encode_entries(_layer()))
    assert rows.find("etc/passwd") == 3
    assert rows.get("etc/passwd").size == 20
    assert rows.find_before("etc/passwd", 2) == 1  # a hardlink's target is the copy before it
    assert rows.find_before("etc/passwd", 5) == 3
    assert rows.find_before("etc/passwd", 1) is None
    assert rows.get("bad\udcffname").size == 3
    assert rows.entry(5).path == "bad\udcffname"
    assert rows.has_under("etc")
    assert not rows.has_under("et")  # a prefix of a name is not a parent
    assert not rows.has_under("etc/passwd")
    only_whiteouts = ListingRows(encode_entries([TarEntry("d/.wh.x", EntryType.FILE)]))
    assert only_whiteouts.has_under("d")
    assert not only_whiteouts.has_under("d", skip_name=lambda name: name.startswith(".wh."))


def test_an_empty_listing() -> None:
    rows = ListingRows(encode_entries([]))
    assert rows.n == 0 and rows.get("x") is None and not rows.has_under("x")


def _raw(blob: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)


def _with_header(blob: bytes, edit) -> bytes:
    import json

    raw = _raw(blob)
    hlen = int.from_bytes(raw[:8], "big")
    head = json.loads(raw[8 : 8 + hlen])
    edit(head)
    new = json.dumps(head).encode()
    return zstandard.ZstdCompressor().compress(len(new).to_bytes(8, "big") + new + raw[8 + hlen :])


@pytest.mark.parametrize("edit", [
    lambda h: h.update(n=h["n"] + 1),  # more rows than paths
    lambda h: h.update(n=-1),
    lambda h: h.update(size={"a": "q", "r": [0, 8]}),  # a column of the wrong length
    lambda h: h.update(size={"a": "d", "r": h["size"]["r"]}),  # the wrong typecode
    lambda h: h.update(uname=[1] * h["n"]),  # the wrong value type (found when read)
    lambda h: h.update(path=[0, 10**9]),  # past the end
    lambda h: h.update(link=[]),
])
def test_damage_raises_value_error(edit) -> None:
    blob = _with_header(encode_entries(_layer()), edit)
    with pytest.raises(ValueError):
        rows = ListingRows(blob)
        for i in range(rows.n):
            rows.entry(i)


def test_garbage_raises_value_error() -> None:
    with pytest.raises(ValueError):
        ListingRows(b"not zstd at all")
    with pytest.raises(ValueError):
        ListingRows(zstandard.ZstdCompressor().compress(b"\xff" * 8 + b"{}"))
