"""cat/get answer from cached listings read row by row (content._RowLookup
over listing_rows.ListingRows): the same answers as the dict lookup built
from every entry (whiteouts, opaque directories, non-directory parents,
symlinks), and, after a full read, a file and a hardlink are read without
decoding any whole listing."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerslayer_tui import content
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.listing_codec import encode_entries
from layerslayer_tui.listing_rows import ListingRows

_NAMES = ["a", "b", ".wh.a", ".wh.b", ".wh..wh..opq", ".wh..wh.a"]
_path = st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3).map("/".join)
_kind = st.sampled_from([EntryType.FILE, EntryType.DIR, EntryType.SYMLINK, EntryType.HARDLINK])


@st.composite
def _layers(draw) -> list[list[TarEntry]]:
    out = []
    for n in range(draw(st.integers(1, 3))):
        entries = []
        for i, (path, kind) in enumerate(draw(st.lists(st.tuples(_path, _kind), max_size=12))):
            link = draw(_path) if kind in (EntryType.SYMLINK, EntryType.HARDLINK) else None
            if kind is EntryType.SYMLINK and draw(st.booleans()):
                link = "/" + link
            entries.append(TarEntry(path, kind, size=i, link=link, offset=i * 512, mode=n))
        out.append(entries)
    return out


def _answer(lookup, path: str):
    try:
        landed = content.follow(lookup, path)
    except LayerslayerError:
        return "loop"
    hit = lookup.get(landed) if landed else None
    return (landed, None if hit is None else (hit.layer_index, hit.entry), lookup.deleted_by,
            lookup.has_children(landed) if landed else None)


@settings(max_examples=300, deadline=None)
@given(_layers(), st.lists(_path, min_size=1, max_size=6), st.booleans())
def test_row_lookup_answers_as_the_entry_lookup(layers, paths, merged) -> None:
    plain = content._Lookup(list(enumerate(layers)), merged=merged)
    rows = content._RowLookup([(i, ListingRows(encode_entries(e))) for i, e in enumerate(layers)], merged=merged)
    for path in paths:
        assert _answer(rows, path) == _answer(plain, path), path


# -- end to end, in process: no whole listing decoded after a full read -----------------


@pytest.mark.registry
def test_cat_after_a_full_read_decodes_no_whole_listing(registry, tmp_path, monkeypatch) -> None:
    from bed.images import push_image
    from bed.layers import Item, build_tar

    from layerslayer_tui import cache as cache_module
    from layerslayer_tui import listing_codec
    from layerslayer_tui.session import Session

    big = bytes(range(256)) * 4096
    base = gzip.compress(build_tar([Item("bin/", "dir"), Item("bin/tool", data=big), Item("etc/", "dir"),
                                    Item("etc/gone", data=b"x"), Item("bin/hard", "hardlink", link="bin/tool")]))
    top = gzip.compress(build_tar([Item("etc/", "dir"), Item("etc/.wh.gone", data=b""),
                                   Item("etc/new", data=b"new\n")]))
    image = push_image(registry, "rows/cat", "1", [base, top])
    db = tmp_path / "cache.sqlite3"
    with Session(cache_path=db) as s:
        img = s.open_image(image.ref)
        for i in range(2):
            listing = s.listing(img, i, full=True)
            for _ in listing:
                pass

    def refuse(_blob: bytes) -> list:
        raise AssertionError("a whole listing was decoded")

    monkeypatch.setattr(listing_codec, "decode_entries", refuse)
    monkeypatch.setattr(cache_module, "decode_entries", refuse)
    notes: list[str] = []
    with Session(cache_path=db) as s:
        img = s.open_image(image.ref)
        files = content.ImageFiles(s, img, note=notes.append)
        for path, want in (("bin/tool", big), ("/bin/hard", big), ("etc/new", b"new\n")):
            out = tmp_path / "out"
            with open(out, "wb") as fh:
                content.cat(files, path, fh)
            assert out.read_bytes() == want
        with pytest.raises(LayerslayerError, match="deleted by layer 1"):
            files.find("etc/gone")
    assert notes == []  # nothing had to be listed


@pytest.mark.registry
def test_cat_path_stays_lean(registry, tmp_path) -> None:
    """No UI library on the cat path, the cached listing read by rows, and
    libz loaded without ctypes.util (its ldconfig subprocess cost ~50 ms)."""
    import subprocess
    import sys

    from bed.images import make_layer, push_image

    image = push_image(registry, "rows/lean", "1", [make_layer({"a.txt": b"a\n"}, "gzip")])
    env = {"LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-X", "importtime", "-m", "layerslayer_tui", "cat", image.ref, "a.txt"],
                           capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path) for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0 and proc.stdout == "a\n", proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in runs[1].stderr.splitlines()
                if line.startswith("import time:")}
    assert "layerslayer_tui.listing_rows" in imported  # the probe sees our own imports: the row path ran
    assert {m for m in imported if m.split(".")[0] in ("textual", "rich")} == set()
    assert "ctypes.util" not in imported
