"""Platform names as people and indexes write them, normalised the way
containerd's platforms package does, and the choice of one index entry."""

from __future__ import annotations

import platform as _host
from collections.abc import Iterable

from ..errors import InvalidReferenceError, NotFoundError
from ..image import Descriptor, Platform

_ARCH = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "arm": "arm",
    "i386": "386",
    "i686": "386",
    "386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
# What a bare name implies about the variant (before any variant given explicitly).
_IMPLIED_VARIANT = {"armhf": "v7", "armel": "v6"}
ATTESTATION_TYPE = "attestation-manifest"


def normalise(p: Platform) -> Platform:
    """Canonical form: x86_64 -> amd64, aarch64 / arm64/v8 -> arm64,
    armhf -> arm/v7, armel -> arm/v6, bare arm -> arm/v7, i386 -> 386."""
    os_ = (p.os or "").lower()
    raw_arch = (p.architecture or "").lower()
    arch = _ARCH.get(raw_arch, raw_arch)
    variant = (p.variant or "").lower() or _IMPLIED_VARIANT.get(raw_arch)
    if arch == "arm64" and variant in ("v8", "8"):
        variant = None
    if arch == "arm":
        variant = variant or "v7"
        if variant.isdigit():
            variant = "v" + variant
    if arch == "amd64" and variant == "v1":
        variant = None
    return Platform(os_, arch, variant or None, p.os_version, p.os_features)


def parse_platform(text: str) -> Platform:
    """`os/arch[/variant]` as given to --platform."""
    parts = [x.strip() for x in text.strip().split("/")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidReferenceError(f"'{text}' is not a platform: write it as os/arch or os/arch/variant, e.g. linux/arm64.")
    return normalise(Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None))


def host_platform() -> Platform:
    """Images run on Linux (in a VM where the host is not), on this machine's CPU."""
    return normalise(Platform("linux", _host.machine() or "amd64"))


def from_json(d: object) -> Platform | None:
    if not isinstance(d, dict):
        return None
    feats = d.get("os.features") or ()
    return Platform(
        str(d.get("os", "")),
        str(d.get("architecture", "")),
        (str(d["variant"]) if d.get("variant") else None),
        (str(d["os.version"]) if d.get("os.version") else None),
        tuple(str(f) for f in feats) if isinstance(feats, list) else (),
    )


def is_attestation(desc: Descriptor) -> bool:
    if desc.annotations.get("vnd.docker.reference.type") == ATTESTATION_TYPE:
        return True
    p = desc.platform
    return p is not None and p.os == "unknown" and p.architecture == "unknown"


def matches(want: Platform, have: Platform | None) -> bool:
    if have is None:
        return False
    w, h = normalise(want), normalise(have)
    if (w.os, w.architecture) != (h.os, h.architecture):
        return False
    if w.variant and w.variant != h.variant:
        return False
    if w.os_version and w.os_version != h.os_version:
        return False
    return all(f in h.os_features for f in w.os_features)


def choose(entries: Iterable[Descriptor], want: Platform) -> Descriptor | None:
    """The first non-attestation entry that matches; with no variant asked,
    an exact variant-less entry beats one with a variant only if it comes first."""
    for desc in entries:
        if not is_attestation(desc) and matches(want, desc.platform):
            return desc
    return None


def offered(entries: Iterable[Descriptor]) -> list[Platform]:
    """The platforms an index's entries offer, in order, once each, attestations skipped."""
    seen: list[Platform] = []
    for d in entries:
        if d.platform is not None and not is_attestation(d) and d.platform not in seen:
            seen.append(d.platform)
    return seen


def pick(entries: list[Descriptor], platform: str | Platform | None, subject: str) -> Descriptor:
    """The entry for `platform` (this machine's when None); `subject` opens the
    sentence when none fits (the registry and the on-disk copies name it apart)."""
    want = host_platform() if platform is None else parse_platform(platform) if isinstance(platform, str) else normalise(platform)
    desc = choose(entries, want)
    if desc is None:
        have = ", ".join(str(p) for p in offered(entries)) or "no platforms"
        raise NotFoundError(f"{subject} has no {want} variant; it offers {have}.")
    return desc
