"""`docker save` archives: manifest.json lists each image's config and layer
files. Old engines (and skopeo, podman) write `<id>.json` configs and
`<id>/layer.tar` or `<diffid>.tar` layers; Docker 25+ writes an OCI layout
inside the tar and points manifest.json at `blobs/sha256/<hex>`. Both are
read through manifest.json, so the images and names are the same either way.

There is no registry manifest in such an archive: the image gets a Docker
schema2 manifest made from what the archive holds (the config and the layer
blobs as they are stored), as skopeo does when it copies from one."""

from __future__ import annotations

import hashlib
import json
import re

from ..errors import InvalidReferenceError, NotFoundError, ProtocolError
from ..peek.decompress import sniff
from ..reference import parse as parse_reference
from ..registry.manifests import DOCKER_CONFIG, DOCKER_MANIFEST, Manifest
from ..image import Descriptor, ImageInfo, Platform
from .files import SMALL_CAP, RegionSource, TarStore, clean_path
from .image import AmbiguousImageError, build_image, check_digest, diff_ids, parse_config
from .ref import SourceRef

DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
_MEDIA = {"tar": DOCKER_LAYER_TAR, "gzip": DOCKER_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}
_BLOB_PATH = re.compile(r"blobs/(sha256|sha512)/([a-f0-9]{64}|[a-f0-9]{128})")
_HEX_JSON = re.compile(r"([a-f0-9]{64})\.json")
MAX_IMAGES = 10_000


def _same_name(want: str, have: str) -> bool:
    if want == have:
        return True
    try:
        return str(parse_reference(want)) == str(parse_reference(have))
    except InvalidReferenceError:
        return False


