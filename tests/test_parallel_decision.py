"""When a complete read goes parallel (registry/parallel.py): the reader reads
the head stream itself, on its own thread, and opens more streams only when
it spends a good share of its time waiting on the socket (the link, not the
reader, is the limit). Against the real registry on loopback (the reader is
the limit: one request) and nginx's per-connection `limit_rate` in front of
it (the link is: several streams, each part asked once, the buffer bounded)."""

from __future__ import annotations

import hashlib
import os
import re
import time

import pytest
from bed.images import push_blob
from bed.nginx import NginxProxy
from test_parallel_ranges import _Capped

from layerslayer_tui.registry import parallel
from layerslayer_tui.registry.client import RegistryClient
from layerslayer_tui.registry.models import Descriptor
from layerslayer_tui.registry.parallel import ParallelStream, Plan

pytestmark = pytest.mark.registry

REPO = "parallel/decision"
MEDIA = "application/octet-stream"
KIB = 1024
MIB = 1024 * KIB
# Short windows so a few-MiB blob is measured several times; small parts and buffer.
PLAN = Plan(part=256 * KIB, min_part=128 * KIB, max_part=512 * KIB, ahead=2 * MIB, min_size=MIB,
            window=0.1, decide_for=30.0)


@pytest.fixture(scope="module")
def blob(registry) -> tuple[bytes, str]:
    data = os.urandom(8 * MIB)
    return data, push_blob(registry, REPO, data)


@pytest.fixture(scope="module")
def slow_proxy(registry):
    """1 MiB/s per connection: a second's worth comes at once, then the cap."""
    with NginxProxy(registry.host, "1m") as proxy:
        yield proxy


def drain(stream, rate: float = 0.0) -> str:
    h = hashlib.sha256()
    for chunk in stream.iter_chunks():
        h.update(chunk)
        if rate:
            time.sleep(len(chunk) / rate)  # a reader busy elsewhere (inflating) at `rate` bytes/s, not waiting on the socket
    return "sha256:" + h.hexdigest()


def test_a_loopback_read_stays_on_one_stream(registry, blob) -> None:
    """The registry on loopback fills the socket faster than the reader takes
    it: the reader never waits long, so one request, read on its own thread,
    nothing buffered, however many windows it is measured over."""
    data, digest = blob
    client = RegistryClient(registry.host)
    mark = registry.log_mark()
    try:
        stream = parallel.open_rest(client.blob_source(REPO, Descriptor(MEDIA, digest, len(data))), 0, PLAN)
        assert isinstance(stream, ParallelStream)
        t0 = time.monotonic()
        assert drain(stream, rate=16e6) == digest  # about 0.5 s: five windows
        assert time.monotonic() - t0 > 3 * PLAN.window
    finally:
        client.close()
    assert stream.most_streams == 1 and stream.steps == [] and stream.peak_buffered == 0
    assert stream.requests == [(0, len(data) - 1)]
    gets = [r for r in registry.access_log(mark, until=lambda rs: any(r.is_blob_get for r in rs)) if r.is_blob_get]
    assert len(gets) == 1 and gets[0].written == len(data)


def test_a_throttled_read_opens_several_streams(slow_proxy, blob) -> None:
    """Through nginx at 1 MiB/s a connection the reader waits on its socket
    most of each window: it opens more streams, each part is asked for once,
    and no more than the plan's `ahead` is ever buffered."""
    data, digest = blob
    client = RegistryClient(slow_proxy.host)
    try:
        stream = parallel.open_rest(client.blob_source(REPO, Descriptor(MEDIA, digest, len(data))), 0, PLAN)
        assert isinstance(stream, ParallelStream)
        assert drain(stream) == digest
    finally:
        client.close()
    first = stream.steps[0]
    assert first.streams == 1 and first.waited is not None and first.waited >= PLAN.wait_share
    assert stream.most_streams >= 2
    assert 0 < stream.peak_buffered <= PLAN.ahead
    log = [r for r in slow_proxy.access_log() if "/blobs/" in r.uri and r.method == "GET"]
    assert len(log) == len(stream.requests) >= 3
    assert sorted(r.range for r in log) == sorted(f"bytes={a}-{b}" for a, b in stream.requests)
    # The parts after the head: consecutive closed ranges to the blob's end, each once.
    parts = sorted((int(m[1]), int(m[2])) for r in log if (m := re.fullmatch(r"bytes=(\d+)-(\d+)", r.range)))
    closed = [p for p in parts if p != (0, len(data) - 1)]
    assert closed[-1][1] == len(data) - 1
    assert all(b[0] == a[1] + 1 for a, b in zip(closed, closed[1:]))


@pytest.mark.parametrize("tries", [1, 2])
def test_when_more_streams_do_not_pay_the_reader_goes_on_alone(tries: int) -> None:
    """One cap shared by all streams (a slow link, not a per-connection cap):
    two streams are no faster, so the workers finish their parts and the reader
    reads the rest over one new stream of its own, every byte once, in order;
    that stream tries again, `tries` times in all."""
    data = bytes(range(256)) * (48 * 1024)  # 12 MiB at 8 MB/s in all
    source = _Capped(data, 8e6, shared=True)
    plan = Plan(part=256 * KIB, min_part=128 * KIB, max_part=512 * KIB, ahead=4 * MIB, min_size=MIB, window=0.2,
                tries=tries)
    opened: list[tuple[int, int | None]] = []
    real_open = source.open

    def open_(start: int = 0, end: int | None = None):
        opened.append((start, end))
        return real_open(start, end)

    source.open = open_  # type: ignore[method-assign]
    stream = parallel.open_rest(source, 0, plan)
    assert isinstance(stream, ParallelStream)
    assert b"".join(stream.iter_chunks()) == data
    assert stream.most_streams == 2 and [s.streams for s in stream.steps] == [1, 2] * tries
    last = stream.requests[-1]
    assert 0 < last[0] < len(data) and last[1] == len(data) - 1  # the reader's own stream for the rest
    assert opened[-1] == (last[0], len(data) - 1) and stream._workers == 0
