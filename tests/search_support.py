"""The search as it was before the path index: every listing an image may see
decoded (Cache.get_listing) and each entry matched. Tests compare the indexed
search with it; benchmarks/bench_search.py times it as the baseline."""

from __future__ import annotations

from layerslayer_tui.cache import SHARED, scope_of
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.fs import PathMatcher
from layerslayer_tui.reference import parse
from layerslayer_tui.session import SearchHit, Session


def decode_every_listing(session: Session, pattern: str, *, limit: int | None = None) -> list[SearchHit]:
    cache = session.cache
    assert cache is not None
    match = PathMatcher(pattern)
    hits: list[SearchHit] = []
    per_layer: dict[tuple[str, str], list[tuple[str, int]]] = {}
    seen_refs: set[tuple[str, str]] = set()
    for seen in cache.images():
        if (seen.reference, seen.manifest_digest) in seen_refs:
            continue
        seen_refs.add((seen.reference, seen.manifest_digest))
        try:
            ref = parse(seen.reference)
        except LayerslayerError:
            continue
        scope = scope_of(ref.registry, ref.repository)
        for index, digest in enumerate(seen.layer_digests):
            found = per_layer.get((digest, SHARED), per_layer.get((digest, scope)))
            if found is None:
                listing = cache.get_listing(digest, scope)
                found = []
                if listing is not None:
                    for e in listing.entries:
                        name = e.path.rpartition("/")[2]
                        if not name.startswith(".wh.") and match(e.path, name):
                            found.append((e.path, e.size))
                per_layer[(digest, listing.scope if listing is not None else scope)] = found
            for path, size in found:
                hits.append(SearchHit(seen.reference, digest, index, path, size, seen.platform))
                if limit is not None and len(hits) >= limit:
                    return hits
    return hits
