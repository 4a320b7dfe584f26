"""A complete read over several Range streams (registry/parallel.py) against
the real registry, the fault server and a throttling nginx: the bytes reach
the one decompressor in order, each part is asked for once, a dropped part
is asked for again alone, a registry that ignores Range gets one stream, the
digest still covers every byte, and the reorder buffer stays bounded."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
from bed.images import push_blob
from bed.layers import build_tar, entry_tuples, gzip_bytes, many_files_spec, tarfile_listing

from layerslayer_tui.peek import complete, listing
from layerslayer_tui.registry import parallel
from layerslayer_tui.registry.client import RegistryClient
from layerslayer_tui.registry.models import Descriptor
from layerslayer_tui.registry.parallel import ParallelStream, Plan

pytestmark = pytest.mark.registry

REPO = "parallel/layer"
MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip"
KIB = 1024
# Small parts so a few-MiB layer is many parts; three streams from the start, no measuring.
FIXED = Plan(part=256 * KIB, min_part=64 * KIB, max_part=512 * KIB, ahead=1024 * KIB, min_size=512 * KIB, fixed=3)


class Tuned:
    """A blob source whose complete reads use `plan`; keeps the streams it opened."""

    def __init__(self, inner, plan: Plan) -> None:
        self.inner = inner
        self.size = inner.size
        self.plan = plan
        self.streams: list = []

    def open(self, start: int = 0, end: int | None = None):
        return self.inner.open(start, end)

    def open_rest(self, start: int = 0):
        stream = parallel.open_rest(self.inner, start, self.plan)
        self.streams.append(stream)
        return stream


@pytest.fixture(scope="module")
def layer() -> bytes:
    data = gzip_bytes(build_tar(many_files_spec(2000, size=3000)), 1)  # ~3 MiB of poorly compressible files
    assert len(data) > 8 * FIXED.part
    return data


@pytest.fixture(scope="module")
def pushed(registry, layer: bytes):
    digest = push_blob(registry, REPO, layer)
    client = RegistryClient(registry.host)
    yield digest, client
    client.close()


def parts_of(stream: ParallelStream) -> list[tuple[int, int]]:
    """(start, end inclusive) of each part: the head's part first, then each closed Range."""
    closed = sorted(stream.requests[1:])
    head_end = closed[0][0] - 1 if closed else stream.total - 1
    return [(stream.start, head_end)] + closed


def read(source: Tuned, layer: bytes, digest: str):
    entries, progress = listing(complete(source, size=len(layer), digest=digest))
    assert len(source.streams) == 1
    return entries, progress, source.streams[0]


def test_parts_feed_the_decompressor_in_order_and_each_is_asked_once(registry, pushed, layer: bytes) -> None:
    digest, client = pushed
    source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer))), FIXED)
    mark = registry.log_mark()
    entries, progress, stream = read(source, layer, digest)
    assert isinstance(stream, ParallelStream) and stream.most_streams == 3
    assert entry_tuples(entries) == tarfile_listing(layer)
    assert progress.complete and progress.verified and progress.compressed_read == len(layer)
    parts = parts_of(stream)
    # consecutive, covering the blob once, each asked for once
    assert parts[0][0] == 0 and parts[-1][1] == len(layer) - 1
    assert all(b[0] == a[1] + 1 for a, b in zip(parts, parts[1:]))
    assert len(set(stream.requests)) == len(stream.requests) == len(parts) > 8
    # the registry's witness: one GET per part, every closed part sent whole, nothing else
    gets = [r for r in registry.access_log(mark, until=lambda rs: sum(r.is_blob_get for r in rs) >= len(parts))
            if r.is_blob_get]
    assert len(gets) == len(parts) and {g.status for g in gets} == {206}
    closed = sorted(b - a + 1 for a, b in parts[1:])
    written = sorted(g.written for g in gets)
    head = parts[0][1] + 1
    # The head (bytes=0-<last>) was closed once its part was read: it may have written a socket buffer more.
    rest = list(written)
    for n in closed:
        assert n in rest, (n, written)
        rest.remove(n)
    assert len(rest) == 1 and rest[0] >= head


