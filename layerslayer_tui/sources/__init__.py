"""Images that are not in a registry: OCI layouts, OCI and docker archives,
and the image stores of a Docker engine or Podman service.

Each source yields the registry's image model (ImageInfo, LayerInfo,
Descriptor, Platform) and a peek ByteSource per blob, so everything above
(session, peek, fs, cache, tui, cli) reads them like a registry image.

    src = open_source("oci-archive:app.tar:1")   # LocalSource
    src.platforms(); image = src.load(platform); src.blob_source(desc); src.close()
"""

from __future__ import annotations

import tempfile
from typing import IO, Protocol

from typing import TYPE_CHECKING

from ..errors import LayerFormatError, NotFoundError
from .ref import TRANSPORTS, AmbiguousImageError, SourceRef, is_local, parse_source

if TYPE_CHECKING:  # the readers are imported when a source is opened: the session imports this package at start-up
    from ..image import Descriptor, ImageInfo, Platform
    from .files import RegionSource, TarStore

__all__ = ["AmbiguousImageError", "LocalSource", "SourceRef", "TRANSPORTS", "is_local", "open_source", "parse_source"]


class LocalSource(Protocol):
    ref: SourceRef

    def platforms(self) -> list[Platform]: ...

    def load(self, platform: str | Platform | None = None) -> ImageInfo: ...

    def blob_source(self, desc: Descriptor) -> RegionSource: ...

    def close(self) -> None: ...


def _open_archive(path: str) -> IO[bytes]:
    """The archive's file, or, when it is gzip/zstd compressed as a whole
    (`docker save | gzip`), its decompressed copy in an unlinked temporary
    file: a compressed archive has no random access."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - owned by the TarStore
    except FileNotFoundError:
        raise NotFoundError(f"The file {path} does not exist.") from None
    except IsADirectoryError:
        raise NotFoundError(f"The path {path} is a directory, not an archive (use oci: for a layout directory).") from None
    except OSError as exc:
        raise NotFoundError(f"The file {path} cannot be opened ({exc.strerror}).") from None
    from ..peek.decompress import decompressor, sniff

    try:
        kind = sniff(fh.read(512), at_end=True)
    except LayerFormatError:
        kind = None  # not compressed; whether it is a tar is for the tar reader to say
    fh.seek(0)
    if kind not in ("gzip", "zstd"):
        return fh
    out = tempfile.TemporaryFile(prefix="layerslayer-archive-")
    try:
        dec = decompressor(out.write)
        while chunk := fh.read(1 << 20):
            dec.write(chunk)
        if not dec.finish():
            raise LayerFormatError(f"The compressed archive {path} is truncated.")
        out.flush()
    except BaseException:
        out.close()
        raise
    finally:
        fh.close()
    return out


def open_source(text: str | SourceRef, *, timeout: float = 60.0) -> LocalSource:
    """Open a local source named by `text` (see ref.py for the forms).
    Raises InvalidReferenceError, NotFoundError, ProtocolError, LayerFormatError."""
    from .docker_archive import DockerArchiveImage
    from .engine import ENGINES, export_image
    from .files import DirStore
    from .layout import LayoutImage

    ref = parse_source(text) if isinstance(text, str) else text
    if ref.transport == "oci":
        store = DirStore(ref.path)
        try:
            if not store.exists("index.json"):
                raise NotFoundError(f"The directory {ref.path} is not an OCI image layout: it has no index.json.")
        except BaseException:
            store.close()
            raise
        return LayoutImage(ref, store)
    if ref.transport in ENGINES:
        fh = export_image(ref.transport, ref.name or "", timeout=timeout)
        tar = _store(fh, f"{ref.transport}:{ref.name}")
        return DockerArchiveImage(ref, tar, what=f"the export of {ref.name} from {ENGINES[ref.transport]}", select=None)
    tar = _store(_open_archive(ref.path), ref.path)
    if ref.transport == "oci-archive":
        return LayoutImage(ref, tar)
    return DockerArchiveImage(ref, tar)


def _store(fh: IO[bytes], label: str) -> TarStore:
    from .files import TarStore

    try:
        return TarStore(fh, label)
    except BaseException:
        fh.close()
        raise
