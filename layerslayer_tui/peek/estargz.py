"""eStargz: the footer that points at the TOC, and the TOC member itself.

An eStargz blob is an ordinary multi-member gzip tar whose last 51 bytes are an
empty gzip member carrying the TOC offset in its extra field; the member at that
offset holds a tiny tar with one file, `stargz.index.json`. Everything here
works on bytes already fetched: index.py does the reading.
"""

from __future__ import annotations

import io
import re
import tarfile
import zlib

from layerslayer_tui.errors import LayerFormatError

TOC_DIGEST_ANNOTATION = "containerd.io/snapshot/stargz/toc.digest"
UNCOMPRESSED_SIZE_ANNOTATION = "io.containers.estargz.uncompressed-size"
TOC_NAME = "stargz.index.json"
FOOTER_SIZE = 51
LEGACY_FOOTER_SIZE = 47  # pre-"SG" stargz: the extra field is the bare offset text
# Files the converter adds to the layer tar; they are not the image's files.
HIDDEN_NAMES = frozenset({".prefetch.landmark", ".no.prefetch.landmark", TOC_NAME})

_OFFSET_TEXT = re.compile(rb"([0-9a-f]{16})STARGZ")


def parse_footer(tail: bytes) -> tuple[int, int] | None:
    """(TOC offset, footer length) when `tail` ends with an eStargz footer, else None."""
    if len(tail) >= FOOTER_SIZE:
        footer = tail[-FOOTER_SIZE:]
        # gzip header with FEXTRA, XLEN=26, subfield "SG" of length 22.
        if footer[:4] == b"\x1f\x8b\x08\x04" and footer[10:16] == b"\x1a\x00SG\x16\x00":
            found = _OFFSET_TEXT.fullmatch(footer[16:38])
            if found:
                return int(found.group(1), 16), FOOTER_SIZE
    if len(tail) >= LEGACY_FOOTER_SIZE:
        footer = tail[-LEGACY_FOOTER_SIZE:]
        if footer[:4] == b"\x1f\x8b\x08\x04" and footer[10:12] == b"\x16\x00":
            found = _OFFSET_TEXT.fullmatch(footer[12:34])
            if found:
                return int(found.group(1), 16), LEGACY_FOOTER_SIZE
    return None


def toc_json(member: bytes, *, cap: int) -> bytes:
    """The `stargz.index.json` bytes inside the TOC gzip member (at most `cap` bytes of tar)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        tar_bytes = inflater.decompress(member, cap + 1)
    except zlib.error as exc:
        raise LayerFormatError(f"The eStargz TOC is not valid gzip ({exc}).") from None
    if len(tar_bytes) > cap or inflater.unconsumed_tail:
        raise LayerFormatError(f"The eStargz TOC is larger than the {cap // (1024 * 1024)} MiB limit.")
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as archive:
            for member_info in archive:
                if member_info.name.removeprefix("./") == TOC_NAME and member_info.isfile():
                    handle = archive.extractfile(member_info)
                    if handle is not None:
                        return handle.read()
    except (tarfile.TarError, EOFError) as exc:
        raise LayerFormatError(f"The eStargz TOC member is not a readable tar ({exc}).") from None
    raise LayerFormatError(f"The eStargz TOC member holds no {TOC_NAME}.")
