"""Tag lists, page by page along the `Link: <...>; rel="next"` header."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import ProtocolError
from .auth import pull_scope
from .response import check, read_json
from .urls import same_origin

if TYPE_CHECKING:
    from .api import Api

PAGE_CAP = 4 * 1024 * 1024
MAX_PAGES = 1000
MAX_TAGS = 1_000_000
MAX_TAG_BYTES = 64 * 1024 * 1024  # all tag names together: 1M names of 64 characters
_UNREADABLE = "<unreadable Link header>"


def list_tags(api: Api, repository: str, *, page_size: int | None = None) -> list[str]:
    what = f"the tags of {api.registry}/{repository}"
    url = f"/v2/{repository}/tags/list" + (f"?n={page_size}" if page_size else "")
    tags: list[str] = []
    total = 0
    for _page in range(MAX_PAGES):
        with api.deadline():
            resp = api.request("GET", url, scope=pull_scope(repository), headers={"Accept": "application/json"}, what=what)
            check(resp, what)
            try:
                link: str | None = resp.links.get("next", {}).get("url")
            except Exception:  # noqa: BLE001 - requests' parser may fail on odd text; then no next page is followed
                link = _UNREADABLE
            base = resp.url
            data = read_json(
                resp,
                PAGE_CAP,
                too_big=f"A page of {what} is more than {PAGE_CAP} bytes.",
                not_json=f"The registry answered {what} with something that is not JSON.",
                what=what,
            )
        page = data.get("tags") if isinstance(data, dict) else None
        if page is None:
            page = []
        if not isinstance(page, list):
            raise ProtocolError(f"The registry answered {what} without a tags list.")
        for t in page:
            name = str(t)
            total += len(name)
            tags.append(name)
        if len(tags) > MAX_TAGS or total > MAX_TAG_BYTES:
            raise ProtocolError(f"The registry lists more than {MAX_TAGS} tags (or {MAX_TAG_BYTES} bytes of tags) for {api.registry}/{repository}.")
        if not link:
            return tags
        try:
            url = urljoin(base, link) if link is not _UNREADABLE else ""
        except ValueError:
            url = ""
        if not same_origin(url, api.base_url):
            raise ProtocolError(f"The registry's next page of {what} points to another host.")
    raise ProtocolError(f"The registry kept paging {what} beyond {MAX_PAGES} pages.")
