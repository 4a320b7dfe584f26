"""`layerslayer-tui IMAGE --ci`: dive's CI gate, straight from the registry.

Lists every layer completely (the cache first), computes dive's figures and
checks them against the rules (ci.py). Exit 0 every rule passed or was
skipped, 1 a rule failed, 2 trouble: an unreachable image, an unreadable
rules file, a value that does not parse, a layer that could not be listed
completely (one sentence on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from layerslayer_tui import ci
from layerslayer_tui.entry import EntryBatch
from layerslayer_tui.printable import visible
from layerslayer_tui.errors import LayerslayerError

EXIT_PASS = 0
EXIT_FAIL = 1
INEFFICIENT_SHOWN = 20


def run_ci(
    args: argparse.Namespace,
    ref_text: str,
    session_for: Callable[[argparse.Namespace], Any],
    progress: Callable[[str], None],
    clear_progress: Callable[[], None],
) -> int:
    from layerslayer_tui.units import human_size
    from layerslayer_tui.workspace import Workspace

    # The rules first: a broken rules file should not cost a download.
    rules = ci.resolve_rules(args.ci_config, {rule: getattr(args, rule) for rule in ci.RULES})
    with session_for(args) as session:
        image = session.open_image(ref_text, args.platform)
        ws = Workspace(image)
        total = len(image.layers)

        def shown(index: int, batch: EntryBatch) -> None:
            p = batch.progress
            progress(f"layer {index + 1}/{total}: {p.entries} entries, {human_size(p.compressed_read, compact=True)} read")

        ws.load(session, full=True, on_batch=shown)
        clear_progress()
        for note in session.pop_warnings():
            print(f"layerslayer-tui: {visible(note)}", file=sys.stderr)
    partial = ws.partial_layers()
    if partial:
        raise LayerslayerError(
            f"Layers {', '.join(map(str, partial))} could not be listed completely, so the CI rules cannot be checked."
        )
    analysis = ci.analyse(ws.wasted(), [ws.tree(i).total_bytes for i in range(total)])
    results = ci.evaluate(analysis, rules)
    ok = ci.passed(results)
    if args.json:
        json.dump({
            "image": image.reference, "manifest_digest": image.manifest_digest,
            "efficiency": analysis.efficiency, "wasted_bytes": analysis.wasted_bytes,
            "size_bytes": analysis.size_bytes, "user_size_bytes": analysis.user_size_bytes,
            "wasted_user_percent": analysis.wasted_user_percent
            if analysis.wasted_user_percent != float("inf") else None,
            "rules": [{"rule": r.rule, "status": r.status, "value": r.value, "limit": r.limit} for r in results],
            "pass": ok,
        }, sys.stdout)  # fmt: skip
        sys.stdout.write("\n")
        return EXIT_PASS if ok else EXIT_FAIL
    out = sys.stdout
    out.write(visible(f"Image: {image.reference} ({image.manifest_digest[:19]}, {total} layers)") + "\n")
    out.write(f"  efficiency: {analysis.efficiency:.4%}\n")
    out.write(f"  wasted bytes: {analysis.wasted_bytes} ({human_size(analysis.wasted_bytes, compact=True)})\n")
    out.write(f"  user wasted percent: {analysis.wasted_user_percent:.4%} "
              f"(of {human_size(analysis.user_size_bytes, compact=True)} above the first layer)\n")
    out.write("Inefficient files:\n")
    offenders = analysis.report.top(INEFFICIENT_SHOWN)
    if not offenders:
        out.write("  None\n")
    else:
        out.write(f"  {'Count':>5}  {'Wasted Space':>12}  File Path\n")
        for o in offenders:
            out.write(visible(f"  {len(o.layers):>5}  {human_size(o.cumulative, compact=True):>12}  {o.path}") + "\n")
        if len(analysis.report.offenders) > INEFFICIENT_SHOWN:
            out.write(f"  ... and {len(analysis.report.offenders) - INEFFICIENT_SHOWN} more\n")
    out.write("Results:\n")
    for r in results:
        if r.status == ci.SKIP:
            out.write(f"  {r.status}: {r.rule}: disabled\n")
        else:
            relation = {"lowestEfficiency": ">=", "highestWastedBytes": "<=", "highestUserWastedPercent": "<="}[r.rule]
            verdict = relation if r.status == ci.PASS else {">=": "<", "<=": ">"}[relation]
            out.write(visible(f"  {r.status}: {r.rule}: {r.value} {verdict} {r.limit}") + "\n")
    counts = {s: sum(r.status == s for r in results) for s in (ci.PASS, ci.FAIL, ci.SKIP)}
    out.write(f"Result: {'PASS' if ok else 'FAIL'} [Total:{len(results)}] [Passed:{counts[ci.PASS]}] "
              f"[Failed:{counts[ci.FAIL]}] [Skipped:{counts[ci.SKIP]}]\n")
    out.flush()
    return EXIT_PASS if ok else EXIT_FAIL
