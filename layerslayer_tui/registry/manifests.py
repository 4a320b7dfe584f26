"""Manifests and indexes (OCI and Docker schema2, nested), read bounded and
digest-checked; configs; the rest is refused with a sentence."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import digest as digests
from ..errors import ProtocolError
from .auth import pull_scope
from ..image import Descriptor
from .platforms import from_json
from .response import check, content_length, parse_json, read_body

if TYPE_CHECKING:
    from .api import Api

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json", "application/vnd.docker.distribution.manifest.v1+prettyjws")
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
IMAGE_CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})

MANIFEST_CAP = 4 * 1024 * 1024  # distribution's own limit for manifests
MAX_DESCRIPTORS = 10_000
MAX_SIZE = 2**63 - 1  # descriptors hold int64 sizes


@dataclass(frozen=True, slots=True)
class Manifest:
    digest: str  # sha256 of the bytes as received
    media_type: str
    raw: bytes
    data: dict

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _bad(what: str, why: str) -> ProtocolError:
    return ProtocolError(f"The manifest of {what} {why}.")


def parse_descriptor(d: object, what: str) -> Descriptor:
    if not isinstance(d, dict):
        raise _bad(what, "holds a descriptor that is not an object")
    media_type, digest, size = d.get("mediaType"), d.get("digest"), d.get("size")
    if not digests.is_valid(digest):
        # Checked before the digest goes anywhere near a URL or a file name.
        raise _bad(what, "holds a descriptor with an invalid digest (expected sha256: and 64 lowercase hex digits)")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_SIZE:
        raise _bad(what, f"gives {digest[:19]} no valid size")
    ann = d.get("annotations")
    annotations = {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}
    urls = d.get("urls")
    return Descriptor(
        media_type=media_type if isinstance(media_type, str) else "",
        digest=digest,
        size=size,
        annotations=annotations,
        urls=tuple(str(u) for u in urls) if isinstance(urls, list) else (),
        platform=from_json(d.get("platform")),
    )


def parse_manifest(raw: bytes, content_type: str | None, what: str) -> Manifest:
    data = parse_json(raw, f"The manifest of {what} is not JSON.")
    if not isinstance(data, dict):
        raise _bad(what, "is not a JSON object")
    header_type = (content_type or "").split(";")[0].strip()
    media_type = data.get("mediaType") if isinstance(data.get("mediaType"), str) else ""
    if data.get("schemaVersion") == 1 or media_type in DOCKER_SCHEMA1 or header_type in DOCKER_SCHEMA1:
        raise ProtocolError(
            f"{what[:1].upper()}{what[1:]} uses the deprecated Docker schema 1 manifest format, which this app does not read; "
            "re-push it with a current Docker or skopeo."
        )
    if not media_type:
        # Old OCI manifests may omit mediaType: infer from the shape, then the header.
        if isinstance(data.get("manifests"), list):
            media_type = header_type if header_type in INDEX_TYPES else OCI_INDEX
        elif isinstance(data.get("config"), dict):
            media_type = header_type if header_type in MANIFEST_TYPES else OCI_MANIFEST
        else:
            media_type = header_type
    if media_type not in INDEX_TYPES and media_type not in MANIFEST_TYPES:
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} is a {media_type or 'manifest of unknown type'}, not a container image.")
    return Manifest(_sha256(raw), media_type, raw, data)


def fetch_manifest(
    api: Api,
    repository: str,
    identifier: str,
    *,
    what: str,
    expected_digest: str | None = None,
    expected_size: int | None = None,
) -> Manifest:
    """GET /v2/<repo>/manifests/<tag or digest>; verified when by digest."""
    if expected_digest is not None:
        digests.check(expected_digest, f"the manifest of {what}")
    if ":" in identifier:  # a tag never holds one: this is a digest, and goes into the URL
        digests.check(identifier, f"the manifest of {what}")
    with api.deadline():
        resp = api.request("GET", f"/v2/{repository}/manifests/{identifier}", scope=pull_scope(repository), headers={"Accept": ACCEPT}, what=what)
        check(resp, what)
        length = content_length(resp)
        if length is not None and length > MANIFEST_CAP:
            resp.close()
            raise _bad(what, f"is {length} bytes, more than the {MANIFEST_CAP} allowed")
        content_type = resp.headers.get("Content-Type")
        raw = read_body(resp, MANIFEST_CAP, what=f"the manifest of {what}")
    if raw is None:
        raise _bad(what, f"is more than the {MANIFEST_CAP} bytes allowed")
    if expected_size is not None and len(raw) != expected_size:
        raise _bad(what, f"is {len(raw)} bytes, but its descriptor says {expected_size}")
    if expected_digest is not None:
        if not digests.matches(raw, expected_digest):
            raise _bad(what, "does not match the digest it was asked for: the registry sent different content")
    manifest = parse_manifest(raw, content_type, what)
    if expected_digest is not None and not expected_digest.startswith("sha256:"):
        manifest = Manifest(expected_digest, manifest.media_type, manifest.raw, manifest.data)
    return manifest


def index_entries(manifest: Manifest, what: str) -> list[Descriptor]:
    entries = manifest.data.get("manifests")
    if not isinstance(entries, list):
        raise _bad(what, "is an index without a manifests list")
    if len(entries) > MAX_DESCRIPTORS:
        raise _bad(what, f"lists more than {MAX_DESCRIPTORS} manifests")
    return [parse_descriptor(d, what) for d in entries]


def image_parts(manifest: Manifest, what: str) -> tuple[Descriptor, list[Descriptor]]:
    """(config, layers) of an image manifest; artifacts are refused."""
    data = manifest.data
    config = parse_descriptor(data.get("config"), what)
    layers_raw = data.get("layers")
    if not isinstance(layers_raw, list):
        raise _bad(what, "has no layers list")
    if len(layers_raw) > MAX_DESCRIPTORS:
        raise _bad(what, f"lists more than {MAX_DESCRIPTORS} layers")
    artifact_type = data.get("artifactType")
    if config.media_type not in IMAGE_CONFIG_TYPES:
        kind = artifact_type if isinstance(artifact_type, str) and artifact_type else config.media_type or "unknown"
        raise ProtocolError(
            f"{what[:1].upper()}{what[1:]} is an OCI artifact ({kind}), not a container image, so it has no file layers to show."
        )
    return config, [parse_descriptor(d, what) for d in layers_raw]
