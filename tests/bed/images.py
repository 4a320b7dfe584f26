"""Test-side image pushing through the registry's upload API.

Deliberately independent of layerslayer_tui's registry client (it is what the
tests check): plain requests, monolithic blob uploads, PUT manifest, and the
test credentials of each bed flavour (Basic or bearer token, found from the
registry's own challenge)."""

from __future__ import annotations

import gzip
import hashlib
import contextlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import pytest
import requests
import zstandard

# -- media types ----------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
# Docker schema2 has no zstd type; moby/buildkit write the OCI one into Docker manifests.
DOCKER_LAYER_ZSTD = OCI_LAYER_ZSTD
IN_TOTO = "application/vnd.in-toto+json"

LAYER_MEDIA = {
    "oci": {"gzip": OCI_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD, "none": OCI_LAYER_TAR},
    "docker": {"gzip": DOCKER_LAYER_GZIP, "zstd": DOCKER_LAYER_ZSTD, "none": DOCKER_LAYER_TAR},
}

MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])


class PushError(RuntimeError):
    """The registry refused a push (status and body in the message)."""

    def __init__(self, what: str, resp: requests.Response) -> None:
        super().__init__(f"{what}: HTTP {resp.status_code} {resp.text[:500]}")
        self.status = resp.status_code
        self.body = resp.text


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


# -- compression ----------------------------------------------------------------


def sniff(data: bytes) -> str:
    """"gzip", "zstd" or "none", from the magic bytes."""
    if data[:3] == b"\x1f\x8b\x08":
        return "gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd" or (
        len(data) >= 4 and data[1:4] == b"\x2a\x4d\x18" and (data[0] & 0xF0) == 0x50
    ):
        return "zstd"
    return "none"


def decompress(data: bytes) -> bytes:
    """The uncompressed tar bytes of a layer blob (all gzip members / zstd frames)."""
    kind = sniff(data)
    if kind == "gzip":
        return gzip.decompress(data)  # reads every member
    if kind == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(data), read_across_frames=True
        )
        return reader.read()
    return data


