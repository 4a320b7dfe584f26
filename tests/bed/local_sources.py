"""Local image sources made by the real producers from images pushed to the
bed's registry: `skopeo copy` to `oci:`, `oci-archive:` and
`docker-archive:`, `umoci` to tag a layout. Plus the layouts no producer
here writes (Docker 25+'s OCI-in-docker archive, a several-image docker
archive), assembled from those outputs the way the engine lays them out."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bed.images import PushedImage, make_layer, push_image, realistic_history


def need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"These tests need {tool} (Debian package {package}); scripts/test installs it.", pytrace=False)


def skopeo_copy(src: str, dest: str, *extra: str) -> None:
    """`skopeo copy` from the bed's plain-HTTP registry (docker://127.0.0.1:PORT/...)."""
    need("skopeo", "skopeo")
    args = ["skopeo", "copy", "--quiet", *extra]
    if src.startswith("docker://"):
        args.append("--src-tls-verify=false")
    subprocess.run([*args, src, dest], check=True, capture_output=True, timeout=300)


def umoci_tag(layout: Path, old: str, new: str) -> None:
    need("umoci", "umoci")
    subprocess.run(["umoci", "tag", "--image", f"{layout}:{old}", new], check=True, capture_output=True, timeout=120)


def tar_dir(src: Path, dest: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A tar of a directory's contents (relative names), plus extra members."""
    with tarfile.open(dest, "w") as tf:
        for path in sorted(src.rglob("*")):
            tf.add(path, arcname=str(path.relative_to(src)), recursive=False)
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return dest


def docker25_archive(layout: Path, dest: Path, repo_tag: str) -> Path:
    """What `docker save` writes since Docker 25: an OCI layout whose
    manifest.json names blobs/sha256/<hex> for the config and the layers."""
    index = json.loads((layout / "index.json").read_text())
    mdesc = index["manifests"][0]
    manifest = json.loads((layout / "blobs" / "sha256" / mdesc["digest"].split(":")[1]).read_text())
    blob = lambda d: "blobs/sha256/" + d["digest"].split(":")[1]  # noqa: E731
    entry = {"Config": blob(manifest["config"]), "RepoTags": [repo_tag], "Layers": [blob(l) for l in manifest["layers"]]}
    return tar_dir(layout, dest, {"manifest.json": json.dumps([entry]).encode()})


def merge_docker_archives(archives: list[Path], dest: Path) -> Path:
    """One docker-archive holding the images of several (what `docker save a b` writes)."""
    items: list[dict] = []
    seen: set[str] = set()
    with tarfile.open(dest, "w") as out:
        for path in archives:
            with tarfile.open(path) as tf:
                for member in tf.getmembers():
                    if member.name == "manifest.json":
                        items.extend(json.load(tf.extractfile(member)))  # type: ignore[arg-type]
                    elif member.name not in seen and member.name != "repositories":
                        seen.add(member.name)
                        out.addfile(member, tf.extractfile(member) if member.isreg() else None)
        data = json.dumps(items).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        out.addfile(info, io.BytesIO(data))
    return dest


@dataclass
class LocalCopies:
    image: PushedImage  # local/app:1 on the registry: Docker schema2, gzip layers (docker-archive needs no zstd)
    other: PushedImage  # local/other:2, one gzip layer
    oci_dir: Path  # skopeo copy -> oci:DIR:1
    oci_archive: Path  # skopeo copy -> oci-archive:FILE:1
    docker_archive: Path  # skopeo copy -> docker-archive:FILE:local/app:1 (uncompressed layers)
    other_archive: Path  # docker-archive of `other`

    @property
    def registry_ref(self) -> str:
        return self.image.ref


LOCAL_FILES = [
    {"etc": None, "etc/os-release": b"ID=local\n", "etc/hostname": b"box\n", "bin": None, "bin/sh": b"\x7fELF" + b"s" * 3000},
    {"etc": None, "etc/.wh.hostname": b"", "app": None, "app/run": b"#!/bin/sh\necho hi\n", "app/big.bin": bytes(range(256)) * 600},
    {"app": None, "app/run": b"#!/bin/sh\necho bye\n", "app/link": "->run"},
]


@pytest.fixture(scope="session")
def local_copies(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> LocalCopies:
    image = push_image(registry, "local/app", "1", [make_layer(f, "gzip") for f in LOCAL_FILES], media="docker",
                       history=realistic_history(3))
    other = push_image(registry, "local/other", "2", [make_layer({"other": None, "other/x": b"x\n"}, "gzip")],
                       media="docker")
    root = tmp_path_factory.mktemp("local-copies")
    src = f"docker://{image.ref}"
    skopeo_copy(src, f"oci:{root / 'layout'}:1")
    skopeo_copy(src, f"oci-archive:{root / 'app-oci.tar'}:1")
    skopeo_copy(src, f"docker-archive:{root / 'app-docker.tar'}:local/app:1")
    skopeo_copy(f"docker://{other.ref}", f"docker-archive:{root / 'other-docker.tar'}:local/other:2")
    return LocalCopies(image, other, root / "layout", root / "app-oci.tar", root / "app-docker.tar", root / "other-docker.tar")
