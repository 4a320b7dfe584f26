"""The plumbing the bed's small helpers share: start/stop as a context manager,
and one ThreadingHTTPServer on a loopback address served from a daemon thread
(the redirect front and blob host, the token server, the fault server)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

Req = TypeVar("Req")


class Running:
    """`with X(...) as x:` starts it and stops it again, whatever happens inside."""

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackServer(Running):
    """One HTTP server on `ip`:<free port>; subclasses build the handler in start()."""

    _httpd: ThreadingHTTPServer | None = None
    _ip = "127.0.0.1"

    def _serve(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        ip: str,
        name: str,
        server_class: type[ThreadingHTTPServer] = ThreadingHTTPServer,
    ) -> None:
        self._ip = ip
        self._httpd = server_class((ip, 0), handler)
        # A client that hangs up must never keep the test process alive.
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, name=name, daemon=True).start()

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return self._httpd.server_address[1]

    @property
    def host(self) -> str:
        return f"{self._ip}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


class RecordingServer(LoopbackServer, Generic[Req]):
    """A LoopbackServer that keeps what it saw in `requests` (handler threads append)."""

    def __init__(self) -> None:
        self.requests: list[Req] = []
        self._lock = threading.Lock()

    def mark(self) -> int:
        """The number of requests so far, to slice `requests` later."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int) -> list[Req]:
        with self._lock:
            return list(self.requests[mark:])
