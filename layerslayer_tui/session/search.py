"""Search everything seen: paths in the cached listings of every image opened."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from layerslayer_tui.cache import SHARED, Cache, SeenImage, scope_of
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.fs import PathMatcher
from layerslayer_tui.fs.paths import WHITEOUT_PREFIX, split
from layerslayer_tui.reference import parse
from layerslayer_tui.sources import parse_source
from layerslayer_tui.sources.ref import is_local


@dataclass(frozen=True, slots=True)
class SearchHit:
    image: str  # the image reference as it was opened (normalised)
    layer_digest: str
    layer_index: int
    path: str
    size: int
    platform: str = ""  # the image's platform when it came from an index ("" otherwise): open it with this


def _scope(reference: str) -> str:
    """The scope the image's listings were stored under (LayerListing: its registry and repository)."""
    if is_local(reference):  # a local image's "registry" is its transport, its "repository" the path or engine name
        local = parse_source(reference)
        return scope_of(local.transport, local.path or local.name or "")
    ref = parse(reference)
    return scope_of(ref.registry, ref.repository)


def search(cache: Cache | None, pattern: str, *, limit: int | None = None) -> list[SearchHit]:
    """Paths matching `pattern` (glob when it has * ? [, else substring;
    see fs.PathMatcher) in every cached listing of every image seen.
    Whiteout markers are not files and are skipped. Each image sees the
    listings it may see (the row `Cache.get_listing` with its scope would
    give): a listing a registry served unverified is never attributed to
    an image elsewhere. Answered from the cache's path index, each
    listing scanned once, whichever image asks first."""
    if cache is None:
        return []
    match = PathMatcher(pattern)
    needle, fold = match.required()

    def keep(path: str) -> bool:
        name = split(path)[1]
        return not name.startswith(WHITEOUT_PREFIX) and match(path, name)

    rows = cache.listing_rows()
    # Which listing answers each layer of each image, in the order hits are reported.
    wanted: list[tuple[SeenImage, int, str, int]] = []
    seen_refs: set[tuple[str, str]] = set()
    for seen in cache.images():
        if (seen.reference, seen.manifest_digest) in seen_refs:
            continue
        seen_refs.add((seen.reference, seen.manifest_digest))
        try:
            scope = _scope(seen.reference)
        except LayerslayerError:
            continue  # not a reference this app wrote: nothing can be attributed to it
        for index, digest in enumerate(seen.layer_digests):
            # The shared (verified) listing answers first, else the one kept for this scope.
            rowid = rows.get((digest, SHARED), rows.get((digest, scope)))
            if rowid is not None:
                wanted.append((seen, index, digest, rowid))
    order = list(dict.fromkeys(w[3] for w in wanted))  # each listing scanned once
    hits: list[SearchHit] = []
    per_row: dict[int, list[tuple[int, str, int]]] = {}
    # Two listings in flight: zstd inflates one (without the GIL) while the other is scanned.
    with ThreadPoolExecutor(2, thread_name_prefix="search") as pool:
        ahead: dict[int, Future[list[tuple[int, str, int]]]] = {}
        for seen, index, digest, rowid in wanted:
            found = per_row.get(rowid)
            if found is None:
                while order and len(ahead) < 2:
                    nxt = order.pop(0)
                    ahead[nxt] = pool.submit(cache.search_listing, nxt, needle, fold, keep)
                found = per_row[rowid] = ahead.pop(rowid).result()
            for _, path, size in found:
                hits.append(SearchHit(seen.reference, digest, index, path, size, seen.platform))
                if limit is not None and len(hits) >= limit:
                    for f in ahead.values():
                        f.cancel()
                    return hits
    return hits
