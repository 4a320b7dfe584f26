"""Auth against the real registry flavours: Basic (htpasswd), Docker-Hub-style
bearer tokens, and the redirect to a storage host."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from bed.images import SampleImages, make_layer, push_image, push_samples
from layerslayer_tui.errors import AuthError, ProtocolError
from layerslayer_tui.registry import Credentials, RegistryClient, client_for
from layerslayer_tui.registry.challenge import Challenge
from layerslayer_tui.registry.auth import Authenticator
from layerslayer_tui.registry.transport import Transport, is_loopback

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def token_samples(registry_token) -> SampleImages:
    return push_samples(registry_token)


@pytest.fixture(scope="module")
def private_image(registry_token):
    return push_image(registry_token, "private/app", "1", [make_layer({"secret": b"42\n"})])


def record_requests(client: RegistryClient) -> list[str]:
    """Every HTTP exchange the client's session makes, in order, as 'METHOD path status'."""
    seen: list[str] = []

    def hook(resp, *args, **kwargs):
        path = resp.request.path_url.split("?", 1)[0]
        seen.append(f"{resp.request.method} {path} {resp.status_code}")

    client.transport.session.hooks["response"].append(hook)
    return seen


# -- scheme rules (no network) ------------------------------------------------------


def test_plain_http_only_for_loopback_or_when_asked() -> None:
    assert [is_loopback(h) for h in ("localhost:5000", "127.0.0.7", "[::1]:5000", "::1", "registry.example", "10.0.0.1:5000")] == [
        True, True, True, True, False, False,
    ]
    assert Transport("registry.example").scheme == "https"
    assert Transport("registry.example", insecure=True).base_url == "http://registry.example"
    assert Transport("localhost:5000").base_url == "http://localhost:5000"


def test_http_realm_for_https_registry_is_refused() -> None:
    auth = Authenticator(Transport("registry.example"), None)
    auth._pinged = True
    auth.challenge = Challenge("bearer", {"realm": "http://auth.example/token", "service": "s"})
    with pytest.raises(ProtocolError, match="plain-HTTP token server"):
        auth.headers("repository:x:pull")


# -- Basic ---------------------------------------------------------------------------


def test_basic_auth(registry_basic) -> None:
    img = push_image(registry_basic, "basic/app", "1", [make_layer({"f": b"1"})])
    with RegistryClient(registry_basic.host, credentials=(registry_basic.username, registry_basic.password)) as c:
        seq = record_requests(c)
        assert c.load_image(img.ref).manifest_digest == img.manifest_digest
        assert seq[0] == "GET /v2/ 401" and all(s.endswith((" 200", " 206")) for s in seq[1:])
        assert c.auth.challenge.scheme == "basic"
    with RegistryClient(registry_basic.host, stored_credentials=False) as anon:
        with pytest.raises(AuthError, match=r"requires login to read the image .*basic/app:1"):
            anon.load_image(img.ref)
    with RegistryClient(registry_basic.host, credentials=(registry_basic.username, "wrong")) as bad:
        with pytest.raises(AuthError, match=r"check your username and password\.$"):
            bad.load_image(img.ref)


# -- bearer tokens -------------------------------------------------------------------


def test_anonymous_token_pull_request_sequence(registry_token, token_samples: SampleImages) -> None:
    """The exact GET sequence of an anonymous token-auth pull, seen by the client
    and confirmed by the token server's and the registry's own logs."""
    multi, amd64 = token_samples.multi, token_samples.amd64
    reg_mark, tok_mark = registry_token.log_mark(), registry_token.token_server.mark()
    with RegistryClient(registry_token.host, stored_credentials=False) as c:
        seq = record_requests(c)
        info = c.load_image(multi.ref, platform="linux/amd64")
        stream = c.blob_source(info.repository, info.layers[0].descriptor).open(0, 1023)
        assert b"".join(stream.iter_chunks()) == amd64.layers[0].data[:1024]
    cfg, layer = amd64.config_digest, amd64.layers[0].digest
    expected = [
        "GET /v2/ 401",
        "GET /token 200",
        "GET /v2/sample/multi/manifests/1 200",
        f"GET /v2/sample/multi/manifests/{amd64.manifest_digest} 200",
        f"GET /v2/sample/multi/blobs/{cfg} 200",
        f"GET /v2/sample/multi/blobs/{layer} 206",
    ]
    assert seq == expected
    tokens = registry_token.token_server.since(tok_mark)
    assert len(tokens) == 1
    assert tokens[0].method == "GET" and tokens[0].authorization is None
    assert tokens[0].params["scope"] == ["repository:sample/multi:pull"]
    assert tokens[0].params["service"] == [registry_token.token_server.service]
    logged = registry_token.access_log(reg_mark, until=lambda rs: len(rs) >= 5)
    assert [f"{r.method} {r.path.split('?')[0]} {r.status}" for r in logged] == [s for s in expected if "/token" not in s]
    assert logged[-1].written == min(1024, amd64.layers[0].size)


