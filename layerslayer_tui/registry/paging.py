"""One paging loop for the registry's lists (`/v2/_catalog`, `/v2/<name>/tags/list`):
follow `Link: <...>; rel="next"` on the same host, bound pages, names and bytes.
Each caller keeps its own sentences and caps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from urllib.parse import urljoin

from ..errors import ProtocolError
from .response import read_json
from .urls import same_origin

if TYPE_CHECKING:
    import requests

    from .api import Api

_UNREADABLE = "<unreadable Link header>"


@dataclass(frozen=True)
class PageLimits:
    key: str  # the JSON list each page holds ("repositories", "tags")
    page_cap: int
    max_pages: int
    max_names: int
    max_name_bytes: int


@dataclass(frozen=True)
class PageSentences:
    too_big: str
    not_json: str
    no_list: str
    too_many: str
    other_host: str
    too_many_pages: str


def collect_names(
    api: Api, url: str, get: Callable[[str], requests.Response], limits: PageLimits, say: PageSentences, what: str
) -> list[str]:
    """Every name of every page; `get` sends one page's request and checks its status."""
    names: list[str] = []
    total = 0
    for _page in range(limits.max_pages):
        with api.deadline():
            resp = get(url)
            try:
                link: str | None = resp.links.get("next", {}).get("url")
            except Exception:  # noqa: BLE001 - requests' parser may fail on odd text; then no next page is followed
                link = _UNREADABLE
            base = resp.url
            data = read_json(resp, limits.page_cap, too_big=say.too_big, not_json=say.not_json, what=what)
        page = data.get(limits.key) if isinstance(data, dict) else None
        if page is None:
            page = []
        if not isinstance(page, list):
            raise ProtocolError(say.no_list)
        for item in page:
            name = str(item)
            total += len(name)
            names.append(name)
        if len(names) > limits.max_names or total > limits.max_name_bytes:
            raise ProtocolError(say.too_many)
        if not link:
            return names
        try:
            url = urljoin(base, link) if link is not _UNREADABLE else ""
        except ValueError:
            url = ""
        if not same_origin(url, api.base_url):
            raise ProtocolError(say.other_host)
    raise ProtocolError(say.too_many_pages)
