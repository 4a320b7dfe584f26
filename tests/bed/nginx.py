"""A throttling proxy: Debian's nginx in front of a registry, `limit_rate`
per connection, the way CDNs cap each connection to a blob.

nginx runs as a foreground process of the test (daemon off, master_process
off) with its own prefix, config, pid, logs and temp directories in a temp
directory, on a free loopback port; the system nginx service is never
touched. Its access log records each request with its Range header and the
body bytes sent, so tests can see which parts were asked for.

Fixture: `nginx_throttled` (16 MB/s per connection in front of `registry`).
Use `NginxProxy(upstream_host, rate="2m")` for other rates.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bed._http import Running
from bed.registry import free_port

_LOG_FORMAT = '$request_method $request_uri "$http_range" $status $body_bytes_sent'


@dataclass(frozen=True)
class ProxyRecord:
    method: str
    uri: str
    range: str  # the Range header asked ("" when none)
    status: int
    sent: int  # body bytes nginx sent


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed (Debian package 'nginx'; scripts/test installs it).")
    return found


class NginxProxy(Running):
    def __init__(self, upstream: str, rate: str = "16m") -> None:
        self.upstream = upstream  # host:port of the registry
        self.rate = rate  # nginx limit_rate: bytes per second per connection ("16m" = 16 MiB/s)
        self.port = 0
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _config(self) -> str:
        d = self._dir
        return f"""
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format ranges '{_LOG_FORMAT}';
    access_log {d}/access.log ranges;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://{self.upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_max_temp_file_size 0;
            limit_rate {self.rate};
        }}
    }}
}}
"""

    def start(self) -> NginxProxy:
        binary = nginx_binary()
        self._dir = Path(tempfile.mkdtemp(prefix="llnginx-"))
        last = ""
        for _attempt in range(5):  # a free port can be taken between probe and bind
            self.port = free_port()
            conf = self._dir / "nginx.conf"
            conf.write_text(self._config())
            log = open(self._dir / "stderr.log", "wb")  # noqa: SIM115 - closed below
            self._proc = subprocess.Popen([binary, "-p", str(self._dir), "-c", str(conf)], stdout=log, stderr=log)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.05)
            last = (self._dir / "stderr.log").read_text(errors="replace") + (
                (self._dir / "error.log").read_text(errors="replace") if (self._dir / "error.log").exists() else "")
            self._kill()
        raise RuntimeError(f"nginx did not start: {last[-1500:]}")

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def stop(self) -> None:
        self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def access_log(self) -> list[ProxyRecord]:
        """The requests nginx finished, oldest first (it logs when a response ends)."""
        assert self._dir is not None
        path = self._dir / "access.log"
        out = []
        for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
            method, uri, rest = line.split(" ", 2)
            rng, _, tail = rest[1:].partition('" ')
            status, sent = tail.split()
            out.append(ProxyRecord(method, uri, "" if rng == "-" else rng, int(status), int(sent)))
        return out


@pytest.fixture(scope="session")
def nginx_throttled(registry) -> Iterator[NginxProxy]:
    """nginx in front of the anonymous registry, 16 MB/s per connection."""
    try:
        proxy = NginxProxy(registry.host, "16m").start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield proxy
    finally:
        proxy.stop()