def test_token_cached_per_scope_until_expiry(registry_token, token_samples: SampleImages) -> None:
    ts = registry_token.token_server
    with RegistryClient(registry_token.host, stored_credentials=False) as c:
        auth = c.auth
        c.load_image(token_samples.app.ref)
        mark = ts.mark()
        c.load_image(token_samples.app.ref)
        assert ts.since(mark) == []  # same scope: cached
        c.load_image(token_samples.docker.ref)
        assert [t.params["scope"] for t in ts.since(mark)] == [["repository:sample/docker:pull"]]
        real_clock = auth.clock
        auth.clock = lambda: real_clock() + 10_000  # past any expiry
        mark = ts.mark()
        c.load_image(token_samples.app.ref)
        assert len(ts.since(mark)) == 1


def test_refresh_and_retry_once_on_401(registry_token, token_samples: SampleImages) -> None:
    with RegistryClient(registry_token.host, stored_credentials=False) as c:
        auth = c.auth
        c.load_image(token_samples.app.ref)
        for key, (_tok, exp) in list(auth._tokens.items()):
            auth._tokens[key] = ("not-a-valid-jwt", exp)  # the registry will refuse it
        seq = record_requests(c)
        fetches = auth.token_fetches
        assert c.load_image(token_samples.app.ref).manifest_digest == token_samples.app.manifest_digest
        assert seq[:3] == ["GET /v2/sample/app/manifests/1 401", "GET /token 200", "GET /v2/sample/app/manifests/1 200"]
        assert auth.token_fetches == fetches + 1


def test_private_repository_needs_the_right_login(registry_token, private_image) -> None:
    ts = registry_token.token_server
    with RegistryClient(registry_token.host, stored_credentials=False) as anon:
        with pytest.raises(AuthError, match=r"requires login to read the image .*private/app:1 \(or it does not exist\)\.$"):
            anon.load_image(private_image.ref)
    with RegistryClient(registry_token.host, credentials=(registry_token.username, "wrong")) as bad:
        with pytest.raises(AuthError, match=r"refused the login for tester: check your username and password\.$"):
            bad.load_image(private_image.ref)
    mark = ts.mark()
    with RegistryClient(registry_token.host, credentials=(registry_token.username, registry_token.password)) as good:
        assert good.load_image(private_image.ref).manifest_digest == private_image.manifest_digest
    (req,) = ts.since(mark)
    assert req.authorization == "Basic" and req.account == "tester"  # the token server records only the scheme


def test_identity_token_from_docker_config(registry_token, private_image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ts = registry_token.token_server
    refresh = ts.issue_refresh_token(registry_token.username)
    cfg = {"auths": {registry_token.host: {"auth": base64.b64encode(b"tester:").decode(), "identitytoken": refresh}}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    mark = ts.mark()
    with client_for(private_image.ref) as c:
        assert c.credentials.identity_token == refresh
        assert c.load_image(private_image.ref).manifest_digest == private_image.manifest_digest
    (req,) = ts.since(mark)
    assert req.method == "POST" and req.grant_type == "refresh_token" and req.account == "tester"
    assert req.params["scope"] == ["repository:private/app:pull"] and req.params["client_id"] == ["layerslayer-tui"]
    bad = Credentials(identity_token="rt-bogus")
    with RegistryClient(registry_token.host, credentials=bad) as c:
        with pytest.raises(AuthError, match="check your username and password"):
            c.load_image(private_image.ref)


# -- redirect to a storage host --------------------------------------------------------


def test_blob_redirect_keeps_range_and_drops_authorization(
    registry_redirect, token_samples: SampleImages, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="layerslayer_tui")
    app = token_samples.app
    layer = app.layers[0]
    mark = len(registry_redirect.blob_requests)
    with RegistryClient(registry_redirect.host, stored_credentials=False) as c:
        seq = record_requests(c)
        info = c.load_image(f"{registry_redirect.host}/sample/app:1")
        stream = c.blob_source("sample/app", info.layers[0].descriptor).open(10, 99)
        assert (stream.start, stream.range_ignored) == (10, False)
        assert b"".join(stream.iter_chunks()) == layer.data[10:100]
        full = c.blob_source("sample/app", info.layers[0].descriptor).open()
        assert b"".join(full.iter_chunks()) == layer.data
    hexd = layer.digest.split(":")[1]
    hops = [s for s in seq if hexd in s]
    assert hops[0].endswith(f"/blobs/{layer.digest} 307") and hops[1].endswith("/data 206")
    got = registry_redirect.blob_requests[mark:]
    store = [r for r in got if "/store/" in r.path and hexd in r.path]
    assert [r.range for r in store] == ["bytes=10-99", None]
    assert not any(r.authorization for r in store)
    assert [r.status for r in store] == [206, 200]
    # Nothing secret reaches the logs: no presigned signature, no token.
    assert "X-Amz-Signature" not in caplog.text and "Bearer" not in caplog.text
    assert "/store/" in caplog.text  # the redirect itself is logged, without its query
