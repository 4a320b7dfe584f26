"""The headless browsing commands: `catalog REGISTRY` and `search-hub WORDS`.
Plain lines (tab-separated) or, with --json, one JSON document on stdout."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from layerslayer_tui.printable import visible

if TYPE_CHECKING:
    from layerslayer_tui.session import Session


def catalog(session: Session, registry: str, as_json: bool) -> int:
    repos = session.catalog(registry)
    if as_json:
        json.dump(repos, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for name in repos:
        print(visible(name))  # registry data: control characters escaped
    if not repos:
        print(f"layerslayer-tui: the catalog of {visible(registry)} is empty.", file=sys.stderr)
    return 0


def _count(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.1f}{unit}".replace(".0", "")
    return str(n)


def search_hub(session: Session, words: str, page: int, as_json: bool) -> int:
    found = session.search_hub(words, page=page)
    if as_json:
        json.dump({"query": found.words, "page": found.page, "count": found.count, "more": found.more,
                   "results": [{"name": r.name, "reference": r.reference, "description": r.description,
                                "stars": r.stars, "pulls": r.pulls, "official": r.official,
                                "verified": r.verified, "automated": r.automated} for r in found.results]}, sys.stdout)
        sys.stdout.write("\n")
        return 0
    for r in found.results:
        marks = ",".join(m for m, on in (("official", r.official), ("verified", r.verified)) if on) or "-"
        print("\t".join(visible(str(f)) for f in (r.name, r.stars, _count(r.pulls), marks, r.description)))
    if not found.results:
        print(f"layerslayer-tui: Docker Hub has no repository matching {visible(found.words)!r}.", file=sys.stderr)
    elif found.more:
        print(f"layerslayer-tui: {found.count or 'more'} repositories match; next page: --page {page + 1}.", file=sys.stderr)
    return 0
