"""Hostile registries for security tests: loopback HTTP servers whose answers
each test scripts per path. They do what a real registry never would: answer
forever, trickle a byte at a time, redirect credentials to a third host, send
gzip bombs and broken encodings, nest indexes without end.

    reg = hostile("127.0.0.1")
    reg.on("/v2/", lambda h: h.endless(200))
    reg.on(r"/v2/x/manifests/1", lambda h: h.json(200, manifest, media_type=OCI_MANIFEST))

Every server records what it was asked (`requests`: method, path, headers,
body) and counts the body bytes it managed to write (`sent`), so a test can
prove that a client stopped reading at its cap. Any 127/8 address is a
distinct host for the client (Linux routes all of it to loopback)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bed._http import RecordingServer

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
ENDLESS_LIMIT = 256 * 1024 * 1024  # "endless" bodies stop here, so a client that reads them all still ends


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


_BOMB_CACHE: dict[int, bytes] = {}


def gzip_bomb(decoded: int) -> bytes:
    """A gzip stream of `decoded` zero bytes (about decoded/1000 bytes long)."""
    if decoded not in _BOMB_CACHE:
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1 << 20)
        parts = [c.compress(block) for _ in range(decoded >> 20)]
        parts.append(c.compress(bytes(decoded & ((1 << 20) - 1))))
        parts.append(c.flush())
        _BOMB_CACHE[decoded] = b"".join(parts)
    return _BOMB_CACHE[decoded]


@dataclass
class Hit:
    method: str
    path: str  # query included
    headers: dict[str, str]
    body: bytes = b""
    sent: int = 0  # body bytes written for this request

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on purpose here


class Reply:
    """What a route gets: the request and ways to answer it badly."""

    def __init__(self, handler: BaseHTTPRequestHandler, hit: Hit, server: HostileServer) -> None:
        self.h = handler
        self.hit = hit
        self.server = server

    @property
    def path(self) -> str:
        return self.hit.path

    @property
    def authorization(self) -> str | None:
        return self.hit.authorization

    def _write(self, data: bytes) -> bool:
        try:
            self.h.wfile.write(data)
            self.h.wfile.flush()
        except OSError:
            self.h.close_connection = True
            return False
        self.hit.sent += len(data)
        with self.server._lock:
            self.server.sent += len(data)
        return True

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.h.send_response(status)
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.send_header("Content-Length", str(len(body)))
        self.h.end_headers()
        if body and self.h.command != "HEAD":
            self._write(body)

    def json(self, status: int, obj: object, *, media_type: str = "application/json", headers: dict[str, str] | None = None) -> None:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send(status, body, {"Content-Type": media_type, **(headers or {})})

    def endless(self, status: int, headers: dict[str, str] | None = None, *, limit: int = ENDLESS_LIMIT) -> None:
        """A body without a length that goes on until the client hangs up (or `limit`)."""
        self.h.send_response(status)
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.send_header("Connection", "close")
        self.h.end_headers()
        self.h.close_connection = True
        chunk = b"A" * 65536
        while self.hit.sent < limit and self._write(chunk):
            pass

    def redirect(self, location: str, status: int = 302, *, endless_body: bool = False) -> None:
        if endless_body:
            self.endless(status, {"Location": location})
        else:
            self.send(status, b"", {"Location": location})

    def trickle(self, status: int, body: bytes, *, every: float, headers: dict[str, str] | None = None) -> None:
        """The body one byte at a time, `every` seconds apart."""
        self.h.send_response(status)
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.send_header("Content-Length", str(len(body)))
        self.h.end_headers()
        for i in range(len(body)):
            if not self._write(body[i : i + 1]):
                return
            time.sleep(every)

    def trickle_headers(self, every: float, *, lines: int = 50) -> None:
        """A status line and then header lines, one byte every `every` seconds."""
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Slow-%d: y\r\n" % i for i in range(lines)) + b"Content-Length: 2\r\n\r\n{}"
        for i in range(len(head)):
            try:
                self.h.wfile.write(head[i : i + 1])
                self.h.wfile.flush()
            except OSError:
                self.h.close_connection = True
                return
            time.sleep(every)

    def raw(self, data: bytes) -> None:
        """Bytes as they are, no HTTP framing added; then close."""
        self.h.close_connection = True
        self._write(data)


Route = Callable[[Reply], None]


class HostileServer(RecordingServer[Hit]):
    def __init__(self, ip: str = "127.0.0.1") -> None:
        super().__init__()
        self.ip = ip
        self.routes: list[tuple[re.Pattern[str], Route]] = []
        self.sent = 0  # body bytes written, all requests together

    def on(self, pattern: str, route: Route) -> HostileServer:
        """Answer paths matching `pattern` (a regex, matched whole, query excluded)."""
        self.routes.append((re.compile(pattern), route))
        return self

    def manifest(self, repo: str, ref: str, body: bytes | dict, media_type: str = OCI_MANIFEST) -> str:
        """Serve a manifest under `ref` and its digest; returns the digest."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        digest = sha256_digest(raw)
        for name in {ref, digest}:
            self.on(rf"/v2/{re.escape(repo)}/manifests/{re.escape(name)}", lambda h, raw=raw: h.json(200, raw, media_type=media_type))
        return digest

    def paths(self) -> list[str]:
        with self._lock:
            return [h.path for h in self.requests]

    def start(self) -> HostileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = self.headers.get("Content-Length")
                body = self.rfile.read(int(length)) if length and length.isdigit() else b""
                hit = Hit(self.command, self.path, dict(self.headers.items()), body)
                with owner._lock:
                    owner.requests.append(hit)
                path = self.path.split("?", 1)[0]
                reply = Reply(self, hit, owner)
                for pattern, route in owner.routes:
                    if pattern.fullmatch(path):
                        route(reply)
                        return
                if path == "/v2/":
                    reply.json(200, {})  # an open registry, unless a test says otherwise
                else:
                    reply.json(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "not here"}]})

            do_GET = do_HEAD = do_POST = _handle

        self._serve(Handler, ip=self.ip, name=f"hostile-{self.ip}", server_class=_Server)
        return self


def image_manifest(config: bytes = b"{}", layers: list[bytes] | None = None, *, config_digest: str | None = None) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest or sha256_digest(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256_digest(b), "size": len(b)} for b in layers or []],
    }


def index_of(entries: list[tuple[str, str, int]], platform: dict | None = None) -> dict:
    """An OCI index of (media type, digest, size) entries."""
    return {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": mt, "digest": d, "size": n, **({"platform": platform} if platform else {})} for mt, d, n in entries
        ],
    }


class RssPeak:
    """The largest growth of this process's resident memory while it runs, sampled."""

    def __init__(self, every: float = 0.01) -> None:
        self.every = every
        self.base = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def rss() -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    @property
    def growth(self) -> int:
        return max(0, self.peak - self.base)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.every)

    def __enter__(self) -> RssPeak:
        self.base = self.peak = self.rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, self.rss())


@pytest.fixture
def hostile() -> Iterator[Callable[..., HostileServer]]:
    """hostile(ip="127.0.0.1") -> a started HostileServer, stopped after the test."""
    servers: list[HostileServer] = []

    def make(ip: str = "127.0.0.1") -> HostileServer:
        server = HostileServer(ip=ip).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
