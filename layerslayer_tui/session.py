"""The glue the TUI and the CLI call: registry clients, the cache, offline mode.

A Session owns one RegistryClient per registry host (so connections and
tokens are reused) and the Cache. Everything it returns is a plain value or
an iterator of EntryBatch; it never imports Textual. Methods are safe to call
from worker threads (one listing per thread at a time).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerslayer_tui.cache import SHARED, Cache, CachedListing, SeenImage, scope_of
from layerslayer_tui.image_codec import platforms_from_json, platforms_to_json
from layerslayer_tui.entry import EntryBatch, ListingProgress, SourceKind, TarEntry
from layerslayer_tui.errors import ExportError, LayerFormatError, LayerslayerError, NetworkError, OfflineError
from layerslayer_tui.registry.models import ImageInfo, LayerInfo, Platform
from layerslayer_tui.sources.ref import is_local

DEFAULT_BUDGET = 256 * 1024
_INF = float("inf")


@dataclass(frozen=True, slots=True)
class SearchHit:
    image: str  # the image reference as it was opened (normalised)
    layer_digest: str
    layer_index: int
    path: str
    size: int
    platform: str = ""  # the image's platform when it came from an index ("" otherwise): open it with this


class _TrackedSource:
    """Wraps a blob source so that `LayerListing.close()` can close whatever
    HTTP stream is open, from any thread, without the reader's cooperation."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.size = getattr(inner, "size", None)
        self._streams: list[Any] = []
        self._lock = threading.Lock()
        self.closed = False

    def open(self, start: int = 0, end: int | None = None) -> Any:
        if self.closed:
            raise NetworkError("The listing was cancelled.")
        stream = self._inner.open(start, end)
        with self._lock:
            self._streams.append(stream)
        return stream

    def open_rest(self, start: int = 0) -> Any:
        """The rest of a complete read (several Range streams when the source can), tracked like `open`."""
        if self.closed:
            raise NetworkError("The listing was cancelled.")
        opener = getattr(self._inner, "open_rest", None)
        stream = opener(start) if opener is not None else self._inner.open(start, None)
        with self._lock:
            self._streams.append(stream)
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            streams, self._streams = self._streams, []
        for stream in streams:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead socket may fail any way it likes
                pass


