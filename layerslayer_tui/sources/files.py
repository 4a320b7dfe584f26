"""Where local blobs live: a layout directory, or members of a tar archive.

Both stores hand out blobs by a path inside them and refuse anything that
would read outside: absolute paths and '..' components, symlinked
directories or blobs, link members of an archive, members that end past the
end of a truncated archive. A blob is a peek ByteSource: opening it at an
offset is a seek (os.pread on one descriptor for an archive, so a compressed
layer inside an uncompressed archive is read in place, never copied)."""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from collections.abc import Iterator
from typing import IO

from ..errors import LayerFormatError, NotFoundError, ProtocolError

CHUNK = 1 << 16
SMALL_CAP = 16 * 1024 * 1024  # index.json, manifest.json, manifests and configs
MAX_MEMBERS = 1_000_000
MAX_LINK_HOPS = 8


def clean_path(path: str, what: str) -> str:
    """A relative, normalised path inside the store; '..' and absolute paths
    are refused (the archive says where its parts are: it may lie)."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} names a file with an empty or invalid path.")
    if path.startswith("/") or ".." in path.split("/"):
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} names a file outside the archive ({path[:120]!r}); it is not read.")
    norm = posixpath.normpath(path)
    return "" if norm == "." else norm


class _PreadStream:
    """Bytes [start, end] of a region of an open file, read with os.pread."""

    def __init__(self, fd: int, base: int, size: int, start: int, end: int | None, own: bool) -> None:
        self.start = start
        self.total: int | None = size
        self.range_ignored = False
        self._fd = fd
        self._base = base
        self._pos = start
        self._stop = size if end is None else min(end + 1, size)
        self._own = own
        self._closed = False

    def iter_chunks(self, chunk_size: int = CHUNK) -> Iterator[bytes]:
        while not self._closed and self._pos < self._stop:
            want = min(chunk_size, self._stop - self._pos)
            chunk = os.pread(self._fd, want, self._base + self._pos)
            if not chunk:
                # The file shrank under us (or the archive was cut short).
                raise LayerFormatError("The local file ended before the blob did: it was truncated or changed while being read.")
            self._pos += len(chunk)
            yield chunk

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._own:
                os.close(self._fd)


class RegionSource:
    """A blob at [base, base+size) of a file (a ByteSource).

    `opener` returns a descriptor: a shared one (an archive's, owned by the
    store) or a fresh one per stream (a layout's blob file)."""

    def __init__(self, opener, base: int, size: int, *, digest: str, what: str, shared: bool) -> None:
        self._opener = opener
        self._base = base
        self.size: int | None = size
        self.digest = digest
        self.what = what
        self._shared = shared

    def open(self, start: int = 0, end: int | None = None) -> _PreadStream:
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad byte range {start}-{end}")
        assert self.size is not None
        if start > self.size:
            raise ProtocolError(f"The range from byte {start} lies past the end of {self.what} ({self.size} bytes).")
        return _PreadStream(self._opener(), self._base, self.size, start, end, own=not self._shared)

    def read_all(self, cap: int = SMALL_CAP) -> bytes:
        if self.size is not None and self.size > cap:
            raise ProtocolError(f"{self.what[:1].upper()}{self.what[1:]} is {self.size} bytes, more than the {cap} allowed.")
        stream = self.open(0)
        try:
            return b"".join(stream.iter_chunks(1 << 20))
        finally:
            stream.close()


class DirStore:
    """An OCI layout directory. Every component below the root is opened with
    O_NOFOLLOW relative to its parent, so a symlink anywhere under the root
    (a blob, blobs/, blobs/sha256/) is refused instead of followed."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.label = root
        try:
            self._root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            raise NotFoundError(f"The directory {root} does not exist.") from None
        except NotADirectoryError:
            raise NotFoundError(f"The path {root} is not a directory (an OCI layout is a directory; use oci-archive: for a tar file).") from None
        except OSError as exc:
            raise NotFoundError(f"The directory {root} cannot be opened ({exc.strerror}).") from None

    def _open_fd(self, rel: str) -> int:
        parts = rel.split("/")
        fd = self._root_fd
        opened: list[int] = []
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                flags = os.O_RDONLY | os.O_NOFOLLOW | (0 if last else os.O_DIRECTORY)
                try:
                    fd = os.open(part, flags, dir_fd=fd)
                except FileNotFoundError:
                    raise NotFoundError(f"The file {rel} is missing from the layout {self.root}.") from None
                except OSError as exc:
                    if os.path.islink(os.path.join(self.root, *parts[: i + 1])):
                        raise ProtocolError(f"The path {'/'.join(parts[: i + 1])} in the layout {self.root} is a symbolic link; it is not followed.") from None
                    raise NotFoundError(f"The file {rel} in the layout {self.root} cannot be opened ({exc.strerror}).") from None
                opened.append(fd)
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProtocolError(f"The path {rel} in the layout {self.root} is not a regular file.")
            opened.pop()  # the caller owns the last one
            return fd
        finally:
            for other in opened:
                os.close(other)

    def exists(self, rel: str) -> bool:
        try:
            os.close(self._open_fd(clean_path(rel, f"the layout {self.root}")))
        except (NotFoundError, ProtocolError):
            return False
        return True

    def source(self, rel: str, *, digest: str, what: str) -> RegionSource:
        rel = clean_path(rel, f"the layout {self.root}")
        fd = self._open_fd(rel)
        try:
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        return RegionSource(lambda: self._open_fd(rel), 0, size, digest=digest, what=what, shared=False)

    def close(self) -> None:
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1


class TarStore:
    """An uncompressed tar archive, indexed once (headers only). `fh` is kept
    open: every blob reads from it with pread, so replacing the file on disk
    meanwhile changes nothing, and a temporary file may already be unlinked."""

    def __init__(self, fh: IO[bytes], label: str) -> None:
        self.label = label
        self._fh = fh
        self._fd = fh.fileno()
        self._file_size = os.fstat(self._fd).st_size
        self.members: dict[str, tarfile.TarInfo] = {}
        fh.seek(0)
        try:
            with tarfile.open(fileobj=fh, mode="r:") as tf:
                for count, info in enumerate(tf):
                    if count >= MAX_MEMBERS:
                        raise LayerFormatError(f"The archive {label} holds more than {MAX_MEMBERS} files.")
                    name = posixpath.normpath(info.name.lstrip("/")) if info.name else ""
                    if name and name != "." and ".." not in name.split("/"):
                        self.members[name] = info
        except tarfile.ReadError as exc:
            if self.members:
                raise LayerFormatError(f"The archive {label} is truncated or damaged ({exc}).") from None
            raise LayerFormatError(f"The file {label} is not a tar archive, or is truncated ({exc}).") from None
        except (tarfile.TarError, EOFError) as exc:
            raise LayerFormatError(f"The archive {label} is truncated or damaged ({exc}).") from None

    def exists(self, rel: str) -> bool:
        return rel in self.members

    def _member(self, rel: str) -> tarfile.TarInfo:
        info = self.members.get(rel)
        hops = 0
        # skopeo and old docker save link duplicate layers to one file: links are
        # followed inside the archive, never out of it.
        while info is not None and (info.issym() or info.islnk()):
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise ProtocolError(f"The file {rel} in the archive {self.label} is a chain of more than {MAX_LINK_HOPS} links.")
            target = info.linkname
            if info.issym():
                target = posixpath.join(posixpath.dirname(posixpath.normpath(info.name.lstrip("/"))), target)
            if info.linkname.startswith("/") or posixpath.normpath(target).split("/")[0] == "..":
                raise ProtocolError(f"The file {rel} in the archive {self.label} is a link to {info.linkname[:120]!r}, outside the archive; it is not followed.")
            info = self.members.get(posixpath.normpath(target))
        if info is None:
            raise NotFoundError(f"The file {rel} is missing from the archive {self.label}.")
        if not info.isreg():
            raise ProtocolError(f"The path {rel} in the archive {self.label} is not a regular file.")
        if info.offset_data + info.size > self._file_size:
            raise LayerFormatError(f"The archive {self.label} is truncated: {rel} ends past the end of the file.")
        return info

    def source(self, rel: str, *, digest: str, what: str) -> RegionSource:
        rel = clean_path(rel, f"the archive {self.label}")
        info = self._member(rel)
        return RegionSource(lambda: self._fd, info.offset_data, info.size, digest=digest, what=what, shared=True)

    def close(self) -> None:
        self._fh.close()
