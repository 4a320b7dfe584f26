"""The glue the TUI and the CLI call: registry clients, the cache, offline mode.

A Session owns one RegistryClient per registry host (so connections and
tokens are reused) and the Cache. Everything it returns is a plain value or
an iterator of EntryBatch; it never imports Textual. Methods are safe to call
from worker threads (one listing per thread at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from layerslayer_tui.entry import EntryBatch, ListingProgress
from layerslayer_tui.registry.models import ImageInfo, LayerInfo, Platform


@dataclass(frozen=True, slots=True)
class SearchHit:
    image: str  # the image reference as it was opened (normalised)
    layer_digest: str
    layer_index: int
    path: str
    size: int


class LayerListing:
    """One layer's listing: iterate it for EntryBatch values.

    Cached listings arrive as one batch at once (`cached` is True). A streamed
    listing yields batches as the peek reads them. `progress` is the last
    progress seen. After a partial listing is exhausted, `continue_full()`
    yields the rest of the layer (no entry twice) and upgrades the cache.
    `close()` cancels: it closes the HTTP stream; safe to call from another
    thread and more than once.
    """

    layer: LayerInfo
    cached: bool
    progress: ListingProgress

    def __iter__(self) -> Iterator[EntryBatch]:
        raise NotImplementedError

    @property
    def complete(self) -> bool:
        raise NotImplementedError

    def continue_full(self) -> Iterator[EntryBatch]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Session:
    """Entry point for everything that reads images.

    `cache=False` runs without the cache; `cache_path` overrides
    `locations.cache_db()`. `insecure` lists registry hosts that may use plain
    HTTP. `username`/`password` apply to every registry this session talks to;
    without them credentials come from docker/podman config.
    `warnings` collects one-sentence notes the UI should show once (e.g. the
    cache could not be opened and the app runs without it).
    """

    warnings: list[str]

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
        raise NotImplementedError

    def platforms(self, ref_text: str) -> list[Platform]:
        """Platforms of an index (empty for a single-manifest reference)."""
        raise NotImplementedError

    def open_image(self, ref_text: str, platform: str | Platform | None = None) -> ImageInfo:
        """Resolve and load an image. Tags go through the cache's short TTL,
        manifests/configs come from the cache by digest when present.
        Raises InvalidReferenceError, NotFoundError, AuthError, OfflineError..."""
        raise NotImplementedError

    def listing(
        self, image: ImageInfo, layer: LayerInfo | int, *, full: bool = False, budget: int = 262144
    ) -> LayerListing:
        """The layer's entries: from the cache at once when held (a cached
        partial is returned as is unless `full`), else an index fast path,
        else a partial (or, with `full`, a complete) peek over the blob."""
        raise NotImplementedError

    def continue_full(self, listing: LayerListing) -> Iterator[EntryBatch]:
        """Same as `listing.continue_full()`."""
        raise NotImplementedError

    def tags(self, image: ImageInfo | str) -> list[str]:
        """Tags of the image's repository (needs the network)."""
        raise NotImplementedError

    def carve(
        self, image: ImageInfo, layer: LayerInfo | int, path: str, cap: int = 16 * 1024 * 1024, dest: str | Path | None = None
    ):  # -> peek.Carved
        """One file's content (or a written file when `dest` is given)."""
        raise NotImplementedError

    def download_layer(
        self,
        image: ImageInfo,
        layer: LayerInfo | int,
        dest: str | Path,
        progress: Callable[[int, int | None], None] | None = None,
        overwrite: bool = False,
    ) -> Path:
        """Save the compressed layer blob, digest-verified. ExportError when
        dest exists and not `overwrite`."""
        raise NotImplementedError

    def search(self, pattern: str) -> list[SearchHit]:
        """Paths matching `pattern` (glob when it has * ? [, else substring)
        in every cached listing of every image seen."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