class LayerListing:
    """One layer's listing: iterate it (once) for EntryBatch values.

    Cached listings arrive as one batch at once (`cached` is True). A streamed
    listing yields batches as the peek reads them. `progress` is the last
    progress seen. After a partial listing is exhausted, `continue_full()`
    yields the rest of the layer (no entry twice) and upgrades the cache.
    `close()` cancels: it closes the HTTP stream; safe to call from another
    thread and more than once. Results are stored in the cache as they
    complete (and a cancelled listing is kept as a partial one).

    A listing from a layer's index (eStargz / zstd:chunked) is complete but
    not verified. Asking for the full read checks it: `full=True` (fresh, or
    over a cached index listing) streams the whole layer and yields the
    streamed entries; `continue_full()` after an index listing streams it too
    but yields progress only, then, in the last batch, the layer's own
    version of every entry that differs from the index. Either way the last
    progress is the stream's (`verified` = the blob digest matched) and its
    `note` says whether index and layer agree; `entries` and the cache then
    hold the streamed listing.
    """

    def __init__(
        self,
        session: Session,
        image: ImageInfo,
        layer: LayerInfo,
        *,
        cached: CachedListing | None,
        full: bool,
        budget: int,
    ) -> None:
        if cached is not None:
            # The cache keeps no flag for a cut-short listing: a partial row that
            # had read the whole blob is one.
            p = cached.progress
            cut = not p.complete and bool(p.layer_size) and p.compressed_read >= (p.layer_size or 0)
            cached = dataclasses.replace(cached, progress=dataclasses.replace(p, cached=True, cut_short=cut))
        # The index listing a full read is checked against, with the converter files it hides.
        self._index: tuple[str, list[TarEntry], frozenset[str]] | None = None
        if full and cached is not None and not session.offline:
            if _unverified_index(cached.progress):
                self._index = (cached.progress.source, cached.entries, frozenset())
                cached = None  # the full read streams the layer instead of showing the cached index listing
            elif not cached.complete:
                # A full read is one verified stream from byte 0: a cached partial is
                # not shown first and then topped up (its entries would end up in a
                # "verified" listing without coming from the verified bytes).
                cached = None
        self.image = image
        self.layer = layer
        self.cached = cached is not None
        self.progress = cached.progress if cached is not None else ListingProgress(layer_size=layer.size)
        self._session = session
        self._cached = cached
        self._full = full
        self._budget = budget
        self._entries: list[TarEntry] = list(cached.entries) if cached is not None else []
        self._peek: Any = None
        self._sources: list[_TrackedSource] = []
        self._closed = False
        self._started = False
        self._stored = cached.complete if cached is not None else False
        # Set when the layer's bytes disagreed with the cached partial listing shown first.
        self._conflict: LayerslayerError | None = None

    @property
    def complete(self) -> bool:
        return self.progress.complete

    @property
    def entries(self) -> list[TarEntry]:
        """Every entry yielded so far, in stream order."""
        return self._entries

    # -- iteration --

    def __iter__(self) -> Iterator[EntryBatch]:
        if self._started:
            raise RuntimeError("a LayerListing can be iterated only once")
        self._started = True
        if self._cached is not None:
            yield EntryBatch(self._cached.entries, self._cached.progress)
            if self._full and not self._cached.complete and not self._closed:
                yield from self.continue_full()
            return
        yield from self._guard(self._stream())

    def _stream(self) -> Iterator[EntryBatch]:
        from layerslayer_tui import peek

        desc = self.layer.descriptor
        source = self._source()
        if self._full:
            # A layer with an index is listed from its bytes all the same (the user
            # asked for the full read); its index, a few KiB, is checked against them.
            if self._index is None:
                from layerslayer_tui.peek.index import read_index

                idx = read_index(source, size=desc.size, annotations=desc.annotations, media_type=desc.media_type,
                                 digest=desc.digest)
                if idx is not None and idx.ok:
                    self._index = (idx.source, idx.entries, frozenset(idx.hidden_paths))
            self._peek = peek.complete(source, size=desc.size, digest=desc.digest, annotations=desc.annotations,
                                       media_type=desc.media_type)
            if self._index is not None:
                yield from self._check_index(iter(self._peek), show=True)
                return
        else:
            self._peek = peek.partial(source, budget=self._budget, size=desc.size, digest=desc.digest,
                                      annotations=desc.annotations, media_type=desc.media_type)
        batches = iter(self._peek)
        for batch in batches:
            yield self._take(batch)
            if self._closed:
                return
        if self._peek is not None and getattr(self._peek, "progress", None) is not None:
            self.progress = self._peek.progress
        self._store()

    def continue_full(self) -> Iterator[EntryBatch]:
        """The rest of the layer after a partial listing: only new entries.
        After an index listing: the layer read whole to check the index."""
        if self._conflict is not None:
            return self._raise(self._conflict)
        if self._closed:
            return iter(())
        if self.complete:
            return self._guard(self._verify()) if _unverified_index(self.progress) else iter(())
        return self._guard(self._continue())

    def _verify(self) -> Iterator[EntryBatch]:
        from layerslayer_tui import peek

        self._session._require_online(f"layer {self.layer.index + 1} to check its index")
        self._index = (self.progress.source, list(self._entries), frozenset())
        desc = self.layer.descriptor
        self._peek = peek.complete(self._source(), size=desc.size, digest=desc.digest, annotations=desc.annotations,
                                   media_type=desc.media_type)
        yield from self._check_index(iter(self._peek), show=False)

    def _check_index(self, batches: Iterator[EntryBatch], *, show: bool) -> Iterator[EntryBatch]:
        """Stream the layer and compare it with the index listing in `_index`.

        `show`: the streamed entries are the listing (a full read); otherwise the
        caller already holds the index entries, so batches carry progress only and
        the last one the layer's version of the entries that differ. One batch is
        held back so that the last can carry the comparison."""
        from layerslayer_tui.peek.index import compare

        assert self._index is not None
        source, indexed, hidden = self._index
        streamed: list[TarEntry] = []
        if show:
            # The layer's own entries become the listing as they stream: collect
            # them once, not again on top of the index entries.
            self._entries = streamed
        held: EntryBatch | None = None
        for batch in batches:
            streamed.extend(batch.entries)
            if held is not None:
                if show:
                    self.progress = held.progress
                    yield held
                else:
                    yield EntryBatch([], held.progress)
            held = batch
            if self._closed:
                return
        if held is None:
            return
        check = compare(source, indexed, streamed, hidden)
        progress = dataclasses.replace(held.progress, note=" ".join(filter(None, (check.note, held.progress.note))),
                                       index_agrees=check.agree)
        if show:
            last = held.entries
        else:
            changed = set(check.differing)
            latest = {e.path: e for e in streamed if e.path in changed}
            last = [e for e in streamed if latest.get(e.path) is e]
        self._entries = streamed
        self.progress = progress
        self._stored = False
        self._store()
        yield EntryBatch(last, progress)

    @staticmethod
    def _raise(err: LayerslayerError) -> Iterator[EntryBatch]:
        raise err
        yield  # pragma: no cover - makes this a generator, so it raises when iterated

    def _continue(self) -> Iterator[EntryBatch]:
        self._session._require_online(f"the rest of layer {self.layer.index + 1}", self.image)
        if self._peek is not None:
            # The same stream carries on: every entry comes from the bytes it hashes.
            for batch in self._peek.continue_full():
                yield self._take(batch)
                if self._closed:
                    return
            self._store()
            return
        # From a cached partial: the decompressor state is gone, so read from byte
        # 0 again. The listing kept is the stream's own; the cached entries shown
        # first are only matched against it (and not shown twice). Should the
        # stream disagree with them, what was shown cannot be trusted: the cached
        # partial is dropped and the caller told to open the image again.
        from layerslayer_tui import peek

        desc = self.layer.descriptor
        shown = len(self._entries)  # self._entries[:shown] is what the caller holds already
        self._peek = peek.complete(self._source(), size=desc.size, digest=desc.digest,
                                   annotations=desc.annotations, media_type=desc.media_type)
        streamed: list[TarEntry] = []
        for batch in self._peek:
            start = len(streamed)
            streamed.extend(batch.entries)
            if start < shown and any(_shown_as(self._entries[i]) != _shown_as(streamed[i])
                                     for i in range(start, min(len(streamed), shown))):
                self._disagree()
            if batch.progress.complete and len(streamed) < shown:
                self._disagree()  # before the last batch could label the listing complete
            new = batch.entries[max(0, shown - start):]
            self._entries.extend(new)
            self.progress = batch.progress
            yield EntryBatch(new, batch.progress)
            if self._closed:
                return
        if len(streamed) < shown:
            self._disagree()
        self._entries = streamed
        self._store()

    def _disagree(self) -> None:
        """The layer's bytes do not hold the cached partial listing shown before."""
        cache = self._session.cache
        if cache is not None:
            cache.drop_listing(self.layer.digest, self._scope)
        self._stored = True  # nothing of this listing goes back into the cache
        self._conflict = LayerFormatError(
            f"Layer {self.layer.index + 1}'s bytes do not match the listing cached from "
            f"{self.image.registry}/{self.image.repository} earlier; that listing was dropped: "
            "open the image again to list the layer from its bytes."
        )
        raise self._conflict

    def _guard(self, it: Iterator[EntryBatch]) -> Iterator[EntryBatch]:
        """A cancelled listing ends quietly (its closed stream makes the reader
        fail); a failing one keeps what it got as a partial listing."""
        try:
            yield from it
        except (LayerslayerError, OSError, ValueError):
            if self._closed:
                return
            self._store()
            raise
        finally:
            if self._closed:
                self._store()

    def _source(self) -> _TrackedSource:
        src = _TrackedSource(self._session._blob_source(self.image, self.layer.descriptor))
        self._sources.append(src)
        if self._closed:
            src.close()
        return src

    def _take(self, batch: EntryBatch) -> EntryBatch:
        self._entries.extend(batch.entries)
        self.progress = batch.progress
        return batch

    def _store(self) -> None:
        if self._stored or not self._entries and not self.progress.complete:
            return
        cache = self._session.cache
        if cache is None:
            return
        progress = dataclasses.replace(self.progress, entries=len(self._entries))
        if self._closed and not progress.complete:
            progress.note = progress.note or "listing stopped early"
        cache.put_listing(self.layer.digest, self._entries, progress, scope=self._scope)
        self._stored = progress.complete

    @property
    def _scope(self) -> str:
        return scope_of(self.image.registry, self.image.repository)

    def close(self) -> None:
        self._closed = True
        for src in list(self._sources):
            src.close()
        peek_obj = self._peek
        if peek_obj is not None and hasattr(peek_obj, "close"):
            try:
                peek_obj.close()
            except Exception:  # noqa: BLE001 - best effort from another thread
                pass


