"""Content digests as registries send them (`sha256:<64 hex>`), checked in one
place before a digest goes into a URL, a file name or a cache key.

A digest in a manifest is untrusted text: `sha256:../../v2/x` would otherwise
become a request path, and a name like `shake_128:...` would reach hashlib.
Only the algorithms opencontainers/go-digest registers, with their exact
encoded form (lowercase hex of the right length), are accepted."""

from __future__ import annotations

import hashlib
import re

from .errors import ProtocolError

# algorithm -> its encoded form (go-digest: sha256 and sha512, lowercase hex only)
ALGORITHMS = {"sha256": 64, "sha512": 128}
_DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})", re.ASCII)


def is_valid(digest: object) -> bool:
    """True for `sha256:` + 64 lowercase hex digits or `sha512:` + 128."""
    return isinstance(digest, str) and _DIGEST.fullmatch(digest) is not None


def check(digest: object, what: str) -> str:
    """The digest itself when valid; else ProtocolError naming `what` ("a layer
    of the image x:1"). The bad value is not echoed: it is untrusted text."""
    if is_valid(digest):
        return digest  # type: ignore[return-value]
    if isinstance(digest, str) and digest.partition(":")[0] not in ALGORITHMS:
        why = "a digest algorithm this app does not support (only sha256 and sha512)"
    else:
        why = "a malformed digest (expected sha256: and 64 lowercase hex digits)"
    raise ProtocolError(f"{what[:1].upper()}{what[1:]} has {why}.")


def hasher(digest: str) -> hashlib._Hash:
    """A fresh hash object for a digest already checked with `check`."""
    return hashlib.new(digest.partition(":")[0])


def matches(data: bytes, digest: str) -> bool:
    """Whether `data` hashes to `digest` (False for an invalid digest)."""
    if not is_valid(digest):
        return False
    algo, _, want = digest.partition(":")
    return hashlib.new(algo, data).hexdigest() == want
