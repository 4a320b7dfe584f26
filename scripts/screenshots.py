#!/usr/bin/env python3
"""Regenerate screenshots/*.svg (embedded in the README) from the fixed demo
images: starts its own registry process on a fixed loopback port, pushes the
images, drives the app headless and saves one SVG per scene.

    .venv/bin/python scripts/screenshots.py [--out screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bed.images import push_image, realistic_history  # noqa: E402
from tui_images import Demo, fixed_registry, layer, many_items, push_demo  # noqa: E402
from tui_pilot import SCENES  # noqa: E402

from layerslayer_tui.session import Session  # noqa: E402
from layerslayer_tui.tui.app import LayerslayerApp  # noqa: E402

SIZE = (110, 32)


async def shoot(demo: Demo, name: str, out: Path, work: Path) -> Path:
    reference, scene = SCENES[name]
    with Session(cache_path=work / f"{name}.sqlite3") as session:
        app = LayerslayerApp(demo.ref(reference), session=session)
        async with app.run_test(size=SIZE) as pilot:
            try:
                await scene(pilot)
            except AssertionError as exc:
                raise SystemExit(f"screenshot scene {name} stuck: {exc}") from None
            await pilot.pause(0.1)
            return Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ll-shots-") as tmp:
        work = Path(tmp)
        os.environ["LAYERSLAYER_CACHE_DIR"] = str(work / "cache")
        os.environ["LAYERSLAYER_DATA_DIR"] = str(work / "data")
        with fixed_registry() as reg:
            demo = push_demo(reg)
            # About 1 MiB of hard-to-compress files: a 256 KiB peek lists a quarter.
            push_image(reg, "demo/big", "1", [layer(many_items(3000, per_dir=300))], history=realistic_history(1))
            for name in SCENES:
                path = asyncio.run(shoot(demo, name, args.out, work))
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
