"""Hypothesis strategies and checks for the cache's row decoders, shared by
tests/test_security_cache.py (a short run) and benchmarks/fuzz_cache_rows.py
(a long one). A damaged row must either raise an ordinary Exception (the
cache then drops it) or decode to values of exactly the right types."""

from __future__ import annotations

import json

import zstandard
from hypothesis import strategies as st

from layerslayer_tui.columns import Entries
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.image_codec import image_from_json, image_to_json, platforms_from_json
from layerslayer_tui.listing_codec import decode_entries, encode_entries
from layerslayer_tui.image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform

_SAMPLE = [
    TarEntry("etc", EntryType.DIR, 0, 0o755, 0, 0, "root", "root", 1.0, None, 0),
    TarEntry("etc/passwd", EntryType.FILE, 12, 0o644, 0, 0, "root", "root", 2.5, None, 512,
             xattrs={"user.a": "b"}, extra={"sparse": [[0, 5]]}),
    TarEntry("etc/l", EntryType.SYMLINK, 0, 0o777, 1, 2, "u", "g", 3.0, "passwd", 1024),
    TarEntry("big", EntryType.FILE, 2**62, 0o644, 0, 0, "", "", 4.0, None, 1536),  # the largest size a header may hold
]

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _split(blob: bytes) -> tuple[dict, bytes]:
    raw = zstandard.ZstdDecompressor().decompress(blob)
    hlen = int.from_bytes(raw[:8], "big")
    return json.loads(raw[8 : 8 + hlen]), raw[8 + hlen :]


def _join(head: object, body: bytes) -> bytes:
    h = json.dumps(head).encode()
    return zstandard.ZstdCompressor().compress(len(h).to_bytes(8, "big") + h + body)


_HEAD, _BODY = _split(encode_entries(_SAMPLE))


@st.composite
def damaged_blobs(draw: st.DrawFn) -> bytes:
    """A real listing blob with header fields replaced, its body cut or
    garbled, or plain random bytes."""
    kind = draw(st.sampled_from(["field", "field", "field", "body", "bytes", "header"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "header":
        return _join(draw(_json), _BODY)
    head = json.loads(json.dumps(_HEAD))
    if kind == "body":
        cut = draw(st.integers(0, len(_BODY)))
        return _join(head, _BODY[:cut] + draw(st.binary(max_size=40)))
    for key in draw(st.lists(st.sampled_from(sorted(head)), min_size=1, max_size=3)):
        head[key] = draw(_json)
    return _join(head, _BODY)


_INT_FIELDS = ("size", "mode", "uid", "gid", "offset", "devmajor", "devminor")


def check_entries(entries: list | Entries) -> None:
    assert isinstance(entries, (list, Entries))
    for e in entries:
        assert isinstance(e, TarEntry) and type(e.path) is str and isinstance(e.type, EntryType)
        for name in _INT_FIELDS:
            assert type(getattr(e, name)) is int, (name, getattr(e, name))
        assert type(e.uname) is str and type(e.gname) is str and type(e.mtime) in (int, float)
        assert e.link is None or type(e.link) is str
        assert e.xattrs is None or (isinstance(e.xattrs, dict) and all(
            type(k) is str and type(v) is str for k, v in e.xattrs.items()))
        assert e.extra is None or isinstance(e.extra, dict)


def check_blob(blob: bytes) -> None:
    try:
        entries = decode_entries(blob)
    except Exception:  # noqa: BLE001 - any ordinary exception is a refusal the cache turns into a skip
        return
    check_entries(entries)


def _image() -> ImageInfo:
    plat = Platform("linux", "arm", "v7")
    step = HistoryStep("/bin/sh -c echo hi", "RUN echo hi", "2024-01-01T00:00:00Z", None, False, 0)
    d = "sha256:" + "1" * 64
    layer = LayerInfo(0, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d, 123, {"a": "b"}), d, step)
    return ImageInfo("localhost:5000", "x/y", "localhost:5000/x/y:1", d, "application/vnd.oci.image.manifest.v1+json",
                     d, {"architecture": "arm"}, [layer], [step], True, plat, [plat], d, "1")


_IMAGE = json.loads(image_to_json(_image()))


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


_IMAGE_PATHS = _paths(_IMAGE)


@st.composite
def damaged_documents(draw: st.DrawFn) -> bytes:
    """An image document with one value anywhere replaced, or any JSON."""
    if draw(st.booleans()):
        return json.dumps(draw(_json)).encode()
    doc = json.loads(json.dumps(_IMAGE))
    path = draw(st.sampled_from(_IMAGE_PATHS))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = draw(_json)
    return json.dumps(doc).encode()


def check_document(doc: bytes) -> None:
    try:
        info = image_from_json(doc)
    except Exception:  # noqa: BLE001 - a refusal
        info = None
    if info is not None:
        assert all(type(getattr(info, f)) is str for f in ("registry", "repository", "reference", "manifest_digest",
                                                           "media_type", "config_digest"))
        assert isinstance(info.config, dict) and type(info.history_aligned) is bool
        for li in info.layers:
            assert type(li.index) is int and type(li.size) is int and type(li.digest) is str
            assert type(li.media_type) is str and all(type(u) is str for u in li.descriptor.urls)
        for p in [*info.platforms, info.platform]:
            assert p is None or (type(p.os) is str and type(p.architecture) is str)
    try:
        platforms = platforms_from_json(doc)
    except Exception:  # noqa: BLE001 - a refusal
        return
    assert all(type(p.os) is str and type(p.architecture) is str and all(type(f) is str for f in p.os_features)
               for p in platforms)
