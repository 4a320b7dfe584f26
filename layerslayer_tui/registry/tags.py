"""Tag lists, page by page along the `Link: <...>; rel="next"` header."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import ProtocolError
from .auth import pull_scope
from .transport import check, read_json

if TYPE_CHECKING:
    from .transport import Transport

PAGE_CAP = 4 * 1024 * 1024
MAX_PAGES = 1000
MAX_TAGS = 1_000_000


def _same_origin(url: str, base: str) -> bool:
    return url.startswith(base + "/")


def list_tags(transport: Transport, repository: str, *, page_size: int | None = None) -> list[str]:
    what = f"the tags of {transport.registry}/{repository}"
    url = f"/v2/{repository}/tags/list" + (f"?n={page_size}" if page_size else "")
    tags: list[str] = []
    for _page in range(MAX_PAGES):
        resp = transport.request("GET", url, scope=pull_scope(repository), headers={"Accept": "application/json"}, stream=True, what=what)
        check(resp, what)
        link = resp.links.get("next", {}).get("url")
        base = resp.url
        data = read_json(
            resp,
            PAGE_CAP,
            too_big=f"A page of {what} is more than {PAGE_CAP} bytes.",
            not_json=f"The registry answered {what} with something that is not JSON.",
        )
        page = data.get("tags") if isinstance(data, dict) else None
        if page is None:
            page = []
        if not isinstance(page, list):
            raise ProtocolError(f"The registry answered {what} without a tags list.")
        tags.extend(str(t) for t in page)
        if len(tags) > MAX_TAGS:
            raise ProtocolError(f"The registry lists more than {MAX_TAGS} tags for {transport.registry}/{repository}.")
        if not link:
            return tags
        url = urljoin(base, link)
        if not _same_origin(url, transport.base_url):
            raise ProtocolError(f"The registry's next page of {what} points to another host.")
    raise ProtocolError(f"The registry kept paging {what} beyond {MAX_PAGES} pages.")
