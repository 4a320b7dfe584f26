"""One layer's listing as a state machine: cached -> streamed -> continued
to the end -> checked against the layer's index, stored in the cache as it
completes. It reaches the network and the cache only through a ListingHost
(the session's image loader)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from layerslayer_tui import peek
from layerslayer_tui.cache import Cache, CachedListing, scope_of
from layerslayer_tui.columns import Entries, as_entries
from layerslayer_tui.entry import EntryBatch, ListingProgress, SourceKind, TarEntry
from layerslayer_tui.errors import LayerFormatError, LayerslayerError, NetworkError
from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo
from layerslayer_tui.peek.index import compare, read_index
from layerslayer_tui.peek.source import ByteSource, ByteStream


class ListingHost(Protocol):
    """What a listing needs from the session: the cache, the offline rule and blob bytes."""

    offline: bool
    cache: Cache | None

    def require_online(self, what: str, image: ImageInfo | None = None) -> None: ...

    def blob_source(self, image: ImageInfo, descriptor: Descriptor) -> ByteSource: ...


class _TrackedSource:
    """Wraps a blob source so that `LayerListing.close()` can close whatever
    HTTP stream is open, from any thread, without the reader's cooperation."""

    def __init__(self, inner: ByteSource) -> None:
        self._inner = inner
        self.size = getattr(inner, "size", None)
        self._streams: list[ByteStream] = []
        self._lock = threading.Lock()
        self.closed = False

    def open(self, start: int = 0, end: int | None = None) -> ByteStream:
        if self.closed:
            raise NetworkError("The listing was cancelled.")
        stream = self._inner.open(start, end)
        with self._lock:
            self._streams.append(stream)
        return stream

    def open_rest(self, start: int = 0) -> ByteStream:
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
        host: ListingHost,
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
        if full and cached is not None and not host.offline:
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
        self._host = host
        self._cached = cached
        self._full = full
        self._budget = budget
        # The batches as they came (the trees keep references to their rows, so
        # one copy serves both); `entries` joins them when someone asks.
        self._parts: list[Entries] = [as_entries(cached.entries)] if cached is not None else []
        self._peek: peek.Peek | None = None
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
    def entries(self) -> Entries:
        """Every entry yielded so far, in stream order."""
        parts = self._parts
        # Joined anew each time (a copy, dropped after use): replacing the parts
        # with it would keep two copies, since the trees hold the parts' rows.
        return parts[0] if len(parts) == 1 else Entries.concat(parts)

    def _set_entries(self, entries: Entries) -> None:
        self._parts = [entries]

    # -- iteration --

    def __iter__(self) -> Iterator[EntryBatch]:
        if self._started:
            raise RuntimeError("a LayerListing can be iterated only once")
        self._started = True
        if self._cached is not None:
            yield EntryBatch(self._parts[0] if self._parts else Entries(), self._cached.progress)
            if self._full and not self._cached.complete and not self._closed:
                yield from self.continue_full()
            return
        yield from self._guard(self._stream())

    def _stream(self) -> Iterator[EntryBatch]:
        desc = self.layer.descriptor
        source = self._source()
        if self._full:
            # A layer with an index is listed from its bytes all the same (the user
            # asked for the full read); its index, a few KiB, is checked against them.
            if self._index is None:
                idx = read_index(source, size=desc.size, annotations=desc.annotations, media_type=desc.media_type,
                                 digest=desc.digest)
                if idx is not None and idx.ok:
                    self._index = (idx.source, idx.entries, frozenset(idx.hidden_paths))
            self._peek = peek.complete(source, size=desc.size, digest=desc.digest, annotations=desc.annotations,
                                       media_type=desc.media_type, access_points=self._keeps_index)
            if self._index is not None:
                yield from self._check_index(iter(self._peek), show=True)
                return
        else:
            self._peek = peek.partial(source, budget=self._budget, size=desc.size, digest=desc.digest,
                                      annotations=desc.annotations, media_type=desc.media_type,
                                      access_points=self._keeps_index)
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
        self._host.require_online(f"layer {self.layer.index + 1} to check its index")
        self._index = (self.progress.source, self.entries, frozenset())
        desc = self.layer.descriptor
        self._peek = peek.complete(self._source(), size=desc.size, digest=desc.digest, annotations=desc.annotations,
                                   media_type=desc.media_type, access_points=self._keeps_index)
        yield from self._check_index(iter(self._peek), show=False)

    def _check_index(self, batches: Iterator[EntryBatch], *, show: bool) -> Iterator[EntryBatch]:
        """Stream the layer and compare it with the index listing in `_index`.

        `show`: the streamed entries are the listing (a full read); otherwise the
        caller already holds the index entries, so batches carry progress only and
        the last one the layer's version of the entries that differ. One batch is
        held back so that the last can carry the comparison."""
        assert self._index is not None
        source, indexed, hidden = self._index
        parts: list[Entries] = []
        if show:
            # The layer's own entries become the listing as they stream: collect
            # them once, not again on top of the index entries.
            self._parts = parts
        held: EntryBatch | None = None
        for batch in batches:
            if batch.entries:
                parts.append(as_entries(batch.entries))
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
        streamed = Entries.concat(parts)
        check = compare(source, indexed, streamed, hidden)
        progress = dataclasses.replace(held.progress, note=" ".join(filter(None, (check.note, held.progress.note))),
                                       index_agrees=check.agree)
        if show:
            last = held.entries
        else:
            changed = set(check.differing)
            paths = streamed.paths
            latest = {paths[i]: i for i in range(len(paths)) if paths[i] in changed}
            last = Entries(streamed.entry(i) for i in sorted(latest.values()))
        self._parts = parts if show else [streamed]
        self.progress = progress
        self._stored = False
        self._store()
        yield EntryBatch(last, progress)

    @staticmethod
    def _raise(err: LayerslayerError) -> Iterator[EntryBatch]:
        raise err
        yield  # pragma: no cover - makes this a generator, so it raises when iterated

    def _continue(self) -> Iterator[EntryBatch]:
        self._host.require_online(f"the rest of layer {self.layer.index + 1}", self.image)
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
        desc = self.layer.descriptor
        before = self.entries
        shown = len(before)  # before[:shown] is what the caller holds already
        self._peek = peek.complete(self._source(), size=desc.size, digest=desc.digest,
                                   annotations=desc.annotations, media_type=desc.media_type,
                                   access_points=self._keeps_index)
        streamed = Entries()
        for batch in self._peek:
            start = len(streamed)
            streamed.extend(batch.entries)
            if start < shown and any(_shown_as(before[i]) != _shown_as(streamed[i])
                                     for i in range(start, min(len(streamed), shown))):
                self._disagree()
            if batch.progress.complete and len(streamed) < shown:
                self._disagree()  # before the last batch could label the listing complete
            new = as_entries(batch.entries)[max(0, shown - start):]
            self._parts.append(new)
            self.progress = batch.progress
            yield EntryBatch(new, batch.progress)
            if self._closed:
                return
        if len(streamed) < shown:
            self._disagree()
        self._set_entries(streamed)
        self._store()

    def _disagree(self) -> None:
        """The layer's bytes do not hold the cached partial listing shown before."""
        cache = self._host.cache
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
        src = _TrackedSource(self._host.blob_source(self.image, self.layer.descriptor))
        self._sources.append(src)
        if self._closed:
            src.close()
        return src

    def _take(self, batch: EntryBatch) -> EntryBatch:
        if batch.entries:
            self._parts.append(as_entries(batch.entries))
        self.progress = batch.progress
        return batch

    def _store(self) -> None:
        if self._stored or not any(self._parts) and not self.progress.complete:
            return
        cache = self._host.cache
        if cache is None:
            return
        entries = self.entries
        progress = dataclasses.replace(self.progress, entries=len(entries))
        if self._closed and not progress.complete:
            progress.note = progress.note or "listing stopped early"
        cache.put_listing(self.layer.digest, entries, progress, scope=self._scope)
        self._stored = progress.complete
        self._store_seek_index()

    def _store_seek_index(self) -> None:
        """Keep the gzip access points the read recorded (content.py)."""
        peek_obj = self._peek
        if peek_obj is None or not hasattr(peek_obj, "seek_index"):
            return
        from layerslayer_tui.content import store_index_later

        store_index_later(self._host, self.image, self.layer, peek_obj, verified=self.progress.verified,
                          mismatch=getattr(peek_obj, "digest_mismatch", False))

    @property
    def _keeps_index(self) -> bool:
        """A seek index is recorded only when the cache can keep it."""
        return self._host.cache is not None

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