class DockerArchiveImage:
    """The image(s) of one docker-archive tar (`store` is a TarStore)."""

    _UNSET = object()

    def __init__(self, ref: SourceRef, store: TarStore, *, what: str | None = None, select: object = _UNSET) -> None:
        self.ref = ref
        # Which image of the archive: the reference's name, unless told (an engine's export holds one image).
        self._select = ref if select is DockerArchiveImage._UNSET else SourceRef(ref.transport, ref.path, select)  # type: ignore[arg-type]
        self.store = store
        self.what = what or f"the archive {store.label}"
        self._blobs: dict[str, str] = {}  # digest -> member path, for blob_source

    def _upper(self, text: str) -> str:
        return text[:1].upper() + text[1:]

    def _items(self) -> list[dict]:
        try:
            raw = self.store.source("manifest.json", digest="", what=f"manifest.json of {self.what}").read_all(SMALL_CAP)
        except NotFoundError:
            raise NotFoundError(f"{self._upper(self.what)} is not a docker save archive: it has no manifest.json.") from None
        try:
            items = json.loads(raw)
        except ValueError:
            raise ProtocolError(f"The manifest.json of {self.what} is not JSON.") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or len(items) > MAX_IMAGES:
            raise ProtocolError(f"The manifest.json of {self.what} is not a list of images.")
        if not items:
            raise NotFoundError(f"{self._upper(self.what)} holds no images.")
        return items

    def _item(self) -> dict:
        items = self._items()
        sel = self._select
        index = sel.index
        if index is not None:
            if index >= len(items):
                raise NotFoundError(f"{self._upper(self.what)} holds {len(items)} images; @{index} is not one of them.")
            return items[index]
        if sel.name is not None:
            for item in items:
                tags = item.get("RepoTags")
                if isinstance(tags, list) and any(isinstance(t, str) and _same_name(sel.name, t) for t in tags):
                    return item
            names = sorted(t for i in items if isinstance(i.get("RepoTags"), list) for t in i["RepoTags"] if isinstance(t, str))
            raise NotFoundError(f"{self._upper(self.what)} has no image named {sel.name}; it holds {', '.join(names) or 'no named images'}.")
        if len(items) == 1:
            return items[0]
        choices = []
        for i, item in enumerate(items):
            tags = item.get("RepoTags")
            name = tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else f"@{i}"
            choices.append(str(self.ref.with_name(name)))
        raise AmbiguousImageError(f"{self._upper(self.what)} holds {len(items)} images; name one, e.g. {choices[0]}.", choices)

    def platforms(self) -> list[Platform]:
        self._item()  # a picker is needed when the archive holds several images
        return []

    def _member_source(self, path: str, digest: str, what: str) -> RegionSource:
        try:
            return self.store.source(path, digest=digest, what=what)
        except NotFoundError:
            raise NotFoundError(f"{self._upper(what)} is missing from {self.what} ({path[:120]}).") from None

    def load(self, platform: str | Platform | None = None) -> ImageInfo:
        item = self._item()
        config_path = clean_path(item.get("Config"), f"the manifest.json of {self.what}")
        config_src = self._member_source(config_path, "", "the image config")
        raw = config_src.read_all(SMALL_CAP)
        config_digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        claimed = _BLOB_PATH.fullmatch(config_path) or _HEX_JSON.fullmatch(config_path.rpartition("/")[2])
        if claimed is not None:
            want = f"{claimed.group(1)}:{claimed.group(2)}" if claimed.re is _BLOB_PATH else f"sha256:{claimed.group(1)}"
            if want.startswith("sha256:") and want != config_digest:
                raise ProtocolError(f"The config {config_path} of {self.what} does not match the digest its name gives: the file was changed or damaged.")
        config = parse_config(raw, self.what)
        ids = diff_ids(config)
        layer_paths = item.get("Layers")
        if not isinstance(layer_paths, list):
            raise ProtocolError(f"The manifest.json of {self.what} gives an image no layers list.")
        descs: list[Descriptor] = []
        for i, path in enumerate(layer_paths):
            descs.append(self._layer(i, clean_path(path, f"the manifest.json of {self.what}"), ids))
        config_desc = Descriptor(DOCKER_CONFIG, config_digest, len(raw))
        doc = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": config_digest, "size": len(raw)},
            "layers": [{"mediaType": d.media_type, "digest": d.digest, "size": d.size} for d in descs],
        }
        body = json.dumps(doc, separators=(",", ":")).encode()
        manifest = Manifest("sha256:" + hashlib.sha256(body).hexdigest(), DOCKER_MANIFEST, body, doc)
        return build_image(self.ref, manifest, config_desc, config, descs)

    def _layer(self, i: int, path: str, ids: list) -> Descriptor:
        src = self._member_source(path, "", f"layer {i + 1}")
        stream = src.open(0, 511)
        try:
            head = b"".join(stream.iter_chunks())
        finally:
            stream.close()
        kind = sniff(head, at_end=src.size == len(head)) or "tar"
        m = _BLOB_PATH.fullmatch(path)
        if m is not None:
            digest = f"{m.group(1)}:{m.group(2)}"
        elif kind == "tar" and i < len(ids) and isinstance(ids[i], str):
            digest = check_digest(ids[i], f"the config of {self.what}")  # an uncompressed layer is its diff_id
        else:
            digest = "sha256:" + _hash(src)
        assert src.size is not None
        self._blobs[digest] = path
        return Descriptor(_MEDIA.get(kind, DOCKER_LAYER_TAR), digest, src.size)

    def blob_source(self, desc: Descriptor) -> RegionSource:
        path = self._blobs.get(desc.digest)
        if path is None:
            self.load()  # reopened for a layer of an image loaded before (a search hit): index it again
            path = self._blobs.get(desc.digest)
        if path is None:
            raise NotFoundError(f"The blob {desc.digest[:19]}… is missing from {self.what}.")
        src = self._member_source(path, desc.digest, f"the blob {desc.digest[:19]} of {self.what}")
        if src.size != desc.size:
            raise ProtocolError(f"The blob {desc.digest[:19]}… in {self.what} is {src.size} bytes, but its descriptor says {desc.size}.")
        return src

    def close(self) -> None:
        self.store.close()


def _hash(src: RegionSource) -> str:
    h = hashlib.sha256()
    stream = src.open(0)
    try:
        for chunk in stream.iter_chunks(1 << 20):
            h.update(chunk)
    finally:
        stream.close()
    return h.hexdigest()
