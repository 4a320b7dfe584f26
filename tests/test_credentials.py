from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from layerslayer_tui.errors import AuthError
from layerslayer_tui.registry.challenge import parse_challenges, preferred
from layerslayer_tui.registry.credentials import Credentials, resolve

HELPER = """#!/bin/sh
# A docker credential helper speaking the real protocol: `get`, server URL on stdin.
read -r url
echo "$url" >> "{log}"
case "$url" in
  "https://index.docker.io/v1/") echo '{{"ServerURL":"'"$url"'","Username":"hubuser","Secret":"hubpass"}}' ;;
  token.example) echo '{{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-123"}}' ;;
  broken.example) echo 'internal trouble' >&2; exit 3 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME, DOCKER_CONFIG and runtime dir, and a helper on PATH."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-test"
    helper.write_text(HELPER.format(log=tmp_path / "helper.log"))
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "docker").mkdir()
    return tmp_path


def write_docker_config(home: Path, cfg: dict) -> None:
    (home / "docker" / "config.json").write_text(json.dumps(cfg))


def test_nothing_configured(home: Path) -> None:
    assert resolve("registry.example") is None


def test_inline_auths_by_hostname_and_url_keys(home: Path) -> None:
    write_docker_config(
        home,
        {
            "auths": {
                "https://registry.example/v2/": {"auth": b64("alice:pa:ss")},
                "https://index.docker.io/v1/": {"auth": b64("hub:hubpw")},
            }
        },
    )
    creds = resolve("registry.example")
    assert creds == Credentials("alice", "pa:ss", None, creds.source)
    assert "pa:ss" not in repr(creds)
    hub = resolve("docker.io")
    assert (hub.username, hub.password) == ("hub", "hubpw")
    assert resolve("other.example") is None


def test_identity_token_in_config(home: Path) -> None:
    write_docker_config(home, {"auths": {"reg.example": {"auth": b64("bob:"), "identitytoken": "rt-1"}}})
    creds = resolve("reg.example")
    assert creds.identity_token == "rt-1" and creds.password is None


def test_cred_helpers_beat_store_beat_auths(home: Path) -> None:
    write_docker_config(
        home,
        {
            "auths": {"https://index.docker.io/v1/": {"auth": b64("inline:pw")}, "token.example": {"auth": b64("x:y")}},
            "credsStore": "missing-store",  # not installed: falls through to inline auths
            "credHelpers": {"docker.io": "test", "token.example": "test"},
        },
    )
    hub = resolve("docker.io")
    assert (hub.username, hub.password, hub.source) == ("hubuser", "hubpass", "helper test")
    tok = resolve("token.example")
    assert tok.identity_token == "refresh-123" and tok.username is None
    log = (home / "helper.log").read_text().split()
    assert log == ["https://index.docker.io/v1/", "token.example"]


def test_creds_store_then_inline(home: Path) -> None:
    write_docker_config(home, {"auths": {"plain.example": {"auth": b64("p:q")}}, "credsStore": "test"})
    # The store says "credentials not found" for plain.example: the inline entry answers.
    assert (resolve("plain.example").username, resolve("plain.example").password) == ("p", "q")
    assert resolve("docker.io").username == "hubuser"


def test_helper_failure_is_one_sentence(home: Path) -> None:
    write_docker_config(home, {"credHelpers": {"broken.example": "test"}})
    with pytest.raises(AuthError, match=r"docker-credential-test failed \(exit status 3\)\.$"):
        resolve("broken.example")


def test_bad_inline_auth_is_one_sentence(home: Path) -> None:
    write_docker_config(home, {"auths": {"r.example": {"auth": b64("no-colon")}}})
    with pytest.raises(AuthError, match="no ':'"):
        resolve("r.example")


def test_podman_auth_json_most_specific_first(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authfile = home / "auth.json"
    authfile.write_text(
        json.dumps(
            {
                "auths": {
                    "quay.example": {"auth": b64("host:1")},
                    "quay.example/team": {"auth": b64("team:2")},
                    "quay.example/team/app": {"auth": b64("app:3")},
                    "docker.io": {"auth": b64("dh:4")},
                }
            }
        )
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(authfile))
    assert resolve("quay.example", "team/app").username == "app"
    assert resolve("quay.example", "team/other").username == "team"
    assert resolve("quay.example", "solo").username == "host"
    assert resolve("docker.io", "library/ubuntu").username == "dh"


def test_runtime_dir_auth_json_and_docker_config_first(home: Path) -> None:
    (home / "run" / "containers").mkdir(parents=True)
    (home / "run" / "containers" / "auth.json").write_text(json.dumps({"auths": {"r.example": {"auth": b64("podman:1")}}}))
    assert resolve("r.example").username == "podman"
    write_docker_config(home, {"auths": {"r.example": {"auth": b64("docker:2")}}})
    assert resolve("r.example").username == "docker"


def test_unreadable_config_is_ignored(home: Path) -> None:
    (home / "docker" / "config.json").write_text("{not json")
    assert resolve("r.example") is None


# -- challenges -------------------------------------------------------------------


def test_challenge_with_commas_in_scope_and_escapes() -> None:
    header = (
        'Bearer realm="https://auth.example/token",service="reg.example",'
        'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"'
    )
    (ch,) = parse_challenges(header)
    assert ch.scheme == "bearer"
    assert ch.params["scope"] == "repository:a/b:pull,push repository:c:pull"
    assert ch.params["realm"] == "https://auth.example/token"
    (esc,) = parse_challenges(r'Basic realm="say \"hi\", ok"')
    assert esc.params == {"realm": 'say "hi", ok'}


def test_several_challenges_in_one_and_many_headers() -> None:
    chs = parse_challenges(['Basic realm="r1", Bearer realm="https://t/x", service=svc', "Negotiate abc=="])
    assert [c.scheme for c in chs] == ["basic", "bearer", "negotiate"]
    assert chs[1].params == {"realm": "https://t/x", "service": "svc"}
    assert chs[2].token68 == "abc=="
    assert preferred(chs).scheme == "bearer"
    assert preferred(parse_challenges('Basic realm="x"')).scheme == "basic"
    assert preferred(parse_challenges("Negotiate")) is None
    assert parse_challenges(["", " , ,"]) == []
