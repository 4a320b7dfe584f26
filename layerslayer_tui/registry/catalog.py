"""The repository list of a registry: `GET /v2/_catalog`, page by page along
`Link: <...>; rel="next"` (distribution 2.8 sends one page whatever `n` says;
distribution 3 and others page). Docker Hub has no catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import AuthError, LayerslayerError, NotFoundError, ProtocolError
from ..reference import DOCKER_HUB
from .response import check, read_json
from .urls import same_origin

if TYPE_CHECKING:
    from .api import Api

CATALOG_SCOPE = "registry:catalog:*"
PAGE_CAP = 8 * 1024 * 1024
MAX_PAGES = 1000
MAX_REPOSITORIES = 1_000_000
MAX_NAME_BYTES = 256 * 1024 * 1024  # all names together (a name may be 255 characters)
_UNREADABLE = "<unreadable Link header>"
PAGE_SIZE = 1000


class CatalogUnavailable(LayerslayerError):
    """The registry does not list its repositories (no catalog, or not for
    these credentials). A normal answer, not a failure: the UI says it and
    lets the user name a repository instead."""


def no_hub_catalog() -> CatalogUnavailable:
    return CatalogUnavailable("Docker Hub has no catalog of repositories; find them with search-hub WORDS (or b, then / in the TUI).")


def list_repositories(api: Api, *, page_size: int | None = PAGE_SIZE) -> list[str]:
    registry = api.registry
    if registry == DOCKER_HUB:
        raise no_hub_catalog()
    what = f"the catalog of {registry}"
    url = "/v2/_catalog" + (f"?n={page_size}" if page_size else "")
    repos: list[str] = []
    total = 0
    for _page in range(MAX_PAGES):
        with api.deadline():
            try:
                resp = api.request("GET", url, scope=CATALOG_SCOPE, headers={"Accept": "application/json"}, what=what)
                check(resp, what)
            except AuthError:
                raise CatalogUnavailable(f"The registry {registry} does not let these credentials list its repositories; name a repository instead.") from None
            except NotFoundError:
                raise CatalogUnavailable(f"The registry {registry} offers no catalog of its repositories; name a repository instead.") from None
            try:
                link: str | None = resp.links.get("next", {}).get("url")
            except Exception:  # noqa: BLE001 - requests' parser may fail on odd text; then no next page is followed
                link = _UNREADABLE
            base = resp.url
            data = read_json(
                resp,
                PAGE_CAP,
                too_big=f"A page of {what} is more than {PAGE_CAP} bytes.",
                not_json=f"The registry {registry} answered {what} with something that is not JSON.",
                what=what,
            )
        page = data.get("repositories") if isinstance(data, dict) else None
        if page is None:
            page = []
        if not isinstance(page, list):
            raise ProtocolError(f"The registry {registry} answered {what} without a repositories list.")
        for r in page:
            name = str(r)
            total += len(name)
            repos.append(name)
        if len(repos) > MAX_REPOSITORIES or total > MAX_NAME_BYTES:
            raise ProtocolError(f"The registry {registry} lists more than {MAX_REPOSITORIES} repositories (or {MAX_NAME_BYTES} bytes of names).")
        if not link:
            return repos
        try:
            url = urljoin(base, link) if link is not _UNREADABLE else ""
        except ValueError:
            url = ""
        if not same_origin(url, api.base_url):
            raise ProtocolError(f"The next page of {what} points to another host.")
    raise ProtocolError(f"The registry {registry} kept paging {what} beyond {MAX_PAGES} pages.")
