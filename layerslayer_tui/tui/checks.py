"""Registry names the app is about to use, checked before use.

A tag chosen with `t` becomes part of a reference, and a layer digest becomes
part of a file name: both come from the registry, so both must match their
grammar first. (A shared `layerslayer_tui/digest.py` is on its way; this local
check is what the app needs until then.)
"""

from __future__ import annotations

import re

# The distribution spec's tag grammar.
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
# The only digests this tool reads: sha256, lower-case hex (what registries send).
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")


def valid_tag(tag: str) -> bool:
    return _TAG.fullmatch(tag) is not None


def valid_digest(digest: str) -> bool:
    return _SHA256.fullmatch(digest) is not None
