"""The cache's JSON form of a loaded image (ImageInfo) and of platform lists."""

from __future__ import annotations

import json

from layerslayer_tui.registry.models import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform


def platform_to_dict(p: Platform | None) -> dict | None:
    if p is None:
        return None
    return {"os": p.os, "architecture": p.architecture, "variant": p.variant,
            "os_version": p.os_version, "os_features": list(p.os_features)}


def platform_from_dict(d: dict | None) -> Platform | None:
    if d is None:
        return None
    return Platform(d["os"], d["architecture"], d.get("variant"), d.get("os_version"), tuple(d.get("os_features") or ()))


def _step_to(s: HistoryStep | None) -> dict | None:
    if s is None:
        return None
    return {"created_by": s.created_by, "step": s.step, "created": s.created, "comment": s.comment,
            "empty_layer": s.empty_layer, "layer_index": s.layer_index}


def _step_from(d: dict | None) -> HistoryStep | None:
    return None if d is None else HistoryStep(**d)


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
    d = json.loads(data)
    layers = []
    for li in d["layers"]:
        desc = li["descriptor"]
        layers.append(
            LayerInfo(
                index=li["index"],
                descriptor=Descriptor(desc["media_type"], desc["digest"], desc["size"], desc["annotations"],
                                      tuple(desc["urls"]), platform_from_dict(desc["platform"])),
                diff_id=li["diff_id"],
                step=_step_from(li["step"]),
            )
        )
    return ImageInfo(
        registry=d["registry"], repository=d["repository"], reference=d["reference"],
        manifest_digest=d["manifest_digest"], media_type=d["media_type"], config_digest=d["config_digest"],
        config=d["config"], layers=layers, history=[_step_from(s) for s in d["history"]],
        history_aligned=d["history_aligned"], platform=platform_from_dict(d["platform"]),
        platforms=[p for p in map(platform_from_dict, d["platforms"]) if p is not None],
        index_digest=d["index_digest"], tag=d["tag"],
    )


def platforms_to_json(platforms: list[Platform]) -> bytes:
    return json.dumps([platform_to_dict(p) for p in platforms]).encode()


def platforms_from_json(data: bytes) -> list[Platform]:
    return [p for p in map(platform_from_dict, json.loads(data)) if p is not None]
