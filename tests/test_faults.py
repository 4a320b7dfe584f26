"""The client against faults a real registry won't produce on demand."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import os
import random
import time
from pathlib import Path

import pytest

from bed.faults import (
    FaultServer,
    IgnoreRange,
    Redirect,
    ResetAfter,
    Status,
    Truncate,
    WrongContentRange,
    sha256_digest,
)
from bed.registry import free_port
from layerslayer_tui.errors import NetworkError, NotFoundError, ProtocolError, RateLimitedError
from layerslayer_tui.registry import Descriptor, RangeNotSatisfiableError, RegistryClient, RetryPolicy

BLOB = random.Random(7).randbytes(300_000)  # incompressible: sizes on the wire are the sizes here
LAYER = gzip.compress(BLOB, mtime=0)


@pytest.fixture
def server(fault_server: FaultServer) -> FaultServer:
    fault_server.add_image("fx/app", "1", [LAYER])
    fault_server.add_blob(BLOB)
    return fault_server


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(server: FaultServer, waits: list[float]):
    c = RegistryClient(server.host, stored_credentials=False, retry=RetryPolicy(attempts=4, base=0.01, cap=0.05))
    c.transport.sleep = waits.append  # record the waits instead of sleeping them
    yield c
    c.close()


def blob_desc(data: bytes = BLOB, size: int | None = None) -> Descriptor:
    return Descriptor("application/octet-stream", sha256_digest(data), len(data) if size is None else size)


def read(stream) -> bytes:
    try:
        return b"".join(stream.iter_chunks(8192))
    finally:
        stream.close()


def test_one_connection_for_ping_manifest_config_and_blob(server: FaultServer, client: RegistryClient) -> None:
    before = server.connections
    info = client.load_image(f"{server.host}/fx/app:1")
    layer = read(client.blob_source("fx/app", info.layers[0].descriptor).open())
    assert layer == LAYER
    paths = [r.path.split("/")[-2] if r.path != "/v2/" else "ping" for r in server.seen()]
    assert paths == ["ping", "manifests", "blobs", "blobs"]
    assert server.connections - before == 1
    assert len({r.connection for r in server.seen()}) == 1


def test_429_with_retry_after_seconds_then_success(server: FaultServer, client: RegistryClient, waits: list[float]) -> None:
    server.fail("manifest", Status(429, {"Retry-After": "2"}))
    info = client.load_image(f"{server.host}/fx/app:1")
    assert info.layers[0].size == len(LAYER)
    assert waits == [2.0]
    assert len(server.seen("manifest")) == 2


def test_503_with_retry_after_http_date(server: FaultServer, client: RegistryClient, waits: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.fail("manifest", Status(503, {"Retry-After": when}))
    client.load_image(f"{server.host}/fx/app:1")
    assert len(waits) == 1 and 25 <= waits[0] <= 31


def test_503_twice_then_success_with_jittered_backoff(server: FaultServer, client: RegistryClient, waits: list[float]) -> None:
    server.fail("blob", Status(503), Status(503))
    assert read(client.blob_source("fx/app", blob_desc()).open()) == BLOB
    assert len(server.seen("blob")) == 3
    assert len(waits) == 2 and all(0 < w <= 0.075 for w in waits)


def test_long_retry_after_is_reported_not_waited(server: FaultServer, client: RegistryClient, waits: list[float]) -> None:
    server.fail("manifest", Status(429, {"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as info:
        client.load_image(f"{server.host}/fx/app:1")
    assert info.value.retry_after == 3600
    assert "try again in 3600 seconds" in str(info.value)
    assert waits == []


def test_retries_are_bounded(server: FaultServer, client: RegistryClient, waits: list[float]) -> None:
    server.fail("blob", *[Status(503)] * 4)
    with pytest.raises(NetworkError, match="HTTP 503"):
        client.blob_source("fx/app", blob_desc()).open()
    assert len(server.seen("blob")) == 4 and len(waits) == 3
    server.fail("manifest", *[Status(429)] * 4)
    with pytest.raises(RateLimitedError, match="rate limiting"):
        client.load_image(f"{server.host}/fx/app:1")


def test_connection_reset_mid_blob_resumes_with_range(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", ResetAfter(100_000))
    stream = client.blob_source("fx/app", blob_desc()).open()
    assert read(stream) == BLOB
    assert stream.resumes == 1 and not stream.restarted
    first, second = server.seen("blob")
    assert "Range" not in first.headers
    assert second.headers["Range"].startswith("bytes=") and second.headers["Range"].endswith("-")
    resumed_at = int(second.headers["Range"][6:-1])
    assert 0 < resumed_at <= 100_000
    assert first.headers["Accept-Encoding"] == "identity"


def test_truncated_ranged_body_resumes_exactly_where_it_stopped(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", Truncate(5000))
    stream = client.blob_source("fx/app", blob_desc()).open(100, 49_999)
    assert (stream.start, stream.total, stream.range_ignored) == (100, len(BLOB), False)
    assert read(stream) == BLOB[100:50_000]
    assert [r.headers["Range"] for r in server.seen("blob")] == ["bytes=100-49999", "bytes=5100-49999"]


def test_range_ignored_gives_whole_blob_from_zero_bounded(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", IgnoreRange())
    stream = client.blob_source("fx/app", blob_desc()).open(1000, 1999)
    assert (stream.start, stream.range_ignored) == (0, True)
    assert "ignored" in stream.note
    assert read(stream) == BLOB[:2000]  # never more than the asked end, although the server sent it all


def test_resume_answered_200_restarts_cleanly(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", Truncate(70_000), IgnoreRange())
    stream = client.blob_source("fx/app", blob_desc()).open()
    assert read(stream) == BLOB  # nothing yielded twice
    assert stream.restarted and "from the start" in stream.note


def test_wrong_content_range_is_a_protocol_error(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", WrongContentRange(shift=7))
    with pytest.raises(ProtocolError, match=r"sent bytes 507-999 .* when asked for 500-999\.$"):
        client.blob_source("fx/app", blob_desc()).open(500, 999)


def test_416_is_reported(server: FaultServer, client: RegistryClient) -> None:
    # The descriptor claims more than the registry holds, so the request is sent and refused.
    with pytest.raises(RangeNotSatisfiableError, match="past the end"):
        client.blob_source("fx/app", blob_desc(size=len(BLOB) * 2)).open(len(BLOB) + 10)
    # Past the end by the descriptor's own size: refused without a request.
    n = len(server.seen("blob"))
    with pytest.raises(RangeNotSatisfiableError):
        client.blob_source("fx/app", blob_desc()).open(len(BLOB) + 1)
    assert len(server.seen("blob")) == n
    assert read(client.blob_source("fx/app", blob_desc()).open(len(BLOB))) == b""


def test_resumes_are_bounded(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", *[Truncate(1000)] * 10)
    stream = client.blob_source("fx/app", blob_desc()).open()
    with pytest.raises(NetworkError, match="kept dropping"):
        read(stream)


def test_download_resumes_and_verifies(server: FaultServer, client: RegistryClient, tmp_path: Path) -> None:
    server.fail("blob", ResetAfter(150_000))
    seen: list[tuple[int, int | None]] = []
    out = client.download_blob("fx/app", blob_desc(), tmp_path / "blob.bin", progress=lambda d, t: seen.append((d, t)))
    assert hashlib.sha256(out.read_bytes()).hexdigest() == sha256_digest(BLOB).split(":")[1]
    assert seen[-1] == (len(BLOB), len(BLOB))
    assert len(server.seen("blob")) == 2
    assert os.listdir(tmp_path) == ["blob.bin"]


def test_download_with_wrong_digest_leaves_nothing(server: FaultServer, client: RegistryClient, tmp_path: Path) -> None:
    wrong = Descriptor("application/octet-stream", sha256_digest(BLOB), len(BLOB))
    server.blobs[wrong.digest] = BLOB[:-1] + b"!"  # the registry serves other bytes under this digest
    try:
        with pytest.raises(ProtocolError, match="does not match its digest"):
            client.download_blob("fx/app", wrong, tmp_path / "blob.bin")
    finally:
        server.blobs[wrong.digest] = BLOB
    assert os.listdir(tmp_path) == []


def test_manifest_by_digest_is_verified(server: FaultServer, client: RegistryClient) -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}).encode()
    fake = "sha256:" + "ab" * 32
    server.manifests[("fx/app", fake)] = (body, "application/vnd.oci.image.manifest.v1+json")
    with pytest.raises(ProtocolError, match="does not match the digest"):
        client.load_image(f"{server.host}/fx/app@{fake}")


def test_schema1_and_artifacts_are_refused_clearly(server: FaultServer, client: RegistryClient) -> None:
    server.add_manifest("fx/old", "1", json.dumps({"schemaVersion": 1, "name": "fx/old", "fsLayers": []}).encode(),
                        "application/vnd.docker.distribution.manifest.v1+prettyjws")
    with pytest.raises(ProtocolError, match="schema 1"):
        client.load_image(f"{server.host}/fx/old:1")
    empty = b"{}"
    art = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": server.add_blob(empty), "size": 2},
        "layers": [],
    }
    server.add_manifest("fx/art", "1", json.dumps(art).encode())
    with pytest.raises(ProtocolError, match=r"OCI artifact \(application/vnd.example.sbom\), not a container image"):
        client.load_image(f"{server.host}/fx/art:1")


def test_unknown_tag_names_the_reference(server: FaultServer, client: RegistryClient) -> None:
    with pytest.raises(NotFoundError, match=r"^The image .*/fx/app:nope was not found on 127\.0\.0\.1:\d+\.$"):
        client.load_image(f"{server.host}/fx/app:nope")


def test_connection_refused_is_a_network_error(waits: list[float]) -> None:
    host = f"127.0.0.1:{free_port()}"
    c = RegistryClient(host, stored_credentials=False, retry=RetryPolicy(attempts=3, base=0.01))
    c.transport.sleep = waits.append
    with pytest.raises(NetworkError, match=r"^Could not reach 127\.0\.0\.1:\d+: connection refused \(after 3 tries\)\.$"):
        c.load_image(f"{host}/x:1")
    assert len(waits) == 2


def test_tags_follow_link_pages(server: FaultServer, client: RegistryClient) -> None:
    layer = gzip.compress(b"x", mtime=0)
    for tag in ["v1", "v2", "v3", "v4", "v5"]:
        server.add_image("fx/paged", tag, [layer])
    assert client.list_tags("fx/paged") == ["v1", "v2", "v3", "v4", "v5"]
    pages = [r.path for r in server.seen() if "/tags/" in r.path]
    assert pages == [
        "/v2/fx/paged/tags/list",
        "/v2/fx/paged/tags/list?n=2&last=v2",
        "/v2/fx/paged/tags/list?n=2&last=v4",
    ]


def test_expired_presigned_url_asks_the_registry_again(server: FaultServer, client: RegistryClient) -> None:
    server.fail("blob", Redirect(), Redirect())
    server.fail("store", Status(403))
    stream = client.blob_source("fx/app", blob_desc()).open(0, 999)
    assert read(stream) == BLOB[:1000]
    kinds = [("store" if r.path.startswith("/store/") else "blob", r.headers.get("Range")) for r in server.seen() if r.path != "/v2/"]
    assert kinds == [("blob", "bytes=0-999"), ("store", "bytes=0-999"), ("blob", "bytes=0-999"), ("store", "bytes=0-999")]
    assert all("Authorization" not in r.headers for r in server.seen("store"))
