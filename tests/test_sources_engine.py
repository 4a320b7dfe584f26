"""docker-daemon: and podman: sources against a real Podman API service
(Docker-compatible endpoints), started privately by the bed with an image
loaded from a skopeo docker-archive of a registry image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bed.engine import PodmanService
from bed.local_sources import LocalCopies
from layerslayer_tui.errors import NetworkError, NotFoundError
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def loaded(podman_service: PodmanService, local_copies: LocalCopies) -> str:
    return podman_service.load(local_copies.docker_archive)


def deleted_files() -> int:
    """Open descriptors of unlinked files (an O_TMPFILE shows as '/tmp/#N (deleted)')."""
    return sum(1 for t in fd_targets() if t.endswith(" (deleted)"))


def fd_targets() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("transport", ["docker-daemon", "podman"])
def test_engine_image_matches_the_registry_copy(transport: str, engine_env: PodmanService, loaded: str,
                                                local_copies: LocalCopies, tmp_path: Path) -> None:
    with Session(cache=False) as reg:
        reg_image = reg.open_image(local_copies.registry_ref)
        reg_lists = [list(reg.listing(reg_image, l, full=True)) for l in reg_image.layers]
    before = deleted_files()
    with Session(cache_path=tmp_path / "c.db") as s:
        assert s.platforms(f"{transport}:{loaded}") == []
        image = s.open_image(f"{transport}:{loaded}")
        assert image.reference == f"{transport}:{loaded}"
        assert [l.digest for l in image.layers] == [l.diff_id for l in reg_image.layers]
        assert image.config_digest == reg_image.config_digest
        for layer, batches in zip(image.layers, reg_lists):
            listing = s.listing(image, layer, full=True)
            list(listing)
            assert listing.progress.verified
            assert listing.entries == [e for b in batches for e in b.entries]
        assert s.carve(image, 2, "app/run").content == b"#!/bin/sh\necho bye\n"
        # The export lives in an unlinked temporary file, closed with the session: nothing is left behind.
        assert deleted_files() == before + 1
    assert deleted_files() == before


def test_unknown_image_and_no_engine(engine_env: PodmanService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Session(cache=False) as s:
        with pytest.raises(NotFoundError, match=r"^The Podman service has no image nothing/here:1\.$"):
            s.open_image("podman:nothing/here:1")
        monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'none.sock'}")
        with pytest.raises(NetworkError, match=r"^Cannot reach the Docker engine at unix://.*none\.sock: .*\.$"):
            s.open_image("docker-daemon:alpine:latest")
