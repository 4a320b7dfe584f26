"""Where credentials come from, in order: what the caller passes, docker's
config.json (credHelpers > credsStore > inline auths), then the containers /
podman auth.json files. Secrets never appear in messages or reprs."""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AuthError

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")
_MAX_CONFIG = 4 * 1024 * 1024
_HELPER_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    identity_token: str | None = field(default=None, repr=False)  # OAuth2 refresh token (docker "identitytoken")
    source: str = "explicit"  # where they came from, for messages ("docker config", "helper desktop", ...)

    @property
    def has_identity_token(self) -> bool:
        return bool(self.identity_token)


def _is_hub(registry: str) -> bool:
    return registry in _HUB_ALIASES


def _hostname(key: str) -> str:
    """docker's ConvertToHostname: a config key may be a URL with a path."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    return key.split("/", 1)[0]


def _read_json(path: Path) -> dict | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_CONFIG:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _decode_auth(entry: dict, source: str) -> Credentials | None:
    token = entry.get("identitytoken") or entry.get("identityToken")
    auth = entry.get("auth")
    user = entry.get("username")
    password = entry.get("password")
    if isinstance(auth, str) and auth:
        try:
            decoded = base64.b64decode(auth, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError(f"The stored login in {source} is not valid base64 'user:password' text.") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise AuthError(f"The stored login in {source} has no ':' between user name and password.")
    if token:
        return Credentials(user or None, None, str(token), source)
    if user or password:
        return Credentials(user or None, password or None, None, source)
    return None


def helper_get(name: str, server_url: str) -> Credentials | None:
    """Run `docker-credential-<name> get` with the server URL on stdin."""
    exe = shutil.which(f"docker-credential-{name}")
    if exe is None:
        return None  # configured for a helper this machine does not have: nothing stored here
    try:
        proc = subprocess.run(
            [exe, "get"],
            input=server_url.encode(),
            capture_output=True,
            timeout=_HELPER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuthError(f"The credential helper docker-credential-{name} could not be run ({type(exc).__name__}).") from None
    out = proc.stdout.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        said = (out or proc.stderr.decode("utf-8", "replace")).strip().lower()
        if "credentials not found" in said or not said:
            return None
        raise AuthError(f"The credential helper docker-credential-{name} failed (exit status {proc.returncode}).")
    try:
        data = json.loads(out)
    except ValueError:
        raise AuthError(f"The credential helper docker-credential-{name} printed something that is not JSON.") from None
    if not isinstance(data, dict):
        return None
    user = data.get("Username") or None
    secret = data.get("Secret") or None
    if not secret:
        return None
    if user == "<token>":
        return Credentials(None, None, secret, f"helper {name}")
    return Credentials(user, secret, None, f"helper {name}")


def docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return Path(base) / "config.json" if base else Path.home() / ".docker" / "config.json"


def _from_docker_config(registry: str) -> Credentials | None:
    path = docker_config_path()
    cfg = _read_json(path)
    if cfg is None:
        return None
    server_url = DOCKER_HUB_KEY if _is_hub(registry) else registry
    helpers = cfg.get("credHelpers") if isinstance(cfg.get("credHelpers"), dict) else {}
    helper = helpers.get(registry)
    if helper is None and _is_hub(registry):
        helper = next((helpers[k] for k in (DOCKER_HUB_KEY, *_HUB_ALIASES) if k in helpers), None)
    if isinstance(helper, str) and helper:
        return helper_get(helper, server_url)
    store = cfg.get("credsStore")
    if isinstance(store, str) and store:
        creds = helper_get(store, server_url)
        if creds is not None:
            return creds
    auths = cfg.get("auths") if isinstance(cfg.get("auths"), dict) else {}
    wanted = {"docker.io"} if _is_hub(registry) else {registry}
    for key, entry in auths.items():
        host = _hostname(key)
        if _is_hub(host):
            host = "docker.io"
        if host in wanted and isinstance(entry, dict):
            creds = _decode_auth(entry, str(path))
            if creds is not None:
                return creds
    return None


def auth_json_paths() -> list[Path]:
    paths: list[Path] = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    paths.append(Path.home() / ".config" / "containers" / "auth.json")
    return paths


def _from_auth_json(registry: str, repository: str | None) -> Credentials | None:
    host = "docker.io" if _is_hub(registry) else registry
    keys: list[str] = []
    if repository:
        parts = repository.split("/")
        keys += [f"{host}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
    keys.append(host)
    if host == "docker.io":
        keys.append(DOCKER_HUB_KEY)
    for path in auth_json_paths():
        data = _read_json(path)
        if data is None:
            continue
        auths = data.get("auths") if isinstance(data.get("auths"), dict) else {}
        normalised = {k.removeprefix("https://").removeprefix("http://").rstrip("/") if k != DOCKER_HUB_KEY else k: v for k, v in auths.items()}
        for key in keys:
            entry = normalised.get(key)
            if isinstance(entry, dict):
                creds = _decode_auth(entry, str(path))
                if creds is not None:
                    return creds
        helpers = data.get("credHelpers") if isinstance(data.get("credHelpers"), dict) else {}
        helper = helpers.get(host)
        if isinstance(helper, str) and helper:
            creds = helper_get(helper, DOCKER_HUB_KEY if host == "docker.io" else host)
            if creds is not None:
                return creds
    return None


def resolve(registry: str, repository: str | None = None) -> Credentials | None:
    """Stored credentials for `registry` (canonical name, "docker.io" for Hub),
    the most specific match for `repository` first in auth.json files."""
    return _from_docker_config(registry) or _from_auth_json(registry, repository)
