"""The registry client against hostile registries (issue 10, registry half):
credentials never follow a redirect to another host, every body read is
bounded and every request has a deadline, digests are checked before they
become URLs, nested indexes cannot multiply requests, and odd network
answers end in one sentence (exit 2 in the CLI), never a traceback.

Hosts are distinct 127/8 addresses (127.0.0.1, .2, .3, .4): all loopback."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bed.hostile_http import (
    OCI_INDEX,
    OCI_MANIFEST,
    HostileServer,
    Reply,
    RssPeak,
    gzip_bomb,
    image_manifest,
    index_of,
    sha256_digest,
)
from layerslayer_tui import digest as digests
from layerslayer_tui.errors import AuthError, LayerslayerError, NetworkError, NotFoundError, ProtocolError
from layerslayer_tui.registry import Credentials, Descriptor, RegistryClient, RetryPolicy

USER, PASSWORD = "tester", "testpass"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
MiB = 1024 * 1024
# A client that stops at its cap leaves the rest in socket buffers: a few MiB on loopback.
READ_BOUND = 32 * MiB
POISON = "sha256:../../../../v2/probe/poison/x"


def client(host: str, **kw) -> RegistryClient:
    kw.setdefault("stored_credentials", False)
    kw.setdefault("retry", RetryPolicy(attempts=2, base=0.01, cap=0.02))
    return RegistryClient(host, **kw)


def one_sentence(exc: BaseException) -> str:
    text = str(exc)
    assert isinstance(exc, LayerslayerError), repr(exc)
    assert "\n" not in text and text.endswith(".") and "Traceback" not in text
    return text


def basic_registry(reg: HostileServer) -> None:
    """/v2/ asks for Basic, as a Basic-auth registry does."""
    reg.on("/v2/", lambda h: h.send(401, b"{}", {"WWW-Authenticate": 'Basic realm="registry"'}))


def token_server(ip: str, hostile) -> HostileServer:
    ts = hostile(ip)
    ts.on("/token", lambda h: h.json(200, {"token": "stolen-or-not", "expires_in": 300}))
    return ts


# -- finding 2: credentials never follow a redirect to another host ---------------------------


def test_manifest_redirected_to_another_host_never_gets_the_password(hostile) -> None:
    reg, other = hostile("127.0.0.1"), hostile("127.0.0.2")
    ts = token_server("127.0.0.2", hostile)
    basic_registry(reg)

    def manifest(h: Reply) -> None:
        if h.authorization != BASIC:
            h.send(401, b"{}", {"WWW-Authenticate": 'Basic realm="registry"'})
        else:
            h.redirect(f"{other.url}/v2/app/manifests/1")

    reg.on("/v2/app/manifests/1", manifest)
    other.on(r"/v2/.*", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="evil"'}))
    with client(reg.host, credentials=(USER, PASSWORD)) as c:
        with pytest.raises(AuthError) as err:
            c.manifest(f"{reg.host}/app:1")
    assert "127.0.0.2" in one_sentence(err.value)
    assert ts.requests == []  # no token request at all, so no password
    assert [h.authorization for h in other.requests] == [None]
    assert reg.requests[-1].authorization == BASIC  # the registry itself got it, as it should


def test_api_check_redirected_to_another_host_never_gets_the_password(hostile) -> None:
    reg, other = hostile("127.0.0.1"), hostile("127.0.0.2")
    ts = token_server("127.0.0.2", hostile)
    reg.on("/v2/", lambda h: h.redirect(f"{other.url}/v2/"))
    other.on("/v2/", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="evil"'}))
    body = image_manifest()

    def manifest(h: Reply) -> None:
        if h.authorization != BASIC:
            h.send(401, b"{}", {"WWW-Authenticate": 'Basic realm="registry"'})
        else:
            h.json(200, body, media_type=OCI_MANIFEST)

    reg.on("/v2/app/manifests/1", manifest)
    with client(reg.host, credentials=(USER, PASSWORD)) as c:
        got = c.manifest(f"{reg.host}/app:1")
    assert got.data == body  # the registry's own challenge was met
    assert ts.requests == []
    assert all(h.authorization is None for h in other.requests)


def test_tag_list_redirected_to_another_host_never_gets_the_password(hostile) -> None:
    reg, other = hostile("127.0.0.1"), hostile("127.0.0.2")
    ts = token_server("127.0.0.2", hostile)
    basic_registry(reg)

    def tags(h: Reply) -> None:
        if h.authorization != BASIC:
            h.send(401, b"{}", {"WWW-Authenticate": 'Basic realm="registry"'})
        else:
            h.redirect(f"{other.url}/v2/app/tags/list", status=307)

    reg.on("/v2/app/tags/list", tags)
    other.on(r"/v2/.*", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="evil"'}))
    with client(reg.host, credentials=(USER, PASSWORD)) as c:
        with pytest.raises(AuthError) as err:
            c.list_tags("app")
    one_sentence(err.value)
    assert ts.requests == []
    assert all(h.authorization is None for h in other.requests)


def test_refresh_token_is_not_posted_again_after_a_redirect_to_another_host(hostile) -> None:
    reg, ts, thief = hostile("127.0.0.1"), hostile("127.0.0.3"), hostile("127.0.0.4")
    reg.on(r"/v2/.*", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="reg"'}))
    ts.on("/token", lambda h: h.redirect(f"{thief.url}/token", status=307))
    thief.on("/token", lambda h: h.json(200, {"token": "t"}))
    with client(reg.host, credentials=Credentials(identity_token="rt-secret-refresh-token")) as c:
        with pytest.raises(ProtocolError) as err:
            c.manifest(f"{reg.host}/app:1")
    assert "another host" in one_sentence(err.value)
    assert [h.method for h in ts.requests] == ["POST"] and b"rt-secret-refresh-token" in ts.requests[0].body
    assert thief.requests == []


def test_password_is_not_sent_again_after_the_token_server_redirects_elsewhere(hostile) -> None:
    reg, ts, thief = hostile("127.0.0.1"), hostile("127.0.0.3"), hostile("127.0.0.4")
    reg.on(r"/v2/.*", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="reg"'}))
    ts.on("/token", lambda h: h.redirect(f"{thief.url}/token?service=reg", status=302))
    thief.on("/token", lambda h: h.json(200, {"token": "t"}))
    with client(reg.host, credentials=(USER, PASSWORD)) as c:
        with pytest.raises(ProtocolError, match="another host"):
            c.manifest(f"{reg.host}/app:1")
    assert ts.requests[0].authorization == BASIC  # the realm the registry named: allowed
    assert thief.requests == []


def test_anonymous_token_request_may_follow_a_redirect(hostile) -> None:
    """No credentials, nothing to leak: a token server behind a redirect still works."""
    reg, ts, other = hostile("127.0.0.1"), hostile("127.0.0.3"), hostile("127.0.0.4")
    body = image_manifest()

    def manifest(h: Reply) -> None:
        if h.authorization != "Bearer anon-token":
            h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="reg"'})
        else:
            h.json(200, body, media_type=OCI_MANIFEST)

    reg.on(r"/v2/", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="reg"'}))
    reg.on(r"/v2/app/manifests/1", manifest)
    ts.on("/token", lambda h: h.redirect(f"{other.url}/token?x=1", status=302))
    other.on("/token", lambda h: h.json(200, {"token": "anon-token"}))
    with client(reg.host) as c:
        assert c.manifest(f"{reg.host}/app:1").data == body
    assert [h.authorization for h in other.requests] == [None]


# -- finding 3: bounded reads and a deadline per request ----------------------------------------


def test_endless_200_on_the_api_check_is_never_read(hostile) -> None:
    reg = hostile()
    reg.on("/v2/", lambda h: h.endless(200))
    reg.manifest("app", "1", image_manifest())
    with RssPeak() as rss, client(reg.host) as c:
        assert c.manifest(f"{reg.host}/app:1").media_type == OCI_MANIFEST
    assert reg.requests[0].sent < READ_BOUND
    assert rss.growth < 100 * MiB


def test_endless_401_body_is_never_read(hostile) -> None:
    reg = hostile()
    reg.on("/v2/", lambda h: h.endless(401, {"WWW-Authenticate": 'Basic realm="r"'}))
    reg.on("/v2/app/manifests/1", lambda h: h.endless(401, {"WWW-Authenticate": 'Basic realm="r"'}))
    with RssPeak() as rss, client(reg.host, credentials=(USER, PASSWORD)) as c:
        with pytest.raises(AuthError) as err:
            c.manifest(f"{reg.host}/app:1")
    one_sentence(err.value)
    assert all(h.sent < READ_BOUND for h in reg.requests)
    assert rss.growth < 100 * MiB


def test_gzip_bomb_on_the_api_check_is_never_decoded(hostile) -> None:
    bomb = gzip_bomb(512 * MiB)
    reg = hostile()
    reg.on("/v2/", lambda h: h.send(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    reg.manifest("app", "1", image_manifest())
    with RssPeak() as rss, client(reg.host) as c:
        assert c.manifest(f"{reg.host}/app:1").media_type == OCI_MANIFEST
    assert rss.growth < 100 * MiB


def test_gzip_bomb_manifest_stops_at_the_decoded_cap(hostile) -> None:
    bomb = gzip_bomb(512 * MiB)
    reg = hostile()
    reg.on("/v2/app/manifests/1", lambda h: h.send(200, bomb, {"Content-Encoding": "gzip", "Content-Type": OCI_MANIFEST}))
    with RssPeak() as rss, client(reg.host) as c:
        with pytest.raises(ProtocolError) as err:
            c.manifest(f"{reg.host}/app:1")
    assert "more than the 4194304 bytes allowed" in one_sentence(err.value)
    assert rss.growth < 100 * MiB


def test_gzip_bomb_error_body_stops_at_its_cap(hostile) -> None:
    bomb = gzip_bomb(512 * MiB)
    reg = hostile()
    reg.on("/v2/app/manifests/1", lambda h: h.send(404, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/json"}))
    with RssPeak() as rss, client(reg.host) as c:
        with pytest.raises(NotFoundError) as err:
            c.manifest(f"{reg.host}/app:1")
    one_sentence(err.value)
    assert rss.growth < 100 * MiB


def test_redirect_with_an_endless_body_is_never_read(hostile) -> None:
    reg = hostile()
    real = reg.manifest("app", "real", image_manifest())
    reg.on("/v2/app/manifests/1", lambda h: h.redirect(f"/v2/app/manifests/{real}", endless_body=True))
    with RssPeak() as rss, client(reg.host) as c:
        assert c.manifest(f"{reg.host}/app:1").digest == real
    redirect = next(h for h in reg.requests if h.path.endswith("/manifests/1"))
    assert redirect.sent < READ_BOUND
    assert rss.growth < 100 * MiB


def test_endless_manifest_stops_at_its_cap(hostile) -> None:
    reg = hostile()
    reg.on("/v2/app/manifests/1", lambda h: h.endless(200, {"Content-Type": OCI_MANIFEST}))
    with client(reg.host) as c:
        with pytest.raises(ProtocolError, match="more than the 4194304 bytes allowed"):
            c.manifest(f"{reg.host}/app:1")
    assert reg.requests[-1].sent < READ_BOUND


@pytest.mark.timeout(120)
def test_trickled_manifest_fails_within_the_deadline(hostile) -> None:
    reg = hostile()
    body = b'{"schemaVersion": 2}'  # 20 bytes: 100 s at one byte every 5 s
    reg.on("/v2/app/manifests/1", lambda h: h.trickle(200, body, every=5.0, headers={"Content-Type": OCI_MANIFEST}))
    started = time.monotonic()
    with client(reg.host, deadline=3.0) as c:
        with pytest.raises(NetworkError) as err:
            c.manifest(f"{reg.host}/app:1")
    took = time.monotonic() - started
    assert "took more than 3 seconds" in one_sentence(err.value)
    assert took < 30  # the deadline, not the 100 s the server wanted


@pytest.mark.timeout(120)
def test_trickled_headers_fail_within_the_deadline(hostile) -> None:
    reg = hostile()
    reg.on("/v2/app/manifests/1", lambda h: h.trickle_headers(every=0.5))  # about 10 minutes of headers
    started = time.monotonic()
    with client(reg.host, deadline=3.0) as c:
        with pytest.raises(NetworkError) as err:
            c.manifest(f"{reg.host}/app:1")
    assert "took more than 3 seconds" in one_sentence(err.value)
    assert time.monotonic() - started < 30
    assert len([h for h in reg.requests if "/manifests/" in h.path]) == 1  # a deadline is not retried


@pytest.mark.timeout(120)
def test_trickled_config_fails_within_the_deadline(hostile) -> None:
    reg = hostile()
    config = b'{"architecture": "amd64", "os": "linux"}'
    reg.manifest("app", "1", image_manifest(config))
    reg.on(r"/v2/app/blobs/.*", lambda h: h.trickle(200, config, every=5.0))
    with client(reg.host, deadline=3.0) as c:
        with pytest.raises(NetworkError, match="took more than 3 seconds"):
            c.load_image(f"{reg.host}/app:1")


@pytest.mark.timeout(120)
def test_trickled_layer_stream_fails_when_it_stalls(hostile) -> None:
    """A layer has no deadline for the whole (it may rightly take minutes), but
    each wait for its next 64 KiB does."""
    reg = hostile()
    layer = bytes(200_000)
    reg.on(r"/v2/app/blobs/.*", lambda h: h.trickle(200, layer, every=1.0))
    started = time.monotonic()
    with client(reg.host, deadline=3.0) as c:
        stream = c.blob_source("app", Descriptor("application/octet-stream", sha256_digest(layer), len(layer))).open(0, 99_999)
        with pytest.raises(NetworkError) as err:
            b"".join(stream.iter_chunks())
    assert "too slowly (less than 64 KiB in 3 seconds)" in one_sentence(err.value)
    assert time.monotonic() - started < 30
    assert len([h for h in reg.requests if "/blobs/" in h.path]) == 1  # not resumed


def test_a_slow_reader_is_not_a_stalled_stream(hostile) -> None:
    """The stall bound counts the server's time only: a reader that holds each
    chunk longer than the deadline still gets the whole layer."""
    reg = hostile()
    layer = os.urandom(3 * 65536)
    reg.on(r"/v2/app/blobs/.*", lambda h: h.send(200, layer))
    with client(reg.host, deadline=0.5) as c:
        stream = c.blob_source("app", Descriptor("application/octet-stream", sha256_digest(layer), len(layer))).open(0)
        got = []
        for chunk in stream.iter_chunks(65536):
            got.append(chunk)
            time.sleep(1.0)
    assert b"".join(got) == layer and stream.resumes == 0


def test_retry_waits_do_not_count_against_the_deadline(hostile) -> None:
    reg = hostile()
    answers = iter([lambda h: h.send(503, b"{}", {"Retry-After": "2"})])
    body = image_manifest()
    reg.on("/v2/app/manifests/1", lambda h: next(answers, lambda h: h.json(200, body, media_type=OCI_MANIFEST))(h))
    with client(reg.host, deadline=1.0, retry=RetryPolicy(attempts=2)) as c:
        assert c.manifest(f"{reg.host}/app:1").data == body


# -- finding 6: digests are checked before they become URLs -----------------------------------


def test_digest_validator() -> None:
    good = "sha256:" + "a" * 64
    assert digests.is_valid(good) and digests.is_valid("sha512:" + "0" * 128)
    for bad in [POISON, "sha256:" + "A" * 64, "sha256:" + "a" * 63, "sha256:" + "a" * 65, "md5:" + "a" * 32,
                "shake_128:" + "a" * 64, "sha512:" + "a" * 64, "sha256:" + "a" * 64 + "\n", None, 7]:
        assert not digests.is_valid(bad), bad
    with pytest.raises(ProtocolError) as err:
        digests.check(POISON, "a layer of the image x:1")
    assert "../" not in one_sentence(err.value)
    assert digests.check(good, "x") == good


def test_poisoned_config_digest_is_refused_and_never_requested(hostile) -> None:
    reg = hostile()
    reg.manifest("app", "1", image_manifest(config_digest=POISON))
    with client(reg.host) as c:
        with pytest.raises(ProtocolError) as err:
            c.load_image(f"{reg.host}/app:1")
    assert "valid digest" in one_sentence(err.value)
    assert not any("probe" in p or "/v2/v2" in p for p in reg.paths())


def test_poisoned_index_entry_is_refused_and_never_requested(hostile) -> None:
    reg = hostile()
    entry = {"os": "linux", "architecture": "amd64"}
    reg.manifest("app", "1", index_of([(OCI_MANIFEST, POISON, 10)], entry), media_type=OCI_INDEX)
    with client(reg.host) as c:
        with pytest.raises(ProtocolError):
            c.load_image(f"{reg.host}/app:1", platform="linux/amd64")
        with pytest.raises(ProtocolError):
            c.list_platforms(f"{reg.host}/app:1")
    assert not any("probe" in p for p in reg.paths())


def test_blob_source_refuses_a_poisoned_descriptor(hostile) -> None:
    reg = hostile()
    with client(reg.host) as c:
        with pytest.raises(ProtocolError):
            c.blob_source("app", Descriptor("application/octet-stream", POISON, 10))
        with pytest.raises(ProtocolError):
            c.download_blob("app", Descriptor("x", "shake_128:" + "a" * 64, 10), Path(os.devnull))
    assert reg.requests == []


# -- finding 7: nested indexes cannot multiply requests -------------------------------------


@pytest.mark.timeout(60)
def test_indexes_nested_four_deep_end_after_a_handful_of_requests(hostile) -> None:
    """Three small indexes of 100 entries each pointing at the next, under a top
    index of 100 entries: 1,336 requests in 60 s before, about a million in all."""
    reg = hostile()
    leaf = index_of([(OCI_MANIFEST, sha256_digest(b"%d" % i), 2) for i in range(100)], {"os": "linux", "architecture": "amd64"})
    child = leaf
    for _ in range(3):
        raw = json.dumps(child).encode()
        digest = reg.manifest("app", sha256_digest(raw), raw, media_type=OCI_INDEX)
        child = index_of([(OCI_INDEX, digest, len(raw))] * 100)
    reg.manifest("app", "1", child, media_type=OCI_INDEX)
    with client(reg.host) as c:
        with pytest.raises(ProtocolError) as err:
            c.load_image(f"{reg.host}/app:1")
    assert "nests indexes more than 1 level deep" in one_sentence(err.value)
    assert len(reg.requests) <= 5  # ping, the top index, one nested index


def test_a_nested_index_listed_twice_is_fetched_once(hostile) -> None:
    reg = hostile()
    config = b'{"architecture": "amd64", "os": "linux"}'
    config_digest = sha256_digest(config)
    reg.on(f"/v2/app/blobs/{config_digest}", lambda h: h.send(200, config))
    image = json.dumps(image_manifest(config)).encode()
    image_digest = reg.manifest("app", "img", image)
    nested = json.dumps(index_of([(OCI_MANIFEST, image_digest, len(image))], {"os": "linux", "architecture": "amd64"})).encode()
    nested_digest = reg.manifest("app", "nested", nested, media_type=OCI_INDEX)
    reg.manifest("app", "1", index_of([(OCI_INDEX, nested_digest, len(nested))] * 50), media_type=OCI_INDEX)
    with client(reg.host) as c:
        info = c.load_image(f"{reg.host}/app:1", platform="linux/amd64")
        assert info.manifest_digest == image_digest
        assert [str(p) for p in c.list_platforms(f"{reg.host}/app:1")] == ["linux/amd64"]
    assert sum(p.endswith(nested_digest) for p in reg.paths()) == 2  # once per load


def test_documents_per_load_are_capped(hostile) -> None:
    reg = hostile()
    entries = []
    for i in range(60):
        raw = json.dumps(index_of([(OCI_MANIFEST, sha256_digest(b"%d" % i), 2)], {"os": "linux", "architecture": f"a{i}"})).encode()
        entries.append((OCI_INDEX, reg.manifest("app", f"n{i}", raw, media_type=OCI_INDEX), len(raw)))
    reg.manifest("app", "1", index_of(entries), media_type=OCI_INDEX)
    with client(reg.host) as c:
        with pytest.raises(ProtocolError) as err:
            c.list_platforms(f"{reg.host}/app:1")
    assert "more than 32 manifests and indexes" in one_sentence(err.value)
    assert len(reg.requests) <= 34


# -- finding 10: odd network answers are one sentence ----------------------------------------------


def redirect_loop(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.redirect("/v2/app/manifests/1"))


def redirect_to_ftp(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.redirect("ftp://127.0.0.1/manifest"))


def broken_gzip(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.send(200, b"\x1f\x8b\x08\x00garbage, not deflate", {"Content-Encoding": "gzip", "Content-Type": OCI_MANIFEST}))


def truncated_gzip(reg: HostileServer) -> None:
    body = gzip.compress(b'{"schemaVersion": 2, "mediaType": "x"}' * 100)[:-30]
    reg.on("/v2/app/manifests/1", lambda h: h.send(200, body, {"Content-Encoding": "gzip", "Content-Type": OCI_MANIFEST}))


def bad_location(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.redirect("http://[::1"))


def garbage_status_line(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.raw(b"HTTP/1.1 abc nonsense\r\n\r\n"))


def unknown_encoding(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.send(200, b"xx", {"Content-Encoding": "br", "Content-Type": OCI_MANIFEST}))


def huge_numbers(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.send(429, b"{}", {"Retry-After": "9" * 5000}))


def deep_json(reg: HostileServer) -> None:
    reg.on("/v2/app/manifests/1", lambda h: h.send(200, b"[" * 200_000 + b"]" * 200_000, {"Content-Type": OCI_MANIFEST}))


FAULTS = {
    "redirect loop": (redirect_loop, ProtocolError, "redirected more than 5 times"),
    "redirect to ftp": (redirect_to_ftp, ProtocolError, "not an HTTP URL"),
    "broken gzip": (broken_gzip, ProtocolError, "broken gzip encoding"),
    "truncated gzip": (truncated_gzip, ProtocolError, "broken gzip encoding"),
    "bad Location": (bad_location, ProtocolError, "not a valid URL"),
    "garbage status line": (garbage_status_line, NetworkError, "Could not reach"),
    "unknown encoding": (unknown_encoding, ProtocolError, "content encoding"),
    "huge Retry-After": (huge_numbers, LayerslayerError, ""),
    "deeply nested JSON": (deep_json, ProtocolError, "not JSON"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_odd_answers_are_one_sentence(hostile, fault: str) -> None:
    setup, error, words = FAULTS[fault]
    reg = hostile()
    setup(reg)
    with client(reg.host) as c:
        with pytest.raises(error) as err:
            c.manifest(f"{reg.host}/app:1")
    assert words in one_sentence(err.value)


def test_a_token_that_cannot_go_into_a_header_is_one_sentence(hostile) -> None:
    reg, ts = hostile("127.0.0.1"), hostile("127.0.0.3")
    reg.on(r"/v2/.*", lambda h: h.send(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{ts.url}/token",service="reg"'}))
    ts.on("/token", lambda h: h.json(200, {"token": "abc\r\nX-Injected: 1"}))
    with client(reg.host) as c:
        with pytest.raises(ProtocolError, match="cannot go into a header"):
            c.manifest(f"{reg.host}/app:1")


@pytest.mark.parametrize("fault", ["redirect loop", "redirect to ftp", "broken gzip"])
def test_cli_exits_2_with_one_line(hostile, tmp_path: Path, fault: str) -> None:
    reg = hostile()
    FAULTS[fault][0](reg)
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path / "none")}
    proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", f"{reg.host}/app:1", "--json", "--no-cache"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert FAULTS[fault][2] in proc.stderr
