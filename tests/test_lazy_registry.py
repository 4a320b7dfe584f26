"""The index fast path against the real distribution registry: what the registry
says it sent (access log `http.response.written`) stays within the index, the
footer and 64 KiB, and the listing is the layer's complete one."""

from __future__ import annotations

import pytest
from bed.lazy import NAMELESS_FORMATS, blob_source, entry_fields, tar_truth

from layerslayer_tui.peek import estargz, zstdchunked
from layerslayer_tui.peek.index import read_index

SLACK = 64 * 1024

pytestmark = [pytest.mark.registry, pytest.mark.containerd]


@pytest.mark.parametrize("kind", ["estargz", "zstd:chunked"])
@pytest.mark.parametrize("annotated", [True, False], ids=["annotations", "footer-only"])
def test_registry_sends_only_footer_and_index(registry, pushed_lazy_images, kind: str, annotated: bool) -> None:
    image = pushed_lazy_images[kind]
    data = image.blob.read_bytes()
    mark = registry.log_mark()
    listing = read_index(
        blob_source(registry, image),
        size=image.layer["size"],
        annotations=image.annotations if annotated else {},
        media_type=image.layer["mediaType"],
        digest=image.layer["digest"],
    )
    assert listing is not None and listing.ok, listing and listing.fallback_reason
    blob_gets = registry.access_log(
        mark, until=lambda recs: sum(r.is_blob_get for r in recs) >= listing.requests
    )
    blob_gets = [r for r in blob_gets if r.is_blob_get]
    assert len(blob_gets) == listing.requests <= 2
    assert all(r.status == 206 for r in blob_gets)
    written = sum(r.written for r in blob_gets)
    assert written >= listing.bytes_read > 0
    if kind == "estargz":
        offset, footer = estargz.parse_footer(data[-estargz.FOOTER_SIZE :])  # type: ignore[misc]
        index_size = len(data) - offset - footer
    else:
        index_size = zstdchunked.parse_position(zstdchunked.annotated(image.annotations)[0] or "").length
    assert written <= index_size + estargz.FOOTER_SIZE + SLACK
    assert written < len(data) // 50
    names = kind not in NAMELESS_FORMATS
    truth = [r for r in tar_truth(image.tar_bytes(), names=names) if r["path"] not in listing.hidden_paths]
    assert [entry_fields(e, names=names) for e in listing.entries] == truth
