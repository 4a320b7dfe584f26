"""Registry names the app is about to use, checked before use.

A tag chosen with `t` becomes part of a reference, and a layer digest becomes
part of a file name: both come from the registry, so both must match their
grammar first (digests by the core's one validator, `layerslayer_tui.digest`).
"""

from __future__ import annotations

import re

from layerslayer_tui import digest as _digest

# The distribution spec's tag grammar.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def valid_tag(tag: str) -> bool:
    return _TAG.fullmatch(tag) is not None


def valid_digest(digest: str) -> bool:
    return _digest.is_valid(digest)
