"""The command line the benchmarks share: --help prints the script's docstring
(what it measures, its targets), and an optional size argument."""

from __future__ import annotations

import argparse


def parse_size(doc: str | None, name: str, default: int, help: str, argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(name, nargs="?", type=int, default=default, help=help)
    return getattr(ap.parse_args(argv), name)


# Child code defining vm_hwm_kb(): the peak RSS of the child's own address
# space (VmHWM). Not ru_maxrss: at exec Linux keeps the forked parent's
# high-water mark in it, so a child of a big parent reports the parent's peak.
VM_HWM = r"""
def vm_hwm_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


# Child code defining drain(batches) -> (entries, last progress): the entries
# kept the way a caller keeps them (columns.Entries; a list of TarEntry in an
# older checkout, for --also).
DRAIN = r"""
def drain(batches):
    try:
        from layerslayer_tui.columns import Entries
        entries = Entries()
    except ImportError:
        entries = []
    progress = None
    for batch in batches:
        entries.extend(batch.entries)
        progress = batch.progress
    return entries, progress
"""


def curl_tar(url: str) -> float:
    """Wall seconds of `curl -s URL | tar -tzf - > /dev/null`, the baseline."""
    import subprocess
    import time

    t0 = time.perf_counter()
    subprocess.run(f"curl -s {url} | tar -tzf - > /dev/null", shell=True, check=True)
    return time.perf_counter() - t0


def spread(values: list[float], unit: str) -> str:
    """best (lowest), median and worst of repeated runs."""
    v = sorted(values)
    return f"best {v[0]:.3f}{unit}  median {v[len(v) // 2]:.3f}{unit}  worst {v[-1]:.3f}{unit}  (n={len(v)})"


def run_child(code: str, pythonpath: str | None = None) -> dict:
    """Run `code` in a fresh interpreter (so its peak RSS is its own) and return
    the JSON object on its last line of output, plus `outer_wall`: the child's
    whole wall time, start-up included. `pythonpath`: import the package from
    there first (another checkout, for an A/B)."""
    import json
    import os
    import subprocess
    import sys
    import time

    env = None
    if pythonpath:
        env = dict(os.environ, PYTHONPATH=pythonpath + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    # From another checkout, its own folder is the working directory: `-c` puts that first on sys.path.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env,
                         cwd=pythonpath or None)
    outer = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"listing subprocess failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["outer_wall"] = outer
    return result
