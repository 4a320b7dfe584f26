"""A whole blob to a file: streamed, resumed by the blob stream after drops,
verified (size and digest) and only then renamed into place."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .. import atomic
from .. import digest as digests
from ..errors import ExportError, ProtocolError
from .blobs import BlobSource, verify_digest

CHUNK = 1 << 20


def download_blob(
    source: BlobSource,
    dest: Path,
    progress: Callable[[int, int | None], None] | None = None,
) -> Path:
    """Write the blob to `dest` (replacing it only once the bytes are verified)."""
    dest = Path(dest)
    h = digests.hasher(source.digest)  # BlobSource checked the digest already
    done = 0
    try:
        # Published only when the with-block ends cleanly: after the digest check.
        with atomic.writing(dest, "wb") as out:
            stream = source.open(0)
            try:
                for chunk in stream.iter_chunks(CHUNK):
                    h.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if source.size is not None and done > source.size:
                        raise ProtocolError(f"The registry sent more bytes than {source.what} holds.")
                    if progress is not None:
                        progress(done, source.size)
            finally:
                stream.close()
            verify_digest(h, source.digest, source.size, source.what, got_size=done)
    except atomic.TempFileError as exc:
        raise ExportError(f"Cannot write to {dest.parent}: {exc.strerror or exc}.") from None
    except OSError as exc:
        raise ExportError(f"Cannot write {dest}: {exc.strerror or exc}.") from None
    return dest
