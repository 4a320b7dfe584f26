"""read_index on layers made by the real producers (skopeo zstd:chunked, ctr-remote
eStargz), compared field by field with Python's tarfile over the same blob, plus
every fallback path."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile
from collections.abc import Iterator

import pytest
import zstandard
from bed.lazy import NAMELESS_FORMATS, LazyImage, entry_fields, tar_truth

from layerslayer_tui.peek import estargz, zstdchunked
from layerslayer_tui.peek.index import ESTARGZ, ZSTD_CHUNKED, IndexListing, read_index
from layerslayer_tui.peek.source import BytesSource

FOOTER_SLACK = 64 * 1024
OLD_POSITION = "io.containers.zstd-chunked.manifest-position"
OLD_CHECKSUM = "io.containers.zstd-chunked.manifest-checksum"


class CountingSource(BytesSource):
    """A BytesSource that records every range asked for and every byte handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.ranges: list[tuple[int, int | None]] = []
        self.sent = 0

    def open(self, start: int = 0, end: int | None = None):  # type: ignore[override]
        self.ranges.append((start, end))
        stream = super().open(start, end)
        outer = self

        class Counted:
            def __init__(self) -> None:
                self.start, self.total, self.range_ignored = stream.start, stream.total, stream.range_ignored

            def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
                for chunk in stream.iter_chunks(chunk_size):
                    outer.sent += len(chunk)
                    yield chunk

            def close(self) -> None:
                stream.close()

        return Counted()


