"""What the layer reader consumes: a byte source that can be opened at an
offset. The registry's blob reader satisfies this protocol structurally (it
never imports peek/), and so do the in-memory and file sources below, which
serve tests and local files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol


class ByteStream(Protocol):
    start: int  # blob offset of the first byte iter_chunks yields (0 when the server ignored Range)
    total: int | None  # blob size when known
    range_ignored: bool  # asked for a range, got the whole blob from byte 0

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class ByteSource(Protocol):
    size: int | None

    def open(self, start: int = 0, end: int | None = None) -> ByteStream:
        """Stream bytes [start, end] (end inclusive, None = to the end)."""
        ...


class _MemoryStream:
    def __init__(self, data: memoryview, start: int, end: int | None) -> None:
        self.start = start
        self.total = len(data)
        self.range_ignored = False
        self._data = data
        self._end = len(data) if end is None else min(end + 1, len(data))
        self._closed = False

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        pos = self.start
        while pos < self._end and not self._closed:
            nxt = min(pos + chunk_size, self._end)
            yield bytes(self._data[pos:nxt])
            pos = nxt

    def close(self) -> None:
        self._closed = True


class BytesSource:
    """A blob held in memory (tests, small fixtures)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.size: int | None = len(data)

    def open(self, start: int = 0, end: int | None = None) -> ByteStream:
        return _MemoryStream(self._data, start, end)


class _FileStream:
    def __init__(self, path: str | os.PathLike[str], start: int, end: int | None, total: int) -> None:
        self.start = start
        self.total = total
        self.range_ignored = False
        self._fh = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._fh.seek(start)
        self._left = None if end is None else end + 1 - start

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while not self._fh.closed:
            want = chunk_size if self._left is None else min(chunk_size, self._left)
            if want <= 0:
                return
            chunk = self._fh.read(want)
            if not chunk:
                return
            if self._left is not None:
                self._left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._fh.close()


class FileSource:
    """A blob on local disk (a downloaded layer, an OCI layout)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path
        self.size: int | None = os.path.getsize(path)

    def open(self, start: int = 0, end: int | None = None) -> ByteStream:
        return _FileStream(self.path, start, end, self.size or 0)
