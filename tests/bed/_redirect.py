"""A registry whose blob GETs redirect to storage on another host, like Docker
Hub (CDN) or GHCR/ECR (presigned S3).

The front forwards everything to a real registry process. For a blob GET it
first asks the registry (HEAD, with the client's Authorization) whether the
client may read it; if so it answers 307 to a second loopback host
(127.0.0.2) whose blob server reads the registry's storage and honours Range.
The blob server records what each request carried, so tests can prove Range
crosses the redirect and Authorization does not."""

from __future__ import annotations

import http.client
import re
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from bed._http import LoopbackServer, RecordingServer

_BLOB_PATH = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_STORE_PATH = re.compile(r"^/store/sha256/(?P<hex>[0-9a-f]{64})/data$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"}
BLOB_HOST_IP = "127.0.0.2"  # the whole 127/8 is loopback on Linux: a distinct host for the client


@dataclass
class SeenRequest:
    method: str
    path: str  # query included
    range: str | None  # the Range header as sent
    authorization: bool  # whether any Authorization header came along
    headers: dict[str, str]
    status: int = 0
    sent: int = 0  # body bytes written


def parse_range(header: str | None, total: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for one `bytes=` range; None = whole; "bad" = 416."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m[1] == "" and m[2] == ""):
        return "bad"
    if m[1] == "":  # suffix: the last N bytes
        n = int(m[2])
        if n == 0:
            return "bad"
        return max(0, total - n), total - 1
    first = int(m[1])
    last = int(m[2]) if m[2] else total - 1
    if first >= total or last < first:
        return "bad"
    return first, min(last, total - 1)


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _record(self, log: list[SeenRequest], lock: threading.Lock) -> SeenRequest:
        rec = SeenRequest(
            self.command,
            self.path,
            self.headers.get("Range"),
            "Authorization" in self.headers,
            {k: v for k, v in self.headers.items()},
        )
        with lock:
            log.append(rec)
        return rec


class BlobHost(RecordingServer[SeenRequest]):
    """Serves `/store/sha256/<hex>/data` from a registry's storage directory."""

    def __init__(self, registry: Any) -> None:
        super().__init__()
        self.registry = registry

    def start(self) -> BlobHost:
        owner = self

        class Handler(_Quiet):
            def do_HEAD(self) -> None:
                self.do_GET(head=True)

            def do_GET(self, head: bool = False) -> None:
                rec = self._record(owner.requests, owner._lock)
                m = _STORE_PATH.match(urlsplit(self.path).path)
                path = owner.registry.blob_path("sha256:" + m["hex"]) if m else None
                if path is None or not path.is_file():
                    rec.status = 404
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                total = path.stat().st_size
                want = parse_range(self.headers.get("Range"), total)
                if want == "bad":
                    rec.status = 416
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{total}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                first, last = (0, total - 1) if want is None else want
                rec.status = 200 if want is None else 206
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(last - first + 1))
                if want is not None:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{total}")
                self.end_headers()
                if head:
                    return
                with open(path, "rb") as f:
                    f.seek(first)
                    left = last - first + 1
                    try:
                        while left > 0:
                            chunk = f.read(min(65536, left))
                            if not chunk:
                                break
                            # Count before writing: a client that has read the bytes may look at
                            # this record before the write call returns.
                            rec.sent += len(chunk)
                            self.wfile.write(chunk)
                            left -= len(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        self.close_connection = True

        self._serve(Handler, ip=BLOB_HOST_IP, name="blob-host")
        return self


class RedirectSetup(LoopbackServer):
    """Front (127.0.0.1) -> registry, blob GETs -> 307 -> BlobHost (127.0.0.2).

    `.host`/`.url` are the front's; `.registry` the real registry behind it;
    `.blob_host` the second host (`.requests` records each request);
    `.front_requests` what the front saw. `redirect_status` can be set to
    301/302/303/307/308. Pushes (bed.images) go straight to `.registry`."""

    def __init__(self, registry: Any, *, redirect_status: int = 307) -> None:
        self.registry = registry
        self.redirect_status = redirect_status
        self.blob_host = BlobHost(registry)
        self.front_requests: list[SeenRequest] = []
        self._lock = threading.Lock()

    # Credentials and token server are the registry's: the front only forwards.
    @property
    def flavour(self) -> str:
        return self.registry.flavour

    @property
    def username(self) -> str | None:
        return self.registry.username

    @property
    def password(self) -> str | None:
        return self.registry.password

    @property
    def token_server(self) -> Any:
        return self.registry.token_server

    def access_log(self, *args: Any, **kw: Any) -> Any:
        """The registry's access log (see RegistryServer.access_log)."""
        return self.registry.access_log(*args, **kw)

    def log_mark(self) -> int:
        return self.registry.log_mark()

    @property
    def blob_requests(self) -> list[SeenRequest]:
        return self.blob_host.requests

    def blob_location(self, digest: str) -> str:
        """A presigned-looking URL: the signature must never reach a log."""
        sig = secrets.token_hex(16)
        return (
            f"{self.blob_host.url}/store/sha256/{digest.split(':', 1)[1]}/data"
            f"?X-Amz-Expires=1200&X-Amz-Signature={sig}"
        )

    def start(self) -> RedirectSetup:
        self.blob_host.start()
        owner = self
        upstream = self.registry.host

        class Handler(_Quiet):
            def _forward(
                self, method: str | None = None, drop: tuple[str, ...] = ()
            ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                skip = _HOP | set(drop)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                conn = http.client.HTTPConnection(upstream, timeout=60)
                conn.request(method or self.command, self.path, body=body, headers=headers)
                return conn, conn.getresponse()

            def _relay(self, rec: SeenRequest) -> None:
                conn, resp = self._forward()
                try:
                    rec.status = resp.status
                    self.send_response(resp.status, resp.reason)
                    length = resp.getheader("Content-Length")
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP and k.lower() not in ("content-length", "date", "server"):
                            self.send_header(k, v)
                    body = b""
                    if self.command != "HEAD" and length is None:
                        body = resp.read()
                        length = str(len(body))
                    self.send_header("Content-Length", length or "0")
                    self.end_headers()
                    if self.command == "HEAD":
                        return
                    if body:
                        rec.sent = len(body)
                        self.wfile.write(body)
                        return
                    while chunk := resp.read(65536):
                        rec.sent += len(chunk)
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    conn.close()

            def _handle(self) -> None:
                rec = self._record(owner.front_requests, owner._lock)
                m = _BLOB_PATH.match(urlsplit(self.path).path)
                if self.command == "GET" and m:
                    # Ask the registry (with the client's credentials) whether this read is allowed.
                    conn, resp = self._forward(method="HEAD", drop=("range",))
                    status = resp.status
                    resp.read()
                    conn.close()
                    if status == 200:
                        rec.status = owner.redirect_status
                        self.send_response(owner.redirect_status)
                        self.send_header("Location", owner.blob_location(m["digest"]))
                        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self._relay(rec)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._serve(Handler, ip="127.0.0.1", name="redirect-front")
        return self

    def stop(self) -> None:
        super().stop()
        self.blob_host.stop()
