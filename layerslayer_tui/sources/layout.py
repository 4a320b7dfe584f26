"""OCI image layouts (index.json + blobs/), in a directory or a tar file.

index.json may list several images (each named by the
`org.opencontainers.image.ref.name` annotation); an entry may be an index
(a multi-platform image), resolved like the registry client does."""

from __future__ import annotations

from ..errors import NotFoundError, ProtocolError
from ..registry.manifests import INDEX_TYPES, Manifest, image_parts, index_entries, parse_manifest
from ..image import Descriptor, ImageInfo, Platform
from ..registry.platforms import offered, pick
from .files import SMALL_CAP, DirStore, RegionSource, TarStore
from .image import AmbiguousImageError, blob_path, build_image, parse_config, verify
from .ref import SourceRef

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_DEPTH = 4


class LayoutImage:
    """The image(s) of one OCI layout. `store` is a DirStore or TarStore."""

    def __init__(self, ref: SourceRef, store: DirStore | TarStore) -> None:
        self.ref = ref
        self.store = store
        self.what = f"the layout {store.label}"

    # -- blobs ---------------------------------------------------------------
    def blob_source(self, desc: Descriptor) -> RegionSource:
        what = f"the blob {desc.digest[:19]} of {self.what}"
        path = blob_path(desc.digest, self.what)
        try:
            src = self.store.source(path, digest=desc.digest, what=what)
        except NotFoundError:
            raise NotFoundError(f"The blob {desc.digest[:19]}… is missing from {self.what}.") from None
        if src.size != desc.size:
            raise ProtocolError(f"The blob {desc.digest[:19]}… in {self.what} is {src.size} bytes, but its descriptor says {desc.size}.")
        return src

    def _read(self, desc: Descriptor, kind: str, cap: int = SMALL_CAP) -> bytes:
        what = f"the {kind} {desc.digest[:19]}… of {self.what}"
        if desc.size > cap:
            raise ProtocolError(f"{what[:1].upper()}{what[1:]} is {desc.size} bytes, more than the {cap} allowed.")
        data = self.blob_source(desc).read_all(cap)
        verify(data, desc, what)
        return data

    def _manifest(self, desc: Descriptor) -> Manifest:
        raw = self._read(desc, "manifest")
        return parse_manifest(raw, desc.media_type, self.what)

    # -- choosing --------------------------------------------------------------
    def _top(self) -> Manifest:
        try:
            raw = self.store.source("index.json", digest="", what=f"index.json of {self.what}").read_all(SMALL_CAP)
        except NotFoundError:
            raise NotFoundError(f"The path {self.store.label} is not an OCI image layout: it has no index.json.") from None
        return parse_manifest(raw, None, f"index.json of {self.what}")

    def _entry(self) -> Descriptor:
        entries = index_entries(self._top(), self.what)
        if not entries:
            raise NotFoundError(f"{self.what[:1].upper()}{self.what[1:]} holds no images.")
        index = self.ref.index
        if index is not None:
            if index >= len(entries):
                raise NotFoundError(f"{self.what[:1].upper()}{self.what[1:]} holds {len(entries)} images; @{index} is not one of them.")
            return entries[index]
        if self.ref.name is not None:
            for desc in entries:
                if self.ref.name in (desc.annotations.get(REF_NAME), desc.annotations.get(CONTAINERD_NAME)):
                    return desc
            names = sorted({d.annotations[REF_NAME] for d in entries if REF_NAME in d.annotations})
            have = ", ".join(names) or "no named images"
            raise NotFoundError(f"{self.what[:1].upper()}{self.what[1:]} has no image named {self.ref.name}; it holds {have}.")
        if len(entries) == 1:
            return entries[0]
        choices = [str(self.ref.with_name(d.annotations.get(REF_NAME) or f"@{i}")) for i, d in enumerate(entries)]
        raise AmbiguousImageError(
            f"{self.what[:1].upper()}{self.what[1:]} holds {len(entries)} images; name one, e.g. {choices[0]}.", choices
        )

    def _flatten(self, index: Manifest, depth: int = 0) -> list[Descriptor]:
        out: list[Descriptor] = []
        for desc in index_entries(index, self.what):
            if desc.media_type in INDEX_TYPES:
                if depth >= MAX_DEPTH:
                    raise ProtocolError(f"The index of {self.what} nests more than {MAX_DEPTH} indexes deep.")
                out.extend(self._flatten(self._manifest(desc), depth + 1))
            else:
                out.append(desc)
        return out

    def platforms(self) -> list[Platform]:
        desc = self._entry()
        if desc.media_type not in INDEX_TYPES:
            return []
        return offered(self._flatten(self._manifest(desc)))

    def load(self, platform: str | Platform | None = None) -> ImageInfo:
        top_desc = self._entry()
        top = self._manifest(top_desc)
        manifest, chosen, platforms = top, None, []
        if top.is_index:
            entries = self._flatten(top)
            platforms = offered(entries)
            desc = pick(entries, platform, f"The image in {self.what}")
            manifest = self._manifest(desc)
            if manifest.is_index:
                raise ProtocolError(f"The index of {self.what} points to an index where an image belongs.")
            chosen = desc.platform
        config_desc, layer_descs = image_parts(manifest, f"the image in {self.what}")
        config = parse_config(self._read(config_desc, "config"), self.what)
        return build_image(self.ref, manifest, config_desc, config, layer_descs, platform=chosen,
                           platforms=platforms, index_digest=top.digest if top.is_index else None)

    def close(self) -> None:
        self.store.close()
