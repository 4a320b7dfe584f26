"""Fuzz targets for every parser that meets untrusted bytes, shared by the short
Hypothesis run in the suite (tests/test_fuzz.py) and the long run
(benchmarks/fuzz.py, atheris).

Each target takes one `bytes` and drives a public parser with it. The contract:
it returns, or raises a LayerslayerError (one sentence for a person); any other
exception is a bug. Seeds are valid inputs of each kind, so mutations start
from something the parser accepts and reach past its first checks.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import zstandard
from fuzz_cache import check_blob, check_document  # the cache's own contract for its codecs

from layerslayer_tui import image_codec, listing_codec
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.peek import BytesSource, carve, estargz, zstdchunked
from layerslayer_tui.peek import index as peek_index
from layerslayer_tui.peek.decompress import StreamDecoder
from layerslayer_tui.peek.scanner import TarScanner
from layerslayer_tui.registry import history, manifests, platforms
from layerslayer_tui.image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform

MAX_OUTPUT = 32 * 1024 * 1024  # decoded bytes a single input may produce before we stop it

# -- seeds ----------------------------------------------------------------------


def _pax(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def _member(name: str, typeflag: bytes, data: bytes = b"", fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = typeflag
    info.size = len(data)
    info.mtime = 1_700_000_000
    return info.tobuf(format=fmt) + data + bytes(-len(data) % 512)


def _tarfile(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, pax_headers={"comment": "seed"} if fmt == tarfile.PAX_FORMAT else None) as tar:
        def add(name: str, kind: bytes, data: bytes = b"", **kw: object) -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data)
            info.mtime = 1_700_000_000.5 if fmt == tarfile.PAX_FORMAT else 1_700_000_000
            for key, value in kw.items():
                setattr(info, key, value)
            tar.addfile(info, io.BytesIO(data) if data else None)

        add("a", tarfile.REGTYPE, b"hello\n", uname="root", gname="wheel", uid=0, gid=0, mode=0o4755)
        add("dir/", tarfile.DIRTYPE)
        add("dir/link", tarfile.SYMTYPE, linkname="../a")
        add("dir/hard", tarfile.LNKTYPE, linkname="a")
        add("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3)
        add("fifo", tarfile.FIFOTYPE)
        add("long/" + "n" * 120 + "/file", tarfile.REGTYPE, b"x" * 700)
        if fmt == tarfile.PAX_FORMAT:
            info = tarfile.TarInfo("xattr")
            info.pax_headers = {"SCHILY.xattr.user.k": "v", "uid": "5000000", "mtime": "1.25"}
            tar.addfile(info)
    return buf.getvalue()


def _gnu_sparse() -> bytes:
    """An old GNU sparse ('S') member holding 'data' at 4096 of an 8192-byte file."""
    block = bytearray(_member("a", b"S", b"data" + bytes(508))[:512])
    block[124:136] = b"%011o\x00" % 512
    block[386:410] = b"%011o\x00" % 4096 + b"%011o\x00" % 4
    block[483:495] = b"%011o\x00" % 8192
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return bytes(block) + b"data" + bytes(508) + bytes(1024)


def _pax_sparse() -> bytes:
    sparse_map = b"1\n4096\n4\n"
    stored = sparse_map + bytes(-len(sparse_map) % 512) + b"data"
    records = _pax("GNU.sparse.major", "1") + _pax("GNU.sparse.minor", "0") + _pax("GNU.sparse.name", "a") + _pax(
        "GNU.sparse.realsize", "8192"
    )
    return _member("x", b"x", records) + _member("GNUSparseFile.0/a", b"0", stored) + bytes(1024)


def _global_pax() -> bytes:
    return (
        _member("g", b"g", _pax("SCHILY.xattr.user.g", "1") + _pax("mtime", "7"))
        + _member("x", b"x", _pax("SCHILY.xattr.user.own", "2") + _pax("path", "a"))
        + _member("ignored", b"0", b"body")
        + _member("L", b"L", b"b" * 200 + b"\x00")
        + _member("short", b"0")
        + bytes(1024)
    )


def _trim(tar: bytes) -> bytes:
    """tarfile pads to 10 KiB; small seeds fuzz faster. Two zero blocks stay."""
    while tar.endswith(bytes(512)):
        tar = tar[:-512]
    return tar + bytes(1024)


def tar_seeds() -> list[bytes]:
    return [
        _trim(_tarfile(tarfile.USTAR_FORMAT)),
        _trim(_tarfile(tarfile.GNU_FORMAT)),
        _trim(_tarfile(tarfile.PAX_FORMAT)),
        _gnu_sparse(),
        _pax_sparse(),
        _global_pax(),
    ]


def _skippable(payload: bytes) -> bytes:
    return struct.pack("<II", 0x184D2A50, len(payload)) + payload


def compressed_seeds() -> list[bytes]:
    tar = _trim(_tarfile(tarfile.PAX_FORMAT))
    z = zstandard.ZstdCompressor()
    return [
        gzip.compress(tar, mtime=0),
        gzip.compress(tar[:1024], mtime=0) + gzip.compress(tar[1024:], mtime=0) + bytes(16),
        z.compress(tar),
        _skippable(b"skip") + z.compress(tar[:1536]) + z.compress(tar[1536:]),
        tar[:2048],
    ]


def layer_seeds() -> list[bytes]:
    return tar_seeds() + compressed_seeds()[:3]


def _estargz_footer(offset: int) -> bytes:
    extra = b"SG\x16\x00" + b"%016xSTARGZ" % offset
    return b"\x1f\x8b\x08\x04" + bytes(6) + struct.pack("<H", len(extra)) + extra + b"\x01\x00\x00\xff\xff" + bytes(8)


TOC = {
    "version": 1,
    "entries": [
        {"name": "dir/", "type": "dir", "mode": 493, "modtime": "2023-11-14T22:13:20Z"},
        {
            "name": "dir/a",
            "type": "reg",
            "size": 6,
            "mode": 420,
            "uid": 0,
            "gid": 0,
            "userName": "root",
            "groupName": "root",
            "modtime": "2023-11-14T22:13:20.5+01:00",
            "digest": "sha256:" + "0" * 64,
            "xattrs": {"user.k": "dg=="},
        },
        {"name": "dir/a", "type": "chunk", "offset": 3},
        {"name": "dir/l", "type": "symlink", "linkName": "a"},
        {"name": "dir/h", "type": "hardlink", "linkName": "./dir/a"},
        {"name": "dev", "type": "char", "devMajor": 1, "devMinor": 3},
        {"name": ".prefetch.landmark", "type": "reg", "size": 1},
    ],
}


def estargz_blob(toc: bytes) -> bytes:
    body = gzip.compress(_member("dir/a", b"0", b"hello\n"), mtime=0)
    toc_tar = _member(estargz.TOC_NAME, b"0", toc) + bytes(1024)
    member = gzip.compress(toc_tar, mtime=0)
    return body + member + _estargz_footer(len(body))


def zstd_chunked_blob(manifest: bytes) -> bytes:
    z = zstandard.ZstdCompressor()
    body = z.compress(_member("dir/a", b"0", b"hello\n"))
    frame = z.compress(manifest)
    offset = len(body) + 8
    footer_fields = struct.pack("<7Q", offset, len(frame), len(manifest), 1, 0, 0, 0)
    return body + _skippable(frame) + struct.pack("<II", 0x184D2A50, 64) + footer_fields + zstdchunked.MAGIC


def index_seeds() -> list[bytes]:
    toc = json.dumps(TOC).encode()
    return [b"\x00" + estargz_blob(toc), b"\x00" + zstd_chunked_blob(toc), b"\x01" + zstd_chunked_blob(toc)]


def toc_seeds() -> list[bytes]:
    return [json.dumps(TOC).encode(), json.dumps({"version": 1, "entries": []}).encode()]


DIGEST = "sha256:" + "ab" * 32
MANIFEST = {
    "schemaVersion": 2,
    "mediaType": manifests.OCI_MANIFEST,
    "config": {"mediaType": manifests.OCI_CONFIG, "digest": DIGEST, "size": 100},
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": DIGEST,
            "size": 1234,
            "annotations": {"containerd.io/snapshot/stargz/toc.digest": DIGEST},
            "urls": ["https://example.invalid/x"],
        }
    ],
}
INDEX = {
    "schemaVersion": 2,
    "mediaType": manifests.OCI_INDEX,
    "manifests": [
        {
            "mediaType": manifests.OCI_MANIFEST,
            "digest": DIGEST,
            "size": 500,
            "platform": {"os": "linux", "architecture": "arm", "variant": "v7", "os.features": ["x"], "os.version": "1"},
        },
        {
            "mediaType": manifests.OCI_MANIFEST,
            "digest": DIGEST,
            "size": 500,
            "platform": {"os": "unknown", "architecture": "unknown"},
            "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
        },
    ],
}
CONFIG = {
    "architecture": "amd64",
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [DIGEST]},
    "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:x in / "},
        {"created_by": "|2 A=1 B=2 /bin/sh -c make # buildkit", "empty_layer": True},
        {"created_by": "RUN /bin/sh -c apt-get update", "comment": "buildkit.dockerfile.v0"},
    ],
}


def manifest_seeds() -> list[bytes]:
    docker = dict(MANIFEST, mediaType=manifests.DOCKER_MANIFEST)
    return [json.dumps(doc).encode() for doc in (MANIFEST, INDEX, docker, {"schemaVersion": 2, "manifests": []})]


def config_seeds() -> list[bytes]:
    return [json.dumps(CONFIG).encode()]


def _entries_for_codec() -> list[TarEntry]:
    return [
        TarEntry("a", EntryType.FILE, 6, 0o644, 0, 0, "root", "root", 1.5, None, 0),
        TarEntry("d", EntryType.DIR, 0, 0o755, 1, 2, "u", "g", 2.0, None, 1024),
        TarEntry("d/l", EntryType.SYMLINK, 0, 0o777, 0, 0, "root", "root", 3.0, "../a", 1536, xattrs={"user.k": "v"}),
        TarEntry("dev", EntryType.CHAR, 0, 0o600, 0, 0, "", "", 0.0, None, 2048, 1, 3, extra={"sparse": [[0, 1]]}),
    ]


def codec_raw(blob: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(blob)


def listing_seeds() -> list[bytes]:
    entries = _entries_for_codec()
    # Mode byte 0: the decompressed body (compressed again by the target, so
    # mutations reach the JSON header and the columns); 1: the stored blob.
    raw = codec_raw(listing_codec.encode_entries(entries))
    return [b"\x00" + raw, b"\x01" + listing_codec.encode_entries(entries), b"\x00" + codec_raw(listing_codec.encode_entries([]))]


def image_seeds() -> list[bytes]:
    desc = Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", DIGEST, 10, {"k": "v"}, ("u",), Platform("linux", "amd64"))
    step = HistoryStep(created_by="x", step="RUN x", created=None, comment=None, empty_layer=False)
    step.layer_index = 0
    info = ImageInfo(
        registry="127.0.0.1:5000",
        repository="r",
        reference="127.0.0.1:5000/r:t",
        manifest_digest=DIGEST,
        media_type=manifests.OCI_MANIFEST,
        config_digest=DIGEST,
        config=CONFIG,
        layers=[LayerInfo(index=0, descriptor=desc, diff_id=DIGEST, step=step)],
        history=[step],
        history_aligned=True,
        platform=Platform("linux", "amd64"),
        platforms=[Platform("linux", "arm64", "v8", "1", ("f",))],
        index_digest=None,
        tag="t",
    )
    return [
        b"\x00" + image_codec.image_to_json(info),
        b"\x01" + image_codec.platforms_to_json([Platform("linux", "arm", "v7"), Platform("windows", "amd64", None, "10", ())]),
    ]


def platform_seeds() -> list[bytes]:
    return [b"linux/amd64", b"linux/arm/v7", b"windows/amd64"]


# -- targets ----------------------------------------------------------------------


class _Enough(Exception):
    """Stops a decoder that has produced MAX_OUTPUT bytes: the input's job is done."""


