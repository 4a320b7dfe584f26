"""Index listing vs streaming full listing of the same large layer.

Builds a layer with 12k+ entries, converts it with the real producers (skopeo
zstd:chunked; ctr-remote eStargz against a private containerd, root needed),
pushes both to a local distribution registry and prints, for each, the blob
bytes the registry sent (its access log) and the wall time of the index listing
(`read_index`) and of a streaming complete listing (`peek.complete`).

Run: .venv/bin/python benchmarks/bench_index.py [FILES]   (default 12000)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bed.lazy import (  # noqa: E402
    Containerd,
    LazyImage,
    blob_source,
    push_image,
    write_layer_tar,
    write_oci_layout,
    zstd_chunked_convert,
)
from bed.registry import RegistryServer  # noqa: E402

from layerslayer_tui import peek  # noqa: E402
from layerslayer_tui.peek.index import read_index  # noqa: E402

from _cli import parse_size  # noqa: E402


def _sent(server: RegistryServer, mark: int, requests: int) -> int:
    records = server.access_log(mark, until=lambda recs: sum(r.is_blob_get for r in recs) >= requests)
    return sum(r.written for r in records if r.is_blob_get)


def _measure(server: RegistryServer, image: LazyImage) -> None:
    size = image.layer["size"]
    mark = server.log_mark()
    t0 = time.perf_counter()
    listing = read_index(
        blob_source(server, image),
        size=size,
        annotations=image.annotations,
        media_type=image.layer["mediaType"],
        digest=image.layer["digest"],
    )
    index_time = time.perf_counter() - t0
    assert listing is not None and listing.ok, listing and listing.fallback_reason
    index_bytes = _sent(server, mark, listing.requests)

    mark = server.log_mark()
    t0 = time.perf_counter()
    entries = 0
    for batch in peek.complete(
        blob_source(server, image), size=size, digest=image.layer["digest"], media_type=image.layer["mediaType"]
    ):
        entries += len(batch.entries)
    stream_time = time.perf_counter() - t0
    stream_bytes = _sent(server, mark, 1)

    print(f"{image.kind:13} layer {size / 2**20:7.1f} MiB, {len(listing.entries)} entries from the index")
    print(f"  index listing : {index_bytes:>11,} bytes  {index_time * 1000:8.1f} ms  ({listing.requests} requests; {listing.note})")
    print(f"  full streaming: {stream_bytes:>11,} bytes  {stream_time * 1000:8.1f} ms  ({entries} entries)")
    print(f"  ratio         : {stream_bytes / max(index_bytes, 1):8.0f}x fewer bytes, {stream_time / index_time:6.1f}x faster")


def main() -> None:
    files = parse_size(__doc__, "files", 12_000, "files in the source layer (default 12000)")
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        layer = write_layer_tar(base / "layer.tar", files=files, big=8 * 1024 * 1024)
        src = write_oci_layout(base / "src", layer)
        print(f"source layer: {files}+ files, {layer.stat().st_size / 2**20:.1f} MiB tar, built in {time.perf_counter() - t0:.1f} s")
        images = [zstd_chunked_convert(src, base / "zstd")]
        with Containerd() as daemon:
            images.append(daemon.estargz_convert(src, base / "estargz"))
        with RegistryServer("anon") as server:
            for image in images:
                image = push_image(server, "bench/" + image.kind.replace(":", "-"), image)
                _measure(server, image)


if __name__ == "__main__":
    main()
