"""The repository list of a registry: `GET /v2/_catalog`, page by page along
`Link: <...>; rel="next"` (distribution 2.8 sends one page whatever `n` says;
distribution 3 and others page). Docker Hub has no catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import AuthError, LayerslayerError, NotFoundError
from ..reference import DOCKER_HUB
from .paging import PageLimits, PageSentences, collect_names
from .response import check

if TYPE_CHECKING:
    import requests

    from .api import Api

CATALOG_SCOPE = "registry:catalog:*"
PAGE_CAP = 8 * 1024 * 1024
MAX_PAGES = 1000
MAX_REPOSITORIES = 1_000_000
MAX_NAME_BYTES = 256 * 1024 * 1024  # all names together (a name may be 255 characters)
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

    def get(page_url: str) -> requests.Response:
        try:
            resp = api.request("GET", page_url, scope=CATALOG_SCOPE, headers={"Accept": "application/json"}, what=what)
            check(resp, what)
        except AuthError:
            raise CatalogUnavailable(f"The registry {registry} does not let these credentials list its repositories; name a repository instead.") from None
        except NotFoundError:
            raise CatalogUnavailable(f"The registry {registry} offers no catalog of its repositories; name a repository instead.") from None
        return resp

    say = PageSentences(
        too_big=f"A page of {what} is more than {PAGE_CAP} bytes.",
        not_json=f"The registry {registry} answered {what} with something that is not JSON.",
        no_list=f"The registry {registry} answered {what} without a repositories list.",
        too_many=f"The registry {registry} lists more than {MAX_REPOSITORIES} repositories (or {MAX_NAME_BYTES} bytes of names).",
        other_host=f"The next page of {what} points to another host.",
        too_many_pages=f"The registry {registry} kept paging {what} beyond {MAX_PAGES} pages.",
    )
    limits = PageLimits("repositories", PAGE_CAP, MAX_PAGES, MAX_REPOSITORIES, MAX_NAME_BYTES)
    return collect_names(api, url, get, limits, say, what)
