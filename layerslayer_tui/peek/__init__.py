"""Bytes to entries: compression sniffing, streaming decompression, the tar
header scanner, partial and complete peeks, carving, and the index fast paths.
Takes a ByteSource; never speaks HTTP and never imports Textual."""

from __future__ import annotations

from .carve import DEFAULT_CAP, Carved, carve
from .decompress import check_media_type, decompressor, sniff
from .index import IndexListing, read_index
from .reader import DEFAULT_BUDGET, Peek, complete, listing, partial
from .scanner import TarScanner
from .source import ByteSource, ByteStream, BytesSource, FileSource

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_CAP",
    "ByteSource",
    "ByteStream",
    "BytesSource",
    "Carved",
    "FileSource",
    "IndexListing",
    "Peek",
    "TarScanner",
    "carve",
    "check_media_type",
    "complete",
    "decompressor",
    "listing",
    "partial",
    "read_index",
    "sniff",
]
