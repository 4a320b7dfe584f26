"""Images and where their bytes come from: one RegistryClient per registry
host and one open LocalSource per local reference (the pool), the offline
rule, and loading an image (platforms, manifest, config) through the cache.

The registry package is imported on first use, not at module top: it brings
`requests`, the largest part of start-up, which the headless `cache` and
`search` commands and local sources never need (tests/test_layering.py
measures the imports)."""

from __future__ import annotations

import dataclasses
import os
import threading
from typing import TYPE_CHECKING, Any

from layerslayer_tui.cache import Cache, image_key, platforms_key
from layerslayer_tui.errors import LayerslayerError, OfflineError
from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo, Platform
from layerslayer_tui.image_codec import platforms_from_json, platforms_to_json
from layerslayer_tui.peek.source import ByteSource
from layerslayer_tui.reference import DOCKER_HUB, DOCKER_HUB_API, Reference, parse
from layerslayer_tui.sources import LocalSource, open_source, parse_source
from layerslayer_tui.sources.ref import ENGINE_TRANSPORTS, FILE_TRANSPORTS, is_local

if TYPE_CHECKING:
    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.registry.hub_search import HubPage

_INF = float("inf")


class ImageLoader:
    """The client/source pool and image loading. Safe to call from worker
    threads. It is the `ListingHost` a LayerListing reads through."""

    def __init__(
        self,
        cache: Cache | None,
        *,
        offline: bool = False,
        insecure: frozenset[str] = frozenset(),
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.cache = cache
        self.offline = offline
        self.insecure = insecure
        self.timeout = timeout
        self._username = username
        self._password = password
        self._clients: dict[str, RegistryClient] = {}
        self._locals: dict[str, tuple[LocalSource, object]] = {}  # source reference -> (source, file signature)
        self._lock = threading.Lock()
        # Seek indexes (content.py): layer digest -> (thread storing one, the read recording it),
        # and one-sentence notes from reads (a damaged index row) for Session.warnings.
        self.pending_indexes: dict[str, tuple[threading.Thread, Any]] = {}
        self.notes: list[str] = []

    def note_once(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    # -- the pool --

    def require_online(self, what: str, image: ImageInfo | None = None) -> None:
        if self.offline and not (image is not None and is_local(image.reference)):
            raise OfflineError(f"Offline mode cannot fetch {what}: it is not in the cache.")

    def client(self, registry: str) -> RegistryClient:
        """The RegistryClient for a host (one per host, reused)."""
        with self._lock:
            client = self._clients.get(registry)
            if client is None:
                from layerslayer_tui.registry.client import RegistryClient
                from layerslayer_tui.registry.credentials import Credentials

                credentials = None
                if self._username is not None:
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
        """Where the credentials for a registry come from, in words."""
        if self._username is not None and registry not in self._clients:
            return "--username/--password-stdin"
        creds = self.client(registry).credentials
        if creds is None:
            return "none found (anonymous)"
        return "--username/--password-stdin" if creds.source == "explicit" else creds.source

    def local(self, ref_text: str) -> LocalSource:
        """The open LocalSource for a local reference (oci:, oci-archive:,
        docker-archive:, docker-daemon:, podman:), reopened when the file
        changed on disk (an engine's image is exported afresh each time)."""
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

    def blob_source(self, image: ImageInfo, descriptor: Descriptor) -> ByteSource:
        """A peek ByteSource for one blob of the image, wherever the image lives."""
        if is_local(image.reference):
            with self._lock:
                held = self._locals.get(image.reference)
            src = held[0] if held is not None else self.local(image.reference)
            return src.blob_source(descriptor)
        return self.client(image.registry).blob_source(image.repository, descriptor)

    def close(self) -> None:
        with self._lock:
            pooled: list[RegistryClient | LocalSource] = list(self._clients.values())
            pooled += [src for src, _sig in self._locals.values()]
            self._clients, self._locals = {}, {}
        for held in pooled:
            try:
                held.close()
            except Exception:  # noqa: BLE001 - closing pooled sockets must not mask the real outcome
                pass

    # -- images --

    def _top_digest(self, ref: Reference) -> str | None:
        if ref.digest:
            return ref.digest
        if self.cache is None:
            return None
        return self.cache.get_tag(ref.registry, ref.repository, ref.tag or "latest",
                                  max_age=_INF if self.offline else None)

    def platforms(self, ref_text: str) -> list[Platform]:
        """Platforms of an index (empty for a single-manifest reference)."""
        if is_local(ref_text):
            # An engine export holds one image of the engine's platform: nothing to pick, nothing to export yet.
            return [] if parse_source(ref_text).transport in ENGINE_TRANSPORTS else self.local(ref_text).platforms()
        ref = parse(ref_text)
        top = self._top_digest(ref)
        key = platforms_key(ref.registry, ref.repository, top) if top else None
        if key and self.cache is not None:
            cached = self.cache.get_decoded(key, platforms_from_json)
            if cached is not None:
                return cached
        self.require_online(f"the platforms of {ref_text}")
        found = self.client(ref.registry).list_platforms(ref)
        if key and self.cache is not None:
            self.cache.put_doc(key, platforms_to_json(found))
        return found

    def open_image(self, ref_text: str, platform: str | Platform | None = None) -> ImageInfo:
        """Resolve and load an image (see Session.open_image)."""
        if is_local(ref_text):
            info = self.local(ref_text).load(platform)
            if self.cache is not None:
                self.cache.record_image(info)  # so that search finds its listings; the image itself is not cached
            return info
        ref = parse(ref_text)
        plat = str(platform) if platform else ""
        top = self._top_digest(ref)
        cache = self.cache
        if top and cache is not None:
            info = cache.get_image(image_key(ref.registry, ref.repository, top, plat))
            if info is not None:
                info = dataclasses.replace(info, reference=str(ref), tag=ref.tag if not ref.digest else info.tag,
                                           from_cache=True)
                cache.record_image(info)
                return info
        self.require_online(f"{ref_text}")
        info = self.client(ref.registry).load_image(ref, platform)
        if cache is not None:
            top = ref.digest or info.index_digest or info.manifest_digest
            if not ref.digest:
                cache.put_tag(ref.registry, ref.repository, ref.tag or "latest", top)
            cache.put_image(image_key(ref.registry, ref.repository, top, plat), info)
            if info.platform is not None and str(info.platform) != plat:
                cache.put_image(image_key(ref.registry, ref.repository, top, str(info.platform)), info)
            # so that platforms() of this reference is answered from the cache next time
            cache.put_doc(platforms_key(ref.registry, ref.repository, top), platforms_to_json(info.platforms))
            cache.record_image(info)
        return info

    def tags(self, image: ImageInfo | str) -> list[str]:
        """Tags of the image's repository (needs the network)."""
        if isinstance(image, str):
            ref = parse(image)
            registry, repository = ref.registry, ref.repository
        else:
            registry, repository = image.registry, image.repository
        if is_local(registry + ":"):
            raise LayerslayerError(f"A local {registry}: source has no tag list; name another image in it as {registry}:PATH:NAME.")
        self.require_online(f"the tags of {repository}")
        return self.client(registry).list_tags(repository)

    # -- browsing: a registry's catalog, Docker Hub's search --

    def catalog(self, registry: str) -> list[str]:
        """Repositories of a registry (see Session.catalog)."""
        host = registry.strip().rstrip("/")
        if "/" in host or not host or any(c.isspace() for c in host):
            raise LayerslayerError(f"'{registry[:80]}' is not a registry host (e.g. registry.example.com:5000).")
        if host.lower() in (DOCKER_HUB, DOCKER_HUB_API, "index.docker.io", "hub.docker.com"):
            from layerslayer_tui.registry.catalog import no_hub_catalog

            raise no_hub_catalog()
        self.require_online(f"the catalog of {host}")
        return self.client(host).list_repositories()

    def search_hub(self, words: str, *, page: int = 1) -> HubPage:
        """One page of Docker Hub repositories matching `words`."""
        from layerslayer_tui.registry.hub_search import search_hub

        self.require_online("a Docker Hub search")
        return search_hub(words, page=page, timeout=self.timeout)


def layer_of(image: ImageInfo, layer: LayerInfo | int) -> LayerInfo:
    """The LayerInfo for an index (or itself); one sentence for an index out of range."""
    if isinstance(layer, LayerInfo):
        return layer
    if not 0 <= layer < len(image.layers):
        raise LayerslayerError(f"Layer {layer} does not exist: the image has {len(image.layers)} layers.")
    return image.layers[layer]
