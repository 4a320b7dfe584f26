"""Wasted space and image efficiency, computed the way dive does.

dive (filetree/efficiency.go, image/analysis.go) visits the leaves of every
layer tree and keys them by path. Each visit adds the node's size to the
path's cumulative size and keeps the smallest size seen. A whiteout's size is
what it deletes in the stacked view of the layers below it. Then:

- efficiency = sum of smallest sizes / sum of cumulative sizes (1.0 when empty);
- an inefficient path is one visited two or more times;
- wasted bytes = sum of the cumulative sizes of the inefficient paths (dive's
  "potential wasted space": every copy counts, the smallest included).

We also report `excess_bytes` (all copies but the smallest), the bytes that a
rebuild could actually save. One deliberate difference: dive only sizes
whiteouts of directories (a whited-out file counts 0); we count the size a
whiteout deletes whatever it was, which is what dive's own comment intends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .merged import MergedTree
from .paths import OPAQUE_MARKER
from .tree import LayerTree


@dataclass(slots=True)
class Offender:
    path: str
    cumulative: int  # bytes over every layer that has this path
    smallest: int  # the smallest copy
    layers: list[int]  # layer indexes that hold the path, bottom first

    @property
    def excess(self) -> int:
        return self.cumulative - self.smallest


@dataclass(slots=True)
class WastedReport:
    efficiency: float
    wasted_bytes: int
    excess_bytes: int
    offenders: list[Offender]  # largest cumulative size first
    partial_layers: list[int] = field(default_factory=list)  # figures are a lower bound when not empty

    def top(self, n: int = 20) -> list[Offender]:
        return self.offenders[:n]


def wasted(trees: Sequence[LayerTree | None]) -> WastedReport:
    # A path seen once (most of them: a million in a big node_modules layer)
    # costs one (size, layer) pair; only a path seen again gets the full record.
    once: dict[str, tuple[int, int]] = {}
    again: dict[str, list] = {}  # path -> [cumulative, smallest, layers]
    below = MergedTree()

    def visit(path: str, size: int, layer: int) -> None:
        data = again.get(path)
        if data is not None:
            data[0] += size
            if size < data[1]:
                data[1] = size
            data[2].append(layer)
            return
        first = once.pop(path, None)
        if first is None:
            once[path] = (size, layer)
        else:
            again[path] = [first[0] + size, min(first[0], size), [first[1], layer]]

    last = max((i for i, t in enumerate(trees) if t is not None), default=-1)
    for index, tree in enumerate(trees):
        if tree is not None:
            for node in tree.nodes():
                if not node.kids:  # leaves only, empty directories included
                    visit(node.path, node.size, index)
            for path, _marker in tree.whiteouts.items():
                gone = below.get(path)
                visit(path, gone.total_bytes if gone is not None else 0, index)
            for path in tree.opaque_dirs:
                gone = below.get(path)
                size = gone.total_bytes if gone is not None and gone.is_dir else 0
                visit(f"{path}/{OPAQUE_MARKER}" if path else OPAQUE_MARKER, size, index)
        if index < last:  # the view below the top layer is never asked for: not built
            below.apply(tree, index)
        elif tree is None or not tree.complete:
            below.partial_layers.append(index)

    single = sum(size for size, _layer in once.values())
    smallest_sum = single + sum(d[1] for d in again.values())
    cumulative_sum = single + sum(d[0] for d in again.values())
    efficiency = 1.0 if cumulative_sum == 0 else smallest_sum / cumulative_sum
    offenders = [Offender(p, d[0], d[1], d[2]) for p, d in again.items()]
    offenders.sort(key=lambda o: (-o.cumulative, o.path))
    return WastedReport(
        efficiency=efficiency,
        wasted_bytes=sum(o.cumulative for o in offenders),
        excess_bytes=sum(o.excess for o in offenders),
        offenders=offenders,
        partial_layers=list(below.partial_layers),
    )
