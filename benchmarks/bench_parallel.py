"""A complete read through a proxy that caps each connection, like a CDN:
Debian's nginx with `limit_rate 16m` (tests/bed/nginx.py) in front of the
real distribution registry, the ~290 MiB gzip layer of /usr/share built by
bench_listing.py (--size-small; cached under benchmarks/.work/). In one run:

  (a) curl -s PROXY/BLOB | tar -tzf - > /dev/null       (the baseline: one connection)
  (b) our complete listing (peek.complete through RegistryClient.blob_source,
      several Range streams, registry/parallel.py), in a subprocess: wall
      time including interpreter start-up, peak RSS, streams and parts used
  (c) the same listing held to one stream (--no-single skips it)
  (d) the same listing from the layer file on disk (peek.FileSource): no
      network at all, the CPU floor (b) cannot beat
  (e) the blob's bytes only (sha256, no listing) over the parallel streams:
      what the link gives when the decompressor is not the limit

and prints b/a (target <= 0.35), c/a, and (b) against (d) and (e).

Peak RSS is the child's VmHWM (see bench_listing.py: ru_maxrss would keep a
forked parent's high-water mark).

    .venv/bin/python benchmarks/bench_parallel.py [--rate 16m] [--no-single] [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from _cli import DRAIN, VM_HWM, curl_tar, run_child, spread

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_listing import WORK, build_layer  # noqa: E402

REPO = "bench/listing"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from layerslayer_tui.peek import complete
from layerslayer_tui.registry import parallel
from layerslayer_tui.registry.client import RegistryClient
from layerslayer_tui.registry.models import Descriptor
host, repo, digest, size, single, path = {host!r}, {repo!r}, {digest!r}, {size!r}, {single!r}, {path!r}
opened = []
if path:
    from layerslayer_tui.peek.source import FileSource
    source = FileSource(path)
else:
    client = RegistryClient(host, insecure=True)
    source = client.blob_source(repo, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size))
    plan = parallel.Plan(min_size=size + 1) if single else parallel.DEFAULT_PLAN
    def open_rest(start=0):
        stream = parallel.open_rest(source, start, plan)
        opened.append(stream)
        return stream
    source.open_rest = open_rest
entries, progress = drain(complete(source, size=size, digest=digest))
wall = time.perf_counter() - t0
s = opened[0] if opened else None
print(json.dumps(dict(wall=wall, entries=len(entries), complete=progress.complete, verified=progress.verified,
    maxrss_kb=vm_hwm_kb(),
    streams=getattr(s, "most_streams", 1), requests=len(getattr(s, "requests", [0])),
    peak_buffered=getattr(s, "peak_buffered", 0),
    steps=[(st.streams, round(st.rate / 1e6, 1), st.waited and round(st.waited, 2)) for st in getattr(s, "steps", [])])))
"""


def run_ours(host: str, digest: str, size: int, single: bool, path: str = "") -> dict:
    code = VM_HWM + DRAIN + CHILD.format(host=host, repo=REPO, digest=digest, size=size, single=single, path=path)
    return run_child(code)


def describe(r: dict, a: float) -> str:
    return (f"{r['outer_wall']:7.2f} s  ratio {r['outer_wall'] / a:.3f}; {r['entries']} entries, "
            f"complete={r['complete']} verified={r['verified']}; {r['streams']} stream(s) at most, "
            f"{r['requests']} request(s), reorder buffer peak {r['peak_buffered'] / 2**20:.1f} MiB, "
            f"peak RSS {r['maxrss_kb'] / 1024:.0f} MB (VmHWM); ramp (streams, MB/s, wait share) {r['steps']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", default="16m", help="nginx limit_rate per connection (default 16m)")
    ap.add_argument("--no-single", action="store_true", help="skip (c), the one-stream run")
    ap.add_argument("--repeat", type=int, default=1, help="repeat (a) and (b) this many times; best and spread")
    args = ap.parse_args()
    if not shutil.which("curl") or not shutil.which("tar"):
        raise SystemExit("curl and GNU tar are needed")
    from bed.images import push_blob
    from bed.nginx import NginxProxy
    from bed.registry import RegistryServer

    layer, digest, size = build_layer(True, False)
    with RegistryServer(storage_dir=WORK / "registry-small") as reg:
        push_blob(reg, REPO, layer, digest)
        with NginxProxy(reg.host, args.rate) as proxy:
            url = f"{proxy.url}/v2/{REPO}/blobs/{digest}"
            print(f"layer: {size / 2**20:.0f} MiB gzip, {digest[:19]}…; nginx {proxy.host} limit_rate {args.rate} "
                  f"per connection in front of registry {reg.host}", flush=True)
            base: list[float] = []
            ours: list[dict] = []
            for i in range(args.repeat):
                a = curl_tar(url)
                base.append(a)
                print(f"[{i + 1}] (a) curl | tar -tzf, one connection: {a:7.2f} s ({size / a / 1e6:.1f} MB/s)", flush=True)
                b = run_ours(proxy.host, digest, size, single=False)
                b["ratio"] = b["outer_wall"] / a
                ours.append(b)
                print(f"[{i + 1}] (b) layerslayer complete:            {describe(b, a)}", flush=True)
            print(f"(a) {spread(base, 's')}")
            print(f"(b) time  {spread([b['outer_wall'] for b in ours], 's')}")
            print(f"    ratio b/a {spread([b['ratio'] for b in ours], '')} (target <= 0.35)", flush=True)
            if not args.no_single:
                c = run_ours(proxy.host, digest, size, single=True)
                print(f"(c) the same, one stream:            {describe(c, a)}", flush=True)
            d = run_ours("", digest, size, single=False, path=str(layer))
            print(f"(d) the same from the file on disk:  {d['outer_wall']:7.2f} s (the CPU floor for (b))", flush=True)
            e = bytes_only(proxy.host, digest, size)
            print(f"(e) bytes + sha256 only, parallel:   {e['wall']:7.2f} s ({size / e['wall'] / 1e6:.1f} MB/s, "
                  f"{e['streams']} stream(s) at most, {e['requests']} request(s))", flush=True)


def bytes_only(host: str, digest: str, size: int) -> dict:
    import hashlib

    from layerslayer_tui.registry import parallel
    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.registry.models import Descriptor

    client = RegistryClient(host, insecure=True)
    try:
        source = client.blob_source(REPO, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size))
        t0 = time.perf_counter()
        h = hashlib.sha256()
        stream = parallel.open_rest(source, 0)
        for chunk in stream.iter_chunks():
            h.update(chunk)
        wall = time.perf_counter() - t0
    finally:
        client.close()
    assert "sha256:" + h.hexdigest() == digest
    return dict(wall=wall, streams=getattr(stream, "most_streams", 1), requests=len(getattr(stream, "requests", [0])))


if __name__ == "__main__":
    main()