def _shown_as(e: TarEntry) -> tuple:
    """What a listing shows of an entry (extra is left out: its tuples come back
    from the cache as lists)."""
    return (e.path, e.type, e.size, e.mode, e.uid, e.gid, e.uname, e.gname, e.mtime, e.link, e.offset)


def _unverified_index(progress: ListingProgress) -> bool:
    """A complete listing read from the layer's index whose bytes were never checked."""
    return progress.complete and not progress.verified and progress.kind is SourceKind.INDEX


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
        self.offline = offline
        self.insecure = frozenset(insecure)
        self.timeout = timeout
        self._username = username
        self._password = password
        self._clients: dict[str, Any] = {}
        self._locals: dict[str, tuple[Any, Any]] = {}  # source reference -> (sources.LocalSource, file signature)
        self._lock = threading.Lock()
        self._told: set[str] = set()
        self.cache: Cache | None = Cache(cache_path, tag_ttl=tag_ttl) if cache else None

    # -- plumbing --

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.cache is not None:
            if self.cache.warning:
                out.append(self.cache.warning)
            out.extend(self.cache.notes)
        return out

    def pop_warnings(self) -> list[str]:
        fresh = [w for w in self.warnings if w not in self._told]
        self._told.update(fresh)
        return fresh

    def _require_online(self, what: str, image: ImageInfo | None = None) -> None:
        if self.offline and not (image is not None and is_local(image.reference)):
            raise OfflineError(f"Offline mode cannot fetch {what}: it is not in the cache.")

    def client(self, registry: str) -> Any:
        """The RegistryClient for a host (one per host, reused)."""
        with self._lock:
            client = self._clients.get(registry)
            if client is None:
                from layerslayer_tui.registry.client import RegistryClient

                credentials = None
                if self._username is not None:
                    from layerslayer_tui.registry.credentials import Credentials

                    credentials = Credentials(self._username, self._password or "")
                client = RegistryClient(registry, credentials=credentials, insecure=registry in self.insecure,
                                        timeout=self.timeout)
                self._clients[registry] = client
            return client

    def login(self, registry: str, username: str, secret: str) -> None:
        """Credentials typed in the app: used for this registry until the
        session ends, kept in memory only (never written anywhere)."""
        from layerslayer_tui.registry.client import RegistryClient
        from layerslayer_tui.registry.credentials import Credentials

        client = RegistryClient(registry, credentials=Credentials(username, secret, source="typed in this session"),
                                insecure=registry in self.insecure, timeout=self.timeout)
        with self._lock:
            old, self._clients[registry] = self._clients.get(registry), client
        if old is not None:
            old.close()

    def credential_source(self, registry: str) -> str:
        """Where this session's credentials for a registry come from, in words."""
        if self._username is not None and registry not in self._clients:
            return "--username/--password-stdin"
        creds = self.client(registry).credentials
        if creds is None:
            return "none found (anonymous)"
        return "--username/--password-stdin" if creds.source == "explicit" else creds.source

    # -- local sources (oci:, oci-archive:, docker-archive:, docker-daemon:, podman:) --

    def _local(self, ref_text: str) -> Any:
        """The open LocalSource for a local reference, reopened when the file
        changed on disk (an engine's image is exported afresh each time)."""
        from layerslayer_tui.sources import open_source, parse_source
        from layerslayer_tui.sources.ref import FILE_TRANSPORTS

        ref = parse_source(ref_text)
        try:
            st = os.stat(ref.path) if ref.transport in FILE_TRANSPORTS else None
        except OSError:
            st = None
        sig = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else object()
        key = str(ref)
        with self._lock:
            held = self._locals.get(key)
        if held is not None and held[1] == sig:
            return held[0]
        src = open_source(ref, timeout=self.timeout)
        with self._lock:
            old = self._locals.get(key)
            self._locals[key] = (src, sig)
        if old is not None:
            old[0].close()
        return src

    def _blob_source(self, image: ImageInfo, descriptor: Any) -> Any:
        """A peek ByteSource for one blob of the image, wherever the image lives."""
        if is_local(image.reference):
            with self._lock:
                held = self._locals.get(image.reference)
            src = held[0] if held is not None else self._local(image.reference)
            return src.blob_source(descriptor)
        return self.client(image.registry).blob_source(image.repository, descriptor)

    @staticmethod
    def _layer(image: ImageInfo, layer: LayerInfo | int) -> LayerInfo:
        if isinstance(layer, LayerInfo):
            return layer
        if not 0 <= layer < len(image.layers):
            raise LayerslayerError(f"Layer {layer} does not exist: the image has {len(image.layers)} layers.")
        return image.layers[layer]

    def _top_digest(self, ref: Any) -> str | None:
        if ref.digest:
            return ref.digest
        if self.cache is None:
            return None
        return self.cache.get_tag(ref.registry, ref.repository, ref.tag or "latest",
                                  max_age=_INF if self.offline else None)

    # -- images --

    def platforms(self, ref_text: str) -> list[Platform]:
        """Platforms of an index (empty for a single-manifest reference)."""
        from layerslayer_tui.reference import parse

        if is_local(ref_text):
            from layerslayer_tui.sources import parse_source

            # An engine export holds one image of the engine's platform: nothing to pick, nothing to export yet.
            return [] if parse_source(ref_text).transport in ("docker-daemon", "podman") else self._local(ref_text).platforms()
        ref = parse(ref_text)
        top = self._top_digest(ref)
        key = f"platforms:{ref.registry}/{ref.repository}@{top}" if top else None
        if key and self.cache is not None:
            cached = self.cache.get_decoded(key, platforms_from_json)
            if cached is not None:
                return cached
        self._require_online(f"the platforms of {ref_text}")
        found = self.client(ref.registry).list_platforms(ref)
        if key and self.cache is not None:
            self.cache.put_doc(key, platforms_to_json(found))
        return found

    def open_image(self, ref_text: str, platform: str | Platform | None = None) -> ImageInfo:
        """Resolve and load an image. Tags go through the cache's short TTL
        (any age offline); the loaded manifest/config come from the cache by
        digest when present. Raises InvalidReferenceError, NotFoundError,
        AuthError, OfflineError..."""
        from layerslayer_tui.reference import parse

        if is_local(ref_text):
            info = self._local(ref_text).load(platform)
            if self.cache is not None:
                self.cache.record_image(info)  # so that search finds its listings; the image itself is not cached
            return info
        ref = parse(ref_text)
        plat = str(platform) if platform else ""
        top = self._top_digest(ref)
        cache = self.cache
        if top and cache is not None:
            info = cache.get_image(f"{ref.registry}/{ref.repository}@{top}#{plat}")
            if info is not None:
                info = dataclasses.replace(info, reference=str(ref), tag=ref.tag if not ref.digest else info.tag,
                                           from_cache=True)
                cache.record_image(info)
                return info
        self._require_online(f"{ref_text}")
        info = self.client(ref.registry).load_image(ref, platform)
        if cache is not None:
            top = ref.digest or info.index_digest or info.manifest_digest
            if not ref.digest:
                cache.put_tag(ref.registry, ref.repository, ref.tag or "latest", top)
            cache.put_image(f"{ref.registry}/{ref.repository}@{top}#{plat}", info)
            if info.platform is not None and str(info.platform) != plat:
                cache.put_image(f"{ref.registry}/{ref.repository}@{top}#{info.platform}", info)
            # so that platforms() of this reference is answered from the cache next time
            cache.put_doc(f"platforms:{ref.registry}/{ref.repository}@{top}", platforms_to_json(info.platforms))
            cache.record_image(info)
        return info

    def tags(self, image: ImageInfo | str) -> list[str]:
        """Tags of the image's repository (needs the network)."""
        if isinstance(image, str):
            from layerslayer_tui.reference import parse

            ref = parse(image)
            registry, repository = ref.registry, ref.repository
        else:
            registry, repository = image.registry, image.repository
        if is_local(registry + ":"):
            raise LayerslayerError(f"A local {registry}: source has no tag list; name another image in it as {registry}:PATH:NAME.")
        self._require_online(f"the tags of {repository}")
        return self.client(registry).list_tags(repository)

    # -- browsing: a registry's catalog, Docker Hub's search --

    def catalog(self, registry: str) -> list[str]:
        """Repositories of a registry (`/v2/_catalog`, every page).
        Raises registry.catalog.CatalogUnavailable (one sentence) when the
        registry has no catalog or refuses it, as Docker Hub always does."""
        from layerslayer_tui.reference import DOCKER_HUB, DOCKER_HUB_API

        host = registry.strip().rstrip("/")
        if "/" in host or not host or any(c.isspace() for c in host):
            raise LayerslayerError(f"'{registry[:80]}' is not a registry host (e.g. registry.example.com:5000).")
        if host.lower() in (DOCKER_HUB, DOCKER_HUB_API, "index.docker.io", "hub.docker.com"):
            from layerslayer_tui.registry.catalog import no_hub_catalog

            raise no_hub_catalog()
        self._require_online(f"the catalog of {host}")
        return self.client(host).list_repositories()

    def search_hub(self, words: str, *, page: int = 1) -> Any:  # -> registry.hub_search.HubPage
        """One page of Docker Hub repositories matching `words`."""
        from layerslayer_tui.registry.hub_search import search_hub

        self._require_online("a Docker Hub search")
        return search_hub(words, page=page, timeout=self.timeout)

    # -- layers --

    def listing(
        self, image: ImageInfo, layer: LayerInfo | int, *, full: bool = False, budget: int = DEFAULT_BUDGET
    ) -> LayerListing:
        """The layer's entries: from the cache at once when held (a cached
        partial is returned as is unless `full`), else an index fast path,
        else a partial (or, with `full`, a complete) peek over the blob.
        Raises OfflineError at once when offline and not cached."""
        info = self._layer(image, layer)
        scope = scope_of(image.registry, image.repository)
        cached = self.cache.get_listing(info.digest, scope) if self.cache is not None else None
        if cached is None:
            self._require_online(f"the listing of layer {info.index + 1} ({info.digest[:19]})", image)
        return LayerListing(self, image, info, cached=cached, full=full, budget=budget)

    def continue_full(self, listing: LayerListing) -> Iterator[EntryBatch]:
        """Same as `listing.continue_full()`."""
        return listing.continue_full()

    def carve(
        self,
        image: ImageInfo,
        layer: LayerInfo | int,
        path: str,
        cap: int = 16 * 1024 * 1024,
        dest: str | Path | None = None,
    ) -> Any:  # -> peek.Carved
        """One file's content (or a written file when `dest` is given)."""
        from layerslayer_tui import peek

        info = self._layer(image, layer)
        self._require_online(f"the content of {path}", image)
        source = self._blob_source(image, info.descriptor)
        return peek.carve(source, path, cap=cap, dest=dest)

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
        info = self._layer(image, layer)
        target = Path(dest)
        if target.exists() and not overwrite:
            raise ExportError(f"{target} already exists; choose another name or allow overwriting.")
        if not target.parent.is_dir():
            raise ExportError(f"The directory {target.parent} does not exist.")
        self._require_online(f"layer {info.index + 1}", image)
        from layerslayer_tui.registry.download import download_blob

        return download_blob(self._blob_source(image, info.descriptor), target, progress)

    # -- everything seen --

    def search(self, pattern: str, *, limit: int | None = None) -> list[SearchHit]:
        """Paths matching `pattern` (glob when it has * ? [, else substring;
        see fs.PathMatcher) in every cached listing of every image seen.
        Whiteout markers are not files and are skipped. Each image sees the
        listings it may see (the row `Cache.get_listing` with its scope would
        give): a listing a registry served unverified is never attributed to
        an image elsewhere. Answered from the cache's path index, each
        listing scanned once, whichever image asks first."""
        from layerslayer_tui.fs import PathMatcher
        from layerslayer_tui.reference import parse

        if self.cache is None:
            return []
        match = PathMatcher(pattern)
        needle, fold = match.required()

        def keep(path: str) -> bool:
            name = path.rpartition("/")[2]
            return not name.startswith(".wh.") and match(path, name)

        rows = self.cache.listing_rows()
        # Which listing answers each layer of each image, in the order hits are reported.
        wanted: list[tuple[SeenImage, int, str, int]] = []
        seen_refs: set[tuple[str, str]] = set()
        for seen in self.cache.images():
            if (seen.reference, seen.manifest_digest) in seen_refs:
                continue
            seen_refs.add((seen.reference, seen.manifest_digest))
            try:
                if is_local(seen.reference):  # scoped as its listings were stored: transport and path (or engine name)
                    from layerslayer_tui.sources import parse_source

                    local = parse_source(seen.reference)
                    scope = scope_of(local.transport, local.path or local.name or "")
                else:
                    ref = parse(seen.reference)
                    scope = scope_of(ref.registry, ref.repository)
            except LayerslayerError:
                continue  # not a reference this app wrote: nothing can be attributed to it
            for index, digest in enumerate(seen.layer_digests):
                # The shared (verified) listing answers first, else the one kept for this scope.
                rowid = rows.get((digest, SHARED), rows.get((digest, scope)))
                if rowid is not None:
                    wanted.append((seen, index, digest, rowid))
        cache = self.cache
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
        return hits

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
            clients += [src for src, _sig in self._locals.values()]
            self._locals = {}
        for client in clients:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing pooled sockets must not mask the real outcome
                pass
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
