"""Complete and partial listing of a large gzip layer from a real local registry.

Builds (once, cached under benchmarks/.work/) a gzip layer from this machine's
own files (/usr/lib + /usr/share: over 1 GB compressed, 100k+ entries; with
--size-small only /usr/share), starts the real distribution registry, pushes
the blob, then in one run measures:

  (a) curl -s BLOB_URL | tar -tzf - > /dev/null      (the baseline)
  (b) our complete listing through the registry client's BlobSource, in a
      subprocess so its peak RSS (ru_maxrss) is ours alone
  (c) a default partial peek: bytes the registry wrote (access log), entries,
      wall time

and prints the ratio b/a (target <= 0.35) and peak RSS (target <= 150 MB).

Peak RSS is the child's VmHWM (/proc/self/status): the high-water mark of its
own address space since exec. ru_maxrss (RUSAGE_SELF) is not: at exec Linux
keeps the larger of it and the forked (or vforked) parent's mark, so a child of
a big parent would report the parent's peak.

`--also CHECKOUT` (repeatable) runs (b) again with another checkout's code
(PYTHONPATH=CHECKOUT, e.g. a `git worktree` of an older commit) in the same
run, for an A/B; `--repeat N` repeats (a) and every (b), printing each run,
the best and the spread.

    .venv/bin/python benchmarks/bench_listing.py [--size-small] [--rebuild] [--also DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _cli import DRAIN, VM_HWM, curl_tar, run_child, spread

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
sys.path.insert(0, str(ROOT / "tests"))
REPO = "bench/listing"


def build_layer(small: bool, rebuild: bool) -> tuple[Path, str, int]:
    WORK.mkdir(parents=True, exist_ok=True)
    name = "layer-small.tar.gz" if small else "layer-large.tar.gz"
    layer = WORK / name
    meta = WORK / (name + ".json")
    if layer.exists() and meta.exists() and not rebuild:
        info = json.loads(meta.read_text())
        return layer, info["digest"], info["size"]
    dirs = ["usr/share"] if small else ["usr/lib", "usr/share"]
    print(f"building {layer} from /{' + /'.join(dirs)} (gzip -6, once) ...", flush=True)
    tmp = layer.with_suffix(".part")
    with open(tmp, "wb") as out:
        tar = subprocess.Popen(
            ["tar", "--ignore-failed-read", "--warning=none", "-cf", "-", "-C", "/", *dirs],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=tar.stdout, stdout=out)
        assert tar.stdout is not None
        tar.stdout.close()
        gz.wait()
        tar.wait()
    h = hashlib.sha256()
    with open(tmp, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    tmp.rename(layer)
    info = {"digest": "sha256:" + h.hexdigest(), "size": layer.stat().st_size}
    meta.write_text(json.dumps(info))
    return layer, info["digest"], info["size"]


CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {tests!r})
from layerslayer_tui.peek import complete
url, repo, digest, size = {url!r}, {repo!r}, {digest!r}, {size!r}
from layerslayer_tui.registry.client import RegistryClient
try:
    from layerslayer_tui.image import Descriptor
except ImportError:  # an older checkout (--also)
    from layerslayer_tui.registry.models import Descriptor
client = RegistryClient(url.split("//", 1)[1], insecure=True)
source = client.blob_source(repo, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size))
import layerslayer_tui
via = layerslayer_tui.__file__.rsplit("/", 2)[0]
entries, progress = drain(complete(source, size=size, digest=digest))
wall = time.perf_counter() - t0
print(json.dumps(dict(wall=wall, entries=len(entries), complete=progress.complete, verified=progress.verified,
    uncompressed=progress.uncompressed_read, maxrss_kb=vm_hwm_kb(), via=via,
    cpu=sum(resource.getrusage(resource.RUSAGE_SELF)[:2]))))
"""


def run_complete(reg, digest: str, size: int, checkout: Path | None = None) -> dict:
    code = VM_HWM + DRAIN + CHILD.format(tests=str(ROOT / "benchmarks"), url=reg.url, repo=REPO, digest=digest, size=size)
    return run_child(code, pythonpath=str(checkout) if checkout else None)


