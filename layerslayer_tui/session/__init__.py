"""The glue the TUI and the CLI call: images, layer listings, content, search.

A Session composes four parts, one module each:
- `images.ImageLoader`: one RegistryClient per registry host (connections and
  tokens reused) and one open LocalSource per local reference, the offline
  rule, image loading through the cache;
- `listing.LayerListing`: one layer's listing state machine (cache, stream,
  continue, index check);
- `content`: carving one file, downloading a layer blob;
- `search`: paths in every cached listing.
Everything it returns is a plain value or an iterator of EntryBatch; it never
imports Textual. Methods are safe to call from worker threads (one listing
per thread at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from layerslayer_tui.cache import Cache, scope_of
from layerslayer_tui.entry import EntryBatch, TarEntry
from layerslayer_tui.image import ImageInfo, LayerInfo, Platform
from layerslayer_tui.peek.carve import DEFAULT_CAP, Carved

from . import content
from .images import ImageLoader, layer_of
from .listing import LayerListing, ListingHost
from .search import SearchHit, search

if TYPE_CHECKING:
    from layerslayer_tui.content import FileRead
    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.registry.hub_search import HubPage

__all__ = ["DEFAULT_BUDGET", "ImageLoader", "LayerListing", "ListingHost", "SearchHit", "Session"]

DEFAULT_BUDGET = 256 * 1024  # compressed bytes a partial listing reads


CLOSE_WAIT_INDEXES = 10.0  # seconds close() waits for seek-index recorders to catch up


class Session:
    """Entry point for everything that reads images.

    `cache=False` runs without the cache; `cache_path` overrides
    `locations.cache_db()`. `insecure` lists registry hosts that may use plain
    HTTP. `username`/`password` apply to every registry this session talks to;
    without them credentials come from docker/podman config.
    `warnings` holds one-sentence notes the UI should show (e.g. the cache
    could not be opened and the app runs without it); `pop_warnings()`
    returns each only once.
    """

    def __init__(
        self,
        *,
        offline: bool = False,
        cache: bool = True,
        cache_path: str | Path | None = None,
        insecure: tuple[str, ...] | list[str] = (),
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        tag_ttl: float = 300.0,
    ) -> None:
        self.cache: Cache | None = Cache(cache_path, tag_ttl=tag_ttl) if cache else None
        self.images = ImageLoader(self.cache, offline=offline, insecure=frozenset(insecure), username=username,
                                  password=password, timeout=timeout)
        self._told: set[str] = set()

    @property
    def offline(self) -> bool:
        return self.images.offline

    @property
    def insecure(self) -> frozenset[str]:
        return self.images.insecure

    @property
    def timeout(self) -> float:
        return self.images.timeout

    # -- notes for the user --

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.cache is not None:
            if self.cache.warning:
                out.append(self.cache.warning)
            out.extend(self.cache.notes)
        out.extend(self.images.notes)
        return out

    def note_once(self, text: str) -> None:
        """A sentence for `warnings` (shown once by pop_warnings)."""
        self.images.note_once(text)

    def pop_warnings(self) -> list[str]:
        fresh = [w for w in self.warnings if w not in self._told]
        self._told.update(fresh)
        return fresh

    # -- images --

    def client(self, registry: str) -> RegistryClient:
        """The RegistryClient for a host (one per host, reused)."""
        return self.images.client(registry)

    def login(self, registry: str, username: str, secret: str) -> None:
        """Credentials typed in the app, for this registry and session only (never written)."""
        self.images.login(registry, username, secret)

    def credential_source(self, registry: str) -> str:
        """Where this session's credentials for a registry come from, in words."""
        return self.images.credential_source(registry)

    def platforms(self, ref_text: str) -> list[Platform]:
        """Platforms of an index (empty for a single-manifest reference)."""
        return self.images.platforms(ref_text)

    def open_image(self, ref_text: str, platform: str | Platform | None = None) -> ImageInfo:
        """Resolve and load an image. Tags go through the cache's short TTL
        (any age offline); the loaded manifest/config come from the cache by
        digest when present. Raises InvalidReferenceError, NotFoundError,
        AuthError, OfflineError..."""
        return self.images.open_image(ref_text, platform)

    def tags(self, image: ImageInfo | str) -> list[str]:
        """Tags of the image's repository (needs the network)."""
        return self.images.tags(image)

    def catalog(self, registry: str) -> list[str]:
        """Repositories of a registry (`/v2/_catalog`, every page).
        Raises registry.catalog.CatalogUnavailable (one sentence) when the
        registry has no catalog or refuses it, as Docker Hub always does."""
        return self.images.catalog(registry)

    def search_hub(self, words: str, *, page: int = 1) -> HubPage:
        """One page of Docker Hub repositories matching `words`."""
        return self.images.search_hub(words, page=page)

    # -- layers --

    def listing(
        self, image: ImageInfo, layer: LayerInfo | int, *, full: bool = False, budget: int = DEFAULT_BUDGET
    ) -> LayerListing:
        """The layer's entries: from the cache at once when held (a cached
        partial is returned as is unless `full`), else an index fast path,
        else a partial (or, with `full`, a complete) peek over the blob.
        Raises OfflineError at once when offline and not cached."""
        info = layer_of(image, layer)
        scope = scope_of(image.registry, image.repository)
        cached = self.cache.get_listing(info.digest, scope) if self.cache is not None else None
        if cached is None:
            self.images.require_online(f"the listing of layer {info.index + 1} ({info.digest[:19]})", image)
        return LayerListing(self.images, image, info, cached=cached, full=full, budget=budget)

    def continue_full(self, listing: LayerListing) -> Iterator[EntryBatch]:
        """Same as `listing.continue_full()`."""
        return listing.continue_full()

    def carve(
        self,
        image: ImageInfo,
        layer: LayerInfo | int,
        path: str,
        cap: int = DEFAULT_CAP,
        dest: str | Path | None = None,
    ) -> Carved:
        """One file's content (or a written file when `dest` is given), the
        cheapest way the cache allows (see read_file)."""
        return self.read_file(image, layer, path, cap=cap, dest=dest).carved

    def read_file(
        self,
        image: ImageInfo,
        layer: LayerInfo | int,
        path: str | TarEntry,
        *,
        cap: int = DEFAULT_CAP,
        dest: str | Path | None = None,
    ) -> FileRead:
        """One file's content and its cost: through the layer's seek index,
        tar offset or TOC chunks when the cached listing knows where the file
        is, else streamed from the layer's start (keeping the access points
        made on the way). See layerslayer_tui/content.py."""
        from layerslayer_tui.content import FileRead, read_member

        info = layer_of(image, layer)
        self.images.require_online(f"the content of {path if isinstance(path, str) else path.path}", image)
        cached = self.cache.get_listing(info.digest, scope_of(image.registry, image.repository)) \
            if self.cache is not None else None
        if cached is not None:  # a streamed listing knows offsets; an index listing knows chunks
            found = read_member(self, image, info, path, cached.entries, cap=cap, dest=dest)
            if found is not None:
                return found
        carved = content.carve(self.images, image, info, path if isinstance(path, str) else path.path, cap=cap,
                               dest=dest)
        return FileRead(carved, info.index, "stream", carved.compressed_read, 1)

    def download_layer(
        self,
        image: ImageInfo,
        layer: LayerInfo | int,
        dest: str | Path,
        progress: Callable[[int, int | None], None] | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Save the compressed layer blob, digest-verified. ExportError when
        dest exists and not `overwrite`, or its directory does not exist."""
        return content.download_layer(self.images, image, layer, dest, progress=progress, overwrite=overwrite)

    # -- everything seen --

    def search(self, pattern: str, *, limit: int | None = None) -> list[SearchHit]:
        """Paths matching `pattern` in every cached listing of every image seen (see session.search)."""
        return search(self.cache, pattern, limit=limit)

    def close(self) -> None:
        from layerslayer_tui.content import wait_for_indexes

        # A seek index still being recorded is stored before the cache closes (what
        # it has, when the recorder is far behind: closing must not hang).
        wait_for_indexes(self, timeout=CLOSE_WAIT_INDEXES)
        self.images.close()
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
