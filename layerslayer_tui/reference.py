"""Image references, parsed and normalised the way docker does it
(distribution/reference: regexp.go and normalize.go)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidReferenceError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_LEGACY_HUB = "index.docker.io"
DEFAULT_TAG = "latest"
NAME_MAX = 255

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_REFERENCE_RE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?",
    re.ASCII,
)
_TAG_RE = re.compile(_TAG, re.ASCII)
_DIGEST_RE = re.compile(_DIGEST, re.ASCII)
_HEX64 = re.compile(r"[a-f0-9]{64}")
# Known algorithms and the exact encoded form each one must have (opencontainers/go-digest).
_ALGORITHMS = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}


@dataclass(frozen=True, slots=True)
class Reference:
    registry: str  # canonical: "docker.io" for Docker Hub
    repository: str  # "library/ubuntu"
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host that answers the registry API."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What goes after /manifests/: the digest when there is one (pull by digest), else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def familiar(self) -> str:
        """The short form docker prints: `ubuntu:22.04`, `user/app:1`, `ghcr.io/o/r:t`."""
        name = self.name
        if self.registry == DOCKER_HUB:
            name = self.repository
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/") :]
        return name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    def with_digest(self, digest: str) -> Reference:
        return Reference(self.registry, self.repository, self.tag, digest)


def _split_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    if not slash or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        domain, remainder = DOCKER_HUB, text
    else:
        domain, remainder = first, rest
    if domain == _LEGACY_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def _bad(text: str, why: str) -> InvalidReferenceError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return InvalidReferenceError(f"'{shown}' is not a valid image reference: {why}.")


def _explain(text: str, remainder: str) -> InvalidReferenceError:
    """Why the full pattern did not match, in words (checked part by part)."""
    body, at, digest = remainder.partition("@")
    if at:
        if not _DIGEST_RE.fullmatch(digest):
            return _bad(text, f"'{digest}' is not a digest (expected algorithm:hex, e.g. sha256:<64 hex digits>)")
    name, colon, tag = body.rpartition(":") if ":" in body.rsplit("/", 1)[-1] else (body, "", "")
    if colon:
        if len(tag) > 128:
            return _bad(text, f"the tag is {len(tag)} characters long, at most 128 are allowed")
        if not _TAG_RE.fullmatch(tag):
            return _bad(text, f"the tag '{tag}' may only hold letters, digits, '_', '.' and '-', and must not start with '.' or '-'")
    for part in name.split("/"):
        if not part:
            return _bad(text, "the name has an empty path component (a doubled or trailing '/')")
    return _bad(
        text,
        "each part of the repository name must be lowercase letters and digits, "
        "separated by single '.', '_', '__' or runs of '-'",
    )


def parse(text: str) -> Reference:
    """Parse `text` like `docker pull` does; raises InvalidReferenceError."""
    raw = text
    text = text.strip()
    if not text:
        raise InvalidReferenceError("The image reference is empty.")
    if _HEX64.fullmatch(text):
        raise _bad(raw, "a 64-character hexadecimal string is an image ID, not a repository name")
    domain, remainder = _split_domain(text)
    remote = remainder.partition(":")[0].partition("@")[0]
    if remote.lower() != remote:
        raise _bad(raw, f"repository names must be lowercase ('{remote}')")
    full = f"{domain}/{remainder}"
    m = _REFERENCE_RE.fullmatch(full)
    if m is None:
        raise _explain(raw, remainder)
    name = m.group("name")
    if len(name) > NAME_MAX:
        raise _bad(raw, f"the repository name is {len(name)} characters long, at most {NAME_MAX} are allowed")
    digest = m.group("digest")
    if digest:
        algo, _, hexpart = digest.partition(":")
        rule = _ALGORITHMS.get(algo)
        if rule is None:
            raise _bad(raw, f"the digest algorithm '{algo}' is not supported (use sha256)")
        if not rule.fullmatch(hexpart):
            raise _bad(raw, f"a {algo} digest must be {'64' if algo == 'sha256' else '128'} lowercase hex digits")
    registry, _, repository = name.partition("/")
    tag = m.group("tag")
    if not tag and not digest:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)