def compress(tar_bytes: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(tar_bytes, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(tar_bytes)
    if compression == "none":
        return tar_bytes
    raise ValueError(f"unknown compression {compression!r}")


def make_tar(files: dict[str, bytes | str | None], *, mtime: int = 1_700_000_000) -> bytes:
    """A small tar: path -> bytes (file), str starting with '->' (symlink), None (dir).
    Only for the bed's own tests; the full toolkit is bed.layers."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.mtime = mtime
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tf.addfile(info)
            elif isinstance(content, str) and content.startswith("->"):
                info.type = tarfile.SYMTYPE
                info.linkname = content[2:]
                info.mode = 0o777
                tf.addfile(info)
            else:
                data = content.encode() if isinstance(content, str) else content
                info.size = len(data)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_layer(files: dict[str, bytes | str | None], compression: str = "gzip") -> bytes:
    return compress(make_tar(files), compression)


# -- values ---------------------------------------------------------------------


@dataclass
class LayerSpec:
    """A layer blob with what to say about it in the manifest."""

    data: bytes  # the blob as pushed (compressed or not)
    media_type: str | None = None  # default: from the sniffed compression and the manifest flavour
    annotations: dict[str, str] | None = None
    diff_id: str | None = None  # default: sha256 of the decompressed bytes
    urls: list[str] | None = None


@dataclass
class PushedLayer:
    digest: str
    size: int
    media_type: str
    diff_id: str
    data: bytes
    annotations: dict[str, str] = field(default_factory=dict)

    def descriptor(self) -> dict:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d


class _Addressed:
    """What a pushed manifest (image or index) answers to."""

    host: str
    repo: str
    tag: str | None
    manifest_bytes: bytes
    manifest_digest: str

    @property
    def size(self) -> int:
        return len(self.manifest_bytes)

    @property
    def ref(self) -> str:
        """host/repo:tag (or @digest when pushed without a tag)."""
        return f"{self.host}/{self.repo}:{self.tag}" if self.tag else self.digest_ref

    @property
    def digest_ref(self) -> str:
        return f"{self.host}/{self.repo}@{self.manifest_digest}"


@dataclass
class PushedImage(_Addressed):
    host: str
    repo: str
    tag: str | None
    media_type: str
    manifest: dict
    manifest_bytes: bytes
    manifest_digest: str
    config: dict
    config_bytes: bytes
    config_digest: str
    layers: list[PushedLayer]
    platform: tuple[str, str, str | None] | None

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers]


@dataclass
class PushedIndex(_Addressed):
    host: str
    repo: str
    tag: str | None
    media_type: str
    manifest: dict
    manifest_bytes: bytes
    manifest_digest: str
    children: list[Union[PushedImage, "PushedIndex"]]
    attestations: list[PushedImage] = field(default_factory=list)


# -- auth -----------------------------------------------------------------------


def _target(reg: Any) -> Any:
    """Pushes go straight to the registry process, also for a redirect front."""
    return getattr(reg, "registry", reg)


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.partition(" ")
    params: dict[str, str] = {}
    i, n = 0, len(rest)
    while i < n:
        while i < n and rest[i] in " ,":
            i += 1
        eq = rest.find("=", i)
        if eq < 0:
            break
        key = rest[i:eq].strip().lower()
        i = eq + 1
        if i < n and rest[i] == '"':
            i += 1
            val = []
            while i < n and rest[i] != '"':
                if rest[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(rest[i])
                i += 1
            i += 1
            params[key] = "".join(val)
        else:
            end = rest.find(",", i)
            end = n if end < 0 else end
            params[key] = rest[i:end].strip()
            i = end
    return scheme.lower(), params


class _Pusher:
    """A requests session that answers the registry's challenge with the bed's
    credentials: Basic as is, or a push+pull token for the repository."""

    def __init__(self, reg: Any) -> None:
        self.reg = _target(reg)
        self.base = self.reg.url
        self.session = requests.Session()
        self._tokens: dict[str, str] = {}
        self._challenge: tuple[str, dict[str, str]] | None = None
        ping = self.session.get(f"{self.base}/v2/", timeout=30)
        if ping.status_code == 401:
            self._challenge = _parse_challenge(ping.headers.get("WWW-Authenticate", ""))

    def _auth(self, repo: str) -> dict[str, str]:
        if self._challenge is None:
            return {}
        scheme, params = self._challenge
        creds = (self.reg.username, self.reg.password)
        if scheme == "basic":
            return {"Authorization": requests.auth._basic_auth_str(*creds)}
        if repo not in self._tokens:
            r = requests.get(
                params["realm"],
                params={"service": params.get("service", ""), "scope": f"repository:{repo}:pull,push"},
                auth=creds,
                timeout=30,
            )
            if r.status_code != 200:
                raise PushError("token for push", r)
            body = r.json()
            self._tokens[repo] = body.get("token") or body["access_token"]
        return {"Authorization": f"Bearer {self._tokens[repo]}"}

    def request(self, method: str, repo: str, url: str, **kw: Any) -> requests.Response:
        if not url.startswith("http"):
            url = self.base + url
        headers = {**kw.pop("headers", {}), **self._auth(repo)}
        kw.setdefault("timeout", 60)
        return self.session.request(method, url, headers=headers, **kw)


_pushers: dict[int, _Pusher] = {}


def _pusher(reg: Any) -> _Pusher:
    target = _target(reg)
    p = _pushers.get(id(target))
    if p is None or p.reg is not target:
        p = _pushers[id(target)] = _Pusher(target)
    return p


# -- pushes ---------------------------------------------------------------------


def push_blob(reg: Any, repo: str, data: bytes | Path, digest: str | None = None) -> str:
    """Monolithic upload (POST then PUT ?digest=); returns the digest.

    A Path is streamed from disk (a benchmark's gigabyte layer); pass its
    digest along, or it is hashed first."""
    p = _pusher(reg)
    if digest is None:
        digest = sha256_digest(data) if isinstance(data, bytes) else _file_digest(data)
    head = p.request("HEAD", repo, f"/v2/{repo}/blobs/{digest}")
    if head.status_code == 200:
        return digest
    start = p.request("POST", repo, f"/v2/{repo}/blobs/uploads/")
    if start.status_code != 202:
        raise PushError(f"start upload to {repo}", start)
    location = start.headers["Location"]
    sep = "&" if "?" in location else "?"
    with contextlib.ExitStack() as stack:
        body = data if isinstance(data, bytes) else stack.enter_context(open(data, "rb"))
        put = p.request(
            "PUT",
            repo,
            f"{location}{sep}digest={digest}",
            data=body,
            headers={"Content-Type": "application/octet-stream"},
            timeout=600,
        )
    if put.status_code != 201:
        raise PushError(f"upload blob {digest} to {repo}", put)
    return digest


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def push_manifest_raw(reg: Any, repo: str, ref: str, body: bytes, media_type: str) -> str:
    """PUT the bytes as they are under a tag or digest; returns sha256 of the bytes.
    Raises PushError when the registry refuses (e.g. unsigned schema1)."""
    p = _pusher(reg)
    r = p.request("PUT", repo, f"/v2/{repo}/manifests/{ref}", data=body, headers={"Content-Type": media_type})
    if r.status_code != 201:
        raise PushError(f"manifest {repo}:{ref}", r)
    return sha256_digest(body)


def fetch_manifest(reg: Any, repo: str, ref: str) -> requests.Response:
    """GET a manifest with the full Accept list (test-side check of what was pushed)."""
    return _pusher(reg).request("GET", repo, f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT})


def fetch_blob(reg: Any, repo: str, digest: str) -> bytes:
    r = _pusher(reg).request("GET", repo, f"/v2/{repo}/blobs/{digest}")
    if r.status_code != 200:
        raise PushError(f"blob {digest}", r)
    return r.content


def _put_document(
    target: Any,
    repo: str,
    tag: str | None,
    doc: dict[str, Any],
    media_type: str,
    annotations: dict[str, str] | None = None,
    *,
    indent: int = 2,
) -> tuple[bytes, str]:
    """Serialise a manifest or index (annotations added) and PUT it under `tag`,
    or under its own digest; returns (bytes, digest)."""
    if annotations:
        doc["annotations"] = dict(annotations)
    body = json.dumps(doc, indent=indent).encode()
    return body, push_manifest_raw(target, repo, tag or sha256_digest(body), body, media_type)


def _as_spec(layer: bytes | LayerSpec) -> LayerSpec:
    return layer if isinstance(layer, LayerSpec) else LayerSpec(data=layer)


def push_image(
    reg: Any,
    repo: str,
    tag: str | None,
    layers: Sequence[bytes | LayerSpec],
    *,
    media: str = "oci",
    layer_media_types: Sequence[str | None] | None = None,
    history: list[dict] | None = None,
    config_extra: dict | None = None,
    platform: tuple[str, str, str | None] | None = ("linux", "amd64", None),
    annotations: dict[str, str] | None = None,
    config_media_type: str | None = None,
) -> PushedImage:
    """Push layers, a config and a manifest; tag it when `tag` is given.

    history None: one plain step per layer. config_extra is merged into the
    config last (so it can override rootfs/history to build broken images)."""
    if media not in ("oci", "docker"):
        raise ValueError("media must be 'oci' or 'docker'")
    target = _target(reg)
    pushed: list[PushedLayer] = []
    for i, layer in enumerate(layers):
        spec = _as_spec(layer)
        media_type = spec.media_type
        if layer_media_types is not None and layer_media_types[i]:
            media_type = layer_media_types[i]
        if media_type is None:
            media_type = LAYER_MEDIA[media][sniff(spec.data)]
        digest = push_blob(target, repo, spec.data)
        diff_id = spec.diff_id or sha256_digest(decompress(spec.data))
        pushed.append(
            PushedLayer(digest, len(spec.data), media_type, diff_id, spec.data, dict(spec.annotations or {}))
        )
    config: dict[str, Any] = {
        "created": "2024-01-02T03:04:05Z",
        "architecture": platform[1] if platform else "amd64",
        "os": platform[0] if platform else "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in pushed]},
        "history": history
        if history is not None
        else [
            {"created": "2024-01-02T03:04:05Z", "created_by": f"/bin/sh -c #(nop) ADD file:{i} in / "}
            for i in range(len(pushed))
        ],
    }
    if platform and platform[2]:
        config["variant"] = platform[2]
    if config_extra:
        config.update(config_extra)
    config_bytes = canonical_json(config)
    config_digest = push_blob(target, repo, config_bytes)
    manifest_type = OCI_MANIFEST if media == "oci" else DOCKER_MANIFEST
    cfg_type = config_media_type or (OCI_CONFIG if media == "oci" else DOCKER_CONFIG)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": cfg_type, "digest": config_digest, "size": len(config_bytes)},
        "layers": [],
    }
    for spec, layer in zip((_as_spec(x) for x in layers), pushed):
        desc = layer.descriptor()
        if spec.urls:
            desc["urls"] = list(spec.urls)
        manifest["layers"].append(desc)
    # indent=3, not canonical on purpose: the digest is of these bytes
    body, digest = _put_document(target, repo, tag, manifest, manifest_type, annotations, indent=3)
    return PushedImage(
        host=getattr(reg, "host", target.host),
        repo=repo,
        tag=tag,
        media_type=manifest_type,
        manifest=manifest,
        manifest_bytes=body,
        manifest_digest=digest,
        config=config,
        config_bytes=config_bytes,
        config_digest=config_digest,
        layers=pushed,
        platform=platform,
    )


OCI_EMPTY = "application/vnd.oci.empty.v1+json"


def push_artifact(
    reg: Any,
    repo: str,
    tag: str | None,
    blobs: Sequence[tuple[bytes, str]],
    *,
    artifact_type: str = "application/vnd.example.sbom.v1+json",
) -> PushedImage:
    """An OCI artifact (empty config `{}`, artifactType): not an image, clients must say so."""
    target = _target(reg)
    empty = b"{}"
    push_blob(target, repo, empty)
    layers = [
        PushedLayer(push_blob(target, repo, data), len(data), mt, sha256_digest(data), data)
        for data, mt in blobs
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": OCI_EMPTY, "digest": sha256_digest(empty), "size": 2},
        "layers": [layer.descriptor() for layer in layers],
    }
    body, digest = _put_document(target, repo, tag, manifest, OCI_MANIFEST)
    return PushedImage(
        getattr(reg, "host", target.host), repo, tag, OCI_MANIFEST, manifest, body, digest,
        {}, empty, sha256_digest(empty), layers, None,
    )


def _platform_dict(platform: tuple[str, str, str | None] | dict | None) -> dict | None:
    if platform is None or isinstance(platform, dict):
        return platform
    os_, arch, variant = (tuple(platform) + (None,))[:3]
    out = {"architecture": arch, "os": os_}
    if variant:
        out["variant"] = variant
    return out


def push_attestation(reg: Any, repo: str, subject: PushedImage) -> PushedImage:
    """A BuildKit-style attestation manifest (in-toto SBOM-ish layer) for `subject`."""
    statement = canonical_json(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": subject.repo, "digest": {"sha256": subject.manifest_digest.split(":")[1]}}],
            "predicate": {"spdxVersion": "SPDX-2.3", "name": "sbom"},
        }
    )
    layer = LayerSpec(
        data=statement,
        media_type=IN_TOTO,
        annotations={"in-toto.io/predicate-type": "https://spdx.dev/Document"},
        diff_id=sha256_digest(statement),
    )
    return push_image(
        reg,
        repo,
        None,
        [layer],
        media="oci",
        platform=("unknown", "unknown", None),
        history=[],
        config_extra={"config": {}},
    )


def push_index(
    reg: Any,
    repo: str,
    tag: str | None,
    manifests: Sequence[tuple[PushedImage | PushedIndex, Any]],
    *,
    media: str = "oci",
    attestation: bool = True,
    annotations: dict[str, str] | None = None,
) -> PushedIndex:
    """An index (OCI) or manifest list (Docker) of (pushed manifest, platform) pairs.

    platform: ("linux", "arm64", "v8"), a dict, or None (e.g. for a nested
    index). With attestation, each image gets a BuildKit attestation entry
    (platform unknown/unknown, vnd.docker.reference.* annotations) after the images."""
    target = _target(reg)
    index_type = OCI_INDEX if media == "oci" else DOCKER_LIST
    entries: list[dict] = []
    atts: list[PushedImage] = []
    for child, platform in manifests:
        entry: dict[str, Any] = {
            "mediaType": child.media_type,
            "digest": child.manifest_digest,
            "size": child.size,
        }
        pd = _platform_dict(platform)
        if pd:
            entry["platform"] = pd
        entries.append(entry)
    if attestation:
        for child, _platform in manifests:
            if not isinstance(child, PushedImage):
                continue
            att = push_attestation(target, repo, child)
            atts.append(att)
            entries.append(
                {
                    "mediaType": att.media_type,
                    "digest": att.manifest_digest,
                    "size": att.size,
                    "annotations": {
                        "vnd.docker.reference.digest": child.manifest_digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                }
            )
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": index_type, "manifests": entries}
    body, digest = _put_document(target, repo, tag, index, index_type, annotations)
    return PushedIndex(
        host=getattr(reg, "host", target.host),
        repo=repo,
        tag=tag,
        media_type=index_type,
        manifest=index,
        manifest_bytes=body,
        manifest_digest=digest,
        children=[c for c, _ in manifests],
        attestations=atts,
    )


# -- realistic history ----------------------------------------------------------

_T = "2024-03-0{}T10:00:00Z"


def realistic_history(n_layers: int) -> list[dict]:
    """History for n_layers (>= 1) real layers, with empty steps around them:
    a legacy `#(nop)` base (ADD + CMD), BuildKit ENV/WORKDIR/CMD empty steps and
    `RUN ... # buildkit` / `|2 A=1 B=2 /bin/sh -c make` layer steps."""
    if n_layers < 1:
        raise ValueError("need at least one layer")
    steps: list[dict] = [
        {"created": _T.format(1), "created_by": "/bin/sh -c #(nop) ADD file:5b1e6a8cd2a5e1b1 in / "},
        {"created": _T.format(1), "created_by": '/bin/sh -c #(nop)  CMD ["bash"]', "empty_layer": True},
        {"created": _T.format(2), "created_by": "ENV LANG=C.UTF-8", "comment": "buildkit.dockerfile.v0", "empty_layer": True},
    ]
    layer_steps = [
        "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit",
        "|2 A=1 B=2 /bin/sh -c make",
        "COPY app /app # buildkit",
        "WORKDIR /app",
    ]
    for i in range(1, n_layers):
        steps.append(
            {
                "created": _T.format(3 + i % 6),
                "created_by": layer_steps[(i - 1) % len(layer_steps)],
                "comment": "buildkit.dockerfile.v0",
            }
        )
        if i == 1:
            steps.append(
                {"created": _T.format(3), "created_by": "ARG A=1 B=2", "comment": "buildkit.dockerfile.v0", "empty_layer": True}
            )
    steps.append(
        {"created": _T.format(9), "created_by": 'CMD ["/app/run"]', "comment": "buildkit.dockerfile.v0", "empty_layer": True}
    )
    return steps


def mismatched_history(n_layers: int) -> list[dict]:
    """A history that claims one real layer more than there are (a squashed or
    hand-edited image): aligners must leave layers unlabelled."""
    return realistic_history(n_layers) + [
        {"created": _T.format(9), "created_by": "/bin/sh -c rm -rf /tmp/*"}
    ]


def non_empty_count(history: list[dict]) -> int:
    return sum(1 for h in history if not h.get("empty_layer"))


# -- the sample images fixture --------------------------------------------------

APP_FILES: list[dict[str, bytes | str | None]] = [
    {
        "bin": None,
        "bin/sh": b"\x7fELF-not-really-a-shell\n",
        "etc": None,
        "etc/os-release": b'NAME="Bedrock"\nVERSION_ID="1"\n',
        "etc/hostname": b"sample\n",
        "usr": None,
        "usr/bin": None,
        "usr/bin/env": "->/bin/sh",
    },
    {
        "usr/lib": None,
        "usr/lib/libcurl.so.4": b"\x00" * 4096 + b"curl",
        "var/lib/apt/lists/lock": b"",
        "etc/.wh.hostname": b"",
    },
    {
        "app": None,
        "app/run": b"#!/bin/sh\necho hello\n",
        "app/data.txt": b"line\n" * 200,
    },
]


@dataclass
class SampleImages:
    registry: Any
    app: PushedImage  # sample/app:1, OCI, layers gzip / zstd / uncompressed tar
    app_files: list[dict]  # per layer: path -> content (ground truth)
    docker: PushedImage  # sample/docker:1, Docker schema2
    amd64: PushedImage
    arm64: PushedImage
    multi: PushedIndex  # sample/multi:1: linux/amd64, linux/arm64/v8 + attestations
    nested: PushedIndex  # sample/multi:nested: an index whose only entry is the multi index

    @property
    def digests(self) -> dict[str, str]:
        return {
            "app": self.app.manifest_digest,
            "docker": self.docker.manifest_digest,
            "amd64": self.amd64.manifest_digest,
            "arm64": self.arm64.manifest_digest,
            "multi": self.multi.manifest_digest,
            "nested": self.nested.manifest_digest,
        }


def push_samples(reg: Any) -> SampleImages:
    layers = [
        make_layer(APP_FILES[0], "gzip"),
        make_layer(APP_FILES[1], "zstd"),
        make_layer(APP_FILES[2], "none"),
    ]
    app = push_image(
        reg,
        "sample/app",
        "1",
        layers,
        history=realistic_history(3),
        config_extra={"config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "Cmd": ["/app/run"], "WorkingDir": "/app"}},
        annotations={"org.opencontainers.image.title": "sample app"},
    )
    docker = push_image(
        reg,
        "sample/docker",
        "1",
        [layers[0], make_layer({"srv": None, "srv/index.html": b"<h1>hi</h1>\n"}, "gzip")],
        media="docker",
        history=realistic_history(2),
    )
    amd64 = push_image(
        reg, "sample/multi", None, [make_layer({"arch": b"amd64\n"})], platform=("linux", "amd64", None),
        history=realistic_history(1),
    )
    arm64 = push_image(
        reg, "sample/multi", None, [make_layer({"arch": b"arm64\n"})], platform=("linux", "arm64", "v8"),
        history=realistic_history(1),
    )
    multi = push_index(reg, "sample/multi", "1", [(amd64, ("linux", "amd64", None)), (arm64, ("linux", "arm64", "v8"))])
    # The nested index lives in the same repository: an index can only point at manifests it holds.
    nested = push_index(reg, "sample/multi", "nested", [(multi, None)], attestation=False)
    return SampleImages(reg, app, APP_FILES, docker, amd64, arm64, multi, nested)


@pytest.fixture(scope="session")
def sample_image(registry: Any) -> SampleImages:
    """Sample images on the anonymous registry (see SampleImages)."""
    return push_samples(registry)
