"""Redirects, followed by hand wherever credentials are involved.

requests would follow them itself, reading every redirect body in full and
deciding on its own what a new host may receive. Here a chain is at most
MAX_REDIRECTS hops, each target must be an http(s) URL, a redirect body is
never read beyond a small announced one, and the chain remembers whether it
ever left the origin it started from: after that, nothing that belongs to
that origin (Authorization, a token, a challenge it answers) is used again,
even if a later hop comes back."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

from ..errors import ProtocolError
from .response import discard
from .urls import host_of, same_origin

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def is_redirect(resp: requests.Response) -> bool:
    return resp.status_code in REDIRECT_STATUSES and "Location" in resp.headers


class Chain:
    """One request's redirects from `start`; `what` names the thing fetched."""

    def __init__(self, start: str, what: str) -> None:
        self.start = start
        self.what = what
        self.hops = 0
        self.left = False  # a hop went to another origin: credentials stay behind from now on

    @property
    def trusted(self) -> bool:
        """May the current hop carry the start origin's credentials?"""
        return not self.left

    def follow(self, resp: requests.Response) -> str:
        """The absolute URL `resp` redirects to, checked; `resp` is dropped."""
        host = host_of(resp.url)
        location = resp.headers.get("Location", "")
        base = resp.url
        discard(resp)
        self.hops += 1
        if self.hops > MAX_REDIRECTS:
            raise ProtocolError(f"Fetching {self.what} was redirected more than {MAX_REDIRECTS} times.")
        try:
            url = urljoin(base, location.strip())
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ProtocolError(f"{host} redirected {self.what} to an address that is not a valid URL.") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ProtocolError(f"{host} redirected {self.what} to something that is not an HTTP URL.")
        if not same_origin(url, self.start):
            self.left = True
        return url
