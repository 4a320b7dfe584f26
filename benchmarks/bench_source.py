"""A bare requests-based ByteSource, used by bench_listing only when the
registry client's BlobSource is not available (no auth, no retries)."""

from __future__ import annotations

from collections.abc import Iterator

import requests


class _Stream:
    def __init__(self, resp: requests.Response, start: int, asked: bool) -> None:
        self._resp = resp
        self.range_ignored = asked and resp.status_code == 200
        self.start = 0 if self.range_ignored else start
        self.total = None

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        yield from self._resp.raw.stream(chunk_size, decode_content=False)

    def close(self) -> None:
        self._resp.close()


class HttpSource:
    def __init__(self, url: str, size: int | None) -> None:
        self.url = url
        self.size = size
        self._session = requests.Session()

    def open(self, start: int = 0, end: int | None = None) -> _Stream:
        headers = {"Accept-Encoding": "identity"}
        asked = bool(start or end is not None)
        if asked:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        resp = self._session.get(self.url, headers=headers, stream=True, timeout=60)
        resp.raise_for_status()
        return _Stream(resp, start, asked)
