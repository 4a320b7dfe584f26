"""zstd:chunked: where the manifest lies, and how to unpack it.

The manifest (a JSON file list) sits in a zstd skippable frame near the end of
the blob; the layer descriptor's annotation gives its position, and a final
skippable frame ending in `GnUlInUx` repeats it for blobs that lost their
annotations. Everything here works on bytes already fetched: index.py reads.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import zstandard

from layerslayer_tui.errors import LayerFormatError

# skopeo 1.9 / containers-storage before 1.45 used the older prefix.
_PREFIXES = ("io.github.containers.zstd-chunked.", "io.containers.zstd-chunked.")
POSITION_ANNOTATIONS = tuple(p + "manifest-position" for p in _PREFIXES)
CHECKSUM_ANNOTATIONS = tuple(p + "manifest-checksum" for p in _PREFIXES)
MAGIC = b"GnUlInUx"  # sic: REGISTRY-NOTES spells it GNUlInUx, the producers write this
MANIFEST_TYPE_CRFS = 1  # the JSON manifest; other types are not file lists we know
# Footer frames: 8-byte skippable header + little-endian u64 fields + magic.
_FOOTER_LAYOUTS = ((7, 8 + 7 * 8 + 8), (4, 8 + 4 * 8 + 8))  # current (with tar-split), skopeo 1.9
FOOTER_PROBE = max(size for _, size in _FOOTER_LAYOUTS)


@dataclass(frozen=True, slots=True)
class Position:
    offset: int
    length: int  # compressed
    uncompressed: int
    kind: int


def annotated(annotations: dict[str, str]) -> tuple[str | None, str | None]:
    """(position text, checksum text) from either annotation prefix, newest first."""
    for position_key, checksum_key in zip(POSITION_ANNOTATIONS, CHECKSUM_ANNOTATIONS):
        if position_key in annotations:
            return annotations[position_key], annotations.get(checksum_key)
    return None, None


def parse_position(text: str) -> Position:
    parts = text.strip().split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise LayerFormatError(f"The zstd:chunked manifest position {text[:80]!r} is not offset:length:size:type.")
    return Position(*(int(p) for p in parts))


def _is_skippable(header: bytes, payload: int) -> bool:
    magic, size = struct.unpack("<II", header)
    return 0x184D2A50 <= magic <= 0x184D2A5F and size == payload


def parse_footer(tail: bytes) -> Position | None:
    """The manifest position from the footer frame at the end of `tail`, else None."""
    if not tail.endswith(MAGIC):
        return None
    for fields, frame in _FOOTER_LAYOUTS:
        if len(tail) >= frame and _is_skippable(tail[-frame : -frame + 8], frame - 8):
            values = struct.unpack(f"<{fields}Q", tail[-frame + 8 : -8])
            return Position(*values[:4])
    return None


def manifest_json(compressed: bytes, *, expected: int, cap: int) -> bytes:
    """Decompress the manifest frame, refusing more than `cap` bytes of output."""
    reader = zstandard.ZstdDecompressor().stream_reader(compressed, read_across_frames=True)
    out = bytearray()
    try:
        while len(out) <= cap:
            chunk = reader.read(min(1 << 20, cap + 1 - len(out)))
            if not chunk:
                break
            out += chunk
    except zstandard.ZstdError as exc:
        raise LayerFormatError(f"The zstd:chunked manifest is not valid zstd ({exc}).") from None
    if len(out) > cap:
        raise LayerFormatError(f"The zstd:chunked manifest is larger than the {cap // (1024 * 1024)} MiB limit.")
    if expected and len(out) != expected:
        raise LayerFormatError(
            f"the zstd:chunked manifest unpacks to {len(out)} bytes, not the {expected} its position promises."
        )
    return bytes(out)
