"""The seek index on a 1 GB+ gzip layer from a real local registry.

Reuses bench_listing.py's layer (/usr/lib + /usr/share, gzip -6, built once
under benchmarks/.work/), pushes it as a one-layer image, then measures, each
in a fresh process:

  (a) complete listing without recording access points (the baseline)
  (b) complete listing while recording them (target: at most +15 % wall time)
      -- (a) and (b) alternate, `--rounds` times each; the best of each is compared
  (c) the index: access points, encoded size vs the layer (target <= 2 %)
  (d) `layerslayer-tui cat IMAGE <last file>` with an empty cache (streams
      the layer up to the file) and after a full read (the cache holds the
      listing and the index): wall time of the CLI process, blob requests
      and bytes the registry sent (target: under 0.5 s, one request)
  (e) `get` of a directory of 150-400 files after a full read: every file its
      own request (read_together switched off) against files near each other
      sharing requests (blob requests and bytes from the access log)

    .venv/bin/python benchmarks/bench_seek.py [--size-small] [--rounds N] [--spacing BYTES] [--cat-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from bench_listing import WORK, build_layer  # noqa: E402

REPO = "bench/seek"

LIST_CHILD = r"""
import json, resource, sys, time
mode, url, repo, digest, size, spacing = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
from layerslayer_tui.peek import complete, gzindex
gzindex.DEFAULT_SPACING = spacing
gzindex.FOLLOW = mode == "2"
if mode == "0":
    gzindex.available = lambda: False  # the recorder never starts: the listing as before this feature
from layerslayer_tui.registry.client import RegistryClient
from layerslayer_tui.registry.models import Descriptor
client = RegistryClient(url.split("//", 1)[1], insecure=True)
source = client.blob_source(repo, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size))
t0 = time.perf_counter()
peek = complete(source, size=size, digest=digest)
n = 0
for batch in peek:
    n += len(batch.entries)
    progress = batch.progress
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_SELF)
cpu = ru.ru_utime + ru.ru_stime  # this process only: the recorder child is not counted here
t1 = time.perf_counter()
index = peek.seek_index()
out = dict(wall=wall, cpu=cpu, index_wait=time.perf_counter() - t1, entries=n, verified=progress.verified,
           maxrss_kb=ru.ru_maxrss)
if index is not None:
    blob = gzindex.encode(index)
    out.update(points=len(index.points), encoded=len(blob), raw_windows=index.window_bytes, covered=index.covered,
               complete=index.complete)
print(json.dumps(out))
"""

FULL_CHILD = r"""
import sys, time
from layerslayer_tui.session import Session
with Session(cache_path=sys.argv[1]) as s:
    image = s.open_image(sys.argv[2])
    t0 = time.perf_counter()
    listing = s.listing(image, 0, full=True)
    last = None
    for batch in listing:
        for e in batch.entries:
            if e.type.value == "file" and e.size > 0:
                last = e.path
    listed = time.perf_counter() - t0
    from layerslayer_tui.content import wait_for_indexes
    wait_for_indexes(s)  # the recorder may still be catching up: the benchmark wants its whole index
    print(last)
    print(listed)
    print(time.perf_counter() - t0)
"""


GET_CHILD = r"""
import sys
from layerslayer_tui import cli, content
if sys.argv[1] == "one-by-one":
    content.ImageFiles.read_together = lambda self, founds, folder: {}  # every file its own request
