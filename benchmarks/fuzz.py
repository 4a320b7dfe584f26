"""Long fuzz run of every parser that meets untrusted bytes.

Targets (tests/fuzz_targets.py): scanner, decompress, carve, manifest, config,
platform, estargz, zstdchunked, index, toc, listing_codec, image_codec. The
contract for each: any input returns or raises a LayerslayerError, within
bounded time (libFuzzer -timeout) and memory (-rss_limit_mb); anything else is
a failure. Inputs start from valid seeds of each kind and are mutated.

Engines: atheris (coverage-guided libFuzzer, from PyPI; one process per target)
or hypothesis (the suite's mutation strategies, on a time budget). For each
target it prints the inputs tried, the failures found (distinct kinds with the
first message) and inputs per second; failing inputs are saved under --save.

Needs: .venv/bin/pip install -e ".[fuzz]" (atheris) for the default engine.
Run: .venv/bin/python benchmarks/fuzz.py [--seconds 60] [--engine atheris]
     [--targets scanner,carve] [--save DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

SLOW = 2.0  # seconds: an input slower than this counts as a failure (bounded time)
RSS_LIMIT_MB = 2048


def _kind(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames) if "layerslayer_tui" in f.filename), "?")
    return f"{type(exc).__name__} at {where}"


class Stats:
    def __init__(self, name: str, save: Path) -> None:
        self.name = name
        self.save = save
        self.tried = 0
        self.failures = 0
        self.kinds: dict[str, str] = {}
        self.started = time.monotonic()

    def record(self, data: bytes, exc: BaseException | None, seconds: float) -> None:
        self.tried += 1
        kind = message = None
        if exc is not None:
            kind, message = _kind(exc), str(exc)[:160]
        elif seconds > SLOW:
            kind, message = "slow input", f"{seconds:.1f} s"
        if kind is None:
            return
        self.failures += 1
        if kind not in self.kinds:
            self.kinds[kind] = message or ""
            self.save.mkdir(parents=True, exist_ok=True)
            name = f"{self.name}-{hashlib.sha256(data).hexdigest()[:16]}"
            (self.save / name).write_bytes(data)

    def as_dict(self) -> dict:
        return {"tried": self.tried, "failures": self.failures, "kinds": self.kinds,
                "seconds": time.monotonic() - self.started}


def _one(name: str, data: bytes, stats: Stats) -> None:
    from fuzz_targets import run_one

    t0 = time.monotonic()
    exc = run_one(name, data)
    stats.record(data, exc, time.monotonic() - t0)


# -- atheris ---------------------------------------------------------------------


def atheris_worker(name: str, seconds: int, out: Path, save: Path) -> None:
    """Runs inside its own process: libFuzzer ends it with exit()."""
    import atheris

    with atheris.instrument_imports(include=["layerslayer_tui"]):
        import layerslayer_tui.image_codec  # noqa: F401
        import layerslayer_tui.listing_codec  # noqa: F401
        import layerslayer_tui.peek  # noqa: F401
        import layerslayer_tui.peek.index  # noqa: F401
        import layerslayer_tui.registry.history  # noqa: F401
        import layerslayer_tui.registry.manifests  # noqa: F401
        import layerslayer_tui.registry.platforms  # noqa: F401
    from fuzz_targets import TARGETS

    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    for i, seed in enumerate(TARGETS[name][1]()):
        (corpus / f"seed{i}").write_bytes(seed)
    stats = Stats(name, save)
    last = [0.0]

    def dump() -> None:
        out.write_text(json.dumps(stats.as_dict()))

    def test_one(data: bytes) -> None:
        _one(name, data, stats)
        now = time.monotonic()
        if now - last[0] > 1.0:
            last[0] = now
            dump()

    import random

    from fuzz_targets import mutate

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        # libFuzzer's byte mutations, and a third of the time a structural one
        # (tokens, octal fields, deep JSON nesting) it would hardly find alone.
        rng = random.Random(seed)
        if rng.random() < 0.33:
            return mutate(data, rng)[:max_size]
        return atheris.Mutate(data, max_size)

    import atexit

    atexit.register(dump)
    sys.setrecursionlimit(1000)
    atheris.Setup(
        [sys.argv[0], f"-max_total_time={seconds}", f"-rss_limit_mb={RSS_LIMIT_MB}", "-timeout=20",
         "-max_len=65536", "-print_final_stats=1", str(corpus)],
        test_one,
        custom_mutator=mutator,
    )
    atheris.Fuzz()


def run_atheris(name: str, seconds: int, save: Path) -> dict:
    out = Path(tempfile.mkstemp(prefix=f"fuzz-{name}-", suffix=".json")[1])
    log = save / f"{name}.libfuzzer.log"
    save.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--worker", name, "--seconds", str(seconds), "--out", str(out), "--save", str(save)]
    with open(log, "wb") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=seconds + 120)
    try:
        result = json.loads(out.read_text() or "{}")
    except ValueError:
        result = {}
    out.unlink(missing_ok=True)
    result.setdefault("tried", 0)
    result.setdefault("failures", 0)
    result.setdefault("kinds", {})
    text = log.read_text(errors="replace")
    if proc.returncode != 0:
        # libFuzzer itself stopped the run: out of memory, a timeout, a native crash.
        reason = next((line for line in text.splitlines() if "ERROR: libFuzzer" in line or "==ERROR" in line), "")
        result["failures"] += 1
        result["kinds"][f"libFuzzer exit {proc.returncode}"] = reason.strip()[:160] or f"see {log}"
    cov = [line for line in text.splitlines() if " cov: " in line]
    result["coverage"] = cov[-1].split(" cov: ")[1].split()[0] if cov else "?"
    return result


# -- hypothesis --------------------------------------------------------------------


def run_hypothesis(name: str, seconds: int, save: Path) -> dict:
    from fuzz_targets import strategy
    from hypothesis import HealthCheck, given, settings

    stats = Stats(name, save)
    deadline = time.monotonic() + seconds

    class _Budget(Exception):
        pass

    @settings(max_examples=10**9, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=["generate"])
    @given(strategy(name))
    def run(data: bytes) -> None:
        if time.monotonic() > deadline:
            raise _Budget
        _one(name, data, stats)

    try:
        run()
    except _Budget:
        pass
    result = stats.as_dict()
    result["coverage"] = "-"
    return result


TARGET_NAMES = ("scanner", "decompress", "carve", "manifest", "config", "platform", "estargz", "zstdchunked",
                "index", "toc", "listing_codec", "image_codec")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="time per target (default 60)")
    ap.add_argument("--engine", choices=("atheris", "hypothesis"), default="atheris", help="default atheris")
    ap.add_argument("--targets", default=",".join(TARGET_NAMES), help="comma-separated (default: all)")
    ap.add_argument("--save", type=Path, default=Path(tempfile.gettempdir()) / "layerslayer-fuzz",
                    help="where failing inputs and libFuzzer logs go")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        atheris_worker(args.worker, args.seconds, args.out, args.save)
        return 0
    # The worker above must import the project itself, under instrumentation.
    from fuzz_targets import TARGETS

    assert set(TARGETS) == set(TARGET_NAMES)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        ap.error(f"unknown targets: {', '.join(unknown)}")
    engine = run_atheris if args.engine == "atheris" else run_hypothesis
    if args.engine == "atheris":
        try:
            import atheris  # noqa: F401
        except ImportError:
            ap.error("atheris is not installed (pip install atheris), or use --engine hypothesis")
    print(f"engine {args.engine}, {args.seconds} s per target, failing inputs in {args.save}")
    print(f"{'target':<14}{'inputs':>10}{'per s':>9}{'failures':>10}{'cov':>7}")
    total_failures = 0
    for name in names:
        r = engine(name, args.seconds, args.save)
        rate = r["tried"] / max(r.get("seconds") or args.seconds, 1e-9)
        print(f"{name:<14}{r['tried']:>10}{rate:>9.0f}{r['failures']:>10}{r['coverage']:>7}", flush=True)
        for kind, message in r["kinds"].items():
            print(f"    {kind}: {message}")
        total_failures += r["failures"]
    print(f"failures in total: {total_failures}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
