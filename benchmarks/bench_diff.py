"""`diff` of two images sharing a big base layer, cold and with a warm cache.

Builds (once, cached under benchmarks/.work/) a gzip base layer of FILES
synthetic files (default 30,000, about 90 MB of tar), pushes two images to a
real local distribution registry: A = base + a small top, B = base + another
small top. Then, in one run:

  (a) baseline: curl -s BLOB | tar -tzf - > /dev/null for every layer of A
      and every layer of B (what a tool that downloads both images and lists
      them does: the base is read twice)
  (b) layerslayer-tui diff A B --full --stat, cold (empty cache), in a subprocess
  (c) the same again: warm cache (listings and images cached)
  (d) layerslayer-tui diff A B --stat, cold, default 256 KiB budget (a partial,
      flagged-incomplete diff: the quick look)

and prints each wall time as a ratio to (a), with the bytes the registry sent
(from its access log) and each run's exit code. Targets, in bytes (what a
real network charges for): (b) sends the distinct layers once, about half of
(a) here; (c) sends no blob byte. On loopback the transfer is free, so the
wall-time ratios mostly compare our Python listing, merge and diff (plus
interpreter start-up) with C tar: about 1 cold and 0.4 warm on a quiet machine.

    .venv/bin/python benchmarks/bench_diff.py [FILES]
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _cli import parse_size  # noqa: E402

WORDS = [f"w{n}" for n in range(2000)]


def build_base(files: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"diff-base-{files}.tar.gz"
    if path.exists():
        return path
    print(f"building {path.name} ({files} files, once) ...", flush=True)
    rng = random.Random(files)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for d in range(files // 300 + 1):
            info = tarfile.TarInfo(f"usr/share/d{d:04d}")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
            tar.addfile(info)
        for n in range(files):
            data = " ".join(rng.choices(WORDS, k=rng.randint(50, 900))).encode()
            info = tarfile.TarInfo(f"usr/share/d{n // 300:04d}/f{n:06d}.txt")
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    tmp.rename(path)
    return path


def top(tag: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("app/main.py", f"app/{tag}.txt", "etc/version"):
            data = f"{tag} {name}\n".encode() * (3 if tag == "a" else 5)
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


def sent(reg, mark: int) -> int:
    return sum(r.written for r in reg.access_log(mark, timeout=1.0) if r.is_blob_get)


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "layerslayer_tui", *argv], env=env, capture_output=True, text=True,
                         check=False)
    wall = time.perf_counter() - t0
    if out.returncode not in (0, 1, 2):
        raise SystemExit(f"diff failed ({out.returncode}):\n{out.stderr}")
    return wall, out.returncode


def main() -> None:
    files = parse_size(__doc__, "FILES", 30000, "files in the base layer (default 30000)")
    base_path = build_base(files)
    from bed.images import push_image
    from bed.registry import RegistryServer

    base = base_path.read_bytes()
    with RegistryServer("anon") as reg, tempfile.TemporaryDirectory(prefix="bench-diff-") as tmp:
        a = push_image(reg, "bench/diff", "a", [base, top("a")])
        b = push_image(reg, "bench/diff", "b", [base, top("b")])
        print(f"base layer: {len(base) / 1e6:.1f} MB compressed, {files} files; registry {reg.host}", flush=True)
        urls = [f"{reg.url}/v2/bench/diff/blobs/{layer.digest}" for image in (a, b) for layer in image.layers]
        mark = reg.log_mark()
        t0 = time.perf_counter()
        for url in urls:
            subprocess.run(f"curl -s {url} | tar -tzf - > /dev/null", shell=True, check=True)
        base_wall = time.perf_counter() - t0
        base_sent = sent(reg, mark)
        print(f"(a) curl | tar -tzf, every layer of A and B:  {base_wall:7.2f} s   "
              f"{base_sent / 1e6:8.1f} MB sent  (the baseline)")
        env = dict(os.environ, LAYERSLAYER_CACHE_DIR=str(Path(tmp) / "cache"), PYTHONPATH=str(ROOT))
        for label, argv, target in (
            ("(b) diff --full, cold cache:             ", ["--full"], "bytes: the distinct layers once"),
            ("(c) diff --full, warm cache:             ", ["--full"], "bytes: none"),
        ):
            mark = reg.log_mark()
            wall, code = run_cli(["diff", a.ref, b.ref, "--stat", *argv], env)
            print(f"{label}  {wall:7.2f} s   {sent(reg, mark) / 1e6:8.1f} MB sent  "
                  f"ratio {wall / base_wall:6.3f}  ({target}; exit {code})", flush=True)
        env["LAYERSLAYER_CACHE_DIR"] = str(Path(tmp) / "cache2")
        mark = reg.log_mark()
        wall, code = run_cli(["diff", a.ref, b.ref, "--stat"], env)
        print(f"(d) diff (256 KiB peeks), cold cache:      {wall:7.2f} s   {sent(reg, mark) / 1e6:8.1f} MB sent  "
              f"ratio {wall / base_wall:6.3f}  (incomplete by design; exit {code})")
        print(json.dumps({"files": files, "base_mb": round(len(base) / 1e6, 1)}))


if __name__ == "__main__":
    main()
