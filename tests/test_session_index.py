"""A zstd:chunked layer through the session: the complete listing comes from
its index (a few KiB, not the body), lands in the cache as complete, and
matches the layer's own tar."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from bed.lazy import LazyImage, push_image
from layerslayer_tui.cache import scope_of
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


def test_index_listing_is_complete_cheap_and_cached(registry, zstd_chunked_image: LazyImage, tmp_path: Path) -> None:
    img = push_image(registry, "sess/zchunked", zstd_chunked_image, tag="1")
    with tarfile.open(fileobj=io.BytesIO(img.tar_bytes()), mode="r:") as tf:
        truth = {m.name.removeprefix("./").rstrip("/") for m in tf.getmembers()} - {""}
    db = tmp_path / "c.db"
    mark = registry.log_mark()
    with Session(cache_path=db) as s:
        image = s.open_image(f"{registry.host}/sess/zchunked:1")
        listing = s.listing(image, 0)
        paths = {e.path for b in listing for e in b.entries}
        assert listing.complete and listing.progress.source == "zstd:chunked index"
        state = s.cache.listing_state(image.layers[0].digest, scope_of(image.registry, image.repository))
        assert state is not None and state.complete and state.source == "zstd:chunked index"
    digest = img.layer["digest"]
    records = registry.access_log(mark, until=lambda recs: any(digest in r.path for r in recs))
    sent = sum(r.written for r in records if digest in r.path and r.method == "GET")
    assert 0 < sent < img.layer["size"] // 4  # the index, not the body
    assert paths and paths <= truth, paths - truth  # every listed path is in the tar
    assert len(truth - paths) <= 2, truth - paths
    with Session(cache_path=db, offline=True) as s:
        again = s.listing(s.open_image(f"{registry.host}/sess/zchunked:1"), 0)
        assert again.cached and {e.path for b in again for e in b.entries} == paths
