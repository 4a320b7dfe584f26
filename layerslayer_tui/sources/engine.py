"""Images from a running Docker engine or Podman service, through the
Docker-compatible API on its socket: `GET /images/{name}/get` streams a
docker-archive. Reading layers at any offset needs random access, so the
stream is kept in an anonymous temporary file (unlinked at once, gone when
the image is closed or the process ends)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import tempfile
from typing import IO
from urllib.parse import quote, urlsplit

from ..errors import LayerslayerError, NetworkError, NotFoundError, ProtocolError

DOCKER_SOCKET = "/var/run/docker.sock"
PODMAN_ROOT_SOCKET = "/run/podman/podman.sock"
API_VERSION = "v1.41"  # Docker 20.10; podman's compat API answers it too
ERROR_CAP = 64 * 1024
CHUNK = 1 << 20
ENGINES = {"docker-daemon": "the Docker engine", "podman": "the Podman service"}


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def engine_address(transport: str) -> str:
    """Where the engine listens: `unix:///path` or `tcp://host:port`.
    docker: $DOCKER_HOST, else /var/run/docker.sock. podman: $CONTAINER_HOST,
    else the rootless socket under $XDG_RUNTIME_DIR, else the root one."""
    if transport == "docker-daemon":
        return os.environ.get("DOCKER_HOST") or f"unix://{DOCKER_SOCKET}"
    env = os.environ.get("CONTAINER_HOST")
    if env:
        return env
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.getuid() != 0:
        return f"unix://{runtime}/podman/podman.sock"
    return f"unix://{PODMAN_ROOT_SOCKET}"


def _connect(address: str, engine: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(address)
    if parts.scheme == "unix":
        return _UnixConnection(parts.path, timeout)
    if parts.scheme in ("tcp", "http") and parts.hostname:
        return http.client.HTTPConnection(parts.hostname, parts.port or 2375, timeout=timeout)
    raise LayerslayerError(f"The address of {engine} ({address[:120]}) is neither unix:///path nor tcp://host:port.")


def _message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    msg = data.get("message") if isinstance(data, dict) else None
    return " ".join(str(msg).split())[:200] if msg else ""


def export_image(transport: str, name: str, *, timeout: float = 60.0) -> IO[bytes]:
    """The engine's docker-archive of `name` in an unlinked temporary file."""
    engine = ENGINES[transport]
    address = engine_address(transport)
    conn = _connect(address, engine, timeout)
    try:
        try:
            conn.request("GET", f"/{API_VERSION}/images/{quote(name, safe='')}/get", headers={"Host": "localhost"})
            resp = conn.getresponse()
        except OSError as exc:
            raise NetworkError(f"Cannot reach {engine} at {address}: {exc.strerror or exc}.") from None
        except http.client.HTTPException as exc:
            raise NetworkError(f"{engine[:1].upper()}{engine[1:]} at {address} did not answer HTTP ({type(exc).__name__}).") from None
        if resp.status != 200:
            detail = _message(resp.read(ERROR_CAP))
            if resp.status == 404:
                raise NotFoundError(f"{engine[:1].upper()}{engine[1:]} has no image {name}.")
            raise ProtocolError(f"{engine[:1].upper()}{engine[1:]} refused to export {name} (HTTP {resp.status}{': ' + detail if detail else ''}).")
        out = tempfile.TemporaryFile(prefix="layerslayer-engine-")
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                out.write(chunk)
            out.flush()
        except OSError as exc:
            out.close()
            raise NetworkError(f"The export of {name} from {engine} stopped: {exc.strerror or exc}.") from None
        except BaseException:
            out.close()
            raise
        return out
    finally:
        conn.close()