def fuzz_scanner(data: bytes) -> None:
    if not data:
        return
    # Chunk boundaries anywhere, inside headers and records too.
    step = (3, 100, 511, 513, 4096, 1 << 20)[data[0] % 6]
    scanner = TarScanner()
    for i in range(1, len(data), step):
        for entry in scanner.feed(data[i : i + step]):
            assert entry.path and isinstance(entry.path, str)
            assert 0 <= entry.size <= 1 << 62
    scanner.end_of_stream()
    _ = scanner.warning


def fuzz_decompress(data: bytes) -> None:
    produced = 0

    def sink(piece: bytes) -> None:
        nonlocal produced
        produced += len(piece)
        if produced > MAX_OUTPUT:
            raise _Enough

    decoder = StreamDecoder(sink, use_isal=bool(data[:1]) and data[0] % 2 == 0)
    try:
        for i in range(0, len(data), 4096):
            decoder.write(data[i : i + 4096])
        decoder.finish()
    except _Enough:
        pass


_CARVE_DIR: Path | None = None


def fuzz_carve(data: bytes) -> None:
    """The whole read path: sniff, decode, scan, capture (sparse maps too),
    in memory or into a file."""
    global _CARVE_DIR
    if not data:
        return
    to_file = data[0] & 1
    layer = data[1:]
    if to_file:
        if _CARVE_DIR is None:
            _CARVE_DIR = Path(tempfile.mkdtemp(prefix="fuzz-carve-"))
        dest = _CARVE_DIR / "out"
        carve(BytesSource(layer), "a", dest=dest, max_save=MAX_OUTPUT)
        if dest.exists():
            dest.unlink()
    else:
        carve(BytesSource(layer), "a", cap=1 << 20)


