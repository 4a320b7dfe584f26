"""A loopback stand-in for Docker Hub's repository search
(`/v2/search/repositories/?query=&page=&page_size=`), serving the documented
response shape: count, next, previous, results with repo_name,
short_description, star_count, pull_count, repo_owner, is_automated,
is_official. Docker Hub itself is unreachable from the test machine.
`queue_status` answers the next requests with an error (429 + Retry-After...)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bed._http import RecordingServer


@dataclass
class HubRequest:
    path: str
    query: dict[str, str] = field(default_factory=dict)


class FakeHub(RecordingServer[HubRequest]):
    def __init__(self) -> None:
        super().__init__()
        self.repos: list[dict] = []
        self.statuses: list[tuple[int, dict[str, str]]] = []

    def queue_status(self, code: int, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.statuses.append((code, headers or {}))

    def start(self) -> FakeHub:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, code: int, body: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with server._lock:
                    server.requests.append(HubRequest(parts.path, query))
                    status = server.statuses.pop(0) if server.statuses else None
                if status is not None:
                    self._send(status[0], {"message": "slow down"}, status[1])
                    return
                if parts.path != "/v2/search/repositories/":
                    self._send(404, {"message": "not found"})
                    return
                words = query.get("query", "").lower().split()
                page, size = int(query.get("page", "1")), int(query.get("page_size", "25"))
                hits = [r for r in server.repos if all(w in json.dumps(r).lower() for w in words)]
                chunk = hits[(page - 1) * size : page * size]
                base = f"http://{self.headers.get('Host')}{parts.path}?"
                nxt = base + urlencode({**query, "page": page + 1}) if page * size < len(hits) else None
                prev = base + urlencode({**query, "page": page - 1}) if page > 1 else None
                self._send(200, {"count": len(hits), "next": nxt, "previous": prev, "results": chunk})

        self._serve(Handler, ip="127.0.0.1", name="fake-hub")
        return self


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fresh fake Hub; LAYERSLAYER_HUB_URL points the search at it."""
    hub = FakeHub().start()
    monkeypatch.setenv("LAYERSLAYER_HUB_URL", hub.url)
    try:
        yield hub
    finally:
        hub.stop()
