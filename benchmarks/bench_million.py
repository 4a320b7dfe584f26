"""A million small files in one layer: the CLI's full JSON export against GNU tar.

Builds (once, cached under benchmarks/.work/) a gzip layer of 1,001,000 entries
(1,000 directories `node_modules/module_NNNNN/` of 1,000 small files each, the
shape of a big node_modules or a Python ML image), pushes it as a one-layer
image to a real local distribution registry, then in one run measures:

  (a) curl -s BLOB_URL | tar -tvzf - > /dev/null        (the baseline)
  (b) layerslayer-tui IMAGE --export x.json --layer 0 --full --no-cache
      in a fresh process: wall time and peak RSS (ru_maxrss of the child)

and prints the ratio b/a (issue 12's target: at most 2.0) and the peak RSS
(target: at most 300 MB).

    .venv/bin/python benchmarks/bench_million.py [--rebuild]
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
sys.path.insert(0, str(ROOT / "tests"))
DIRS, FILES = 1_000, 1_000


def build_layer(rebuild: bool) -> bytes:
    path = WORK / "layer-million.tar.gz"
    if path.exists() and not rebuild:
        return path.read_bytes()
    WORK.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in range(DIRS):
            folder = tarfile.TarInfo(f"node_modules/module_{d:05d}")
            folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, 1700000000
            tar.addfile(folder)
            for f in range(FILES - 1):
                body = f"module.exports = {f};\n".encode()
                info = tarfile.TarInfo(f"node_modules/module_{d:05d}/f{f:04d}.js")
                info.size, info.mode, info.mtime = len(body), 0o644, 1700000000
                tar.addfile(info, io.BytesIO(body))
    blob = gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)
    path.write_bytes(blob)
    return blob


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rebuild", action="store_true", help="rebuild the cached layer")
    ap.add_argument("--also", metavar="CHECKOUT", help="also run (b) with the package from another checkout (e.g. an older commit)")
    args = ap.parse_args()
    blob = build_layer(args.rebuild)
    from bed.images import push_image
    from bed.registry import RegistryServer

    with RegistryServer() as reg, tempfile.TemporaryDirectory() as tmp:
        image = push_image(reg, "bench/million", "1", [blob])
        digest = image.layers[0].digest
        url = f"{reg.url}/v2/bench/million/blobs/{digest}"
        print(f"layer: {len(blob) / 2**20:.1f} MiB gzip, {DIRS * FILES:,} entries, registry {reg.host}", flush=True)
        t0 = time.perf_counter()
        subprocess.run(f"curl -s {url} | tar -tvzf - > /dev/null", shell=True, check=True)
        a = time.perf_counter() - t0
        print(f"(a) curl | tar -tvzf:          {a:7.2f} s", flush=True)
        for label, checkout in [("this checkout", None)] + ([(args.also, args.also)] if args.also else []):
            b, rss, size = export(image.ref, Path(tmp), checkout)
            print(f"(b) --export x.json --full:    {b:7.2f} s   ({size / 1e6:.0f} MB of JSON; {label})")
            print(f"    ratio b/a:                 {b / a:7.2f}   (issue 12 target <= 2.0)")
            print(f"    peak RSS:                  {rss / 1024:7.1f} MB (issue 12 target <= 300 MB)")


def export(ref: str, tmp: Path, checkout: str | None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, JSON bytes) of one headless export in a fresh process."""
    env = {**os.environ, "LAYERSLAYER_CACHE_DIR": str(tmp / "cache")}
    if checkout:
        env["PYTHONPATH"] = checkout
    out = tmp / "x.json"
    out.unlink(missing_ok=True)
    # Peak RSS through a small wrapper process: a child forked straight from
    # this (big) process starts with our high-water mark, which Linux keeps
    # across exec in ru_maxrss (it reported 2,015 MB for a 636 MB export).
    cmd = [sys.executable, "-m", "layerslayer_tui", ref, "--export", str(out), "--layer", "0", "--full", "--no-cache"]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *cmd], env=env, cwd=tmp, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        raise SystemExit(f"the export failed ({checkout or 'this checkout'}): {done.stderr.strip()[-500:]}")
    return wall, int(done.stdout.split()[-1]), out.stat().st_size


# Runs argv[1:] and prints its peak RSS in KiB (ru_maxrss from wait4 of that child alone).
_PEAK = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""

if __name__ == "__main__":
    main()