def fuzz_manifest(data: bytes) -> None:
    manifest = manifests.parse_manifest(data, None, "the image")
    if manifest.is_index:
        for desc in manifests.index_entries(manifest, "the image"):
            platforms.is_attestation(desc)
            platforms.matches(Platform("linux", "arm"), desc.platform)
        platforms.choose(manifests.index_entries(manifest, "the image"), Platform("linux", "amd64"))
    else:
        manifests.image_parts(manifest, "the image")


def fuzz_config(data: bytes) -> None:
    """The config fields the client reads (history, platform); JSON itself is
    judged by the client (see fuzz_manifest for the same json.loads path)."""
    try:
        config = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(config, dict):
        return
    platforms.from_json(config)
    steps = history.steps_from_config(config)
    history.align(steps, 1)
    for step in steps:
        history.pretty_step(step.created_by)


def fuzz_platform(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    platforms.parse_platform(text)


def fuzz_estargz(data: bytes) -> None:
    estargz.parse_footer(data[-64:])
    estargz.toc_json(data, cap=1 << 20)


def fuzz_zstdchunked(data: bytes) -> None:
    zstdchunked.parse_footer(data[-80:])
    try:
        zstdchunked.parse_position(data[:64].decode("utf-8", "replace"))
    except LayerslayerError:
        pass
    zstdchunked.manifest_json(data, expected=0, cap=1 << 20)


def fuzz_index(data: bytes) -> None:
    """read_index never raises: a bad index is a fallback sentence."""
    if not data:
        return
    mode, blob = data[0] % 3, data[1:]
    annotations: dict[str, str] = {}
    if mode == 1:
        annotations[zstdchunked.POSITION_ANNOTATIONS[0]] = "%d:%d:%d:1" % (max(0, len(blob) - 200), 100, 1000)
    elif mode == 2:
        annotations[estargz.TOC_DIGEST_ANNOTATION] = "sha256:" + hashlib.sha256(blob).hexdigest()
    listing = peek_index.read_index(BytesSource(blob), size=len(blob), annotations=annotations)
    if listing is not None:
        assert listing.ok or listing.fallback_reason


def fuzz_toc_entries(data: bytes) -> None:
    """The TOC document itself (either format): its private errors are the
    fallback sentences read_index turns them into."""
    try:
        peek_index._entries(data, estargz.HIDDEN_NAMES)
    except peek_index._Unusable:
        pass


# The cache's decoders have the cache's own contract (Cache.get_decoded): any
# ordinary exception is a damaged row, dropped with one note; what decodes
# must hold values of exactly the right types. tests/fuzz_cache.py checks both.


def fuzz_listing_codec(data: bytes) -> None:
    if not data:
        return
    blob = zstandard.ZstdCompressor(level=1).compress(data[1:]) if data[0] % 2 == 0 else data[1:]
    check_blob(blob)


def fuzz_image_codec(data: bytes) -> None:
    if data:
        check_document(data[1:])


TARGETS: dict[str, tuple[Callable[[bytes], None], Callable[[], list[bytes]]]] = {
    "scanner": (fuzz_scanner, lambda: [b"\x00" + s for s in tar_seeds()] + [b"\x05" + s for s in tar_seeds()]),
    "decompress": (fuzz_decompress, compressed_seeds),
    "carve": (fuzz_carve, lambda: [b"\x00" + s for s in layer_seeds()] + [b"\x01" + s for s in layer_seeds()]),
    "manifest": (fuzz_manifest, manifest_seeds),
    "config": (fuzz_config, config_seeds),
    "platform": (fuzz_platform, platform_seeds),
    "estargz": (fuzz_estargz, lambda: [gzip.compress(_member(estargz.TOC_NAME, b"0", s) + bytes(1024)) for s in toc_seeds()]),
    "zstdchunked": (fuzz_zstdchunked, lambda: [zstandard.ZstdCompressor().compress(s) for s in toc_seeds()]),
    "index": (fuzz_index, index_seeds),
    "toc": (fuzz_toc_entries, toc_seeds),
    "listing_codec": (fuzz_listing_codec, listing_seeds),
    "image_codec": (fuzz_image_codec, image_seeds),
}


def run_one(name: str, data: bytes) -> BaseException | None:
    """Run target `name` on `data`; the contract-breaking exception, or None.
    (The codec targets catch the exceptions their contract allows themselves.)"""
    target = TARGETS[name][0]
    try:
        target(data)
    except LayerslayerError:
        return None
    except Exception as exc:  # noqa: BLE001 - anything else is what we hunt
        return exc
    return None


def check_seeds() -> None:
    """Every seed passes its own target (so mutations start from valid input)."""
    for name, (_target, seeds) in TARGETS.items():
        for seed in seeds():
            failure = run_one(name, seed)
            assert failure is None, (name, failure)



# -- Hypothesis strategies: valid seeds, then mutations ---------------------------

# Values that break parsers more often than random bytes do: octal and base-256
# extremes, huge and signed numbers, float specials, deep nesting, JSON punctuation.
TOKENS = (
    b"\x00",
    b"\xff" * 8,
    b"\x80" + b"\x00" * 7,
    b"77777777777",
    b"-1",
    b"9" * 30,
    b"1e400",
    b"nan",
    b"-0",
    b"\"",
    b"{}",
    b"[]",
    b"null",
    b"\\ud800",
    b"[" * 3000,
    b"{\"a\":" * 3000,
    b"\n",
    b"=",
    b"ustar\x0000",
    b"ustar  \x00",
    b"\x1f\x8b\x08",
    b"\x28\xb5\x2f\xfd",
)


def mutate(data: bytes, rng) -> bytes:
    """One structural mutation (the same kinds the Hypothesis strategy draws),
    for engines that mutate bytes blindly: tokens that break parsers, octal
    fields, slices copied elsewhere, deep JSON nesting after a colon."""
    out = bytearray(data)
    op = rng.randrange(5)
    pos = rng.randrange(len(out) + 1)
    if op == 0:
        token = rng.choice(TOKENS)
        out[pos : pos + len(token)] = token
    elif op == 1:
        out[pos : pos + 12] = b"%011o\x00" % rng.randrange(8**11)
    elif op == 2 and out:
        start = rng.randrange(len(out))
        out[pos:pos] = out[start : start + rng.randrange(1, 1024)]
    elif op == 3:
        colons = [i for i, c in enumerate(out) if c == 0x3A]
        if colons:
            at = rng.choice(colons) + 1
            out[at:at] = rng.choice((b"[" * 3000, b'{"a":' * 3000))
    else:
        del out[pos : pos + rng.randrange(1, 600)]
    return bytes(out)


def mutations(seeds: list[bytes]):  # -> SearchStrategy[bytes]
    from hypothesis import strategies as st

    @st.composite
    def build(draw) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 5))):
            op = draw(st.integers(0, 7))
            pos = draw(st.integers(0, len(data)))
            if op == 0 and pos < len(data):
                data[pos] ^= 1 << draw(st.integers(0, 7))
            elif op == 1:
                data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
            elif op == 2:
                del data[pos : pos + draw(st.integers(1, 600))]
            elif op == 3:
                token = draw(st.sampled_from(TOKENS))
                data[pos : pos + len(token)] = token
            elif op == 4:
                del data[pos:]
            elif op == 5:
                start = draw(st.integers(0, len(data)))
                data[pos:pos] = data[start : start + draw(st.integers(1, 1024))]
            elif op == 6:
                data[pos : pos + 12] = b"%011o\x00" % draw(st.integers(0, 8**11 - 1))
            else:  # deep nesting where a JSON value starts
                colons = [i for i, c in enumerate(data) if c == 0x3A]
                if colons:
                    at = draw(st.sampled_from(colons)) + 1
                    data[at:at] = draw(st.sampled_from((b"[" * 3000, b'{"a":' * 3000, b"[" * 900 + b"]" * 900)))
        return bytes(data)

    return build()