def test_a_dropped_part_is_asked_for_again_alone(fault_server, layer: bytes) -> None:
    from bed.faults import Truncate

    digest = fault_server.add_blob(layer)
    # The head is served as far as its part reaches; the next part's connection drops after 1000 bytes
    # (a clean close short of Content-Length: unlike a reset, no byte already sent can be lost, so the
    # resumed range is exact).
    fault_server.fail("blob", Truncate(FIXED.part), Truncate(1000))
    client = RegistryClient(fault_server.host)
    try:
        source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer))), FIXED)
        entries, progress, stream = read(source, layer, digest)
    finally:
        client.close()
    assert isinstance(stream, ParallelStream)
    assert entry_tuples(entries) == tarfile_listing(layer)
    assert progress.complete and progress.verified
    ranges = [r.headers.get("Range") for r in fault_server.seen("blob") if r.method == "GET"]
    parts = parts_of(stream)
    asked = [f"bytes={a}-{b}" for a, b in parts[1:]]
    extra = [r for r in ranges[1:] if r not in asked]
    assert ranges[0] == f"bytes=0-{len(layer) - 1}" and sorted(set(ranges[1:]) - set(extra)) == sorted(asked)
    assert len(ranges) == len(parts) + 1 and len(extra) == 1  # one request more, for the dropped part alone
    m = re.fullmatch(r"bytes=(\d+)-(\d+)", extra[0])
    assert m is not None
    dropped = [p for p in parts[1:] if p[0] + 1000 == int(m[1]) and p[1] == int(m[2])]
    assert len(dropped) == 1  # the rest of that part, from where it stopped, to its end


def test_a_registry_that_ignores_range_gets_one_stream(fault_server, layer: bytes) -> None:
    from bed.faults import IgnoreRange

    digest = fault_server.add_blob(layer)
    fault_server.fail("blob", IgnoreRange())
    client = RegistryClient(fault_server.host)
    try:
        source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer))), FIXED)
        entries, progress, stream = read(source, layer, digest)
    finally:
        client.close()
    assert not isinstance(stream, ParallelStream)
    gets = [r for r in fault_server.seen("blob") if r.method == "GET"]
    assert len(gets) == 1
    assert entry_tuples(entries) == tarfile_listing(layer)
    assert progress.complete and progress.verified


def test_a_small_blob_is_one_stream(registry, pushed, layer: bytes) -> None:
    digest, client = pushed
    big = Plan(min_size=len(layer) + 1, fixed=3)
    source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer))), big)
    mark = registry.log_mark()
    entries, progress, stream = read(source, layer, digest)
    assert not isinstance(stream, ParallelStream)
    gets = [r for r in registry.access_log(mark, until=lambda rs: any(r.is_blob_get for r in rs)) if r.is_blob_get]
    assert len(gets) == 1 and gets[0].written == len(layer)
    assert entry_tuples(entries) == tarfile_listing(layer) and progress.verified


def test_the_digest_covers_every_part(fault_server, layer: bytes) -> None:
    """Other bytes of the same size under the layer's digest, changed in a
    middle part: listed, but not verified, and said so."""
    spec = many_files_spec(2000, size=3000)
    spec[len(spec) // 2] = type(spec[0])(spec[len(spec) // 2].name, data=b"x" * len(spec[len(spec) // 2].data or b""))
    other = gzip_bytes(build_tar(spec), 1)
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()
    fault_server.blobs[digest] = other
    client = RegistryClient(fault_server.host)
    try:
        source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(other))), FIXED)
        _, progress, stream = read(source, other, digest)
    finally:
        client.close()
        fault_server.blobs.pop(digest, None)
    assert isinstance(stream, ParallelStream) and stream.most_streams == 3
    assert progress.compressed_read == len(other)
    assert not progress.verified and not progress.complete and "digest" in progress.note


