"""eStargz and zstd:chunked files read from the chunks their index names:
no full read (access log), one request per contiguous run of chunks, bytes
equal tarfile's, and a chunk that does not match its digest is refused."""

from __future__ import annotations

import io
import tarfile

import pytest
from bed.lazy import LazyImage, push_image
from test_session import blob_gets

from layerslayer_tui.entry import EntryType
from layerslayer_tui.errors import LayerFormatError
from layerslayer_tui.peek import BytesSource
from layerslayer_tui.peek import randomaccess as ra
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


def contents(img: LazyImage) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(img.tar_bytes()), mode="r:") as tf:
        for m in tf.getmembers():
            if m.isfile():
                out[m.name.removeprefix("./")] = tf.extractfile(m).read()  # type: ignore[union-attr]
    return out


@pytest.mark.parametrize("kind", ["zstd", "estargz"])
def test_files_come_from_their_chunks(registry, kind, request, tmp_path) -> None:
    if kind == "estargz":
        img: LazyImage = request.getfixturevalue("estargz_image")
    else:
        img = request.getfixturevalue("zstd_chunked_image")
    pushed = push_image(registry, f"seek/lazy-{kind}", img, tag="1")
    truth = contents(pushed)
    digest = pushed.layer["digest"]
    with Session(cache_path=tmp_path / "c.db") as s:
        image = s.open_image(f"{registry.host}/seek/lazy-{kind}:1")
        listing = s.listing(image, 0)
        entries = [e for b in listing for e in b.entries]
        assert listing.complete and listing.progress.source != "stream"
        files = [e for e in entries if e.type is EntryType.FILE and e.size > 0]
        assert files
        biggest = max(files, key=lambda e: e.size)
        assert len(biggest.extra["toc"]) > 1  # a file in several chunks
        total = 0
        for entry in sorted(files, key=lambda e: -e.size)[:25]:
            mark = registry.log_mark()
            read = s.read_file(image, 0, entry.path, cap=1 << 30)
            assert read.via == "toc chunks", entry.path
            assert read.carved.content == truth[entry.path], entry.path
            gets = [r for r in blob_gets(registry, mark) if digest in r.path]
            assert len(gets) == read.requests <= len(entry.extra["toc"])
            total += sum(r.written for r in gets)
        assert total < 2 * sum(len(truth[e.path]) for e in sorted(files, key=lambda e: -e.size)[:25]) + 25 * 65536
        # a chunk whose bytes do not match its digest is refused, never returned
        bad = biggest.extra["toc"][0]
        blob = bytearray(pushed.blob.read_bytes())
        forged = type(biggest)(biggest.path, biggest.type, biggest.size,
                               extra={"toc": [[bad[0], bad[1], bad[2], bad[3], "sha256:" + "0" * 64]]})
        forged.size = bad[3]
        with pytest.raises(LayerFormatError, match="digest"):
            ra.read_chunks(BytesSource(bytes(blob)), forged, cap=1 << 30)