def json_mutations(docs: list[object], prefix: bytes = b""):  # -> SearchStrategy[bytes]
    """Valid documents with some values swapped for arbitrary JSON (types,
    sizes and shapes the parser did not expect)."""
    from hypothesis import strategies as st

    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)

    def paths(node: object, here: tuple = ()) -> list[tuple]:
        out = [here]
        if isinstance(node, dict):
            for key, value in node.items():
                out += paths(value, here + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                out += paths(value, here + (i,))
        return out

    @st.composite
    def build(draw) -> bytes:
        doc = json.loads(json.dumps(draw(st.sampled_from(docs))))
        for _ in range(draw(st.integers(1, 4))):
            where = draw(st.sampled_from(paths(doc)))
            if not where:
                doc = draw(values)
                continue
            parent = doc
            try:
                for step in where[:-1]:
                    parent = parent[step]
                parent[where[-1]] = draw(values)
            except (KeyError, IndexError, TypeError):
                pass
        return prefix + json.dumps(doc).encode()

    return build()


def strategy(name: str):  # -> SearchStrategy[bytes]
    """Byte mutations of the target's seeds, plus for JSON readers documents
    with values of the wrong type or shape."""
    from hypothesis import strategies as st

    seeds = TARGETS[name][1]()
    base = mutations(seeds)
    if name == "manifest":
        return base | json_mutations([MANIFEST, INDEX])
    if name == "config":
        return base | json_mutations([CONFIG])
    if name == "toc":
        return base | json_mutations([TOC])
    if name == "image_codec":
        docs = [json.loads(seed[1:]) for seed in image_seeds()]
        return base | json_mutations(docs[:1], b"\x00") | json_mutations(docs[1:], b"\x01")
    if name == "listing_codec":
        raw = listing_seeds()[0][1:]
        head_len = int.from_bytes(raw[:8], "big")
        head = json.loads(raw[8 : 8 + head_len])
        body = raw[8 + head_len :]

        @st.composite
        def codec(draw) -> bytes:
            doc = draw(json_mutations([head]))
            return b"\x00" + len(doc).to_bytes(8, "big") + doc + body

        return base | codec()
    if name == "index":
        @st.composite
        def with_toc(draw) -> bytes:
            doc = draw(json_mutations([TOC]))
            kind = draw(st.sampled_from([estargz_blob, zstd_chunked_blob]))
            return b"\x00" + kind(doc)

        return base | with_toc()
    return base
