"""The path index `search` answers from, one record per stored listing.

A record is the listing's paths joined by NUL (a byte no tar path holds), in
blocks of whole lines each zstd-compressed on its own (a fast level), plus
the same text lowercased when that differs (for case-blind substrings; the
same lines per block) and the entry sizes. A query inflates one block at a
time and runs `bytes.find` for a literal every match must contain
(PathMatcher.required), then checks each candidate line with the real
matcher, so the answer is the old decode-every-listing answer exactly, at
memory speed (2M paths: about 130 MB of text). A case-blind match reads the
paths themselves only in the blocks that matched.

Measured against SQLite FTS5 (trigram) and a plain paths table with
LIKE/GLOB on 2M paths (benchmarks/README.md has the figures): FTS5 answered
rare trigrams at once but took minutes and ~700 MB to store them and
seconds for a short needle; a table scan with LIKE/GLOB took ~0.8-2 s per
query and ~10 s to store. This costs about 30% on top of encoding the
listing and a few MB per million paths.

Paths are text as the scanner decoded them (surrogateescape); they are
encoded with surrogatepass, a prefix-free code point by code point encoding,
so a substring of the text is a substring of the bytes and nothing else is.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import zstandard

from layerslayer_tui.columns import Entries
from layerslayer_tui.entry import TarEntry

__all__ = ["IndexRecord", "build", "scan"]

_LEVEL = -1  # a fast level: inflating is half the CPU of level 1 for about the same size here (5 vs 4 MiB on 2M paths)
_SEP = "\0"
_PATH = attrgetter("path")
_SIZE = attrgetter("size")


@dataclass(frozen=True, slots=True)
class IndexRecord:
    paths: bytes | None  # blocks (see _blocks); None: a path holds NUL, so the listing itself is searched
    folded: bytes | None  # the lowercased text in blocks of the same lines; None: it is the text itself
    sizes: bytes


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


# A text is stored in blocks of whole lines (about _BLOCK bytes each), each its
# own zstd frame: a scan holds one block at a time, and a case-blind match reads
# only the blocks of the paths themselves that matched. Layout: b"B1", u32 n,
# n u64 first line numbers, n u64 frame ends, the frames.
_BLOCK = 256 * 1024
_MAGIC = b"B1"


def _cuts(raw: bytes) -> list[int]:
    """Where each block starts: line starts about _BLOCK bytes apart."""
    cuts, pos = [0], 0
    while True:
        nul = raw.find(b"\0", pos + _BLOCK)
        if nul < 0:
            return cuts
        pos = nul + 1
        cuts.append(pos)


def _blocks(raw: bytes, cuts: list[int], firsts: list[int], comp: zstandard.ZstdCompressor) -> bytes:
    frames = [comp.compress(raw[a:b]) for a, b in zip(cuts, cuts[1:] + [len(raw)])]
    ends, at = array("Q"), 0
    for f in frames:
        at += len(f)
        ends.append(at)
    return b"".join([_MAGIC, len(frames).to_bytes(4, "little"), array("Q", firsts).tobytes(), ends.tobytes(), *frames])


def _unblock(blob: bytes) -> tuple[list[int], list[bytes]]:
    """(first line number, frame) of each block."""
    if blob[:2] != _MAGIC:
        raise ValueError("not a block record")
    n = int.from_bytes(blob[2:6], "little")
    firsts, ends = array("Q"), array("Q")
    firsts.frombytes(blob[6: 6 + 8 * n])
    ends.frombytes(blob[6 + 8 * n: 6 + 16 * n])
    base = 6 + 16 * n
    starts = [0, *ends[:-1]]
    frames = [blob[base + a: base + b] for a, b in zip(starts, ends)]
    if len(frames) != n or (n and base + ends[-1] != len(blob)):
        raise ValueError("a block record is cut short")
    return list(firsts), frames


def build(entries: Sequence[TarEntry]) -> IndexRecord:
    comp = zstandard.ZstdCompressor(level=_LEVEL)
    if isinstance(entries, Entries):  # the columns as they are: no entry object made
        sizes = comp.compress(array("q", entries.column("size")).tobytes())
        text = _SEP.join(entries.paths)
    else:
        sizes = comp.compress(array("q", map(_SIZE, entries)).tobytes())
        text = _SEP.join(map(_PATH, entries))
    if text.count(_SEP) != max(len(entries) - 1, 0):
        return IndexRecord(None, None, sizes)  # a path holds NUL
    # str.lower maps each character on its own (final sigma aside, whose rule
    # treats NUL like the end of a string) and never yields NUL, so the
    # lowercased text still has one line per entry, each that path lowercased.
    raw = _encode(text)
    cuts = _cuts(raw)
    firsts = [0]
    for a, b in zip(cuts, cuts[1:]):
        firsts.append(firsts[-1] + raw.count(b"\0", a, b))
    folded = None
    low = text.lower()
    if low != text:
        # The same lines per block. ASCII text lowercases byte for byte, so the
        # cuts are where they were; otherwise a few characters change length.
        lraw = _encode(low)
        if text.isascii():
            lcuts = cuts
        else:
            lcuts = [0]
            for i, first in enumerate(firsts[1:]):
                lcuts.append(_nth_line_start(lraw, first, lcuts[-1], firsts[i]))
        folded = _blocks(lraw, lcuts, firsts, comp)
    return IndexRecord(_blocks(raw, cuts, firsts, comp), folded, sizes)


def _nth_line_start(text: bytes, line: int, pos: int, at_line: int) -> int:
    """Offset where `line` starts, counting from offset `pos`, which starts `at_line`."""
    while at_line < line:
        pos = text.index(b"\0", pos) + 1
        at_line += 1
    return pos


def _lines_with(text: bytes, needle: bytes) -> list[tuple[int, int]]:
    """(line number, offset where it starts) of each NUL-separated line of
    `text` that contains `needle`, ascending."""
    out: list[tuple[int, int]] = []
    line, pos = 0, 0  # pos: where `line` starts
    i = text.find(needle)
    while i >= 0:
        skipped = text.count(b"\0", pos, i)
        if skipped:
            line += skipped
            pos = text.rfind(b"\0", pos, i) + 1
        out.append((line, pos))
        end = text.find(b"\0", i + len(needle))
        if end < 0:
            break
        line, pos = line + 1, end + 1
        i = text.find(needle, pos)
    return out


def scan(record: IndexRecord, needle: str, fold: bool, keep: Callable[[str], bool]) -> list[tuple[int, str, int]]:
    """(entry number, path, size) of the entries whose path passes `keep`,
    ascending. `needle` is a substring every such path holds (in the
    lowercased path when `fold`); "" when there is none, and every path is
    then checked."""
    if record.paths is None:
        raise ValueError("this listing has no path index")
    if _SEP in needle:
        return []  # no indexed path holds NUL
    d = zstandard.ZstdDecompressor()
    firsts, frames = _unblock(record.paths)
    folded = fold and record.folded is not None
    hay_frames = _unblock(record.folded)[1] if folded else frames  # type: ignore[arg-type]
    if len(hay_frames) != len(frames):
        raise ValueError("the folded text has other blocks than the text")
    want = _encode(needle)
    hits: list[tuple[int, str]] = []
    for first, frame, hay_frame in zip(firsts, frames, hay_frames):
        hay = d.decompress(hay_frame)
        if not want:
            hits.extend((first + n, p) for n, p in enumerate(_decode(hay).split(_SEP)) if keep(p))
            continue
        candidates = _lines_with(hay, want)
        if not candidates:
            continue
        if not folded:
            for n, start in candidates:
                end = hay.find(b"\0", start)
                p = _decode(hay[start: end if end >= 0 else len(hay)])
                if keep(p):
                    hits.append((first + n, p))
        else:
            lines = d.decompress(frame).split(b"\0")  # the paths themselves, of this block only
            for n, _ in candidates:
                p = _decode(lines[n])
                if keep(p):
                    hits.append((first + n, p))
    if not hits:
        return []
    sizes = array("q")
    sizes.frombytes(d.decompress(record.sizes))
    return [(n, p, sizes[n]) for n, p in hits]
