"""The entry model shared by the layer reader (peek/) and the file model (fs/).

A TarEntry is one tar header as a plain value: the reader and the index (TOC)
readers produce them, the file model and the cache consume them. Whiteout
markers are NOT interpreted here: a `.wh.x` entry arrives as a regular file
named `.wh.x`, and fs/ gives it meaning.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class EntryType(str, enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"


@dataclass(slots=True)
class TarEntry:
    path: str  # as stored, less a leading "./" and a trailing "/" (fs.paths.tar_name); "" never appears
    type: EntryType
    size: int = 0  # content size in bytes (the real size for GNU sparse files)
    mode: int = 0  # permission bits incl. setuid/setgid/sticky (no file-type bits)
    uid: int = 0
    gid: int = 0
    uname: str = ""
    gname: str = ""
    mtime: float = 0.0  # seconds since the epoch, fractions kept from PAX
    link: str | None = None  # symlink target or hardlink target path (normalised for hardlinks)
    offset: int = -1  # uncompressed offset of the header in the layer tar; -1 when unknown (index listings)
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, str] | None = None
    extra: dict[str, object] | None = field(default=None)  # reader-specific facts (e.g. sparse, chunk digests)


class SourceKind(str, enum.Enum):
    """What a listing's entries were read from."""

    STREAM = "stream"  # the layer's own bytes, through the tar scanner
    INDEX = "index"  # the layer's index (eStargz TOC, zstd:chunked manifest): its bytes unchecked


@dataclass(slots=True)
class ListingProgress:
    """What a peek has read so far; sent with every batch of entries.

    Decide on the typed fields; `source` and `note` are words for people."""

    compressed_read: int = 0  # raw blob bytes consumed (from byte 0 of the blob)
    uncompressed_read: int = 0  # tar bytes decoded
    layer_size: int | None = None  # compressed blob size from the descriptor
    entries: int = 0  # entries yielded so far
    complete: bool = False  # the end of the archive was reached (or an index gave the full listing)
    verified: bool = False  # sha256 and size of the whole blob checked against the digest
    source: str = "stream"  # label: "stream", "estargz index", "zstd:chunked index"
    note: str = ""  # one plain sentence for the status line (e.g. "the registry ignored Range"); display only
    kind: SourceKind | None = None  # what the entries came from; None: from `source` (rows stored before it existed)
    cached: bool = False  # replayed from the local cache, not read just now
    # the whole blob was read and the listing is still not complete (the archive
    # ends early, or the bytes do not match the digest): reading again gets nothing more
    cut_short: bool = False
    index_agrees: bool | None = None  # an index listing checked against the layer's bytes: agreed? (None: no check)

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = SourceKind.STREAM if self.source == SourceKind.STREAM.value else SourceKind.INDEX


@dataclass(slots=True)
class EntryBatch:
    entries: list[TarEntry]
    progress: ListingProgress
