"""An ImageInfo from a manifest and its config, as the registry client builds
one, for images read from local stores."""

from __future__ import annotations

import json

from .. import digest as digest_rules
from ..errors import ProtocolError
from ..registry.history import align, steps_from_config
from ..registry.manifests import Manifest
from ..image import Descriptor, ImageInfo, LayerInfo, Platform
from ..registry.platforms import from_json
from .ref import AmbiguousImageError, SourceRef  # noqa: F401 - re-exported for the readers

def check_digest(digest: str, what: str) -> str:
    if not digest_rules.is_valid(digest):
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} names a blob by an invalid digest ({str(digest)[:80]!r}).")
    return digest


def blob_path(digest: str, what: str) -> str:
    algo, _, hexpart = check_digest(digest, what).partition(":")
    return f"blobs/{algo}/{hexpart}"


def verify(data: bytes, desc: Descriptor, what: str) -> None:
    """A small blob read whole (a manifest, a config) against its descriptor."""
    if len(data) != desc.size:
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} is {len(data)} bytes, but its descriptor says {desc.size}.")
    if not digest_rules.matches(data, desc.digest):
        raise ProtocolError(f"{what[:1].upper()}{what[1:]} does not match its digest {desc.digest[:19]}…: the file was changed or damaged.")


def parse_config(raw: bytes, what: str) -> dict:
    try:
        config = json.loads(raw)
    except ValueError:
        raise ProtocolError(f"The config of {what} is not JSON.") from None
    if not isinstance(config, dict):
        raise ProtocolError(f"The config of {what} is not a JSON object.")
    return config


def diff_ids(config: dict) -> list:
    rootfs = config.get("rootfs") if isinstance(config.get("rootfs"), dict) else {}
    ids = rootfs.get("diff_ids")
    return ids if isinstance(ids, list) else []


def build_image(
    ref: SourceRef,
    manifest: Manifest,
    config_desc: Descriptor,
    config: dict,
    layer_descs: list[Descriptor],
    *,
    platform: Platform | None = None,
    platforms: list[Platform] | None = None,
    index_digest: str | None = None,
) -> ImageInfo:
    ids = diff_ids(config)
    steps = steps_from_config(config)
    aligned = align(steps, len(layer_descs))
    by_layer = {s.layer_index: s for s in steps if s.layer_index is not None}
    layers = [
        LayerInfo(index=i, descriptor=d, diff_id=str(ids[i]) if i < len(ids) else None, step=by_layer.get(i))
        for i, d in enumerate(layer_descs)
    ]
    if platform is None and config.get("architecture"):
        platform = from_json(config)
    return ImageInfo(
        registry=ref.transport,
        repository=ref.path or (ref.name or ""),
        reference=str(ref),
        manifest_digest=manifest.digest,
        media_type=manifest.media_type,
        config_digest=config_desc.digest,
        config=config,
        layers=layers,
        history=steps,
        history_aligned=aligned,
        platform=platform,
        platforms=platforms or [],
        index_digest=index_digest,
        tag=ref.name,
    )
