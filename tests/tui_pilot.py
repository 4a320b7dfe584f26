"""Helpers for driving the app headless (Pilot) in the TUI tests."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Awaitable, Callable
from typing import Any

from bed.images import decompress

from layerslayer_tui.tui.app import LayerslayerApp
from layerslayer_tui.tui.widgets.file_tree import FileTree

SIZE = (100, 30)


def truth_paths(blob: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(decompress(blob)), mode="r:") as tf:
        return {m.name.removeprefix("./").rstrip("/") for m in tf.getmembers()}


def run(app: LayerslayerApp, body: Callable[[Any], Awaitable[None]], size: tuple[int, int] = SIZE) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            try:
                await body(pilot)
            finally:
                gate = getattr(app.session, "gate", None)
                if gate is not None:
                    gate.set()  # never leave a worker thread parked

    asyncio.run(main())


async def wait_for(pilot: Any, predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"gave up waiting for {what}; status: {pilot.app.status_text!r}")
        await pilot.pause(0.02)


def listed(app: LayerslayerApp, index: int) -> Callable[[], bool]:
    return lambda: app.workspace is not None and index in app.finished and app.workspace.progress(index) is not None


def labels(node: Any) -> list[str]:
    return [child.label.plain for child in node.children]


def tree_of(app: LayerslayerApp) -> FileTree:
    return app.query_one(FileTree)