def test_the_reorder_buffer_stays_bounded(registry, pushed, layer: bytes) -> None:
    """A slow reader: the streams run ahead only as far as the buffer allows."""
    import time

    digest, client = pushed
    plan = Plan(part=128 * KIB, min_part=64 * KIB, max_part=128 * KIB, ahead=512 * KIB, min_size=512 * KIB, fixed=4)
    source = client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer)))
    stream = parallel.open_rest(source, 0, plan)
    assert isinstance(stream, ParallelStream)
    h = hashlib.sha256()
    for chunk in stream.iter_chunks():
        h.update(chunk)
        time.sleep(0.002)
    assert "sha256:" + h.hexdigest() == digest
    assert stream.most_streams == 4
    assert plan.part < stream.peak_buffered <= plan.ahead  # ahead of the reader, never past the bound


def test_through_a_throttling_proxy_every_part_is_asked_once(nginx_throttled, registry, pushed,
                                                              layer: bytes) -> None:
    """nginx in front of the registry (limit_rate per connection): its own
    access log, which records each request's Range, shows each part once."""
    digest, _ = pushed
    client = RegistryClient(nginx_throttled.host)
    try:
        source = Tuned(client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer))), FIXED)
        entries, progress, stream = read(source, layer, digest)
    finally:
        client.close()
    assert isinstance(stream, ParallelStream) and stream.most_streams == 3
    assert entry_tuples(entries) == tarfile_listing(layer) and progress.verified
    ranges = [r.range for r in nginx_throttled.access_log() if "/blobs/" in r.uri and r.method == "GET"]
    assert sorted(ranges) == sorted([f"bytes=0-{len(layer) - 1}"] + [f"bytes={a}-{b}" for a, b in parts_of(stream)[1:]])


# -- how many streams: the ramp, against in-memory sources with a known cap ----------------------------


class _Capped:
    """In-memory blob whose streams are held to `rate` bytes/s, each on its own
    (`shared=False`, a CDN's per-connection cap) or all together (a link)."""

    def __init__(self, data: bytes, rate: float, shared: bool) -> None:
        import threading

        self.data, self.size, self.rate, self.shared = data, len(data), rate, shared
        self._lock = threading.Lock()
        self._next = 0.0

    def open(self, start: int = 0, end: int | None = None):
        return _CappedStream(self, start, len(self.data) if end is None else end + 1)

    def wait(self, n: int, own: list[float]) -> None:
        import time

        now = time.monotonic()
        if self.shared:
            with self._lock:
                at = max(now, self._next)
                self._next = at + n / self.rate
        else:
            at = max(now, own[0])
        own[0] = at + n / self.rate
        time.sleep(max(0.0, own[0] - now))


class _CappedStream:
    def __init__(self, source: _Capped, start: int, stop: int) -> None:
        self.source, self.start, self.stop = source, start, stop
        self.total, self.range_ignored, self.closed = source.size, False, False

    def iter_chunks(self, chunk_size: int = 65536):
        own = [0.0]
        pos = self.start
        while pos < self.stop and not self.closed:
            n = min(32 * KIB, self.stop - pos)
            self.source.wait(n, own)
            yield self.source.data[pos: pos + n]
            pos += n

    def close(self) -> None:
        self.closed = True


RAMP = Plan(part=256 * KIB, min_part=128 * KIB, max_part=512 * KIB, ahead=4096 * KIB, min_size=1024 * KIB,
            window=0.3, gain=1.2)


def _drain(source: _Capped, plan: Plan = RAMP) -> ParallelStream:
    stream = parallel.open_rest(source, 0, plan)
    assert isinstance(stream, ParallelStream)
    got = b"".join(stream.iter_chunks())
    assert got == source.data  # in order, every byte once
    return stream


def test_streams_are_added_while_each_step_pays() -> None:
    """Each stream capped on its own: two are twice one, so the count climbs."""
    stream = _drain(_Capped(bytes(range(256)) * (40 * 1024), 4e6, shared=False))  # 10 MiB at 4 MB/s a stream
    assert stream.most_streams >= 4


def test_one_stream_when_more_do_not_go_faster() -> None:
    """All streams share one cap: a second one does not pay, so it is one again."""
    # 12 MiB at 8 MB/s in all; one try (test_parallel_decision.py has the reader try again)
    stream = _drain(_Capped(bytes(range(256)) * (48 * 1024), 8e6, shared=True), dataclasses.replace(RAMP, tries=1))
    assert stream.most_streams == 2  # tried, measured, dropped
    assert stream._target == 1
