"""The cyclic garbage collector held off while a big structure is built.

Building a tree of a million nodes triggers a collection every few hundred
allocations, and each full one walks every node made so far: measured on the
1M-entry layer, 0.8 s of a 1.9 s tree build; in the app, one collection held
the GIL (so the UI thread too) for 300-900 ms. Nothing built there is
garbage, so the collector has nothing to find.

The switch is process-wide, so pauses nest across threads: the collector
comes back when the last one ends, and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BIG = 1_000  # rows below this are built with the collector on: the pause would not pay

_lock = threading.Lock()
_depth = 0
_was_enabled = False


def _enter() -> None:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1


def _leave() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()


@contextmanager
def paused(rows: int = BIG) -> Iterator[None]:
    """Collector off for the block when `rows` is at least BIG."""
    if rows < BIG:
        yield
        return
    _enter()
    try:
        yield
    finally:
        _leave()


@contextmanager
def quiet() -> Iterator[None]:
    """Collector off for the block, and what exists afterwards frozen (moved
    out of the collector's sight for good, `gc.freeze`): for structures that
    live as long as the image is open, like the app's trees; the app
    unfreezes them when it opens the next image."""
    _enter()
    try:
        yield
    finally:
        gc.freeze()
        _leave()
