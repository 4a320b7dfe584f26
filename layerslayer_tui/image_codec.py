"""The cache's JSON form of a loaded image (ImageInfo) and of platform lists."""

from __future__ import annotations

import json
from typing import Any

from layerslayer_tui.listing_codec import DecodeError
from layerslayer_tui.image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform


def platform_to_dict(p: Platform | None) -> dict | None:
    if p is None:
        return None
    return {"os": p.os, "architecture": p.architecture, "variant": p.variant,
            "os_version": p.os_version, "os_features": list(p.os_features)}


def _get(d: Any, key: str, *types: type, optional: bool = False) -> Any:
    """d[key], of one of `types` (exactly: JSON true is no int) or None when
    optional; DecodeError otherwise. The cache file is ours, but whatever a
    tampered row holds must not travel on as a value of the wrong type."""
    if not isinstance(d, dict):
        raise DecodeError("a cached image record is malformed")
    value = d.get(key) if optional else d[key]
    if (optional and value is None) or type(value) in types:
        return value
    raise DecodeError(f"a cached image record's {key} has the wrong type")


def _strings(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(type(v) is str for v in values):
        raise DecodeError("a cached image record holds a malformed list")
    return tuple(values)


def platform_from_dict(d: dict | None) -> Platform | None:
    if d is None:
        return None
    return Platform(_get(d, "os", str), _get(d, "architecture", str), _get(d, "variant", str, optional=True),
                    _get(d, "os_version", str, optional=True), _strings(d.get("os_features") or []))


def _step_to(s: HistoryStep | None) -> dict | None:
    if s is None:
        return None
    return {"created_by": s.created_by, "step": s.step, "created": s.created, "comment": s.comment,
            "empty_layer": s.empty_layer, "layer_index": s.layer_index}


def _step_from(d: dict | None) -> HistoryStep | None:
    if d is None:
        return None
    return HistoryStep(_get(d, "created_by", str), _get(d, "step", str), _get(d, "created", str, optional=True),
                       _get(d, "comment", str, optional=True), _get(d, "empty_layer", bool),
                       _get(d, "layer_index", int, optional=True))


def image_to_json(info: ImageInfo) -> bytes:
    layers = [
        {
            "index": li.index,
            "descriptor": {
                "media_type": li.descriptor.media_type,
                "digest": li.descriptor.digest,
                "size": li.descriptor.size,
                "annotations": dict(li.descriptor.annotations),
                "urls": list(li.descriptor.urls),
                "platform": platform_to_dict(li.descriptor.platform),
            },
            "diff_id": li.diff_id,
            "step": _step_to(li.step),
        }
        for li in info.layers
    ]
    doc = {
        "registry": info.registry, "repository": info.repository, "reference": info.reference,
        "manifest_digest": info.manifest_digest, "media_type": info.media_type,
        "config_digest": info.config_digest, "config": info.config, "layers": layers,
        "history": [_step_to(s) for s in info.history], "history_aligned": info.history_aligned,
        "platform": platform_to_dict(info.platform), "platforms": [platform_to_dict(p) for p in info.platforms],
        "index_digest": info.index_digest, "tag": info.tag,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def image_from_json(data: bytes) -> ImageInfo:
    """The ImageInfo image_to_json wrote; DecodeError (or JSON's own errors)
    for anything else."""
    d = json.loads(data)
    layers = []
    for li in _get(d, "layers", list):
        desc = _get(li, "descriptor", dict)
        annotations = _get(desc, "annotations", dict)
        if not all(type(k) is str and type(v) is str for k, v in annotations.items()):
            raise DecodeError("a cached image record's annotations are malformed")
        size = _get(desc, "size", int)
        if size < 0:
            raise DecodeError("a cached image record's layer size is negative")
        layers.append(
            LayerInfo(
                index=_get(li, "index", int),
                descriptor=Descriptor(_get(desc, "media_type", str), _get(desc, "digest", str), size, annotations,
                                      _strings(_get(desc, "urls", list)),
                                      platform_from_dict(_get(desc, "platform", dict, optional=True))),
                diff_id=_get(li, "diff_id", str, optional=True),
                step=_step_from(_get(li, "step", dict, optional=True)),
            )
        )
    return ImageInfo(
        registry=_get(d, "registry", str), repository=_get(d, "repository", str), reference=_get(d, "reference", str),
        manifest_digest=_get(d, "manifest_digest", str), media_type=_get(d, "media_type", str),
        config_digest=_get(d, "config_digest", str), config=_get(d, "config", dict), layers=layers,
        history=[_history_step(s) for s in _get(d, "history", list)],
        history_aligned=_get(d, "history_aligned", bool), platform=platform_from_dict(_get(d, "platform", dict, optional=True)),
        platforms=[p for p in map(platform_from_dict, _platform_list(_get(d, "platforms", list))) if p is not None],
        index_digest=_get(d, "index_digest", str, optional=True), tag=_get(d, "tag", str, optional=True),
    )


def _history_step(value: Any) -> HistoryStep:
    step = _step_from(value) if isinstance(value, dict) else None
    if step is None:
        raise DecodeError("a cached image record's history is malformed")
    return step


def _platform_list(values: list) -> list[dict | None]:
    if not all(v is None or isinstance(v, dict) for v in values):
        raise DecodeError("a cached platform list is malformed")
    return values


def platforms_to_json(platforms: list[Platform]) -> bytes:
    return json.dumps([platform_to_dict(p) for p in platforms]).encode()


def platforms_from_json(data: bytes) -> list[Platform]:
    values = json.loads(data)
    if not isinstance(values, list):
        raise DecodeError("a cached platform list is malformed")
    return [p for p in map(platform_from_dict, _platform_list(values)) if p is not None]
