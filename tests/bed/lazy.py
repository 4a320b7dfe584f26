"""eStargz and zstd:chunked layers made by the real producers.

zstd:chunked comes from `skopeo copy --dest-compress-format zstd:chunked`;
eStargz from `ctr-remote image convert --estargz` against a private containerd
this module starts (temporary root, state, socket, config). The source image
is an OCI layout built here from a tarfile layer. Plain functions and classes
serve benchmarks/bench_index.py too; the fixtures at the bottom share one
conversion per session and push the results to the real `registry` fixture.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
import dataclasses
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import pytest
import zstandard

from bed._http import Running
from bed.images import push_blob, push_manifest_raw

SKIP_CONTAINERD_ENV = "LAYERSLAYER_SKIP_CONTAINERD"
MTIME = 1_700_000_000
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


class ContainerdUnavailable(RuntimeError):
    """containerd or ctr-remote is missing or would not start."""


# -- the source layer --------------------------------------------------------


def write_layer_tar(dest: Path, *, files: int = 300, big: int = 5 * 1024 * 1024, seed: int = 7) -> Path:
    """A layer tar with dirs, files (one over 4 MiB, so producers chunk it), symlinks,
    hardlinks, devices, a fifo, setuid/sticky modes, owners, xattrs, a long name and a
    whiteout; names carry the `./` prefix that `tar -C dir -c .` writes."""
    rng = random.Random(seed)

    def info(name: str, kind: bytes, **kw: object) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.mtime = MTIME + rng.randrange(0, 10_000)
        ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
        for key, value in kw.items():
            setattr(ti, key, value)
        return ti

    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tf:

        def add(ti: tarfile.TarInfo, data: bytes = b"") -> None:
            if ti.type == tarfile.REGTYPE:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)

        add(info("./", tarfile.DIRTYPE))
        dirs = [f"./d{i:02d}" for i in range(max(4, files // 25))]
        for d in ["./etc", "./usr", "./usr/bin", *dirs]:
            add(info(d + "/", tarfile.DIRTYPE))
        add(info("./etc/os-release", tarfile.REGTYPE, uid=0, gid=0, uname="root", gname="root"), b"ID=test\n")
        add(info("./etc/owned", tarfile.REGTYPE, uid=1000, gid=1001, uname="alice", gname="staff"), b"mine\n")
        add(info("./usr/bin/big", tarfile.REGTYPE, mode=0o755), rng.randbytes(big))
        add(info("./usr/bin/suid", tarfile.REGTYPE, mode=0o4755), b"#!/bin/sh\n")
        add(info("./usr/bin/sgid", tarfile.REGTYPE, mode=0o2711), b"#!/bin/sh\n")
        add(info("./tmp/", tarfile.DIRTYPE, mode=0o1777))
        add(info("./usr/bin/empty", tarfile.REGTYPE), b"")
        xa = info("./etc/with-xattr", tarfile.REGTYPE)
        xa.pax_headers = {"SCHILY.xattr.user.comment": "hello", "SCHILY.xattr.security.capability": "cap"}
        add(xa, b"x")
        add(info("./usr/bin/sh", tarfile.SYMTYPE, linkname="dash"))
        add(info("./usr/bin/abs", tarfile.SYMTYPE, linkname="/etc/os-release"))
        add(info("./usr/bin/hard", tarfile.LNKTYPE, linkname="./etc/os-release"))
        add(info("./dev/", tarfile.DIRTYPE))
        add(info("./dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666))
        add(info("./dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0, mode=0o660))
        add(info("./dev/fifo", tarfile.FIFOTYPE))
        long_dir = "./" + "/".join(["deep-directory-name"] * 6)
        add(info(long_dir + "/", tarfile.DIRTYPE))
        add(info(long_dir + "/a-file-whose-path-is-well-over-one-hundred-bytes.txt", tarfile.REGTYPE), b"long\n")
        add(info("./etc/.wh.removed", tarfile.REGTYPE), b"")
        add(info("./d00/.wh..wh..opq", tarfile.REGTYPE), b"")
        for i in range(files):
            name = f"{dirs[i % len(dirs)]}/file-{i:05d}.txt"
            add(info(name, tarfile.REGTYPE, mode=rng.choice([0o644, 0o600, 0o755])), rng.randbytes(rng.randrange(0, 3000)))
            if i % 40 == 0:
                add(info(f"{dirs[i % len(dirs)]}/link-{i:05d}", tarfile.SYMTYPE, linkname=f"file-{i:05d}.txt"))
                add(info(f"{dirs[i % len(dirs)]}/hard-{i:05d}", tarfile.LNKTYPE, linkname=name))
    return dest


def _put_blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / digest).write_bytes(data)
    return "sha256:" + digest


def write_oci_layout(layout: Path, layer_tar: Path, *, tag: str = "src") -> Path:
    """An OCI image layout holding one image whose single layer is `layer_tar` gzipped."""
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    raw = layer_tar.read_bytes()
    packed = gzip.compress(raw, compresslevel=6, mtime=0)
    layer = _put_blob(layout, packed)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]},
            "history": [{"created_by": "/bin/sh -c #(nop) ADD layer.tar /"}],
        }
    ).encode()
    config_digest = _put_blob(layout, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": TAR_GZIP, "digest": layer, "size": len(packed)}],
        }
    ).encode()
    manifest_digest = _put_blob(layout, manifest)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return layout


# -- reading a converted layout ------------------------------------------------


@dataclass
class LazyImage:
    """One converted image: its layout and the (only) layer's descriptor and blob."""

    kind: str  # "estargz" or "zstd:chunked"
    layout: Path
    manifest: bytes
    config: bytes
    layer: dict  # the descriptor as the manifest holds it (mediaType, digest, size, annotations)
    repository: str = ""  # set once pushed

    @property
    def blob(self) -> Path:
        return self.layout / "blobs/sha256" / self.layer["digest"].split(":", 1)[1]

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.layer.get("annotations") or {})

    def tar_bytes(self) -> bytes:
        """The layer's tar stream: every gzip member / zstd frame, skippable frames skipped."""
        data = self.blob.read_bytes()
        if data[:4] == b"\x28\xb5\x2f\xfd":
            reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
            return reader.read()
        return gzip.decompress(data)  # gzip.decompress reads every member


