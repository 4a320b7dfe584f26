"""Helpers shared by the test_fs_* modules (no tests here): build layer tars
with tarfile, read them back as TarEntry values, and apply them with umoci."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

from layerslayer_tui.entry import EntryType, TarEntry

_TYPES = {
    tarfile.REGTYPE: EntryType.FILE,
    tarfile.AREGTYPE: EntryType.FILE,
    tarfile.CONTTYPE: EntryType.FILE,
    tarfile.DIRTYPE: EntryType.DIR,
    tarfile.SYMTYPE: EntryType.SYMLINK,
    tarfile.LNKTYPE: EntryType.HARDLINK,
    tarfile.CHRTYPE: EntryType.CHAR,
    tarfile.BLKTYPE: EntryType.BLOCK,
    tarfile.FIFOTYPE: EntryType.FIFO,
}

MTIME = 1_700_000_000


def build_layer(specs: list[tuple]) -> bytes:
    """Specs, in stream order:
    ("dir", path[, mode, mtime]) ("file", path, content[, mode, mtime])
    ("symlink", path, target) ("hardlink", path, target)
    ("whiteout", path) -> parent/.wh.name   ("opaque", dir) -> dir/.wh..wh..opq
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for spec in specs:
            kind, path = spec[0], spec[1]
            info = tarfile.TarInfo(path)
            info.mtime = MTIME
            info.uname = info.gname = "root"
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = spec[2] if len(spec) > 2 else 0o755
                info.mtime = spec[3] if len(spec) > 3 else MTIME
            elif kind == "file":
                data = spec[2]
                info.size = len(data)
                info.mode = spec[3] if len(spec) > 3 else 0o644
                info.mtime = spec[4] if len(spec) > 4 else MTIME
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, spec[2], 0o777
            elif kind == "hardlink":
                info.type, info.linkname, info.mode = tarfile.LNKTYPE, spec[2], 0o644
            elif kind == "whiteout":
                head, _, name = path.rpartition("/")
                info.name = f"{head}/.wh.{name}" if head else f".wh.{name}"
                info.mode, data = 0o600, b""
            elif kind == "opaque":
                info.name = f"{path}/.wh..wh..opq" if path else ".wh..wh..opq"
                info.mode, data = 0o600, b""
            else:
                raise ValueError(kind)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def read_entries(tar_bytes: bytes) -> list[TarEntry]:
    """The reference reading of a layer: CPython's tarfile."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for info in tar:
            out.append(
                TarEntry(
                    path=info.name,  # raw: fs/ must normalise "./", "/" and trailing "/" itself
                    type=_TYPES[info.type],
                    size=info.size if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else 0,
                    mode=info.mode,
                    uid=info.uid,
                    gid=info.gid,
                    uname=info.uname,
                    gname=info.gname,
                    mtime=float(info.mtime),
                    link=(info.linkname or None) if info.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else None,
                    offset=info.offset,
                    devmajor=info.devmajor,
                    devminor=info.devminor,
                )
            )
    return out


def _blob(root: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def umoci_unpack(layers: list[bytes], workdir: Path) -> Path:
    """Apply layer tars in order with umoci (the referee); returns the rootfs."""
    layout = workdir / "layout"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    layer_descs = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", **_blob(layout, data)} for data in layers
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in layer_descs]},
        "config": {},
    }
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json", **_blob(layout, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": layer_descs}  # fmt: skip
    manifest_desc = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        **_blob(layout, json.dumps(manifest).encode()),
        "annotations": {"org.opencontainers.image.ref.name": "t"},
    }
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]}))
    rootfs = workdir / "rootfs"
    cmd = ["umoci", "raw", "unpack"] + ([] if os.geteuid() == 0 else ["--rootless"])
    subprocess.run(cmd + ["--image", f"{layout}:t", str(rootfs)], check=True, capture_output=True)
    return rootfs


def have_umoci() -> bool:
    return shutil.which("umoci") is not None


def walk_rootfs(root: Path) -> dict[str, tuple]:
    """path -> (type, size, permission bits, mtime, symlink target) from lstat."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = Path(dirpath, name)
            st = full.lstat()
            rel = full.relative_to(root).as_posix()
            if stat.S_ISDIR(st.st_mode):
                kind, size, link = "dir", 0, None
            elif stat.S_ISLNK(st.st_mode):
                kind, size, link = "symlink", 0, os.readlink(full)
            else:
                kind, size, link = "file", st.st_size, None
            out[rel] = (kind, size, stat.S_IMODE(st.st_mode), int(st.st_mtime), link)
    return out
