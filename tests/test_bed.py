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


# -- Basic and token flavours ---------------------------------------------------


def test_basic_registry_challenges_and_accepts_the_test_user(registry_basic):
    r = requests.get(f"{registry_basic.url}/v2/", timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    assert requests.get(f"{registry_basic.url}/v2/", auth=("tester", "wrong"), timeout=10).status_code == 401
    ok = requests.get(f"{registry_basic.url}/v2/", auth=(registry_basic.username, registry_basic.password), timeout=10)
    assert ok.status_code == 200
    img = push_image(registry_basic, "basic/app", "1", [make_layer({"f": b"x"})])
    got = requests.get(
        f"{registry_basic.url}/v2/basic/app/manifests/1",
        auth=(registry_basic.username, registry_basic.password),
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert sha256_digest(got.content) == img.manifest_digest
    log = registry_basic.access_log(until=lambda rs: any(x.status == 401 for x in rs))
    assert any(x.status == 401 and x.path == "/v2/" for x in log)


def _challenge(reg) -> dict[str, str]:
    from bed.images import _parse_challenge

    r = requests.get(f"{reg.url}/v2/", timeout=10)
    assert r.status_code == 401
    scheme, params = _parse_challenge(r.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    return params


def _token(reg, scope: str, auth=None) -> str:
    params = _challenge(reg)
    r = requests.get(params["realm"], params={"service": params["service"], "scope": scope}, auth=auth, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0 and body["issued_at"]
    return body["token"]


@pytest.fixture(scope="module")
def token_images(registry_token):
    pub = push_image(registry_token, "pub/app", "1", [make_layer({"pub": b"1"})])
    priv = push_image(registry_token, "private/app", "1", [make_layer({"priv": b"1"})])
    return pub, priv


def test_token_registry_challenges_with_bearer_realm_and_service(registry_token):
    params = _challenge(registry_token)
    assert params["realm"] == registry_token.token_server.realm
    assert params["service"] == "layerslayer-test-registry"


def test_anonymous_token_pulls_public_repo_but_not_private(registry_token, token_images):
    pub, priv = token_images
    ts = registry_token.token_server
    mark = ts.mark()
    tok = _token(registry_token, "repository:pub/app:pull")
    r = requests.get(
        f"{registry_token.url}/v2/pub/app/manifests/1",
        headers={"Authorization": f"Bearer {tok}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert r.status_code == 200 and sha256_digest(r.content) == pub.manifest_digest
    assert requests.get(f"{registry_token.url}/v2/private/app/manifests/1", timeout=10).status_code == 401
    anon_priv = _token(registry_token, "repository:private/app:pull")
    denied = requests.get(
        f"{registry_token.url}/v2/private/app/manifests/1",
        headers={"Authorization": f"Bearer {anon_priv}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert denied.status_code == 401
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]
    seen = ts.since(mark)
    assert [(q.method, q.scopes, q.authorization, q.account) for q in seen] == [
        ("GET", ["repository:pub/app:pull"], None, None),
        ("GET", ["repository:private/app:pull"], None, None),
    ]
    assert seen[0].granted == [{"type": "repository", "name": "pub/app", "actions": ["pull"]}]
    assert seen[1].granted == [{"type": "repository", "name": "private/app", "actions": []}]


def test_token_with_credentials_pulls_private_and_wrong_password_is_refused(registry_token, token_images):
    _pub, priv = token_images
    creds = (registry_token.username, registry_token.password)
    tok = _token(registry_token, "repository:private/app:pull", auth=creds)
    r = requests.get(
        f"{registry_token.url}/v2/private/app/manifests/1",
        headers={"Authorization": f"Bearer {tok}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert r.status_code == 200 and sha256_digest(r.content) == priv.manifest_digest
    params = _challenge(registry_token)
    bad = requests.get(params["realm"], params={"scope": "repository:private/app:pull"}, auth=("tester", "nope"), timeout=10)
    assert bad.status_code == 401
    assert registry_token.token_server.requests[-1].authorization == "Basic"


def test_token_server_takes_several_scopes_in_one_request(registry_token):
    ts = registry_token.token_server
    mark = ts.mark()
    r = requests.get(
        ts.realm,
        params=[("service", ts.service), ("scope", "repository:a/b:pull"), ("scope", "repository:private/c:pull,push")],
        auth=(registry_token.username, registry_token.password),
        timeout=10,
    )
    assert r.status_code == 200
    (q,) = ts.since(mark)
    assert q.scopes == ["repository:a/b:pull", "repository:private/c:pull,push"]
    assert q.granted == [
        {"type": "repository", "name": "a/b", "actions": ["pull"]},
        {"type": "repository", "name": "private/c", "actions": ["pull", "push"]},
    ]


def test_identity_token_grants_work_and_expired_jwt_is_refused(registry_token, token_images):
    ts = registry_token.token_server
    scope = "repository:private/app:pull"
    pw = requests.post(
        ts.realm,
        data={"grant_type": "password", "username": registry_token.username, "password": registry_token.password,
              "service": ts.service, "scope": scope, "client_id": "bed", "access_type": "offline"},
        timeout=10,
    )
    assert pw.status_code == 200
    refresh = pw.json()["refresh_token"]
    rt = requests.post(
        ts.realm,
        data={"grant_type": "refresh_token", "refresh_token": refresh, "service": ts.service, "scope": scope, "client_id": "bed"},
        timeout=10,
    )
    assert rt.status_code == 200 and ts.requests[-1].grant_type == "refresh_token"
    assert ts.requests[-1].account == registry_token.username and ts.requests[-1].authorization is None
    ok = requests.get(
        f"{registry_token.url}/v2/private/app/manifests/1",
        headers={"Authorization": f"Bearer {rt.json()['token']}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert ok.status_code == 200
    bogus = requests.post(ts.realm, data={"grant_type": "refresh_token", "refresh_token": "nope", "service": ts.service}, timeout=10)
    assert bogus.status_code == 401
    # A JWT already past the registry's 60 s leeway is refused: how a test makes tokens expire.
    ts.jwt_lifetime = -120
    try:
        stale = _token(registry_token, "repository:pub/app:pull")
    finally:
        ts.jwt_lifetime = None
    r = requests.get(
        f"{registry_token.url}/v2/pub/app/manifests/1",
        headers={"Authorization": f"Bearer {stale}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert r.status_code == 401


# -- the redirecting setup ------------------------------------------------------


@pytest.fixture(scope="module")
def redirect_image(registry_redirect):
    blob = make_layer({f"f{i}": bytes([i]) * 3000 for i in range(50)}, "gzip")
    return push_image(registry_redirect, "pub/redirected", "1", [blob])


def test_redirect_front_answers_blob_get_with_307_to_second_host(registry_redirect, redirect_image):
    layer = redirect_image.layers[0]
    tok = _token(registry_redirect, "repository:pub/redirected:pull")
    path = f"/v2/pub/redirected/blobs/{layer.digest}"
    # without a token the front passes the registry's challenge through
    assert requests.get(registry_redirect.url + path, timeout=10).status_code == 401
    r = requests.get(
        registry_redirect.url + path, headers={"Authorization": f"Bearer {tok}"}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 307
    loc = r.headers["Location"]
    assert loc.startswith(f"http://127.0.0.2:") and registry_redirect.blob_host.host in loc
    assert registry_redirect.blob_host.host != registry_redirect.host
    # manifests are forwarded untouched
    m = requests.get(
        f"{registry_redirect.url}/v2/pub/redirected/manifests/1",
        headers={"Authorization": f"Bearer {tok}", "Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert m.status_code == 200 and sha256_digest(m.content) == redirect_image.manifest_digest


def test_blob_host_serves_ranges_and_sees_no_authorization(registry_redirect, redirect_image):
    layer = redirect_image.layers[0]
    tok = _token(registry_redirect, "repository:pub/redirected:pull")
    mark = registry_redirect.blob_host.mark()
    # requests drops Authorization when a redirect changes host, and keeps Range
    r = requests.get(
        f"{registry_redirect.url}/v2/pub/redirected/blobs/{layer.digest}",
        headers={"Authorization": f"Bearer {tok}", "Range": "bytes=10-109", "Accept-Encoding": "identity"},
        timeout=10,
    )
    assert r.status_code == 206
    assert r.headers["Content-Range"] == f"bytes 10-109/{layer.size}"
    assert r.content == layer.data[10:110]
    loc = r.history[0].headers["Location"]
    tail = requests.get(loc, headers={"Range": f"bytes={layer.size - 7}-"}, timeout=10)
    assert tail.status_code == 206 and tail.content == layer.data[-7:]
    suffix = requests.get(loc, headers={"Range": "bytes=-5"}, timeout=10)
    assert suffix.content == layer.data[-5:]
    assert requests.get(loc, headers={"Range": f"bytes={layer.size}-"}, timeout=10).status_code == 416
    whole = requests.get(loc, timeout=10)
    assert whole.status_code == 200 and whole.content == layer.data
    seen = registry_redirect.blob_host.since(mark)
    assert [q.range for q in seen] == ["bytes=10-109", f"bytes={layer.size - 7}-", "bytes=-5", f"bytes={layer.size}-", None]
    assert [q.status for q in seen] == [206, 206, 206, 416, 200]
    assert not any(q.authorization for q in seen)
    assert seen[0].sent == 100


def test_redirected_blob_bytes_do_not_come_from_the_registry(registry_redirect, redirect_image):
    layer = redirect_image.layers[0]
    tok = _token(registry_redirect, "repository:pub/redirected:pull")
    mark = registry_redirect.log_mark()
    front_mark = len(registry_redirect.front_requests)
    r = requests.get(
        f"{registry_redirect.url}/v2/pub/redirected/blobs/{layer.digest}",
        headers={"Authorization": f"Bearer {tok}"},
        timeout=10,
    )
    assert r.content == layer.data
    head = registry_redirect.registry.wait_for_request("HEAD", layer.digest, since=mark)
    assert head.status == 200 and head.written == 0
    assert not [x for x in registry_redirect.access_log(mark) if x.is_blob_get]
    front = registry_redirect.front_requests[front_mark:]
    assert [(q.method, q.status, q.authorization) for q in front] == [("GET", 307, True)]


# -- a missing registry binary --------------------------------------------------


def test_missing_binary_names_the_debian_package_or_skips_when_asked(monkeypatch, tmp_path):
    from bed import registry as bed_registry

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(bed_registry.RegistryUnavailable, match="docker-registry"):
        bed_registry.registry_binary()
    monkeypatch.delenv(bed_registry.SKIP_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="docker-registry"):
        bed_registry._start(lambda: bed_registry.RegistryServer("anon"))
    monkeypatch.setenv(bed_registry.SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="docker-registry"):
        bed_registry._start(lambda: bed_registry.RegistryServer("anon"))


def test_foreign_layer_and_artifact_pushes_are_accepted(registry):
    from bed.images import LayerSpec, push_artifact

    layer = make_layer({"a": b"1"})
    foreign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    img = push_image(
        registry, "bed/foreign", "1",
        [LayerSpec(layer, media_type=foreign, urls=["https://example.invalid/layer.tgz"])],
        media="docker",
    )
    assert img.manifest["layers"][0]["urls"] == ["https://example.invalid/layer.tgz"]
    art = push_artifact(registry, "bed/artifact", "1", [(b'{"sbom":1}', "application/spdx+json")])
    got = requests.get(
        f"{registry.url}/v2/bed/artifact/manifests/1", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    ).json()
    assert got["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert got["artifactType"] == "application/vnd.example.sbom.v1+json"
    assert sha256_digest(json.dumps(got, indent=2).encode()) == art.manifest_digest


def test_anonymous_redirect_front_serves_sample_layer_ranges(registry_redirect_anon, sample_image):
    layer = sample_image.app.layers[1]
    mark = registry_redirect_anon.blob_host.mark()
    r = requests.get(
        f"{registry_redirect_anon.url}/v2/sample/app/blobs/{layer.digest}",
        headers={"Range": "bytes=0-9"},
        timeout=10,
    )
    assert r.status_code == 206 and r.content == layer.data[:10]
    assert [(q.range, q.status, q.sent) for q in registry_redirect_anon.blob_host.since(mark)] == [("bytes=0-9", 206, 10)]
