"""Tag lists, page by page along the `Link: <...>; rel="next"` header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .auth import pull_scope
from .paging import PageLimits, PageSentences, collect_names
from .response import check

if TYPE_CHECKING:
    import requests

    from .api import Api

PAGE_CAP = 4 * 1024 * 1024
MAX_PAGES = 1000
MAX_TAGS = 1_000_000
MAX_TAG_BYTES = 64 * 1024 * 1024  # all tag names together: 1M names of 64 characters


def list_tags(api: Api, repository: str, *, page_size: int | None = None) -> list[str]:
    what = f"the tags of {api.registry}/{repository}"
    url = f"/v2/{repository}/tags/list" + (f"?n={page_size}" if page_size else "")

    def get(page_url: str) -> requests.Response:
        resp = api.request("GET", page_url, scope=pull_scope(repository), headers={"Accept": "application/json"}, what=what)
        check(resp, what)
        return resp

    say = PageSentences(
        too_big=f"A page of {what} is more than {PAGE_CAP} bytes.",
        not_json=f"The registry answered {what} with something that is not JSON.",
        no_list=f"The registry answered {what} without a tags list.",
        too_many=f"The registry lists more than {MAX_TAGS} tags (or {MAX_TAG_BYTES} bytes of tags) for {api.registry}/{repository}.",
        other_host=f"The registry's next page of {what} points to another host.",
        too_many_pages=f"The registry kept paging {what} beyond {MAX_PAGES} pages.",
    )
    return collect_names(api, url, get, PageLimits("tags", PAGE_CAP, MAX_PAGES, MAX_TAGS, MAX_TAG_BYTES), say, what)
