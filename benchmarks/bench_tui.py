"""The app driven headless (Pilot) on a 125k-entry layer from a real registry
process. Prints, asserts nothing:

- time from Enter to the first entries in the tree (target < 1 s);
- the longest event-loop stall while the whole layer streams in after `f`
  (a 10 ms repeating timer records how late it fires; target < 100 ms);
- time to expand a directory of 10k children, render included (target < 0.5 s).

    .venv/bin/python benchmarks/bench_tui.py [ENTRIES]

Measured on the 2-core dev box (three runs each): longest stall 103-145 ms
when feed slices were chained with call_later (Textual ran them back to back
without returning to the asyncio loop), 38-53 ms once each slice waits its
turn in the loop; Enter -> first entries 300-380 ms; 10k expand 230-280 ms.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bed.images import push_image  # noqa: E402
from bed.registry import RegistryServer  # noqa: E402
from tui_images import layer, many_items  # noqa: E402

from layerslayer_tui.session import Session  # noqa: E402
from layerslayer_tui.tui.app import LayerslayerApp  # noqa: E402
from layerslayer_tui.tui.widgets.file_tree import FileTree  # noqa: E402

from _cli import parse_size  # noqa: E402

WIDE = 10_000
TICK = 0.01


async def until(pilot: Any, predicate: Any, timeout: float = 300.0) -> None:
    end = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > end:
            raise SystemExit(f"stuck: {pilot.app.status_text}")
        await asyncio.sleep(0.001)


async def drive(reference: str, work: Path) -> dict[str, float]:
    figures: dict[str, float] = {}
    with Session(cache_path=work / "cache.sqlite3") as session:
        app = LayerslayerApp(session=session)
        async with app.run_test(size=(120, 40)) as pilot:
            tree = app.query_one(FileTree)
            app.query_one("#reference").value = reference
            app.query_one("#reference").focus()
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("enter")
            await until(pilot, lambda: len(tree.root.children) > 0)
            figures["enter_to_first_entries_s"] = time.perf_counter() - start
            await until(pilot, lambda: 0 in app.finished)
            figures["partial_entries"] = len(app.workspace.tree(0))

            lateness: list[float] = []
            expected = [time.perf_counter() + TICK]

            def tick() -> None:
                now = time.perf_counter()
                lateness.append(now - expected[0])
                expected[0] = now + TICK

            timer = app.set_interval(TICK, tick)
            app.query_one("#layers").focus()
            start = time.perf_counter()
            await pilot.press("f")
            await until(pilot, lambda: app.workspace.is_complete(0) and 0 in app.finished)
            await pilot.pause()
            figures["full_listing_s"] = time.perf_counter() - start
            timer.stop()
            figures["entries"] = len(app.workspace.tree(0))
            figures["longest_stall_ms"] = max(lateness) * 1000 if lateness else float("nan")
            figures["ticks"] = len(lateness)

            start = time.perf_counter()
            node = tree.expand_path("wide")
            await pilot.pause()
            figures["expand_10k_s"] = time.perf_counter() - start
            figures["wide_children"] = len(node.children) if node is not None else 0
    return figures


def main(argv: list[str] | None = None) -> int:
    count = parse_size(__doc__, "entries", 125_000 - WIDE, "files besides the 10k-child directory (default 115000)", argv)
    t = time.perf_counter()
    blob = layer(many_items(count, per_dir=500, wide=WIDE, size=300))
    print(f"built layer: {count + WIDE:,} files, {len(blob) / 1e6:.1f} MB gzip in {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory(prefix="ll-bench-tui-") as tmp:
        work = Path(tmp)
        os.environ["LAYERSLAYER_CACHE_DIR"] = str(work / "cache")
        os.environ["LAYERSLAYER_DATA_DIR"] = str(work / "data")
        with RegistryServer("anon") as reg:
            pushed = push_image(reg, "bench/tui", "1", [blob])
            figures = asyncio.run(drive(pushed.ref, work))
    print(f"entries listed (partial peek): {figures['partial_entries']:,}")
    print(f"entries listed (full):         {figures['entries']:,} in {figures['full_listing_s']:.2f} s")
    print(f"Enter -> first entries in tree: {figures['enter_to_first_entries_s'] * 1000:.0f} ms   (target < 1000 ms)")
    print(f"longest event-loop stall:       {figures['longest_stall_ms']:.0f} ms over {figures['ticks']} ticks   (target < 100 ms)")
    print(f"expand a 10k-child directory:   {figures['expand_10k_s'] * 1000:.0f} ms ({figures['wide_children']:,} nodes)   (target < 500 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
