"""The registry client the rest of the app calls: one per registry host.

Composed here, once: the Transport sends (retries, deadline, one
requests.Session so connections are reused across manifest, config and blob
requests), the Authenticator decides what a request to the registry carries,
and the Api puts the two together with redirects followed by hand. The
modules for manifests, tags and blobs speak to the Api."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..errors import ProtocolError
from ..reference import DOCKER_HUB, DOCKER_HUB_API, Reference, parse
from .api import Api
from .auth import Authenticator
from .blobs import BlobSource
from .credentials import Credentials, resolve
from .download import download_blob as _download
from .history import align, steps_from_config
from .manifests import INDEX_TYPES, Manifest, fetch_manifest, image_parts, index_entries
from ..image import Descriptor, ImageInfo, LayerInfo, Platform
from .platforms import from_json, offered, pick
from .response import parse_json
from .tags import list_tags as _list_tags
from .transport import DEFAULT_DEADLINE, RetryPolicy, Transport

CONFIG_CAP = 16 * 1024 * 1024
# Real registries nest one level at most (an index of indexes of images).
MAX_INDEX_DEPTH = 1
# Manifests and indexes fetched for one load (the top one and the chosen image included).
MAX_DOCUMENTS = 32
MAX_ENTRIES = 10_000  # index entries after nested indexes are expanded


def _as_ref(ref: Reference | str) -> Reference:
    return parse(ref) if isinstance(ref, str) else ref


def _what(ref: Reference) -> str:
    return f"the image {ref.familiar}"


class _Load:
    """The documents one load fetched: each digest once, and not too many."""

    def __init__(self, client: RegistryClient, ref: Reference) -> None:
        self.client = client
        self.ref = ref
        self.fetched = 0
        self.expanded: set[str] = set()

    def fetch(self, desc: Descriptor | None = None) -> Manifest:
        r = self.ref
        if self.fetched >= MAX_DOCUMENTS:
            raise ProtocolError(f"Loading {_what(r)} needs more than {MAX_DOCUMENTS} manifests and indexes; refusing to fetch more.")
        self.fetched += 1
        if desc is None:
            return fetch_manifest(self.client.api, r.repository, r.identifier, what=_what(r), expected_digest=r.digest)
        return fetch_manifest(
            self.client.api, r.repository, desc.digest, what=_what(r), expected_digest=desc.digest, expected_size=desc.size
        )

    def flatten(self, index: Manifest, depth: int = 0) -> list[Descriptor]:
        """Index entries in order, nested indexes expanded in place (each once)."""
        r = self.ref
        self.expanded.add(index.digest)
        out: list[Descriptor] = []
        for desc in index_entries(index, _what(r)):
            if desc.media_type in INDEX_TYPES:
                if desc.digest in self.expanded:
                    continue  # listed twice (or pointing back up): its entries are already here
                if depth >= MAX_INDEX_DEPTH:
                    raise ProtocolError(f"The index of {_what(r)} nests indexes more than {MAX_INDEX_DEPTH} level deep.")
                out.extend(self.flatten(self.fetch(desc), depth + 1))
            else:
                out.append(desc)
            if len(out) > MAX_ENTRIES:
                raise ProtocolError(f"The index of {_what(r)} lists more than {MAX_ENTRIES} manifests, nested ones included.")
        return out


class RegistryClient:
    """Read-only access to one registry.

    credentials: Credentials, a (username, password) pair, or None to look in
    docker's config, credential helpers and containers auth.json (pass
    `stored_credentials=False` to stay anonymous)."""

    def __init__(
        self,
        registry: str,
        *,
        credentials: Credentials | tuple[str, str] | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        api_host: str | None = None,
        stored_credentials: bool = True,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        if isinstance(credentials, tuple):
            credentials = Credentials(credentials[0], credentials[1])
        if credentials is None and stored_credentials:
            credentials = resolve(registry)
        self.registry = registry
        self.credentials = credentials
        self.transport = Transport(
            registry,
            api_host=api_host or (DOCKER_HUB_API if registry == DOCKER_HUB else registry),
            insecure=insecure,
            timeout=timeout,
            deadline=deadline,
            retry=retry,
        )
        self.auth = Authenticator(self.transport, credentials)
        self.api = Api(self.transport, self.auth)

    # -- manifests ----------------------------------------------------------------
    def manifest(self, ref: Reference | str) -> Manifest:
        """The manifest or index the reference names (verified when by digest)."""
        return _Load(self, _as_ref(ref)).fetch()

    def list_platforms(self, ref: Reference | str) -> list[Platform]:
        """Platforms an index offers (attestations skipped); [] for a single manifest."""
        load = _Load(self, _as_ref(ref))
        top = load.fetch()
        return offered(load.flatten(top)) if top.is_index else []

    def load_image(self, ref: Reference | str, platform: str | Platform | None = None) -> ImageInfo:
        r = _as_ref(ref)
        what = _what(r)
        load = _Load(self, r)
        top = load.fetch()
        manifest = top
        chosen: Platform | None = None
        platforms: list[Platform] = []
        if top.is_index:
            entries = load.flatten(top)
            platforms = offered(entries)
            desc = pick(entries, platform, f"{what[:1].upper()}{what[1:]}")
            manifest = load.fetch(desc)
            if manifest.is_index:
                raise ProtocolError(f"The index of {what} points to an index where an image belongs.")
            chosen = desc.platform
        config_desc, layer_descs = image_parts(manifest, what)
        config_bytes = BlobSource(self.api, r.repository, config_desc).read_all(CONFIG_CAP)
        config = parse_json(config_bytes, f"The config of {what} is not JSON.")
        if not isinstance(config, dict):
            raise ProtocolError(f"The config of {what} is not a JSON object.")
        if chosen is None:
            chosen = from_json(config) if config.get("architecture") else None
        rootfs = config.get("rootfs") if isinstance(config.get("rootfs"), dict) else {}
        diff_ids = rootfs.get("diff_ids") if isinstance(rootfs.get("diff_ids"), list) else []
        steps = steps_from_config(config)
        aligned = align(steps, len(layer_descs))
        by_layer = {s.layer_index: s for s in steps if s.layer_index is not None}
        layers = [
            LayerInfo(
                index=i,
                descriptor=d,
                diff_id=str(diff_ids[i]) if i < len(diff_ids) else None,
                step=by_layer.get(i),
            )
            for i, d in enumerate(layer_descs)
        ]
        return ImageInfo(
            registry=r.registry,
            repository=r.repository,
            reference=str(r),
            manifest_digest=manifest.digest,
            media_type=manifest.media_type,
            config_digest=config_desc.digest,
            config=config,
            layers=layers,
            history=steps,
            history_aligned=aligned,
            platform=chosen,
            platforms=platforms,
            index_digest=top.digest if top.is_index else None,
            tag=r.tag,
        )

    # -- tags and blobs -------------------------------------------------------------
    def list_tags(self, repository: str) -> list[str]:
        return _list_tags(self.api, repository)

    def list_repositories(self) -> list[str]:
        """The registry's catalog (registry.catalog.CatalogUnavailable when it offers none to us)."""
        from .catalog import list_repositories

        return list_repositories(self.api)

    def blob_source(self, repository: str, descriptor: Descriptor) -> BlobSource:
        return BlobSource(self.api, repository, descriptor)

    def download_blob(
        self,
        repository: str,
        descriptor: Descriptor,
        dest: Path,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Path:
        return _download(self.blob_source(repository, descriptor), Path(dest), progress)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_for(ref: Reference | str, **opts: object) -> RegistryClient:
    """A client for the reference's registry; stored credentials are looked up
    for its repository (most specific auth.json entry first)."""
    r = _as_ref(ref)
    if opts.get("credentials") is None and opts.get("stored_credentials", True):
        opts["credentials"] = resolve(r.registry, r.repository)
    return RegistryClient(r.registry, **opts)  # type: ignore[arg-type]
