"""Partial and complete peeks over byte sources that record what was asked."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from bed.layers import RecordingSource, build_tar, many_files_spec, entry_tuples, gzip_bytes, raw_tar, tarfile_listing, zstd_bytes

from layerslayer_tui.errors import LayerFormatError, NetworkError
from layerslayer_tui.peek import DEFAULT_BUDGET, BytesSource, complete, listing, partial

BUDGET = 64 * 1024


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def big_gzip(many_files_tar: bytes) -> bytes:
    layer = gzip_bytes(many_files_tar, 3)
    assert len(layer) > 4 * BUDGET
    return layer


def headers_inside(layer: bytes, prefix_len: int) -> list[tuple]:
    """Ground truth for a partial peek: members whose (last) header ends inside the prefix."""
    want = []
    full = tarfile_listing(layer)
    with tarfile.open(fileobj=io.BytesIO(raw_tar(layer)), mode="r:") as tar:
        inside = {m.offset for m in tar if m.offset_data <= prefix_len}
    for row in full:
        if row[10] in inside:
            want.append(row)
    return want


@pytest.mark.parametrize("compress", ["gzip", "zstd", "tar"])
def test_partial_lists_every_header_inside_the_prefix(many_files_tar: bytes, compress: str) -> None:
    layer = {"gzip": lambda d: gzip_bytes(d, 3), "zstd": lambda d: zstd_bytes(d, 4), "tar": lambda d: d}[compress](many_files_tar)
    # zstd decodes whole blocks (up to 128 KiB compressed), so it needs a larger budget to show anything.
    budget = 300 * 1024 if compress == "zstd" else BUDGET
    src = RecordingSource(layer)
    peek = partial(src, budget=budget, digest=digest_of(layer))
    entries, progress = listing(peek)
    assert src.opens == [(0, budget - 1)]  # one closed range
    assert src.sent == budget == progress.compressed_read
    assert not progress.complete and not progress.verified
    assert "Partial" in progress.note
    assert progress.layer_size == len(layer)
    assert 0 < len(entries) < len(tarfile_listing(layer))
    assert entry_tuples(entries) == headers_inside(layer, progress.uncompressed_read)


def test_continue_full_reads_the_rest_once_and_lists_each_entry_once(big_gzip: bytes) -> None:
    src = RecordingSource(big_gzip)
    peek = partial(src, budget=BUDGET, digest=digest_of(big_gzip), interval=0)
    first, p1 = listing(peek)
    rest, p2 = listing(peek.continue_full())
    assert src.opens == [(0, BUDGET - 1), (BUDGET, None)]
    assert src.sent == len(big_gzip)  # the prefix was not downloaded twice
    assert entry_tuples(first + rest) == tarfile_listing(big_gzip)
    assert p2.complete and p2.verified and p2.entries == len(first) + len(rest)
    assert p2.compressed_read == len(big_gzip) and "verified" in p2.note


def test_registry_ignoring_range(big_gzip: bytes) -> None:
    src = RecordingSource(big_gzip, ignore_range=True)
    peek = partial(src, budget=BUDGET, digest=digest_of(big_gzip))
    first, p1 = listing(peek)
    assert p1.compressed_read == BUDGET and "ignored Range" in p1.note
    assert src.closes == 1  # stopped reading at the budget
    rest, p2 = listing(peek.continue_full())
    assert entry_tuples(first + rest) == tarfile_listing(big_gzip)
    assert p2.complete and p2.verified and "ignored Range" in p2.note


def test_dropped_stream_is_resumed_with_range(big_gzip: bytes) -> None:
    src = RecordingSource(big_gzip, drop_at=len(big_gzip) // 2 + 123)
    entries, progress = listing(complete(src, digest=digest_of(big_gzip)))
    assert src.opens == [(0, None), (len(big_gzip) // 2 + 123, None)]
    assert entry_tuples(entries) == tarfile_listing(big_gzip)
    assert progress.complete and progress.verified


def test_stream_that_keeps_dropping_is_a_clear_error(big_gzip: bytes) -> None:
    class Dropping(RecordingSource):
        def open(self, start: int = 0, end: int | None = None):
            self.drop_at = start + 1000
            return super().open(start, end)

    with pytest.raises(NetworkError, match="stopped at"):
        listing(complete(Dropping(big_gzip)))


def test_small_layer_is_complete_within_the_budget(format_tars) -> None:
    layer = gzip_bytes(format_tars["pax"])
    src = RecordingSource(layer)
    entries, progress = listing(partial(src, digest=digest_of(layer)))
    assert src.opens == [(0, min(DEFAULT_BUDGET, len(layer)) - 1)]
    assert progress.complete and progress.verified
    assert entry_tuples(entries) == tarfile_listing(layer)


def test_digest_mismatch_is_never_labelled_complete(format_tars) -> None:
    layer = gzip_bytes(format_tars["pax"])
    entries, progress = listing(complete(BytesSource(layer), digest=digest_of(b"other")))
    assert entries and not progress.complete and not progress.verified
    assert "do not match" in progress.note


def test_truncated_layer_is_not_complete(big_gzip: bytes) -> None:
    cut = big_gzip[: len(big_gzip) // 2]
    entries, progress = listing(complete(BytesSource(cut), digest=digest_of(cut)))
    assert entries and not progress.complete and progress.verified is True  # the bytes are what was promised...
    assert "incomplete" in progress.note  # ...but the archive never ended


def test_without_digest_complete_but_unverified(format_tars) -> None:
    _, progress = listing(complete(BytesSource(format_tars["ustar"])))
    assert progress.complete and not progress.verified


def test_batches_carry_growing_progress_and_no_duplicates(big_gzip: bytes) -> None:
    peek = partial(BytesSource(big_gzip), budget=BUDGET, interval=0)
    batches = list(peek) + list(peek.continue_full())
    assert len(batches) > 2
    seen = [e.offset for b in batches for e in b.entries]
    assert len(seen) == len(set(seen))
    reads = [b.progress.compressed_read for b in batches]
    assert reads == sorted(reads) and batches[-1].progress.entries == len(seen)
    # progress objects are snapshots: an early batch does not change later
    assert batches[0].progress.entries < batches[-1].progress.entries


def test_close_cancels_and_closes_the_stream() -> None:
    big_gzip = gzip_bytes(build_tar(many_files_spec(2500)), 1)
    assert len(big_gzip) > 3 * 1024 * 1024  # several 1 MiB reads
    src = RecordingSource(big_gzip)
    peek = complete(src, interval=0)
    next(peek)
    peek.close()
    assert src.closes == 1
    assert list(peek) == [] or all(not b.entries for b in peek)
    assert src.sent < len(big_gzip)


def test_empty_and_garbage_layers() -> None:
    entries, progress = listing(complete(BytesSource(b"")))
    assert entries == [] and progress.complete
    src = RecordingSource(b"")
    entries, progress = listing(partial(src, digest=digest_of(b"")))
    assert entries == [] and progress.complete and progress.verified and src.opens == []
    with pytest.raises(LayerFormatError, match="Cannot read this layer type"):
        listing(complete(BytesSource(b"\x89PNG" + bytes(1000))))


def test_index_fallback_keeps_streaming(big_gzip: bytes) -> None:
    # An annotation promising an eStargz TOC on a plain layer: the index is
    # unusable, so the peek says so and streams.
    ann = {"containerd.io/snapshot/stargz/toc.digest": "sha256:" + "0" * 64}
    src = RecordingSource(big_gzip)
    entries, progress = listing(partial(src, budget=BUDGET, annotations=ann))
    assert entries and not progress.complete
    assert "eStargz" in progress.note and "Partial" in progress.note


def test_close_from_another_thread_while_reading_ends_quietly(big_gzip: bytes) -> None:
    import threading

    class Failing(RecordingSource):
        """A stream whose read fails once it has been closed, like a socket."""

        def open(self, start: int = 0, end: int | None = None):
            stream = super().open(start, end)
            inner = stream.iter_chunks

            def chunks(chunk_size: int = 65536):
                for piece in inner(min(chunk_size, 4096)):
                    if stream.closed:
                        raise OSError("read on a closed connection")
                    yield piece
                if stream.closed:
                    raise OSError("read on a closed connection")

            stream.iter_chunks = chunks  # type: ignore[method-assign]
            return stream

    src = Failing(big_gzip)
    peek = complete(src, interval=0)
    got = [next(peek)]
    closer = threading.Thread(target=peek.close)
    closer.start()
    closer.join()
    got += list(peek)  # no exception: the peek was cancelled
    assert src.closes == 1 and src.sent < len(big_gzip)
