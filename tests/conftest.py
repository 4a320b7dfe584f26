"""Fixtures live in tests/bed/, one plugin module per concern."""

pytest_plugins = [
    "bed.registry",  # real distribution registry processes: anonymous, Basic, token; redirect host
    "bed.images",  # pushes images (OCI / Docker, indexes, history) through the registry API
    "bed.faults",  # a loopback HTTP server that injects faults a real registry won't produce
    "bed.layers",  # builds layer tars with tarfile/GNU tar, compresses with gzip/zstd
    "bed.hostile",  # a registry that lies about digests and puts escape sequences in its documents
    "bed.nginx",  # Debian's nginx as a throttling proxy (limit_rate per connection) in front of a registry
    "bed.lazy",  # eStargz / zstd:chunked producers (containerd + ctr-remote, skopeo)
    "bed.local_sources",  # oci:, oci-archive:, docker-archive: copies made by skopeo and umoci
    "bed.engine",  # a private podman API service (Docker-compatible socket) with an image loaded
    "bed.hub",  # a loopback stand-in for Docker Hub's repository search
    "bed.compare",  # image pairs for diff, images with known waste for --ci
    "bed.hostile_http",  # scripted hostile HTTP servers on 127/8: endless, trickling, redirecting, bombs
]
