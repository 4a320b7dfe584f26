"""A hostile registry: says whatever it likes about digests.

`HostileRegistry` is the fault server (bed.faults) with helpers to serve an
image whose manifest claims another image's layer digests while the blobs it
sends under those digests are other bytes, and to serve documents whose text
(media types, platforms) carries terminal escape sequences. The real registry
checks digests on push, so none of this can be pushed to it.

Fixture `hostile_registry`: a fresh one per test (its own port, so its
listings are scoped apart from the shared fault server's)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bed.faults import OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, FaultServer, sha256_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class HostileRegistry(FaultServer):
    def serve_image(self, repo: str, tag: str, layers: list[tuple[str, bytes]], *,
                    media_type: str = OCI_MANIFEST) -> str:
        """An image whose layer i is described as digest layers[i][0] (any digest,
        e.g. a real image's) and answered with the bytes layers[i][1]. Size in
        the manifest: the bytes' own. Returns the reference."""
        cfg = {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64 for _ in layers]},
            "history": [{"created_by": f"/bin/sh -c #(nop) ADD file:{i} in /"} for i in range(len(layers))],
        }
        cfg_bytes = json.dumps(cfg).encode()
        for digest, data in layers:
            self.blobs[digest] = data
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": OCI_CONFIG, "digest": self.add_blob(cfg_bytes), "size": len(cfg_bytes)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": d, "size": len(b)} for d, b in layers],
        }
        self.add_manifest(repo, tag, json.dumps(manifest).encode(), media_type=media_type)
        return f"{self.host}/{repo}:{tag}"

    def serve_index(self, repo: str, tag: str, platforms: list[dict]) -> str:
        """An index of one small image per platform dict (os/architecture as given)."""
        entries = []
        for n, platform in enumerate(platforms):
            child = f"{repo}-child-{n}"
            self.serve_image(child, "x", [])
            body, media = self.manifests[(child, "x")]
            digest = sha256_digest(body)
            self.manifests[(repo, digest)] = (body, media)
            entries.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body), "platform": platform})
        self.add_manifest(repo, tag, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                 "manifests": entries}).encode(), media_type=OCI_INDEX)
        return f"{self.host}/{repo}:{tag}"


@pytest.fixture
def hostile_registry() -> Iterator[HostileRegistry]:
    server = HostileRegistry().start()
    try:
        yield server
    finally:
        server.stop()
