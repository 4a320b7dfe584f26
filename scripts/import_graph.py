#!/usr/bin/env python3
"""Print the package's import graph and its circles (no third-party tools).

Usage: scripts/import_graph.py [ROOT] [--modules] [--who-imports PKG]
ROOT is a checkout (default: this one). Edges are read with `ast`: imports at
module level make the graph whose circles matter at import time; imports inside
functions ("lazy") are listed apart, as they hide a dependency without
creating an import-time circle. Units are the top-level modules and
subpackages of layerslayer_tui (tui, registry, fs, peek, sources, session,
cache...); --modules prints module-level edges instead.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PKG = "layerslayer_tui"


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def resolve(current: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = current.split(".")
        if not is_pkg:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    # "from pkg import name" may name a submodule (then the edge goes to it) or a value of pkg.
    return [prefix] + [f"{prefix}.{a.name}" for a in node.names]


def edges(root: Path, *, typing: bool = True) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module-level edges, deferred edges); `typing=False` leaves out imports
    under `if TYPE_CHECKING:` (annotations only: no dependency at run time)."""
    files = {module_name(root, p): p for p in (root / PKG).rglob("*.py")}
    known = set(files)
    top: dict[str, set[str]] = {m: set() for m in files}
    lazy: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        is_pkg = path.name == "__init__.py"
        parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                parents[child] = parent
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                prefix, *subs = resolve(mod, is_pkg, node)
                targets = [t for t in subs if t in known]
                if len(targets) < len(subs):  # some names are values of `prefix` itself
                    targets.append(prefix)
            else:
                continue
            # inside a function, or under `if TYPE_CHECKING:` -> not an import-time edge
            p, deferred, for_typing = parents.get(node), False, False
            while p is not None:
                if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    deferred = True
                if isinstance(p, ast.If) and "TYPE_CHECKING" in ast.unparse(p.test):
                    deferred = for_typing = True
                p = parents.get(p)
            if for_typing and not typing:
                continue
            for t in targets:
                while t and t not in known and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in known and t != mod:
                    (lazy if deferred else top)[mod].add(t)
    return top, lazy


def unit(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--modules", action="store_true", help="module-level edges, not units")
    ap.add_argument("--who-imports", metavar="UNIT", help="list the modules importing UNIT (top and lazy)")
    args = ap.parse_args()
    top, lazy = edges(Path(args.root))

    if args.who_imports:
        for kind, g in (("top", top), ("lazy", lazy)):
            for m in sorted(g):
                hits = sorted(t for t in g[m] if unit(t) == args.who_imports and unit(m) != args.who_imports)
                if hits:
                    print(f"{kind:4} {m} -> {', '.join(hits)}")
        return 0

    def collapse(g: dict[str, set[str]]) -> dict[str, set[str]]:
        if args.modules:
            return g
        u: dict[str, set[str]] = {}
        for m, ts in g.items():
            u.setdefault(unit(m), set()).update(unit(t) for t in ts if unit(t) != unit(m))
        return u

    ut, ul = collapse(top), collapse(lazy)
    for m in sorted(ut):
        line = f"{m} -> {', '.join(sorted(ut[m])) or '-'}"
        extra = sorted(ul.get(m, set()) - ut[m])
        if extra:
            line += f"   (lazy: {', '.join(extra)})"
        print(line)
    found = circles(top)
    print(f"\nmodule-level import circles: {len(found)}")
    for c in found:
        print("  " + " <-> ".join(c))
    both = {m: top[m] | lazy[m] for m in top}
    hidden = [c for c in circles(both) if c not in found]
    print(f"circles once imports inside functions count too: {len(hidden)}")
    for c in hidden:
        print("  " + " <-> ".join(c))
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
