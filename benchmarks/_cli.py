"""The command line the benchmarks share: --help prints the script's docstring
(what it measures, its targets), and an optional size argument."""

from __future__ import annotations

import argparse


def parse_size(doc: str | None, name: str, default: int, help: str, argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(name, nargs="?", type=int, default=default, help=help)
    return getattr(ap.parse_args(argv), name)


def run_child(code: str) -> dict:
    """Run `code` in a fresh interpreter (so its peak RSS is its own) and return
    the JSON object on its last line of output, plus `outer_wall`: the child's
    whole wall time, start-up included."""
    import json
    import subprocess
    import sys
    import time

    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    outer = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"listing subprocess failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["outer_wall"] = outer
    return result
