"""The image as plain values: what a registry or a local source describes (ggcr keeps these in v1, not in remote).

The registry client and the local sources (sources/) produce them; the cache,
the session and the app consume them without importing `registry/`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    urls: tuple[str, ...] = ()
    platform: Platform | None = None


@dataclass(slots=True)
class HistoryStep:
    """One entry of the config's history, empty or not."""

    created_by: str  # raw text as the config holds it ("" when absent)
    step: str  # pretty build step ("RUN apt-get ...", "ENV A=b")
    created: str | None = None
    comment: str | None = None
    empty_layer: bool = False
    layer_index: int | None = None  # which layer it made; None for empty steps or when unaligned


@dataclass(slots=True)
class LayerInfo:
    index: int  # 0 = bottom layer
    descriptor: Descriptor
    diff_id: str | None = None
    step: HistoryStep | None = None  # None when history could not be aligned

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    @property
    def size(self) -> int:
        return self.descriptor.size

    @property
    def media_type(self) -> str:
        return self.descriptor.media_type


@dataclass(slots=True)
class ImageInfo:
    registry: str  # canonical host, e.g. "docker.io", "localhost:5000"
    repository: str  # e.g. "library/ubuntu"
    reference: str  # the reference as the user meant it, normalised (e.g. "docker.io/library/ubuntu:22.04")
    manifest_digest: str
    media_type: str
    config_digest: str
    config: dict
    layers: list[LayerInfo]
    history: list[HistoryStep]  # every step, in order, empty ones included
    history_aligned: bool  # False when history and layers disagree (layers shown unlabelled)
    platform: Platform | None = None  # the platform chosen from an index, or the config's
    platforms: list[Platform] = field(default_factory=list)  # available platforms when the reference is an index
    index_digest: str | None = None
    tag: str | None = None
    from_cache: bool = False  # answered from the local cache, no registry asked (its credentials may be gone)
