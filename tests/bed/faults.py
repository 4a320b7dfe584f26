"""A loopback HTTP server that speaks just enough of the registry API
(/v2/ ping, manifests, blobs with Range) to inject the faults a real registry
won't produce on demand: 429 with Retry-After, 503s, connection resets after N
bytes, truncated bodies, Range ignored (200), a wrong Content-Range. It counts
TCP connections, so a test can prove that one client reuses one connection.

Faults are queued per request kind and consumed in order: `server.fail("blob",
Status(503), Status(503))` makes the next two blob GETs answer 503."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bed._http import RecordingServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_BLOB = re.compile(r"^/v2/(?P<repo>.+)/blobs/(?P<digest>[^/]+)$")
_STORE = re.compile(r"^/store/(?P<digest>[^/]+)$")
_TAGS = re.compile(r"^/v2/(?P<repo>.+)/tags/list$")
_MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")


# -- faults ------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """Answer this status with an empty JSON error body (and these headers)."""

    code: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetAfter:
    """Send the headers and the first n body bytes, then reset the connection (RST)."""

    n: int


@dataclass(frozen=True)
class Truncate:
    """Promise the full Content-Length, send n bytes, then close cleanly."""

    n: int


@dataclass(frozen=True)
class IgnoreRange:
    """Answer 200 with the whole blob, whatever Range asked."""


@dataclass(frozen=True)
class WrongContentRange:
    """Answer 206 but label (and send) bytes starting `shift` later than asked."""

    shift: int = 1


@dataclass(frozen=True)
class Redirect:
    """Answer 307 to this server under another host name (`localhost`), like a
    presigned storage URL; "store" faults then apply to that request."""


Fault = Status | ResetAfter | Truncate | IgnoreRange | WrongContentRange | Redirect


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    connection: int  # which TCP connection (1-based) carried it


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that stops reading early (a bounded Range) is expected here


class FaultServer(RecordingServer[Seen]):
    def __init__(self) -> None:
        super().__init__()
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.connections = 0
        self.tags_page_size = 2
        self._faults: dict[str, list[Fault]] = {"ping": [], "manifest": [], "blob": [], "store": [], "catalog": []}

    # -- content -----------------------------------------------------------------
    def add_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        self.blobs[digest] = data
        return digest

    def add_manifest(self, repo: str, ref: str | None, body: bytes, media_type: str = OCI_MANIFEST) -> str:
        digest = sha256_digest(body)
        self.manifests[(repo, digest)] = (body, media_type)
        if ref:
            self.manifests[(repo, ref)] = (body, media_type)
        return digest

    def add_image(self, repo: str, tag: str, layers: list[bytes], config: dict | None = None) -> dict:
        """An OCI image of gzip layers (bytes as given); returns the manifest as a dict."""
        cfg = config or {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64 for _ in layers]},
            "history": [{"created_by": f"/bin/sh -c #(nop) ADD file:{i} in /"} for i in range(len(layers))],
        }
        cfg_bytes = json.dumps(cfg).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.add_blob(cfg_bytes), "size": len(cfg_bytes)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": self.add_blob(b), "size": len(b)} for b in layers],
        }
        self.add_manifest(repo, tag, json.dumps(manifest).encode())
        return manifest

    # -- faults and records ----------------------------------------------------------
    def fail(self, kind: str, *faults: Fault) -> None:
        """Queue faults for the next requests of a kind: "ping", "manifest", "blob", "store" or "catalog"."""
        with self._lock:
            self._faults[kind].extend(faults)

    def clear(self) -> None:
        with self._lock:
            for q in self._faults.values():
                q.clear()
            self.requests.clear()

    def _next_fault(self, kind: str) -> Fault | None:
        with self._lock:
            q = self._faults[kind]
            return q.pop(0) if q else None

    def seen(self, kind: str | None = None) -> list[Seen]:
        with self._lock:
            reqs = list(self.requests)
        if kind == "blob":
            return [r for r in reqs if "/blobs/" in r.path]
        if kind == "store":
            return [r for r in reqs if r.path.startswith("/store/")]
        if kind == "manifest":
            return [r for r in reqs if "/manifests/" in r.path]
        return reqs

    # -- serving -------------------------------------------------------------------
    def start(self) -> FaultServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1
                    self.conn_no = server.connections

            def _record(self) -> None:
                with server._lock:
                    server.requests.append(Seen(self.command, self.path, dict(self.headers.items()), self.conn_no))

            def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _error(self, code: int, errcode: str, headers: dict[str, str] | None = None) -> None:
                body = json.dumps({"errors": [{"code": errcode, "message": errcode.lower()}]}).encode()
                self._send(code, body, {"Content-Type": "application/json", **(headers or {})})

            def _apply_status(self, fault: Fault | None) -> bool:
                if isinstance(fault, Status):
                    codes = {429: "TOOMANYREQUESTS", 503: "UNAVAILABLE"}
                    self._error(fault.code, codes.get(fault.code, "UNKNOWN"), fault.headers)
                    return True
                return False

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                self._record()
                path = self.path.split("?", 1)[0]
                if path == "/v2/":
                    if not self._apply_status(server._next_fault("ping")):
                        self._send(200, b"{}", {"Content-Type": "application/json"})
                    return
                m = _MANIFEST.match(path)
                if m:
                    if self._apply_status(server._next_fault("manifest")):
                        return
                    found = server.manifests.get((m["repo"], m["ref"]))
                    if found is None:
                        self._error(404, "MANIFEST_UNKNOWN")
                        return
                    body, media_type = found
                    self._send(200, body, {"Content-Type": media_type, "Docker-Content-Digest": sha256_digest(body)})
                    return
                m = _BLOB.match(path)
                if m:
                    self._blob(m["digest"])
                    return
                m = _STORE.match(path)
                if m:
                    self._blob(m["digest"], kind="store")
                    return
                m = _TAGS.match(path)
                if m:
                    self._tags(m["repo"])
                    return
                if path == "/v2/_catalog":
                    if not self._apply_status(server._next_fault("catalog")):
                        self._catalog()
                    return
                self._error(404, "NAME_UNKNOWN")

            def _tags(self, repo: str) -> None:
                """Paged like distribution 3: `n` per page, `last` to go on, Link to the next page."""
                query = parse_qs(urlsplit(self.path).query)
                names = sorted({ref for (r, ref) in server.manifests if r == repo and ":" not in ref})
                if not names:
                    self._error(404, "NAME_UNKNOWN")
                    return
                last = (query.get("last") or [""])[0]
                n = int((query.get("n") or ["0"])[0]) or server.tags_page_size
                page = [t for t in names if t > last][:n]
                headers = {"Content-Type": "application/json"}
                if page and page[-1] != names[-1]:
                    headers["Link"] = f'</v2/{repo}/tags/list?n={n}&last={page[-1]}>; rel="next"'
                self._send(200, json.dumps({"name": repo, "tags": page}).encode(), headers)

            def _catalog(self) -> None:
                """Paged like _tags (distribution 2.8 ignores `n`; this one honours it, so paging is proven here)."""
                query = parse_qs(urlsplit(self.path).query)
                names = sorted({r for (r, _ref) in server.manifests})
                last = (query.get("last") or [""])[0]
                n = int((query.get("n") or ["0"])[0]) or server.tags_page_size
                n = min(n, server.tags_page_size)  # a server may send fewer than asked, as registries do
                page = [r for r in names if r > last][:n]
                headers = {"Content-Type": "application/json"}
                if page and page[-1] != names[-1]:
                    headers["Link"] = f'</v2/_catalog?n={n}&last={page[-1]}>; rel="next"'
                self._send(200, json.dumps({"repositories": page}).encode(), headers)

            def _blob(self, digest: str, kind: str = "blob") -> None:
                fault = server._next_fault(kind)
                if self._apply_status(fault):
                    return
                if isinstance(fault, Redirect):
                    port = self.server.server_address[1]
                    where = f"http://localhost:{port}/store/{digest}?X-Amz-Signature=s3cr3t-sig"
                    self._send(307, b"", {"Location": where})
                    return
                data = server.blobs.get(digest)
                if data is None:
                    self._error(404, "BLOB_UNKNOWN")
                    return
                total = len(data)
                status, start, end = 200, 0, total - 1
                rng = self.headers.get("Range")
                if rng and not isinstance(fault, IgnoreRange):
                    mr = _RANGE.match(rng.strip())
                    if mr is None:
                        self._error(400, "RANGE_INVALID")
                        return
                    start = int(mr.group(1))
                    end = min(int(mr.group(2)), total - 1) if mr.group(2) else total - 1
                    if start >= total:
                        self._send(416, b"", {"Content-Range": f"bytes */{total}"})
                        return
                    status = 206
                    if isinstance(fault, WrongContentRange):
                        start = min(start + fault.shift, end)
                body = data[start : end + 1]
                headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
                if status == 206:
                    headers["Content-Range"] = f"bytes {start}-{end}/{total}"
                if isinstance(fault, (ResetAfter, Truncate)):
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: fault.n])
                    self.wfile.flush()
                    self.close_connection = True
                    if isinstance(fault, ResetAfter):
                        time.sleep(0.05)  # let the bytes reach the client before the RST
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                self._send(status, body, headers)

        self._serve(Handler, ip="127.0.0.1", name="fault-server", server_class=_QuietServer)
        return self


@pytest.fixture(scope="session")
def _fault_server_process() -> Iterator[FaultServer]:
    server = FaultServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_server(_fault_server_process: FaultServer) -> FaultServer:
    """The shared fault server with no queued faults and an empty request log."""
    _fault_server_process.clear()
    return _fault_server_process
