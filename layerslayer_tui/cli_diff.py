"""`layerslayer-tui diff IMAGE_A IMAGE_B`: the headless comparison.

Exit codes like diff(1): 0 the images have the same files and config, 1 they
differ, 2 trouble (one sentence on stderr). A comparison made of partial
listings never exits 0: with differences found it exits 1 and says the diff
is incomplete; with none found it cannot tell, and exits 2 saying so.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from layerslayer_tui.entry import EntryBatch
from layerslayer_tui.printable import visible

EXIT_SAME = 0
EXIT_DIFFERENT = 1
EXIT_ERROR = 2


def run_diff(
    args: argparse.Namespace,
    ref_a: str,
    ref_b: str,
    session_for: Callable[[argparse.Namespace], Any],
    budget_of: Callable[[str], int],
    progress: Callable[[str], None],
    clear_progress: Callable[[], None],
) -> int:
    from layerslayer_tui import compare, compare_report
    from layerslayer_tui.fs import PathMatcher
    from layerslayer_tui.units import human_size

    budget = budget_of(args.budget)
    with session_for(args) as session:

        def shown(done: int, total: int, batch: EntryBatch) -> None:
            p = batch.progress
            progress(f"layer {done + 1}/{total}: {p.entries} entries, {human_size(p.compressed_read, compact=True)} read")

        cmp = compare.load(session, ref_a, ref_b, platform=args.platform, full=args.full, budget=budget,
                           on_batch=shown)
        clear_progress()
        for note in session.pop_warnings():
            print(f"layerslayer-tui: {visible(note)}", file=sys.stderr)
    if args.filter:
        cmp = cmp.refiltered(PathMatcher(args.filter), args.filter)
    if args.export:
        # The same report into a file (JSON when it ends in .json), never over an existing one without --force.
        compare_report.save(cmp, args.export, overwrite=args.force)
    elif args.json:
        compare_report.write_json(cmp, sys.stdout, stat=args.stat)
    else:
        compare_report.write_text(cmp, sys.stdout, stat=args.stat)
    sys.stdout.flush()
    if cmp.same:
        return EXIT_SAME
    if cmp.config or cmp.files:
        if not cmp.complete:
            print(f"layerslayer-tui: the images differ, but {visible(compare_report.incomplete_sentence(cmp))}",
                  file=sys.stderr)
        return EXIT_DIFFERENT
    print(f"layerslayer-tui: no difference found so far, but {visible(compare_report.incomplete_sentence(cmp))}",
          file=sys.stderr)
    return EXIT_ERROR
