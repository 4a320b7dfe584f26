"""The platform picker shown when a reference names a multi-arch index."""

from __future__ import annotations

import platform as host

from layerslayer_tui.image import Platform

from .choice import ChoiceScreen

# platform.machine() spellings to the names image indexes use.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386", "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> tuple[str, str]:
    system = host.system().lower() or "linux"
    if system == "darwin":
        system = "linux"  # images for macOS hosts are linux images
    machine = host.machine().lower()
    return system, _ARCH.get(machine, machine)


def preselect(platforms: list[Platform]) -> int:
    os_, arch = host_platform()
    for i, p in enumerate(platforms):
        if p.os == os_ and p.architecture == arch:
            return i
    return 0


class PlatformScreen(ChoiceScreen):
    """Dismisses with the index of the chosen platform, or None."""

    def __init__(self, reference: str, platforms: list[Platform]) -> None:
        super().__init__(
            f"{reference} is a multi-platform image: pick a platform",
            [str(p) + (f" ({p.os_version})" if p.os_version else "") for p in platforms],
            preselect(platforms),
            "Enter opens it; escape cancels. --platform skips this question.",
        )
        self.platforms = platforms
