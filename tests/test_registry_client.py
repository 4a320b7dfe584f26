"""RegistryClient against the real anonymous registry and the sample images."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bed.images import (
    SampleImages,
    make_layer,
    mismatched_history,
    push_image,
    realistic_history,
)
from layerslayer_tui.errors import NotFoundError, ProtocolError
from layerslayer_tui.registry import Platform, RegistryClient, client_for
from layerslayer_tui.registry.history import pretty_step
from layerslayer_tui.registry.platforms import host_platform, normalise

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def client(registry) -> RegistryClient:
    c = RegistryClient(registry.host, stored_credentials=False)
    yield c
    c.close()


def made_layers(history: list[dict]) -> list[dict]:
    return [h for h in history if not h.get("empty_layer")]


def test_oci_image_layers_config_and_history(client: RegistryClient, sample_image: SampleImages) -> None:
    app = sample_image.app
    info = client.load_image(app.ref)
    assert (info.registry, info.repository, info.tag) == (app.host, "sample/app", "1")
    assert info.reference == f"{app.host}/sample/app:1"
    assert info.manifest_digest == app.manifest_digest and info.config_digest == app.config_digest
    assert info.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert info.config == app.config
    assert [(l.digest, l.size, l.media_type, l.diff_id) for l in info.layers] == [
        (p.digest, p.size, p.media_type, p.diff_id) for p in app.layers
    ]
    assert [l.media_type.rsplit(".", 1)[-1] for l in info.layers] == ["tar+gzip", "tar+zstd", "tar"]
    assert info.history_aligned
    makers = made_layers(app.config["history"])
    assert [l.step.created_by for l in info.layers] == [h["created_by"] for h in makers]
    assert [l.step.step for l in info.layers] == [pretty_step(h["created_by"]) for h in makers]
    assert len(info.history) == len(app.config["history"])
    assert info.platform == Platform("linux", "amd64") and info.platforms == [] and info.index_digest is None


def test_docker_schema2_image(client: RegistryClient, sample_image: SampleImages) -> None:
    d = sample_image.docker
    info = client.load_image(d.ref)
    assert info.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert [l.digest for l in info.layers] == [p.digest for p in d.layers]
    assert info.history_aligned and all(l.step is not None for l in info.layers)


@pytest.mark.parametrize(("wanted", "which"), [("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/aarch64", "arm64"), ("linux/arm64/v8", "arm64")])
def test_index_platform_choice(client: RegistryClient, sample_image: SampleImages, wanted: str, which: str) -> None:
    info = client.load_image(sample_image.multi.ref, platform=wanted)
    chosen = getattr(sample_image, which)
    assert info.manifest_digest == chosen.manifest_digest
    assert info.index_digest == sample_image.multi.manifest_digest
    assert [l.digest for l in info.layers] == [p.digest for p in chosen.layers]
    assert [str(p) for p in info.platforms] == ["linux/amd64", "linux/arm64/v8"]  # attestations skipped


def test_host_platform_is_the_default(client: RegistryClient, sample_image: SampleImages) -> None:
    me = host_platform()
    if me.architecture not in ("amd64", "arm64"):
        with pytest.raises(NotFoundError, match="offers linux/amd64, linux/arm64/v8"):
            client.load_image(sample_image.multi.ref)
        return
    info = client.load_image(sample_image.multi.ref)
    assert normalise(info.platform) == me


def test_nested_index_and_by_digest(client: RegistryClient, sample_image: SampleImages) -> None:
    info = client.load_image(sample_image.nested.ref, platform=Platform("linux", "arm64", "v8"))
    assert info.manifest_digest == sample_image.arm64.manifest_digest
    assert info.index_digest == sample_image.nested.manifest_digest
    assert [str(p) for p in client.list_platforms(sample_image.nested.ref)] == ["linux/amd64", "linux/arm64/v8"]
    by_digest = client.load_image(sample_image.multi.digest_ref, platform="linux/amd64")
    assert by_digest.manifest_digest == sample_image.amd64.manifest_digest and by_digest.tag is None


def test_platform_lists(client: RegistryClient, sample_image: SampleImages) -> None:
    assert client.list_platforms(sample_image.multi.ref) == [Platform("linux", "amd64"), Platform("linux", "arm64", "v8")]
    assert client.list_platforms(sample_image.app.ref) == []
    with pytest.raises(NotFoundError, match=r"has no linux/s390x variant; it offers linux/amd64, linux/arm64/v8\.$"):
        client.load_image(sample_image.multi.ref, platform="linux/s390x")


def test_unknown_tag_and_repository(client: RegistryClient, sample_image: SampleImages, registry) -> None:
    with pytest.raises(NotFoundError, match=rf"^The image {registry.host}/sample/app:nope was not found on {registry.host}\.$"):
        client.load_image(f"{registry.host}/sample/app:nope")
    with pytest.raises(NotFoundError, match=r"does not exist|was not found"):
        client.load_image(f"{registry.host}/no/such/repo:1")


def test_unaligned_history_leaves_layers_unlabelled(client: RegistryClient, registry) -> None:
    img = push_image(registry, "reg/unaligned", "1", [make_layer({"a": b"1"}), make_layer({"b": b"2"})], history=mismatched_history(2))
    info = client.load_image(img.ref)
    assert not info.history_aligned
    assert all(l.step is None for l in info.layers)
    assert len(info.history) == len(img.config["history"])
    good = push_image(registry, "reg/aligned", "1", [make_layer({"a": b"1"}), make_layer({"b": b"2"})], history=realistic_history(2))
    assert client.load_image(good.ref).history_aligned


def test_artifact_is_refused(client: RegistryClient, registry) -> None:
    img = push_image(
        registry, "reg/artifact", "1", [b"not a layer at all"], layer_media_types=["application/vnd.example.thing"],
        config_media_type="application/vnd.oci.empty.v1+json", history=[],
    )
    with pytest.raises(ProtocolError, match="not a container image"):
        client.load_image(img.ref)


def test_tags_list(client: RegistryClient, registry) -> None:
    # distribution 2.8 answers every tag in one page; Link paging is proven on the fault server.
    layer = make_layer({"t": b"t"})
    names = ["a", "b", "c", "d", "e"]
    for name in names:
        push_image(registry, "reg/tagged", name, [layer])
    assert sorted(client.list_tags("reg/tagged")) == names
    with pytest.raises(NotFoundError):
        client.list_tags("reg/never-pushed")


def test_blob_range_and_download(client: RegistryClient, sample_image: SampleImages, registry, tmp_path: Path) -> None:
    layer = sample_image.app.layers[2]  # the uncompressed tar, a few KiB
    desc = client.load_image(sample_image.app.ref).layers[2].descriptor
    src = client.blob_source("sample/app", desc)
    mark = registry.log_mark()
    stream = src.open(10, 99)
    assert (stream.start, stream.total, stream.range_ignored) == (10, layer.size, False)
    assert b"".join(stream.iter_chunks()) == layer.data[10:100]
    rec = registry.wait_for_request("GET", layer.digest, since=mark)
    assert (rec.status, rec.written) == (206, 90)
    tail = src.open(layer.size - 5)
    assert b"".join(tail.iter_chunks()) == layer.data[-5:]
    out = client.download_blob("sample/app", desc, tmp_path / "layer.tar")
    assert out.read_bytes() == layer.data
    assert "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest() == layer.digest


def test_client_for_reference(sample_image: SampleImages) -> None:
    with client_for(sample_image.docker.ref, stored_credentials=False) as c:
        assert c.transport.scheme == "http" and c.registry == sample_image.docker.host
        assert c.load_image(sample_image.docker.ref).manifest_digest == sample_image.docker.manifest_digest
