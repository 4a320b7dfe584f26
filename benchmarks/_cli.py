"""The command line the benchmarks share: --help prints the script's docstring
(what it measures, its targets), and an optional size argument."""

from __future__ import annotations

import argparse


def parse_size(doc: str | None, name: str, default: int, help: str, argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(name, nargs="?", type=int, default=default, help=help)
    return getattr(ap.parse_args(argv), name)
