"""Peeks through the registry client's BlobSource against the real registry,
with the registry's own access log as the witness of what was sent."""

from __future__ import annotations

import hashlib

import pytest
from bed.images import push_blob
from bed.layers import build_tar, entry_tuples, gzip_bytes, many_files_spec, tarfile_listing

from layerslayer_tui.peek import DEFAULT_BUDGET, carve, complete, listing, partial

pytestmark = pytest.mark.registry
client_mod = pytest.importorskip("layerslayer_tui.registry.client")
RegistryClient = client_mod.RegistryClient
from layerslayer_tui.image import Descriptor  # noqa: E402

REPO = "peek/layer"
MEDIA = "application/vnd.oci.image.layer.v1.tar+gzip"
READ_CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def pushed(registry):
    layer = gzip_bytes(build_tar(many_files_spec(2500)), 2)
    assert len(layer) > 10 * DEFAULT_BUDGET
    digest = push_blob(registry, REPO, layer)
    assert digest == "sha256:" + hashlib.sha256(layer).hexdigest()
    client = RegistryClient(registry.host)
    yield layer, digest, client
    client.close()


def blob_gets(registry, mark: int, count: int) -> list:
    recs = registry.access_log(mark, until=lambda rs: sum(r.is_blob_get for r in rs) >= count)
    return [r for r in recs if r.is_blob_get]


def test_partial_peek_is_one_closed_range_within_budget(registry, pushed) -> None:
    layer, digest, client = pushed
    source = client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer)))
    mark = registry.log_mark()
    peek = partial(source, size=len(layer), digest=digest)
    entries, progress = listing(peek)
    gets = blob_gets(registry, mark, 1)
    assert len(gets) == 1, gets
    assert gets[0].status == 206
    assert gets[0].written <= DEFAULT_BUDGET + READ_CHUNK
    assert progress.compressed_read == DEFAULT_BUDGET and not progress.complete
    full = tarfile_listing(layer)
    assert 0 < len(entries) < len(full)
    assert entry_tuples(entries) == full[: len(entries)]

    # Continuing asks for the rest only, and the whole listing comes out once.
    mark = registry.log_mark()
    rest, final = listing(peek.continue_full())
    more = blob_gets(registry, mark, 1)
    assert [r.status for r in more] == [206]
    assert more[0].written == len(layer) - DEFAULT_BUDGET
    assert entry_tuples(entries + rest) == full
    assert final.complete and final.verified


def test_carve_over_registry(registry, pushed) -> None:
    layer, digest, client = pushed
    source = client.blob_source(REPO, Descriptor(MEDIA, digest, len(layer)))
    got = carve(source, "data/d0/f1.bin")
    assert got.entry.path == "data/d0/f1.bin" and len(got.content or b"") == got.entry.size


@pytest.fixture(scope="module")
def fault_layer() -> bytes:
    return gzip_bytes(build_tar(many_files_spec(1500)), 1)


def test_continue_when_the_server_ignores_range(fault_server, fault_layer: bytes) -> None:
    from bed.faults import IgnoreRange

    digest = fault_server.add_blob(fault_layer)
    client = RegistryClient(fault_server.host)
    try:
        source = client.blob_source(REPO, Descriptor(MEDIA, digest, len(fault_layer)))
        peek = partial(source, size=len(fault_layer), digest=digest)
        first, p1 = listing(peek)
        assert not p1.complete and p1.compressed_read == DEFAULT_BUDGET
        fault_server.fail("blob", IgnoreRange())
        rest, p2 = listing(peek.continue_full())
    finally:
        client.close()
    ranges = [r.headers.get("Range") for r in fault_server.seen("blob") if r.method == "GET"]
    assert ranges == [f"bytes=0-{DEFAULT_BUDGET - 1}", f"bytes={DEFAULT_BUDGET}-"]
    assert entry_tuples(first + rest) == tarfile_listing(fault_layer)  # nothing listed twice
    assert p2.complete and p2.verified and "ignored Range" in p2.note


def test_complete_listing_survives_a_reset_mid_blob(fault_server, fault_layer: bytes) -> None:
    from bed.faults import ResetAfter

    digest = fault_server.add_blob(fault_layer)
    fault_server.fail("blob", ResetAfter(len(fault_layer) // 3))
    client = RegistryClient(fault_server.host)
    try:
        source = client.blob_source(REPO, Descriptor(MEDIA, digest, len(fault_layer)))
        entries, progress = listing(complete(source, size=len(fault_layer), digest=digest))
    finally:
        client.close()
    gets = [r for r in fault_server.seen("blob") if r.method == "GET"]
    assert len(gets) >= 2 and gets[-1].headers.get("Range", "").startswith("bytes=")
    assert entry_tuples(entries) == tarfile_listing(fault_layer)
    assert progress.complete and progress.verified