def read_layout(kind: str, layout: Path) -> LazyImage:
    """The single image in an OCI layout, unwrapping the index-in-index `ctr export` writes."""
    blobs = layout / "blobs/sha256"
    descriptor = json.loads((layout / "index.json").read_text())["manifests"][0]
    while descriptor["mediaType"] in (OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"):
        inner = json.loads((blobs / descriptor["digest"].split(":", 1)[1]).read_text())
        descriptor = inner["manifests"][0]
    manifest = (blobs / descriptor["digest"].split(":", 1)[1]).read_bytes()
    parsed = json.loads(manifest)
    config = (blobs / parsed["config"]["digest"].split(":", 1)[1]).read_bytes()
    (layer,) = parsed["layers"]
    return LazyImage(kind, layout, manifest, config, layer)


# -- producers -------------------------------------------------------------------


def zstd_chunked_convert(src: Path, dest: Path, *, tag: str = "src") -> LazyImage:
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--dest-compress-format", "zstd:chunked", f"oci:{src}:{tag}", f"oci:{dest}:{tag}"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return read_layout("zstd:chunked", dest)


class Containerd(Running):
    """A private containerd (root needed) for ctr-remote conversions; a context manager."""

    def __init__(self) -> None:
        self.workdir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.address = ""

    def start(self, timeout: float = 20.0) -> Containerd:
        for tool in ("containerd", "ctr-remote"):
            if shutil.which(tool) is None:
                raise ContainerdUnavailable(
                    f"{tool} is not installed: install the Debian packages containerd and stargz-snapshotter."
                )
        # Short path: unix socket names are limited to about 100 bytes.
        self.workdir = Path(tempfile.mkdtemp(prefix="llctd-", dir="/tmp"))
        root, state = self.workdir / "root", self.workdir / "state"
        self.address = str(self.workdir / "c.sock")
        disabled = [
            "io.containerd.grpc.v1.cri",
            "io.containerd.snapshotter.v1.aufs",
            "io.containerd.snapshotter.v1.btrfs",
            "io.containerd.snapshotter.v1.devmapper",
            "io.containerd.snapshotter.v1.zfs",
            "io.containerd.internal.v1.opt",
            "io.containerd.tracing.processor.v1.otlp",
        ]
        config = self.workdir / "config.toml"
        config.write_text(
            "version = 2\n"
            f'root = "{root}"\nstate = "{state}"\n'
            f"disabled_plugins = {json.dumps(disabled)}\n"
            f'[grpc]\n  address = "{self.address}"\n'
            f'[ttrpc]\n  address = "{self.address}.ttrpc"\n'
            '[debug]\n  address = ""\n[metrics]\n  address = ""\n'
        )
        log = open(self.workdir / "containerd.log", "wb")  # noqa: SIM115 - closed with the process
        cmd = ["containerd", "--config", str(config), "--root", str(root), "--state", str(state), "--address", self.address]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            probe = subprocess.run(self._ctr("version"), capture_output=True, timeout=30)
            if probe.returncode == 0:
                return self
            time.sleep(0.1)
        tail = (self.workdir / "containerd.log").read_text(errors="replace")[-1500:]
        self.stop()
        raise ContainerdUnavailable(f"containerd did not start (it needs root); its log ends with: {tail}")

    def _ctr(self, *args: str) -> list[str]:
        return ["ctr-remote", "--address", self.address, "--namespace", "layerslayer", *args]

    def run(self, *args: str, timeout: float = 600) -> None:
        done = subprocess.run(self._ctr(*args), capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"ctr-remote {' '.join(args)} failed: {done.stderr.decode(errors='replace')[-1500:]}")

    def estargz_convert(self, src: Path, dest: Path, *, tag: str = "src") -> LazyImage:
        """import the OCI layout, convert to eStargz, export, unpack into `dest`."""
        assert self.workdir is not None
        work = Path(tempfile.mkdtemp(prefix="conv-", dir=self.workdir))
        archive = work / "src.tar"
        with tarfile.open(archive, "w") as tf:
            tf.add(src, arcname=".")
        # mkdtemp names may hold "_" next to "-", which image references refuse.
        slug = hashlib.sha256(work.name.encode()).hexdigest()[:12]
        name = f"src-{slug}:{tag}"
        converted = f"estargz-{slug}:{tag}"
        self.run("images", "import", "--no-unpack", "--index-name", name, str(archive))
        self.run("images", "convert", "--estargz", "--oci", name, converted)
        self.run("images", "export", str(work / "out.tar"), converted)
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(work / "out.tar") as tf:
            tf.extractall(dest, filter="data")
        shutil.rmtree(work, ignore_errors=True)
        return read_layout("estargz", dest)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None



# -- pushing (raw distribution API; the images bed may offer richer helpers) ----------


def push_image(registry: Any, repository: str, image: LazyImage, tag: str = "latest") -> LazyImage:
    """Push the converted image's layer, config and manifest (bed.images uploads)."""
    push_blob(registry, repository, image.blob.read_bytes())
    push_blob(registry, repository, image.config)
    push_manifest_raw(registry, repository, tag, image.manifest, OCI_MANIFEST)
    # A copy: the session-scoped converted images are shared, and one test pushing
    # under its own name must not move them for the others.
    return dataclasses.replace(image, repository=repository)


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lazy_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OCI layout (tag `src`) both producers convert."""
    base = tmp_path_factory.mktemp("lazy-src")
    tar_path = write_layer_tar(base / "layer.tar")
    return write_oci_layout(base / "layout", tar_path)


@pytest.fixture(scope="session")
def containerd() -> Iterator[Containerd]:
    if os.environ.get(SKIP_CONTAINERD_ENV) == "1":
        pytest.skip(f"containerd tests skipped ({SKIP_CONTAINERD_ENV}=1)")
    daemon = Containerd()
    try:
        daemon.start()
    except (ContainerdUnavailable, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(f"eStargz tests need a private containerd: {exc}", pytrace=False)
    try:
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def zstd_chunked_image(lazy_source: Path, tmp_path_factory: pytest.TempPathFactory) -> LazyImage:
    if shutil.which("skopeo") is None:
        pytest.fail("zstd:chunked tests need skopeo (Debian package skopeo).", pytrace=False)
    return zstd_chunked_convert(lazy_source, tmp_path_factory.mktemp("lazy-zstd") / "layout")


@pytest.fixture(scope="session")
def estargz_image(lazy_source: Path, containerd: Containerd, tmp_path_factory: pytest.TempPathFactory) -> LazyImage:
    return containerd.estargz_convert(lazy_source, tmp_path_factory.mktemp("lazy-estargz") / "layout")


@pytest.fixture(scope="session")
def pushed_lazy_images(registry, zstd_chunked_image: LazyImage, estargz_image: LazyImage) -> dict[str, LazyImage]:
    """Both conversions pushed to the anonymous registry fixture (lazy/zstd, lazy/estargz)."""
    return {
        "zstd:chunked": push_image(registry, "lazy/zstd", zstd_chunked_image),
        "estargz": push_image(registry, "lazy/estargz", estargz_image),
    }


# -- ground truth and the app's blob source -----------------------------------------

# zstd:chunked manifests (skopeo 1.9) carry uid/gid but not user and group names.
NAMELESS_FORMATS = frozenset({"zstd:chunked"})


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "" if name == "." else name


def tar_truth(tar_bytes: bytes, *, names: bool = True) -> list[dict[str, object]]:
    """Every entry of the tar as Python's tarfile reads it, in the fields a TarEntry carries."""
    kinds = {
        tarfile.REGTYPE: "file",
        tarfile.AREGTYPE: "file",
        tarfile.DIRTYPE: "dir",
        tarfile.SYMTYPE: "symlink",
        tarfile.LNKTYPE: "hardlink",
        tarfile.CHRTYPE: "char",
        tarfile.BLKTYPE: "block",
        tarfile.FIFOTYPE: "fifo",
    }
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        for m in tf:
            path = _norm(m.name)
            if not path:
                continue
            kind = kinds[m.type]
            link = None
            if kind == "symlink":
                link = m.linkname
            elif kind == "hardlink":
                link = _norm(m.linkname)
            xattrs = {k[len("SCHILY.xattr.") :]: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            out.append(
                {
                    "path": path,
                    "type": kind,
                    "size": m.size if kind == "file" else 0,
                    "mode": m.mode & 0o7777,
                    "uid": m.uid,
                    "gid": m.gid,
                    "uname": m.uname if names else "",
                    "gname": m.gname if names else "",
                    "mtime": float(m.mtime),
                    "link": link,
                    "devmajor": m.devmajor if kind in ("char", "block") else 0,
                    "devminor": m.devminor if kind in ("char", "block") else 0,
                    "xattrs": xattrs or None,
                }
            )
    return out


def entry_fields(entry: object, *, names: bool = True) -> dict[str, object]:
    """A TarEntry in the same shape as tar_truth's rows."""
    e = entry
    return {
        "path": e.path,  # type: ignore[attr-defined]
        "type": e.type.value,  # type: ignore[attr-defined]
        "size": e.size,  # type: ignore[attr-defined]
        "mode": e.mode,  # type: ignore[attr-defined]
        "uid": e.uid,  # type: ignore[attr-defined]
        "gid": e.gid,  # type: ignore[attr-defined]
        "uname": e.uname if names else "",  # type: ignore[attr-defined]
        "gname": e.gname if names else "",  # type: ignore[attr-defined]
        "mtime": float(e.mtime),  # type: ignore[attr-defined]
        "link": e.link,  # type: ignore[attr-defined]
        "devmajor": e.devmajor,  # type: ignore[attr-defined]
        "devminor": e.devminor,  # type: ignore[attr-defined]
        "xattrs": e.xattrs or None,  # type: ignore[attr-defined]
    }


def blob_source(server: Any, image: LazyImage) -> Any:
    """The app's own blob reader (RegistryClient.blob_source) for a pushed lazy image."""
    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.image import Descriptor

    client = RegistryClient(server.host, insecure=True)
    descriptor = Descriptor(image.layer["mediaType"], image.layer["digest"], image.layer["size"], image.annotations)
    return client.blob_source(image.repository, descriptor)
