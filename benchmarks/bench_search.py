"""Search over N cached paths (default 2,000,000: 16 listings of 125k entries,
each in two images, one listing unverified so the scoping rule is exercised):
the path index (session.search) against the search it replaced, every listing
decoded and matched (tests/search_support.py), in the same run, on the same
cache. Also prints what the index costs when a listing is stored.

Target: glob and substring queries under 0.3 s on 2M paths.

    .venv/bin/python benchmarks/bench_search.py [PATHS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from layerslayer_tui import search_index  # noqa: E402
from layerslayer_tui.entry import EntryType, ListingProgress, TarEntry  # noqa: E402
from layerslayer_tui.listing_codec import encode_entries  # noqa: E402
from layerslayer_tui.registry.models import Descriptor, ImageInfo, LayerInfo, Platform  # noqa: E402
from layerslayer_tui.session import Session  # noqa: E402

from _cli import parse_size  # noqa: E402
from search_support import decode_every_listing  # noqa: E402

LISTINGS = 16
QUERIES = [  # (pattern, what it is)
    ("module_00042/index.js", "substring, rare"),
    ("README", "substring, exact case"),
    ("readme", "substring, case-blind"),
    ("id_rsa", "substring, no hit"),
    ("*/id_rsa", "glob, no hit"),
    ("pkg3_*/sub?/module_1234*", "glob, full path"),
    ("*.pyc", "glob, basename, 1 in 40 paths"),
]


def make_entries(n: int, layer: int) -> list[TarEntry]:
    out = []
    for i in range(n):
        d = f"usr/lib/python3.12/site-packages/pkg{layer}_{i // 400}/sub{i // 40 % 10}"
        if i % 40 == 0:
            out.append(TarEntry(d, EntryType.DIR, 0, 0o755))
        elif i % 40 == 1:
            out.append(TarEntry(f"{d}/__pycache__/mod{i}.cpython-312.pyc", EntryType.FILE, i % 9000, 0o644))
        elif i % 97 == 0:
            out.append(TarEntry(f"{d}/README.md", EntryType.FILE, 100, 0o644))
        else:
            out.append(TarEntry(f"{d}/module_{i:05d}/index.js", EntryType.FILE, (i * 7919) % 200000, 0o644))
    return out


def image(repository: str, digests: list[str]) -> ImageInfo:
    layers = [LayerInfo(i, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", d, 100))
              for i, d in enumerate(digests)]
    return ImageInfo("localhost:5000", repository, f"localhost:5000/{repository}:1", "sha256:" + "m" * 64,
                     "application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, {}, layers, [], False,
                     Platform("linux", "amd64"))


def best(fn, runs: int) -> tuple[float, float, object]:
    """Best wall time and best CPU time (all threads) of `runs` calls, and the answer.
    On a shared machine the CPU time is the steadier figure: it leaves out waiting
    for a core."""
    out, wall, cpu = None, float("inf"), float("inf")
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def main() -> None:
    total = parse_size(__doc__, "paths", 2_000_000, "cached paths in all (default 2000000)")
    per = total // LISTINGS
    with tempfile.TemporaryDirectory() as tmp:
        s = Session(cache_path=Path(tmp) / "c.db", offline=True)
        assert s.cache is not None
        digests = [f"sha256:{i:064x}" for i in range(LISTINGS)]
        store = build = encode = 0.0
        for i, d in enumerate(digests):
            entries = make_entries(per, i)
            t0 = time.perf_counter()
            encode_entries(entries)
            encode += time.perf_counter() - t0
            t0 = time.perf_counter()
            search_index.build(entries)
            build += time.perf_counter() - t0
            # the last one unverified: kept for repository a/one only
            progress = ListingProgress(1, 1, 1, per, True, i != LISTINGS - 1)
            t0 = time.perf_counter()
            s.cache.put_listing(d, entries, progress, None if i != LISTINGS - 1 else "localhost:5000/a/one")
            store += time.perf_counter() - t0
        half = LISTINGS // 2
        s.cache.record_image(image("a/one", digests[:half] + digests[-1:]))
        s.cache.record_image(image("b/two", digests[half:]))
        print(f"paths: {per * LISTINGS:,} in {LISTINGS} listings; database {s.cache.size() / 2**20:.1f} MiB")
        print(f"store, all listings: {store:.2f} s, of which the listing codec {encode:.2f} s "
              f"and the path index {build:.2f} s (+{build / encode * 100:.0f}% on encoding)")
        print()
        print("| query | kind | hits | index: wall (CPU), best of 3 | decode every listing: wall (CPU) | ratio (wall) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for pattern, kind in QUERIES:
            t_new, c_new, hits = best(lambda: s.search(pattern), 3)
            t_old, c_old, old = best(lambda: decode_every_listing(s, pattern), 1)
            assert hits == old, pattern
            print(f"| `{pattern}` | {kind} | {len(hits):,} | {t_new * 1000:.0f} ms ({c_new * 1000:.0f} ms) "
                  f"| {t_old:.2f} s ({c_old:.2f} s) | {t_new / t_old:.3f} |", flush=True)
        s.close()


if __name__ == "__main__":
    main()
