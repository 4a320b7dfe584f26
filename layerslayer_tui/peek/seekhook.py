"""The small hook that lets a streaming read record gzip access points
(peek/gzindex.py) without the reader knowing how.

A partial peek does not record (its 256 KiB hold no access point worth
keeping) but keeps its raw chunks, so that when the read continues to the
end (`continue_full`) the recorder still sees the blob from byte 0.
"""

from __future__ import annotations

from . import gzindex

HEAD_KEEP = 16 * 1024 * 1024  # raw bytes held back before recording starts; beyond this, no index
_GZIP_MAGIC = b"\x1f\x8b\x08"


class SeekRecording:
    def __init__(self, spacing: int | None = None) -> None:
        self.spacing = spacing or gzindex.DEFAULT_SPACING  # looked up now, so tests can set a small one
        self.recorder: gzindex.Recorder | None = None
        self._head: list[bytes] = []
        self._held = 0
        self._off = False  # not gzip, no libz, or too much was read before recording started
        self._wanted = False
        self._result: gzindex.SeekIndex | None = None

    def feed(self, chunk: bytes) -> None:
        if self.recorder is not None:
            self.recorder.feed(chunk)
        elif self._off:
            return
        elif self._wanted:
            self._head.append(chunk)
            self._begin()
        else:
            self._head.append(chunk)
            self._held += len(chunk)
            if self._held > HEAD_KEEP:
                self._head, self._off = [], True

    def off(self) -> None:
        """Never record: a read that keeps no access points (carve) need
        not hold its first 16 MiB of raw chunks for a recorder."""
        self._off = True
        self._head = []

    def start(self, size: int | None = None) -> None:
        """Record from now on (the read will go on to the end of the blob).
        A blob smaller than two spacings is not worth it: reading it from
        its start costs no more than from an access point."""
        if self._off or self.recorder is not None:
            return
        if size is not None and size < 2 * self.spacing:
            self._off = True
            self._head = []
            return
        self._wanted = True
        if self._head:
            self._begin()

    def _begin(self) -> None:
        head, self._head = self._head, []
        first = b"".join(head)[:3] if sum(map(len, head)) < 3 else head[0][:3]
        if len(first) < 3:
            self._head = head  # too few bytes to tell yet
            return
        if first != _GZIP_MAGIC or not gzindex.available():
            self._off = True
            return
        self.recorder = gzindex.Recorder(self.spacing)
        for chunk in head:
            self.recorder.feed(chunk)

    def finish(self, *, abandon: bool = False) -> gzindex.SeekIndex | None:
        """Stop the recorder (waiting for it to catch up unless `abandon`):
        an interrupted read keeps the access points of its prefix."""
        if self.recorder is None:
            return None  # not started: the head stays, a continued read may still record
        if self._result is None:
            self._result = self.recorder.abandon() if abandon else self.recorder.finish()
        return self._result
