"""Docker Hub's public repository search (Hub has no /v2/_catalog):

    GET https://hub.docker.com/v2/search/repositories/?query=WORDS&page=N&page_size=M
    {"count": 1234, "next": "<url>" | null, "previous": ..., "results": [
        {"repo_name": "library/nginx", "short_description": "...", "star_count": 20000,
         "pull_count": 1000000000, "repo_owner": "", "is_automated": false, "is_official": true}, ...]}

Every field is optional to the parser (a missing one is empty or zero, a
result without a name is skipped); the older index search's names
(`name`, `description`) are read too. Retries and 429 handling are the
registry transport's (Retry-After honoured, then one sentence)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..errors import InvalidReferenceError, ProtocolError
from .redirects import Chain, is_redirect
from .response import check, read_json
from .transport import Transport

HUB_SEARCH_URL = "https://hub.docker.com"
URL_ENV = "LAYERSLAYER_HUB_URL"  # another search host (a mirror; the tests' fake)
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PAGE_CAP = 4 * 1024 * 1024
MAX_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class HubRepository:
    name: str  # "library/nginx", "bitnami/redis"
    description: str = ""
    stars: int = 0
    pulls: int = 0
    official: bool = False
    verified: bool = False  # a verified publisher, when the answer says so
    automated: bool = False

    @property
    def reference(self) -> str:
        """What to open: `docker.io/library/nginx`."""
        name = self.name if "/" in self.name else f"library/{self.name}"
        return f"docker.io/{name}"


@dataclass(frozen=True, slots=True)
class HubPage:
    words: str
    page: int
    results: list[HubRepository]
    count: int  # matches in all, as Hub counts them (0 when it does not say)
    more: bool  # another page follows


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def _text(v: Any, cap: int = 300) -> str:
    """One line, control characters dropped (descriptions are printed and drawn)."""
    if not isinstance(v, str):
        return ""
    return " ".join("".join(c for c in v if c.isprintable() or c.isspace()).split())[:cap]


def parse_result(item: Any) -> HubRepository | None:
    if not isinstance(item, dict):
        return None
    name = _text(item.get("repo_name") or item.get("name"), 256)
    if not name:
        return None
    return HubRepository(
        name=name,
        description=_text(item.get("short_description") or item.get("description")),
        stars=_int(item.get("star_count")),
        pulls=_int(item.get("pull_count")),
        official=item.get("is_official") is True,
        verified=item.get("is_verified") is True or item.get("verified_publisher") is True,
        automated=item.get("is_automated") is True,
    )


def parse_page(data: Any, words: str, page: int) -> HubPage:
    if not isinstance(data, dict):
        raise ProtocolError("Docker Hub answered the search with something that is not a JSON object.")
    raw = data.get("results")
    results = [r for r in (parse_result(i) for i in raw) if r is not None] if isinstance(raw, list) else []
    count = _int(data.get("count") if "count" in data else data.get("num_results"))
    more = bool(data.get("next")) if "next" in data else bool(count and page * PAGE_SIZE < count)
    return HubPage(words, page, results, count, more)


def search_url() -> str:
    return (os.environ.get(URL_ENV) or HUB_SEARCH_URL).rstrip("/")


def search_hub(words: str, *, page: int = 1, page_size: int = PAGE_SIZE, transport: Transport | None = None,
               timeout: float = 30.0) -> HubPage:
    """One page of repositories matching `words`."""
    words = " ".join(words.split())
    if not words:
        raise InvalidReferenceError("Give some words to search Docker Hub for, e.g. search-hub nginx.")
    if not 1 <= page <= MAX_PAGE:
        raise InvalidReferenceError(f"The page must be between 1 and {MAX_PAGE}.")
    base = search_url()
    own = transport is None
    if transport is None:
        host = urlsplit(base).netloc
        transport = Transport(host, api_host=host, timeout=timeout, insecure=base.startswith("http://"))
    try:
        query = urlencode({"query": words, "page": page, "page_size": max(1, min(page_size, MAX_PAGE_SIZE))})
        what = f"the Docker Hub search for '{words[:80]}'"
        headers = {"Accept": "application/json"}
        with transport.deadline():
            # No credentials go with a search, so its redirects may be followed (by hand: bounded, bodies unread).
            url = f"{base}/v2/search/repositories/?{query}"
            chain = Chain(url, what)
            resp = transport.send("GET", url, headers=headers)
            while is_redirect(resp):
                resp = transport.send("GET", chain.follow(resp), headers=headers)
            check(resp, what)
            data = read_json(resp, PAGE_CAP, too_big=f"A page of Docker Hub search results is more than {PAGE_CAP} bytes.",
                             not_json="Docker Hub answered the search with something that is not JSON.", what=what)
        return parse_page(data, words, page)
    finally:
        if own:
            transport.close()