def run_partial(reg, digest: str, size: int) -> dict:
    from layerslayer_tui.peek import partial
    from layerslayer_tui.registry.client import RegistryClient
    from layerslayer_tui.image import Descriptor

    client = RegistryClient(reg.host, insecure=True)
    source = client.blob_source(REPO, Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", digest, size))
    mark = reg.log_mark()
    t0 = time.perf_counter()
    entries = 0
    for batch in partial(source, size=size, digest=digest):
        entries += len(batch.entries)
        progress = batch.progress
    wall = time.perf_counter() - t0
    recs = reg.access_log(mark, until=lambda rs: any(r.is_blob_get for r in rs))
    written = sum(r.written for r in recs if r.is_blob_get)
    return dict(wall=wall, entries=entries, written=written, requests=sum(r.is_blob_get for r in recs),
                uncompressed=progress.uncompressed_read)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-small", action="store_true", help="only /usr/share: a quick run")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached layer")
    ap.add_argument("--also", action="append", type=Path, default=[], metavar="CHECKOUT",
                    help="also run (b) with this checkout's code (PYTHONPATH), for an A/B in one run")
    ap.add_argument("--repeat", type=int, default=1, help="run (a) and (b) this many times")
    args = ap.parse_args()
    if not shutil.which("curl") or not shutil.which("tar"):
        raise SystemExit("curl and GNU tar are needed")
    layer, digest, size = build_layer(args.size_small, args.rebuild)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bed.images import push_blob
    from bed.registry import RegistryServer

    storage = WORK / ("registry-small" if args.size_small else "registry-large")
    with RegistryServer(storage_dir=storage) as reg:
        push_blob(reg, REPO, layer, digest)
        url = f"{reg.url}/v2/{REPO}/blobs/{digest}"
        print(f"layer: {size / 1e9:.2f} GB compressed, {digest[:19]}…, registry {reg.host}", flush=True)
        runs: dict[str, list[dict]] = {"this checkout": []}
        for other in args.also:
            runs[str(other)] = []
        base: list[float] = []
        for i in range(args.repeat):
            a = curl_tar(url)
            base.append(a)
            print(f"[{i + 1}] (a) curl | tar -tzf:          {a:7.2f} s", flush=True)
            for name in runs:
                b = run_complete(reg, digest, size, None if name == "this checkout" else Path(name))
                b["ratio"] = b["outer_wall"] / a
                runs[name].append(b)
                print(
                    f"[{i + 1}] (b) {name}: {b['outer_wall']:7.2f} s  ratio {b['ratio']:.3f}, cpu {b['cpu']:.2f} s, "
                    f"peak RSS {b['maxrss_kb'] / 1024:.1f} MB ({b['entries']} entries, "
                    f"{b['uncompressed'] / 1e9:.2f} GB tar, complete={b['complete']} verified={b['verified']}, {b['via']})",
                    flush=True,
                )
        print(f"(a) curl | tar -tzf: {spread(base, 's')}")
        for name, rs in runs.items():
            print(f"(b) {name}:")
            print(f"    time   {spread([r['outer_wall'] for r in rs], 's')}")
            print(f"    ratio  {spread([r['ratio'] for r in rs], '')}   (target <= 0.35)")
            print(f"    CPU    {spread([r['cpu'] for r in rs], 's')}   (user + system, the listing process; less load-sensitive)")
            print(f"    RSS    {spread([r['maxrss_kb'] / 1024 for r in rs], 'MB')}   (target <= 150 MB)")
        c = run_partial(reg, digest, size)
        print(
            f"(c) partial peek (256 KiB):    {c['wall'] * 1000:7.1f} ms, {c['entries']} entries, "
            f"{c['written']} bytes sent by the registry in {c['requests']} request(s), "
            f"{c['uncompressed'] / 1024:.0f} KiB of tar decoded"
        )


if __name__ == "__main__":
    main()