sys.exit(cli.main(["get", sys.argv[2], sys.argv[3], "-o", sys.argv[4]]))
"""


def pick_dir(db_path: Path) -> str:
    """A directory of 150 to 400 files (a typical `get` of a folder) from the cached listing."""
    import collections
    import sqlite3

    from layerslayer_tui.listing_rows import ListingRows

    with sqlite3.connect(db_path) as db:
        rows = ListingRows(db.execute("SELECT data FROM listings ORDER BY entries DESC LIMIT 1").fetchone()[0])
    counts: collections.Counter = collections.Counter()
    for key in rows._keys:
        parts = key.split(b"/")
        for depth in range(2, 5):
            if len(parts) > depth:
                counts[b"/".join(parts[:depth])] += 1
    fit = [(n, p) for p, n in counts.items() if 150 <= n <= 400]
    return max(fit)[1].decode("utf-8", "surrogateescape") if fit else "usr/share"


def get_run(reg, ref: str, folder: str, cache: Path, digest: str, pycache: Path, mode: str, out: Path) -> dict:
    import shutil

    work = cache.with_name(cache.name + "-" + mode)
    shutil.copytree(cache, work)  # each mode from the same cache state
    mark = reg.log_mark()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", GET_CHILD, mode, ref, folder, str(out)], capture_output=True,
                          env=cat_env(work, pycache), check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"get failed: {proc.stderr.decode(errors='replace')}")
    reg.access_log(mark, until=lambda rs: any(r.is_blob_get for r in rs), timeout=10)
    time.sleep(0.3)
    gets = [r for r in reg.access_log(mark) if r.is_blob_get and digest in r.path]
    files = sum(len(f) for _d, _s, f in os.walk(out))
    return dict(wall=wall, requests=len(gets), written=sum(r.written for r in gets), files=files)


def push(reg, layer: Path, digest: str, size: int) -> str:
    from bed.images import canonical_json, push_blob, push_manifest_raw, sha256_digest

    push_blob(reg, REPO, layer, digest)
    config = canonical_json({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]},
        "history": [{"created_by": "bench", "created": "2024-01-01T00:00:00Z"}],
    })
    push_blob(reg, REPO, config, sha256_digest(config))
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}],
    })
    push_manifest_raw(reg, REPO, "1", manifest, "application/vnd.oci.image.manifest.v1+json")
    return f"{reg.host}/{REPO}:1"


def listing_run(reg, digest: str, size: int, record: bool, spacing: int, follow: bool = False) -> dict:
    mode = "0" if not record else ("2" if follow else "1")
    out = subprocess.run([sys.executable, "-c", LIST_CHILD, mode, reg.url, REPO, digest, str(size),
                          str(spacing)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(f"listing subprocess failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cat_env(cache: Path, pycache: Path) -> dict:
    # Byte-compiled modules as an installed package has them (PYTHONDONTWRITEBYTECODE, set in
    # some shells, would make every run compile ~70 modules, ~0.1 s); kept out of the source tree.
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache), "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cat_run(reg, ref: str, path: str, cache: Path, digest: str, pycache: Path) -> dict:
    mark = reg.log_mark()
    env = cat_env(cache, pycache)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "layerslayer_tui", "cat", ref, path], capture_output=True, env=env,
                         check=False)
    wall = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"cat failed: {out.stderr.decode(errors='replace')}")
    recs = reg.access_log(mark, until=lambda rs: any(r.is_blob_get for r in rs), timeout=10)
    time.sleep(0.3)
    recs = reg.access_log(mark)
    gets = [r for r in recs if r.is_blob_get and digest in r.path]  # the layer, not the config
    return dict(wall=wall, bytes=len(out.stdout), requests=len(gets), written=sum(r.written for r in gets),
                stderr=out.stderr.decode(errors="replace").strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-small", action="store_true", help="only /usr/share: a quick run")
    ap.add_argument("--rounds", type=int, default=2, help="listings with and without recording, alternated")
    ap.add_argument("--spacing", type=int, default=4 * 1024 * 1024, help="compressed bytes between access points")
    ap.add_argument("--listing-only", action="store_true", help="skip (d), the cat measurements")
    ap.add_argument("--follow", action="store_true", help="the recorder inflates while the listing runs (default: after it)")
    ap.add_argument("--cat-only", action="store_true", help="skip (a)-(c), the listing rounds: only the cat measurements")
    ap.add_argument("--cat-repeat", type=int, default=5, help="runs of the cat after a full read (best and spread)")
    ap.add_argument("--skip-cold", action="store_true", help="skip the cat before a full read (it streams the layer)")
    args = ap.parse_args()
    layer, digest, size = build_layer(args.size_small, False)
    from bed.registry import RegistryServer

    storage = WORK / ("registry-seek-small" if args.size_small else "registry-seek-large")
    with RegistryServer(storage_dir=storage) as reg:
        ref = push(reg, layer, digest, size)
        print(f"layer: {size / 1e9:.2f} GB compressed, {digest[:19]}…, spacing {args.spacing} bytes", flush=True)
        base, rec = [], []
        for _ in range(0 if args.cat_only else args.rounds):
            base.append(listing_run(reg, digest, size, False, args.spacing))
            print(f"  without index: {base[-1]['wall']:7.2f} s wall, {base[-1]['cpu']:6.2f} s CPU", flush=True)
            rec.append(listing_run(reg, digest, size, True, args.spacing, args.follow))
            print(f"  with index:    {rec[-1]['wall']:7.2f} s wall, {rec[-1]['cpu']:6.2f} s CPU ({rec[-1].get('points')} points; "
                  f"the recorder finished {rec[-1]['index_wait']:.1f} s after the listing)", flush=True)
        if args.cat_only:
            cat_part(args, reg, ref, digest, size)
            return
        a = min(r["wall"] for r in base)
        b = min(r["wall"] for r in rec)
        best = min(rec, key=lambda r: r["wall"])
        print(f"(a) complete listing, no index:   {a:7.2f} s  ({base[0]['entries']} entries, "
              f"peak RSS {max(r['maxrss_kb'] for r in base) / 1024:.0f} MB)")
        print(f"(b) complete listing + index:     {b:7.2f} s  (peak RSS {max(r['maxrss_kb'] for r in rec) / 1024:.0f} MB)")
        import statistics

        pairs = [r["wall"] / q["wall"] for q, r in zip(base, rec)]
        print(f"    ratio b/a:                    {b / a:7.3f}   (target <= 1.15; best of each)")
        print(f"    per round (b/a):              {', '.join(f'{x:.3f}' for x in pairs)}; median {statistics.median(pairs):.3f}")
        print(f"    listing process CPU b/a:      {min(r['cpu'] for r in rec) / min(q['cpu'] for q in base):7.3f}")
        covered = best.get("covered", 0)
        print(f"(c) index: {best.get('points')} access points, covering {covered / size:.1%} of the layer, "
              f"complete={best.get('complete')}; encoded {best.get('encoded', 0) / 1e6:.2f} MB "
              f"= {best.get('encoded', 0) / size:.2%} of the layer (target <= 2 %); "
              f"raw windows {best.get('raw_windows', 0) / 1e6:.1f} MB")
        if args.listing_only:
            return
        cat_part(args, reg, ref, digest, size)


def cat_part(args: argparse.Namespace, reg, ref: str, digest: str, size: int) -> None:
    import sqlite3
    import statistics

    with tempfile.TemporaryDirectory(prefix="bench-seek-") as tmp:
        cold, warm, pycache = Path(tmp) / "cold", Path(tmp) / "warm", Path(tmp) / "pycache"
        out = subprocess.run([sys.executable, "-c", FULL_CHILD, str(warm / "cache.sqlite3"), ref],
                             capture_output=True, text=True, check=True, env=cat_env(warm, pycache))
        last, full_wall, indexed_wall = out.stdout.strip().splitlines()
        print(f"    (a full read through the session, cache warm-up: listed in {float(full_wall):.2f} s, "
              f"index stored after {float(indexed_wall):.2f} s; last file {last})")
        with sqlite3.connect(warm / "cache.sqlite3") as db:
            stored = db.execute("SELECT points, length(data) FROM seek_index").fetchall()
        for points, length in stored:
            print(f"    stored index: {points} access points, {length / 1e6:.2f} MB = {length / size:.2%} of the layer")
        folder = pick_dir(warm / "cache.sqlite3")
        gets = {mode: get_run(reg, ref, folder, warm, digest, pycache, mode, Path(tmp) / f"out-{mode}")
                for mode in ("one-by-one", "shared")}
        before = None if args.skip_cold else cat_run(reg, ref, last, cold, digest, pycache)
        if before is None:
            cat_run(reg, ref, last, warm, digest, pycache)  # not counted: it byte-compiles the modules
        after = [cat_run(reg, ref, last, warm, digest, pycache) for _ in range(max(1, args.cat_repeat))]
    if before is not None:
        print(f"(d) cat {last} before a full read: {before['wall']:6.2f} s, {before['requests']} blob request(s), "
              f"{before['written'] / 1e6:.1f} MB sent; {before['stderr']}")
    for mode, g in gets.items():
        print(f"(e) get {folder} after a full read, {mode:>10}: {g['files']} files, {g['wall']:6.2f} s, "
              f"{g['requests']} blob request(s), {g['written'] / 1e6:.1f} MB sent")
    walls = sorted(r["wall"] for r in after)
    best = min(after, key=lambda r: r["wall"])
    print(f"    cat after a full read:          {walls[0]:6.3f} s best of {len(walls)} (median {statistics.median(walls):.3f}, "
          f"worst {walls[-1]:.3f}), {'/'.join(str(r['requests']) for r in after)} blob request(s), "
          f"{best['written'] / 1e6:.2f} MB sent; {best['stderr']}   (target < 0.5 s, 1 request)")


if __name__ == "__main__":
    main()
