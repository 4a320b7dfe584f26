"""Complete listings from a layer's own file index (eStargz TOC, zstd:chunked manifest).

`read_index` decides from the descriptor's annotations, or failing those from
the blob's footer, whether the layer carries an index; if so it fetches only
the footer and the index with closed Range reads and maps the index entries to
TarEntry. It never raises for a bad index: the result then carries a
`fallback_reason` sentence and the caller streams the layer instead.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import json
import re
from dataclasses import dataclass, field

from layerslayer_tui.entry import EntryBatch, EntryType, ListingProgress, SourceKind, TarEntry
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.fs.paths import tar_name as normalise  # the one name rule (see fs/paths.py)
from layerslayer_tui.peek import estargz, zstdchunked
from layerslayer_tui.peek.source import ByteSource
from layerslayer_tui.units import human_size

ESTARGZ = "estargz index"
ZSTD_CHUNKED = "zstd:chunked index"
_LABELS = {ESTARGZ: "eStargz index", ZSTD_CHUNKED: "zstd:chunked index"}

MAX_INDEX_BYTES = 64 * 1024 * 1024  # compressed and decompressed caps on an index
# With a TOC-digest annotation the layer is known to be eStargz, so the first
# read takes a tail this long: small TOCs then arrive in the same request.
ESTARGZ_TAIL = 16 * 1024
_FOOTER_PROBE = max(estargz.FOOTER_SIZE, zstdchunked.FOOTER_PROBE)

_TYPES = {
    "reg": EntryType.FILE,
    "dir": EntryType.DIR,
    "symlink": EntryType.SYMLINK,
    "hardlink": EntryType.HARDLINK,
    "char": EntryType.CHAR,
    "block": EntryType.BLOCK,
    "fifo": EntryType.FIFO,
}
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d{1,9})?(?:([Zz])|([+-])(\d\d):(\d\d))")


@dataclass(slots=True)
class IndexListing:
    """What an index gave: the complete listing, or why it could not be used."""

    source: str  # ESTARGZ or ZSTD_CHUNKED
    entries: list[TarEntry] = field(default_factory=list)
    bytes_read: int = 0  # blob bytes received for footer and index
    requests: int = 0
    hidden: int = 0  # converter artefacts in the layer tar (landmarks, the TOC file): counted, not listed
    hidden_paths: list[str] = field(default_factory=list)
    toc_digest: str | None = None  # eStargz: sha256 of the TOC JSON; zstd:chunked: of the compressed manifest
    verified: bool = False  # the index matched the digest the descriptor's annotation promised
    layer_size: int | None = None
    layer_digest: str | None = None
    fallback_reason: str | None = None  # set when the index is unusable; entries are then empty

    @property
    def ok(self) -> bool:
        return self.fallback_reason is None

    @property
    def note(self) -> str:
        """The status line: 'complete (from eStargz index, 9.8 KiB read)' or the fallback reason."""
        if self.fallback_reason is not None:
            return self.fallback_reason
        return f"complete (from {_LABELS[self.source]}, {human_size(self.bytes_read)} read)"

    def progress(self) -> ListingProgress:
        # verified stays False: the index was checked, the layer's bytes were not.
        return ListingProgress(
            compressed_read=self.bytes_read,
            layer_size=self.layer_size,
            entries=len(self.entries),
            complete=self.ok,
            source=self.source,
            note=self.note,
            kind=SourceKind.INDEX,
        )

    def batch(self) -> EntryBatch:
        return EntryBatch(list(self.entries), self.progress())


class _Unusable(Exception):
    """The index cannot be used; the message is the fallback sentence."""


def read_index(
    source: ByteSource,
    *,
    size: int | None,
    annotations: dict[str, str] | None,
    media_type: str | None = None,
    digest: str | None = None,
) -> IndexListing | None:
    """The complete listing from the layer's index, None when the layer has none.

    A layer that announces an index (or whose footer shows one) but whose index
    cannot be used gives an IndexListing with `fallback_reason` set.
    """
    annotations = annotations or {}
    size = size if size is not None else source.size
    media = (media_type or "").lower()
    if "encrypted" in media or "foreign" in media or "nondistributable" in media:
        return None
    reader = _Reader(source)
    toc_digest = annotations.get(estargz.TOC_DIGEST_ANNOTATION)
    position, checksum = zstdchunked.annotated(annotations)
    tail: bytes | None = None
    if toc_digest is not None:
        kind = ESTARGZ
    elif position is not None:
        kind = ZSTD_CHUNKED
    else:
        found = _probe_footer(reader, size, media)
        if found is None:
            return None
        kind, tail = found
    listing = IndexListing(kind, layer_size=size, layer_digest=digest)
    try:
        if kind == ESTARGZ:
            _estargz(reader, listing, size, toc_digest.strip() if toc_digest is not None else None, tail)
        else:
            where = zstdchunked.parse_position(position) if position is not None else None
            if where is None:
                where = zstdchunked.parse_footer(tail or b"")
            if where is None:
                raise _Unusable("the layer does not end with a zstd:chunked footer")
            _zstd(reader, listing, size, where, checksum)
    except (_Unusable, LayerslayerError) as exc:
        # LayerslayerError covers a malformed index (LayerFormatError) and network or
        # protocol trouble, which the streaming reader will meet again and report.
        listing.entries = []
        listing.hidden, listing.hidden_paths = 0, []
        listing.fallback_reason = _fallback_sentence(kind, str(exc))
    listing.bytes_read, listing.requests = reader.bytes_read, reader.requests
    return listing


def _fallback_sentence(kind: str, why: str) -> str:
    # `why` is an error's own sentence, so it fits inside this one lower-cased
    # (unless it starts with an acronym such as "HTTP").
    why = why.strip().rstrip(".")
    if why[1:2].islower():
        why = why[0].lower() + why[1:]
    return f"The layer's {_LABELS[kind]} could not be used ({why}); listing it by streaming instead."


class _Reader:
    """Closed-range reads that count bytes and give up on servers ignoring Range."""

    def __init__(self, source: ByteSource) -> None:
        self.source = source
        self.bytes_read = 0
        self.requests = 0

    def read(self, start: int, end: int) -> bytes:
        want = end - start + 1
        self.requests += 1
        try:
            stream = self.source.open(start, end)
        except OSError as exc:
            raise _Unusable(f"reading bytes {start}-{end} failed: {exc}") from None
        try:
            if stream.range_ignored or stream.start != start:
                raise _Unusable("the registry ignored the Range request")
            buf = bytearray()
            for chunk in stream.iter_chunks():
                take = chunk[: want - len(buf)]
                buf += take
                self.bytes_read += len(take)
                if len(buf) >= want:
                    break
        except OSError as exc:
            raise _Unusable(f"reading bytes {start}-{end} failed: {exc}") from None
        finally:
            stream.close()
        if len(buf) < want:
            raise _Unusable(f"the registry sent {len(buf)} of the {want} bytes asked for")
        return bytes(buf)


def _probe_footer(reader: _Reader, size: int | None, media: str) -> tuple[str, bytes] | None:
    if not size:
        return None
    gzip_ok = "zstd" not in media
    zstd_ok = "gzip" not in media
    tail_len = min(size, _FOOTER_PROBE)
    try:
        tail = reader.read(size - tail_len, size - 1)
    except (_Unusable, LayerslayerError):
        return None  # nothing announced an index, so there is nothing to fall back from
    if gzip_ok and estargz.parse_footer(tail) is not None:
        return ESTARGZ, tail
    if zstd_ok and zstdchunked.parse_footer(tail) is not None:
        return ZSTD_CHUNKED, tail
    return None


def _estargz(reader: _Reader, listing: IndexListing, size: int | None, expected: str | None, tail: bytes | None) -> None:
    if expected is not None and not _DIGEST.fullmatch(expected):
        raise _Unusable(f"the TOC digest annotation {expected[:80]!r} is not a sha256 digest")
    if not size:
        raise _Unusable("the layer size is unknown, so its footer cannot be found")
    tail_start = size - len(tail) if tail is not None else max(0, size - ESTARGZ_TAIL)
    if tail is None:
        tail = reader.read(tail_start, size - 1)
    footer = estargz.parse_footer(tail)
    if footer is None:
        raise _Unusable("the layer does not end with an eStargz footer")
    toc_offset, footer_len = footer
    toc_end = size - footer_len  # exclusive
    if not 0 <= toc_offset < toc_end:
        raise _Unusable(f"the footer points at byte {toc_offset}, outside the layer")
    if toc_end - toc_offset > MAX_INDEX_BYTES:
        raise _Unusable(f"the TOC is larger than the {MAX_INDEX_BYTES // (1024 * 1024)} MiB limit")
    if toc_offset >= tail_start:
        member = tail[toc_offset - tail_start : toc_end - tail_start]
    else:  # fetch only the part of the TOC the tail did not hold
        member = reader.read(toc_offset, tail_start - 1) + tail[: toc_end - tail_start]
    document = estargz.toc_json(member, cap=MAX_INDEX_BYTES)
    found = "sha256:" + hashlib.sha256(document).hexdigest()
    listing.toc_digest = found
    if expected is not None:
        if found != expected:
            raise _Unusable(f"the TOC digest {found[:19]}… does not match the annotation {expected[:19]}…")
        listing.verified = True
    listing.entries, listing.hidden_paths = _entries(document, estargz.HIDDEN_NAMES)
    if estargz.TOC_NAME not in listing.hidden_paths:
        listing.hidden_paths.append(estargz.TOC_NAME)  # in the tar only, never in the TOC itself
    listing.hidden = len(listing.hidden_paths)


def _zstd(
    reader: _Reader, listing: IndexListing, size: int | None, where: zstdchunked.Position, checksum: str | None
) -> None:
    if checksum is not None and not _DIGEST.fullmatch(checksum.strip()):
        raise _Unusable(f"the manifest checksum annotation {checksum[:80]!r} is not a sha256 digest")
    if where.kind != zstdchunked.MANIFEST_TYPE_CRFS:
        raise _Unusable(f"the manifest has type {where.kind}, not the JSON file list")
    if where.length <= 0 or where.length > MAX_INDEX_BYTES or where.uncompressed > MAX_INDEX_BYTES:
        raise _Unusable(f"the manifest size ({where.length} bytes, {where.uncompressed} unpacked) is out of bounds")
    if size is not None and where.offset + where.length > size:
        raise _Unusable(f"the manifest position {where.offset}+{where.length} lies past the layer's end")
    compressed = reader.read(where.offset, where.offset + where.length - 1)
    found = "sha256:" + hashlib.sha256(compressed).hexdigest()
    listing.toc_digest = found
    if checksum is not None:
        if found != checksum.strip():
            raise _Unusable(f"the manifest checksum {found[:19]}… does not match the annotation")
        listing.verified = True
    document = zstdchunked.manifest_json(compressed, expected=where.uncompressed, cap=MAX_INDEX_BYTES)
    listing.entries, listing.hidden_paths = _entries(document, frozenset())
    listing.hidden = len(listing.hidden_paths)


def _entries(document: bytes, hidden_names: frozenset[str]) -> tuple[list[TarEntry], list[str]]:
    try:
        toc = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Unusable(f"the index is not valid JSON ({exc})") from None
    except RecursionError:
        raise _Unusable("the index nests its JSON too deeply") from None
    if not isinstance(toc, dict) or not isinstance(toc.get("entries"), list):
        raise _Unusable("the index has no entry list")
    if toc.get("version") != 1:
        raise _Unusable(f"the index has version {toc.get('version')!r}, not 1")
    entries: list[TarEntry] = []
    hidden: list[str] = []
    last: TarEntry | None = None
    times: dict[str, float] = {}  # layers share a handful of modtime strings
    for number, raw in enumerate(toc["entries"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("type"), str):
            raise _Unusable(f"index entry {number} has no name or type")
        path = normalise(raw["name"])
        if raw["type"] == "chunk":
            # Later pieces of a big file: the file's own entry already has its size.
            if last is not None and last.path == path and last.extra is not None:
                last.extra["chunks"] = int(last.extra.get("chunks", 1)) + 1  # type: ignore[call-overload]
                _add_chunk(last, raw, number)
            continue
        kind = _TYPES.get(raw["type"])
        if kind is None:
            raise _Unusable(f"index entry {number} has the unknown type {raw['type'][:40]!r}")
        if path in hidden_names:
            hidden.append(path)
            last = None
            continue
        if not path:
            last = None
            continue  # the archive root ("./") is not a file of the layer
        last = _entry(raw, path, kind, number, times)
        if kind is EntryType.FILE and last.size > 0:
            _add_chunk(last, raw, number)
        entries.append(last)
    _chunk_ends(entries)
    return entries, hidden


def _add_chunk(entry: TarEntry, raw: dict, number: int) -> None:
    """Where a file's content lies in the blob (peek/randomaccess.py reads it
    from there): extra["toc"] = [[offset, end or -1, chunkOffset, chunkSize, chunkDigest or ""]...]."""
    assert entry.extra is not None
    offset = raw.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        if "toc" in entry.extra:
            entry.extra["toc"] = []  # a chunk without a place: the file is streamed instead
        return
    end = raw.get("endOffset")
    end = end if isinstance(end, int) and not isinstance(end, bool) and end > offset else -1
    chunk_offset = raw.get("chunkOffset", 0)
    chunk_size = raw.get("chunkSize") or (entry.size - chunk_offset if isinstance(chunk_offset, int) else 0)
    digest = raw.get("chunkDigest") if isinstance(raw.get("chunkDigest"), str) else ""
    if not isinstance(chunk_offset, int) or not isinstance(chunk_size, int) or chunk_offset < 0 or chunk_size <= 0:
        entry.extra["toc"] = []
        return
    entry.extra.setdefault("toc", []).append([offset, end, chunk_offset, chunk_size, digest])  # type: ignore[union-attr]


def _chunk_ends(entries: list[TarEntry]) -> None:
    """eStargz gives no end offsets: a chunk's gzip member ends where the next
    recorded offset begins (-1 stays for the last one: read to the blob's end)."""
    starts = sorted({c[0] for e in entries if e.extra and e.extra.get("toc") for c in e.extra["toc"]})  # type: ignore[union-attr]
    if not starts:
        return
    import bisect

    for e in entries:
        for chunk in (e.extra or {}).get("toc", ()):  # type: ignore[union-attr]
            if chunk[1] == -1:
                i = bisect.bisect_right(starts, chunk[0])
                chunk[1] = starts[i] if i < len(starts) else -1


def _entry(raw: dict, path: str, kind: EntryType, number: int, times: dict[str, float]) -> TarEntry:
    link = raw.get("linkName") or None
    if link is not None and not isinstance(link, str):
        raise _Unusable(f"index entry {number} has a link target that is not text")
    if kind is EntryType.HARDLINK and link is not None:
        link = normalise(link)
    xattrs = raw.get("xattrs")
    modtime = raw.get("modtime")
    mtime = times.get(modtime) if isinstance(modtime, str) else None
    if mtime is None:
        mtime = _mtime(modtime, number)
        if isinstance(modtime, str):
            times[modtime] = mtime
    extra: dict[str, object] = {}
    if isinstance(raw.get("digest"), str):
        extra["digest"] = raw["digest"]
    if kind is EntryType.FILE:
        extra["chunks"] = 1
    return TarEntry(
        path=path,
        type=kind,
        size=_number(raw, "size", number) if kind is EntryType.FILE else 0,
        mode=_number(raw, "mode", number) & 0o7777,
        uid=_number(raw, "uid", number),
        gid=_number(raw, "gid", number),
        uname=_text(raw, "userName", number),
        gname=_text(raw, "groupName", number),
        mtime=mtime,
        link=link,
        devmajor=_number(raw, "devMajor", number),
        devminor=_number(raw, "devMinor", number),
        xattrs=_xattrs(xattrs, number) if xattrs else None,
        extra=extra or None,
    )


def _number(raw: dict, key: str, number: int) -> int:
    value = raw.get(key, 0)
    if type(value) is int and 0 <= value < 1 << 63:
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 1 << 63:
        raise _Unusable(f"index entry {number} has an invalid {key}")
    return value


def _text(raw: dict, key: str, number: int) -> str:
    value = raw.get(key) or ""
    if not isinstance(value, str):
        raise _Unusable(f"index entry {number} has an invalid {key}")
    return value


def _xattrs(value: object, number: int) -> dict[str, str]:
    # Both formats store values base64-encoded (Go []byte in eStargz, explicit in zstd:chunked).
    if not isinstance(value, dict):
        raise _Unusable(f"index entry {number} has invalid xattrs")
    out: dict[str, str] = {}
    for key, encoded in value.items():
        try:
            out[str(key)] = base64.b64decode(encoded, validate=True).decode("utf-8", "surrogateescape")
        except (ValueError, TypeError):
            raise _Unusable(f"index entry {number} has an xattr value that is not base64") from None
    return out


def _mtime(value: object, number: int) -> float:
    if value is None or value == "":
        return 0.0
    found = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise _Unusable(f"index entry {number} has an invalid modtime")
    year, month, day, hour, minute, second = (int(found.group(i)) for i in range(1, 7))
    if year <= 1:
        return 0.0  # Go's zero time: the producer had no time to record
    try:
        stamp = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except ValueError:  # month 13 and the like: timegm normalises days and hours, not months
        raise _Unusable(f"index entry {number} has an invalid modtime") from None
    if found.group(9):
        offset = int(found.group(10)) * 3600 + int(found.group(11)) * 60
        stamp -= offset if found.group(9) == "+" else -offset
    fraction = float(found.group(7)) if found.group(7) else 0.0
    return stamp + fraction


# -- checking an index against the layer's own bytes ----------------------------------


def hidden_names(source: str) -> frozenset[str]:
    """The converter artefacts an index listing of this kind leaves out (for listings
    read back from the cache, which do not carry `hidden_paths`)."""
    return estargz.HIDDEN_NAMES if source == ESTARGZ else frozenset()


@dataclass(frozen=True, slots=True)
class IndexCheck:
    """How an index listing compares with the streamed listing of the same layer."""

    source: str
    entries: int  # entries compared (the layer's, hidden ones left out)
    differing: tuple[str, ...]  # paths whose entries differ or exist on one side only, layer order first
    first: str  # what differs at the first such path, e.g. "etc/x size 10 in the index, 12 in the layer"

    @property
    def agree(self) -> bool:
        return not self.differing

    @property
    def note(self) -> str:
        label = _LABELS.get(self.source, self.source)
        if self.agree:
            return f"The {label} and the layer agree ({self.entries} entries)."
        count = len(self.differing)
        return f"The {label} and the layer differ: {count} path{'s' if count != 1 else ''} (first: {self.first})."


def _differences(indexed: TarEntry, layer: TarEntry) -> list[str]:
    """Field differences, leaving out what the producer does not record (an empty
    user/group name, Go's zero time) and what tar and index size differently
    (only regular files have a content size)."""
    out: list[str] = []
    if indexed.type is not layer.type:
        return [f"type {indexed.type.value} in the index, {layer.type.value} in the layer"]
    checks: list[tuple[str, object, object]] = [
        ("mode", oct(indexed.mode), oct(layer.mode)),
        ("uid", indexed.uid, layer.uid),
        ("gid", indexed.gid, layer.gid),
        ("link", indexed.link, layer.link),
    ]
    if indexed.type is EntryType.FILE:
        checks.insert(0, ("size", indexed.size, layer.size))
    if indexed.mtime:
        checks.append(("mtime", int(indexed.mtime), int(layer.mtime)))
    if indexed.uname:
        checks.append(("user", indexed.uname, layer.uname))
    if indexed.gname:
        checks.append(("group", indexed.gname, layer.gname))
    for name, mine, theirs in checks:
        if mine != theirs:
            if isinstance(mine, str | None) and name != "mode":
                mine, theirs = repr(mine), repr(theirs)  # names and links: quoted, so an empty one shows
            out.append(f"{name} {mine} in the index, {theirs} in the layer")
    return out


def compare(source: str, indexed: list[TarEntry], layer: list[TarEntry], hidden: frozenset[str] | set[str] | list[str] = ()) -> IndexCheck:
    """Compare an index listing with the streamed listing of the same layer, by path
    (a path listed twice counts as its last entry, as when the tar is unpacked)."""
    hidden = frozenset(hidden) | hidden_names(source)
    by_index = {e.path: e for e in indexed}
    by_layer = {e.path: e for e in layer if e.path not in hidden}
    differing: list[str] = []
    first = ""
    for path, theirs in by_layer.items():
        mine = by_index.get(path)
        found = ["only in the layer"] if mine is None else _differences(mine, theirs)
        if found:
            differing.append(path)
            first = first or f"{path} {found[0]}"
    for path in by_index:
        if path not in by_layer:
            differing.append(path)
            first = first or f"{path} only in the index"
    return IndexCheck(source, len(by_layer), tuple(differing), first)
