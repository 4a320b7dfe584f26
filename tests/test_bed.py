"""The test bed itself: real registry flavours, pushes, the redirect setup, the access log."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import requests

from bed.images import (
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_LAYER_TAR,
    OCI_LAYER_ZSTD,
    DOCKER_MANIFEST,
    DOCKER_LAYER_GZIP,
    PushError,
    decompress,
    make_layer,
    mismatched_history,
    non_empty_count,
    push_image,
    push_manifest_raw,
    realistic_history,
    sha256_digest,
)

pytestmark = pytest.mark.registry


def _names(layer_blob: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(decompress(layer_blob)), mode="r:") as tf:
        return sorted(m.name for m in tf.getmembers())


def test_anonymous_registry_answers_v2_with_200(registry):
    r = requests.get(f"{registry.url}/v2/", timeout=10)
    assert r.status_code == 200
    assert registry.host.startswith("127.0.0.1:")


def test_pushed_manifest_digest_is_sha256_of_the_bytes_fetched_back(registry, sample_image):
    app = sample_image.app
    r = requests.get(
        f"{registry.url}/v2/sample/app/manifests/1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    assert r.status_code == 200
    assert r.content == app.manifest_bytes
    assert sha256_digest(r.content) == app.manifest_digest
    assert r.headers["Content-Type"] == app.media_type


def test_sample_app_layers_have_the_three_compressions_and_true_diff_ids(registry, sample_image):
    app = sample_image.app
    assert [l.media_type for l in app.layers] == [OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_LAYER_TAR]
    for i, layer in enumerate(app.layers):
        blob = requests.get(f"{registry.url}/v2/sample/app/blobs/{layer.digest}", timeout=10).content
        assert sha256_digest(blob) == layer.digest and len(blob) == layer.size
        assert sha256_digest(decompress(blob)) == app.config["rootfs"]["diff_ids"][i]
        expected = sorted(p.rstrip("/") for p in sample_image.app_files[i])
        assert _names(blob) == expected
    assert non_empty_count(app.config["history"]) == len(app.layers)
    assert any(h.get("empty_layer") for h in app.config["history"])
    steps = [h["created_by"] for h in app.config["history"]]
    assert any(s.endswith("# buildkit") for s in steps)
    assert any("#(nop)" in s for s in steps)
    assert any(s.startswith("|2 A=1 B=2 /bin/sh -c") for s in steps)


def test_docker_image_uses_docker_media_types(registry, sample_image):
    d = sample_image.docker
    r = requests.get(
        f"{registry.url}/v2/sample/docker/manifests/1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    assert r.headers["Content-Type"] == DOCKER_MANIFEST
    body = r.json()
    assert body["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    assert [l["mediaType"] for l in body["layers"]] == [DOCKER_LAYER_GZIP, DOCKER_LAYER_GZIP]
    assert sha256_digest(r.content) == d.manifest_digest


def test_index_holds_two_platforms_and_attestations_and_nests(registry, sample_image):
    multi = sample_image.multi
    r = requests.get(
        f"{registry.url}/v2/sample/multi/manifests/1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    assert r.headers["Content-Type"] == OCI_INDEX
    assert sha256_digest(r.content) == multi.manifest_digest
    entries = r.json()["manifests"]
    plats = [(e["platform"]["os"], e["platform"]["architecture"], e["platform"].get("variant")) for e in entries]
    assert plats[:2] == [("linux", "amd64", None), ("linux", "arm64", "v8")]
    atts = [e for e in entries if e.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"]
    assert len(atts) == 2
    assert {a["annotations"]["vnd.docker.reference.digest"] for a in atts} == {
        sample_image.amd64.manifest_digest,
        sample_image.arm64.manifest_digest,
    }
    assert all(a["platform"] == {"architecture": "unknown", "os": "unknown"} for a in atts)
    # every entry resolves, attestation manifests included
    for e in entries:
        got = requests.get(
            f"{registry.url}/v2/sample/multi/manifests/{e['digest']}",
            headers={"Accept": MANIFEST_ACCEPT},
            timeout=10,
        )
        assert got.status_code == 200 and sha256_digest(got.content) == e["digest"]
    nested = requests.get(
        f"{registry.url}/v2/sample/multi/manifests/nested", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    ).json()
    assert nested["manifests"][0]["digest"] == multi.manifest_digest
    assert nested["manifests"][0]["mediaType"] == OCI_INDEX


def test_history_helpers_match_or_mismatch_layer_counts():
    for n in (1, 2, 5):
        assert non_empty_count(realistic_history(n)) == n
        assert non_empty_count(mismatched_history(n)) != n


def test_layer_annotations_and_raw_manifest_push(registry):
    layer = make_layer({"a": b"1"})
    from bed.images import LayerSpec

    img = push_image(registry, "bed/annot", "1", [LayerSpec(layer, annotations={"k": "v"})])
    assert img.manifest["layers"][0]["annotations"] == {"k": "v"}
    body = json.dumps({"schemaVersion": 1, "name": "bed/annot", "tag": "old", "fsLayers": []}).encode()
    with pytest.raises(PushError) as err:
        push_manifest_raw(registry, "bed/annot", "old", body, "application/vnd.docker.distribution.manifest.v1+json")
    assert err.value.status >= 400


def test_access_log_records_blob_bytes_written(registry, sample_image):
    layer = sample_image.app.layers[0]
    mark = registry.log_mark()
    r = requests.get(
        f"{registry.url}/v2/sample/app/blobs/{layer.digest}", headers={"Range": "bytes=0-99"}, timeout=10
    )
    assert r.status_code == 206 and len(r.content) == 100
    full = requests.get(f"{registry.url}/v2/sample/app/blobs/{layer.digest}", timeout=10)
    assert len(full.content) == layer.size
    recs = registry.access_log(mark, until=lambda rs: len([x for x in rs if x.is_blob_get]) >= 2)
    blob_gets = [x for x in recs if x.is_blob_get]
    assert [(x.status, x.written) for x in blob_gets] == [(206, 100), (200, layer.size)]
