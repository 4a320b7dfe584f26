"""Local image sources named the way skopeo names them (containers/image
transports): `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
`docker-archive:FILE[:REF]`, `docker-daemon:REF`, `podman:REF`.

Like containers/image, the path ends at the first ':' after the transport,
so `docker-archive:app.tar:localhost:5000/app:1` names the image
`localhost:5000/app:1` in `app.tar`. `@N` instead of a name picks the N-th
image (0-based), as skopeo's `@source-index` does."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import InvalidReferenceError, LayerslayerError

FILE_TRANSPORTS = ("oci", "oci-archive", "docker-archive")
ENGINE_TRANSPORTS = ("docker-daemon", "podman")
TRANSPORTS = FILE_TRANSPORTS + ENGINE_TRANSPORTS


def is_local(text: str) -> bool:
    """True when `text` names one of the local transports (the prefix decides,
    so `oci:` never reaches the registry reference parser)."""
    head, colon, _ = text.strip().partition(":")
    return bool(colon) and head in TRANSPORTS


@dataclass(frozen=True, slots=True)
class SourceRef:
    transport: str  # one of TRANSPORTS
    path: str  # absolute path for file transports; "" for engines
    name: str | None  # tag / image reference / "@N"; None = the only image

    @property
    def index(self) -> int | None:
        """N of a `@N` name."""
        if self.name and self.name.startswith("@") and self.name[1:].isdigit():
            return int(self.name[1:])
        return None

    def with_name(self, name: str) -> SourceRef:
        return SourceRef(self.transport, self.path, name)

    def __str__(self) -> str:
        where = self.path if self.transport in FILE_TRANSPORTS else ""
        if self.transport in ENGINE_TRANSPORTS:
            return f"{self.transport}:{self.name}"
        return f"{self.transport}:{where}" + (f":{self.name}" if self.name else "")


def parse_source(text: str) -> SourceRef:
    """`transport:rest` -> SourceRef; raises InvalidReferenceError."""
    text = text.strip()
    transport, colon, rest = text.partition(":")
    if not colon or transport not in TRANSPORTS:
        raise InvalidReferenceError(f"'{text[:80]}' does not start with one of {', '.join(t + ':' for t in TRANSPORTS)}.")
    if transport in ENGINE_TRANSPORTS:
        if not rest:
            raise InvalidReferenceError(f"Name the image after '{transport}:', e.g. {transport}:alpine:latest.")
        return SourceRef(transport, "", rest)
    path, colon, name = rest.partition(":")
    if not path:
        raise InvalidReferenceError(f"Name the file or directory after '{transport}:', e.g. {transport}:./image{'.tar' if transport != 'oci' else ''}.")
    if colon and not name:
        raise InvalidReferenceError(f"'{text[:80]}' ends with ':' but names no image after it.")
    return SourceRef(transport, os.path.abspath(os.path.expanduser(path)), name or None)


class AmbiguousImageError(LayerslayerError):
    """The layout or archive holds several images and none was named.
    `choices` are full source references, one per image, to open instead
    (the TUI offers them in a picker, like platforms)."""

    def __init__(self, message: str, choices: list[str]) -> None:
        super().__init__(message)
        self.choices = choices