class RangeIgnoringSource(BytesSource):
    """Like a pull-through cache that answers 200 with the whole blob."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.opened: list = []

    def open(self, start: int = 0, end: int | None = None):  # type: ignore[override]
        stream = super().open(0, None)
        stream.range_ignored = start != 0 or end is not None
        self.opened.append(stream)
        return stream


def _read(image: LazyImage, data: bytes | None = None, annotations: dict | None = None, **kw) -> tuple[IndexListing | None, CountingSource]:
    source = CountingSource(data if data is not None else image.blob.read_bytes())
    found = read_index(
        source,
        size=source.size,
        annotations=image.annotations if annotations is None else annotations,
        media_type=image.layer["mediaType"],
        digest=image.layer["digest"],
        **kw,
    )
    return found, source


def _assert_matches_tar(image: LazyImage, listing: IndexListing) -> None:
    names = image.kind not in NAMELESS_FORMATS
    truth = [row for row in tar_truth(image.tar_bytes(), names=names) if row["path"] not in listing.hidden_paths]
    got = [entry_fields(e, names=names) for e in listing.entries]
    assert [r["path"] for r in got] == [r["path"] for r in truth]
    for mine, real in zip(got, truth):
        assert mine == real, mine["path"]


def _index_size(image: LazyImage, data: bytes) -> int:
    if image.kind == "estargz":
        offset, footer = estargz.parse_footer(data[-estargz.FOOTER_SIZE :])  # type: ignore[misc]
        return len(data) - offset
    return zstdchunked.parse_position(zstdchunked.annotated(image.annotations)[0] or "").length


@pytest.fixture(params=["zstd:chunked", "estargz"])
def image(request: pytest.FixtureRequest) -> LazyImage:
    return request.getfixturevalue("zstd_chunked_image" if request.param == "zstd:chunked" else "estargz_image")


@pytest.mark.parametrize("annotated", [True, False], ids=["annotations", "footer-only"])
def test_index_listing_equals_the_tar(image: LazyImage, annotated: bool) -> None:
    data = image.blob.read_bytes()
    listing, source = _read(image, annotations=None if annotated else {})
    assert listing is not None and listing.ok, listing and listing.fallback_reason
    assert listing.source == (ESTARGZ if image.kind == "estargz" else ZSTD_CHUNKED)
    assert listing.verified is annotated
    _assert_matches_tar(image, listing)
    assert len(listing.entries) > 300
    # Only the footer and the index came over the wire, in closed ranges.
    assert all(end is not None for _, end in source.ranges)
    assert len(source.ranges) <= 2
    assert source.sent == listing.bytes_read
    assert listing.bytes_read <= _index_size(image, data) + estargz.FOOTER_SIZE + FOOTER_SLACK
    assert listing.bytes_read < len(data) // 50
    progress = listing.progress()
    assert progress.complete and not progress.verified and progress.entries == len(listing.entries)
    label = "eStargz index" if image.kind == "estargz" else "zstd:chunked index"
    assert listing.note.startswith(f"complete (from {label}, ") and listing.note.endswith(" read)")


def test_estargz_hides_landmark_and_toc_but_counts_them(estargz_image: LazyImage) -> None:
    listing, _ = _read(estargz_image)
    assert listing is not None and listing.ok
    assert listing.hidden_paths == [".no.prefetch.landmark", "stargz.index.json"]
    assert listing.hidden == 2
    tar_paths = [row["path"] for row in tar_truth(estargz_image.tar_bytes())]
    assert tar_paths[0] == ".no.prefetch.landmark" and tar_paths[-1] == "stargz.index.json"
    assert not {".no.prefetch.landmark", "stargz.index.json"} & {e.path for e in listing.entries}
    assert listing.toc_digest == estargz_image.annotations[estargz.TOC_DIGEST_ANNOTATION]


def test_chunks_merge_into_their_file(image: LazyImage) -> None:
    listing, _ = _read(image)
    assert listing is not None and listing.ok
    big = [e for e in listing.entries if e.path == "usr/bin/big"]
    assert len(big) == 1 and big[0].size == 5 * 1024 * 1024
    assert big[0].extra is not None and int(big[0].extra["chunks"]) >= 2  # type: ignore[call-overload]
    assert len({e.path for e in listing.entries}) == len(listing.entries)


def test_both_zstd_annotation_prefixes(zstd_chunked_image: LazyImage) -> None:
    old = zstd_chunked_image.annotations
    new = {OLD_POSITION.replace("io.containers", "io.github.containers"): old[OLD_POSITION],
           OLD_CHECKSUM.replace("io.containers", "io.github.containers"): old[OLD_CHECKSUM]}
    listing, source = _read(zstd_chunked_image, annotations=new)
    assert listing is not None and listing.ok and listing.verified
    assert len(source.ranges) == 1  # the position is known: no footer read
    _assert_matches_tar(zstd_chunked_image, listing)


def test_current_zstd_footer_layout(zstd_chunked_image: LazyImage) -> None:
    """containers/storage now writes a 64-byte footer (tar-split fields); skopeo 1.9 wrote 40."""
    data = zstd_chunked_image.blob.read_bytes()
    where = zstdchunked.parse_footer(data[-zstdchunked.FOOTER_PROBE :])
    assert where is not None and data[-48:-44] == b"\x50\x2a\x4d\x18"
    payload = struct.pack("<7Q", where.offset, where.length, where.uncompressed, where.kind, 0, 0, 0) + zstdchunked.MAGIC
    rewritten = data[:-48] + struct.pack("<II", 0x184D2A50, len(payload)) + payload
    listing, _ = _read(zstd_chunked_image, rewritten, annotations={})
    assert listing is not None and listing.ok and not listing.verified
    _assert_matches_tar(zstd_chunked_image, listing)


def test_legacy_estargz_footer(estargz_image: LazyImage) -> None:
    data = estargz_image.blob.read_bytes()
    offset, _ = estargz.parse_footer(data[-51:])  # type: ignore[misc]
    # FEXTRA gzip header whose extra field is the bare "%016xSTARGZ" text (no SG subfield),
    # then Go's empty stored block and a zero trailer, as old stargz wrote it.
    legacy = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x16\x00" + b"%016xSTARGZ" % offset
    legacy += b"\x01\x00\x00\xff\xff" + b"\x00" * 8
    assert len(legacy) == estargz.LEGACY_FOOTER_SIZE
    listing, _ = _read(estargz_image, data[:-51] + legacy, annotations={})
    assert listing is not None and listing.ok
    _assert_matches_tar(estargz_image, listing)


# -- fallbacks ---------------------------------------------------------------------


def _fell_back(listing: IndexListing | None, *words: str) -> None:
    assert listing is not None and not listing.ok
    assert listing.entries == [] and listing.hidden == 0
    reason = listing.fallback_reason or ""
    assert reason.endswith("listing it by streaming instead.") and "\n" not in reason
    for word in words:
        assert word in reason
    assert listing.note == reason and not listing.progress().complete


def test_corrupted_toc_digest_falls_back(estargz_image: LazyImage) -> None:
    annotations = estargz_image.annotations
    real = annotations[estargz.TOC_DIGEST_ANNOTATION]
    annotations[estargz.TOC_DIGEST_ANNOTATION] = "sha256:" + ("0" if real[-1] != "0" else "1") * 64
    listing, _ = _read(estargz_image, annotations=annotations)
    _fell_back(listing, "eStargz", "does not match")


def test_wrong_zstd_checksum_falls_back(zstd_chunked_image: LazyImage) -> None:
    annotations = zstd_chunked_image.annotations
    annotations[OLD_CHECKSUM] = "sha256:" + "ab" * 32
    listing, _ = _read(zstd_chunked_image, annotations=annotations)
    _fell_back(listing, "zstd:chunked", "checksum")


def test_corrupted_toc_bytes_fall_back(estargz_image: LazyImage) -> None:
    data = bytearray(estargz_image.blob.read_bytes())
    offset, _ = estargz.parse_footer(bytes(data[-51:]))  # type: ignore[misc]
    data[offset + 40 : offset + 48] = b"\xff" * 8
    listing, _ = _read(estargz_image, bytes(data), annotations={})
    _fell_back(listing, "eStargz")


def test_truncated_footer_falls_back(image: LazyImage) -> None:
    data = image.blob.read_bytes()[:-10]
    if image.kind == "estargz":
        listing, _ = _read(image, data)
        _fell_back(listing, "footer")
    else:  # the annotation still points inside the blob: only the footer-only path notices
        listing, _ = _read(image, data, annotations={})
        assert listing is None
    # Without annotations a broken footer means "no index here", not an error.
    listing, source = _read(image, data, annotations={})
    assert listing is None and source.sent <= zstdchunked.FOOTER_PROBE


def test_zstd_position_past_the_end_falls_back(zstd_chunked_image: LazyImage) -> None:
    size = zstd_chunked_image.layer["size"]
    listing, source = _read(zstd_chunked_image, annotations={OLD_POSITION: f"{size - 10}:4096:9999:1"})
    _fell_back(listing, "past the layer's end")
    assert source.sent == 0


@pytest.mark.parametrize("position", ["12:34", "a:b:c:d", "0:999999999999:1:1", "0:10:10:2"])
def test_bad_zstd_position_falls_back(zstd_chunked_image: LazyImage, position: str) -> None:
    listing, source = _read(zstd_chunked_image, annotations={OLD_POSITION: position})
    _fell_back(listing, "zstd:chunked")
    assert source.sent == 0


def test_range_ignored_falls_back_without_reading(image: LazyImage) -> None:
    source = RangeIgnoringSource(image.blob.read_bytes())
    listing = read_index(source, size=source.size, annotations=image.annotations, media_type=image.layer["mediaType"])
    _fell_back(listing, "ignored the Range")
    assert listing is not None and listing.bytes_read == 0
    assert source.opened and all(stream._closed for stream in source.opened)


def _handmade_estargz(toc: bytes) -> bytes:
    """A minimal eStargz blob: one empty tar member, the TOC member, the footer."""
    body = gzip.compress(b"", mtime=0)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        info = tarfile.TarInfo(estargz.TOC_NAME)
        info.size = len(toc)
        tf.addfile(info, io.BytesIO(toc))
    member = gzip.compress(tar.getvalue(), mtime=0)
    footer = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x1a\x00SG\x16\x00" + b"%016xSTARGZ" % len(body)
    footer += b"\x01\x00\x00\xff\xff" + b"\x00" * 8
    assert len(footer) == estargz.FOOTER_SIZE
    return body + member + footer


@pytest.mark.parametrize(
    ("toc", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"version": 2, "entries": []}', "version 2"),
        (b'{"version": 1, "entries": [{"name": "a", "type": "socket"}]}', "unknown type"),
        (b'{"version": 1, "entries": [{"name": "a", "type": "reg", "size": -5}]}', "invalid size"),
        (b'{"version": 1, "entries": [{"name": "a", "type": "reg", "modtime": "yesterday"}]}', "invalid modtime"),
        (b'{"version": 1}', "no entry list"),
    ],
)
def test_malformed_toc_falls_back(toc: bytes, words: str) -> None:
    blob = _handmade_estargz(toc)
    listing = read_index(BytesSource(blob), size=len(blob), annotations={})
    _fell_back(listing, words)


def test_handmade_toc_maps_every_field() -> None:
    toc = {
        "version": 1,
        "entries": [
            {"name": "./", "type": "dir", "mode": 0o755},
            {"name": "./bin/", "type": "dir", "mode": 0o755, "modtime": "2024-02-29T12:00:00+01:00"},
            {"name": "./bin/x", "type": "reg", "size": 9, "mode": 0o4755, "uid": 5, "gid": 6,
             "userName": "u", "groupName": "g", "modtime": "2024-02-29T11:00:00.5Z",
             "xattrs": {"user.k": "dmFs"}, "digest": "sha256:" + "1" * 64},
            {"name": "./bin/x", "type": "chunk", "chunkOffset": 4},
            {"name": "./bin/l", "type": "hardlink", "linkName": "./bin/x"},
            {"name": "./dev/c", "type": "char", "devMajor": 4, "devMinor": 64},
        ],
    }
    blob = _handmade_estargz(json.dumps(toc).encode())
    listing = read_index(BytesSource(blob), size=len(blob), annotations={})
    assert listing is not None and listing.ok and listing.source == ESTARGZ
    by_path = {e.path: e for e in listing.entries}
    assert list(by_path) == ["bin", "bin/x", "bin/l", "dev/c"]
    assert by_path["bin"].mtime == by_path["bin/x"].mtime - 0.5 == 1709204400.0
    x = by_path["bin/x"]
    assert (x.size, x.mode, x.uid, x.gid, x.uname, x.gname) == (9, 0o4755, 5, 6, "u", "g")
    assert x.xattrs == {"user.k": "val"} and x.extra == {"digest": "sha256:" + "1" * 64, "chunks": 2}
    assert by_path["bin/l"].link == "bin/x"
    assert (by_path["dev/c"].devmajor, by_path["dev/c"].devminor) == (4, 64)


def test_oversized_toc_is_refused_before_reading() -> None:
    blob = _handmade_estargz(b"{}")
    # A footer claiming the TOC starts at 0 of a huge (descriptor-declared) layer.
    big_size = 200 * 1024 * 1024

    class Sparse:
        """Only the tail of a (declared) 200 MiB blob exists; that is all the probe may touch."""

        size = big_size

        def open(self, start: int = 0, end: int | None = None):
            tail = blob[-zstdchunked.FOOTER_PROBE :]
            base = big_size - len(tail)
            assert start >= base, "read_index reached for the oversized TOC"
            inner = BytesSource(tail).open(start - base, None if end is None else end - base)

            class Shifted:
                total, range_ignored, iter_chunks, close = big_size, False, inner.iter_chunks, inner.close

            shifted = Shifted()
            shifted.start = start  # type: ignore[attr-defined]
            return shifted

    footer = estargz.parse_footer(blob[-51:])
    assert footer is not None and footer[0] < 100
    listing = read_index(Sparse(), size=big_size, annotations={}, media_type="application/vnd.oci.image.layer.v1.tar+gzip")
    _fell_back(listing, "64 MiB")


def test_plain_gzip_layer_has_no_index(lazy_source) -> None:
    from bed.lazy import read_layout

    plain = read_layout("plain", lazy_source)
    data = plain.blob.read_bytes()
    source = CountingSource(data)
    assert read_index(source, size=len(data), annotations={}, media_type=plain.layer["mediaType"]) is None
    assert len(source.ranges) == 1 and source.sent <= zstdchunked.FOOTER_PROBE


def test_encrypted_layers_are_not_probed() -> None:
    source = CountingSource(b"\x00" * 4096)
    media = "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"
    assert read_index(source, size=4096, annotations={}, media_type=media) is None
    assert source.ranges == []


def test_zstd_manifest_bomb_is_capped() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"\x00" * (2 * 1024 * 1024))
    with pytest.raises(Exception, match="1 MiB limit"):
        zstdchunked.manifest_json(bomb, expected=0, cap=1024 * 1024)


def test_index_listing_equals_the_streaming_reader(image: LazyImage) -> None:
    """The app's own streaming reader over the whole blob agrees with the index, field by field."""
    from layerslayer_tui import peek

    data = image.blob.read_bytes()
    batches = list(
        peek.complete(BytesSource(data), size=len(data), digest=image.layer["digest"], media_type=image.layer["mediaType"])
    )
    assert batches[-1].progress.complete and batches[-1].progress.verified
    listing, _ = _read(image)
    assert listing is not None and listing.ok
    names = image.kind not in NAMELESS_FORMATS
    streamed = [entry_fields(e, names=names) for b in batches for e in b.entries if e.path not in listing.hidden_paths]
    indexed = [entry_fields(e, names=names) for e in listing.entries]
    assert len(indexed) == len(streamed) > 300
    for mine, theirs in zip(indexed, streamed):
        assert mine == theirs, mine["path"]


@pytest.mark.parametrize("modtime", [["2024"], {"a": 1}, 17])
def test_modtime_of_the_wrong_type_falls_back(modtime: object) -> None:
    toc = {"version": 1, "entries": [{"name": "a", "type": "reg", "modtime": modtime}]}
    blob = _handmade_estargz(json.dumps(toc).encode())
    _fell_back(read_index(BytesSource(blob), size=len(blob), annotations={}), "invalid modtime")
