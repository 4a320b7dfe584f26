"""Requests to one registry's API: the transport sends, the authenticator says
what a request to the registry's own origin carries, and redirects are
followed by hand, so that a hop to another host (blob storage, a CDN, or a
hostile registry's accomplice) carries no Authorization and its 401 is never
taken for the registry's own. Composed once per client (client.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .redirects import Chain, is_redirect
from .response import discard
from .urls import same_origin

if TYPE_CHECKING:
    import requests

    from .auth import Authenticator
    from .deadline import Deadline
    from .transport import Transport


class Api:
    def __init__(self, transport: Transport, auth: Authenticator) -> None:
        self.transport = transport
        self.auth = auth
        self.registry = transport.registry
        self.base_url = transport.base_url

    def deadline(self) -> Deadline:
        """`with api.deadline():` around a request and the reading of its body."""
        return self.transport.deadline()

    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str | None,
        headers: dict[str, str] | None = None,
        what: str = "the registry",
    ) -> requests.Response:
        """A registry API request carrying the right Authorization for `scope`,
        redirects followed; the final response whatever its status (but a 401
        from the registry after one refresh raises AuthError), body unread."""
        self.auth.ensure_pinged()
        url = self.transport.url(path)
        chain = Chain(self.base_url, what)
        chain.left = not same_origin(url, self.base_url)
        if chain.trusted:
            resp = self._authed(method, url, scope, headers, what)
        else:
            resp = self.transport.send(method, url, headers=_without_auth(headers))
        while is_redirect(resp):
            if resp.status_code == 303:
                method = "GET"
            url = chain.follow(resp)
            if chain.trusted:
                resp = self._authed(method, url, scope, headers, what)
            else:
                resp = self.transport.send(method, url, headers=_without_auth(headers))
        return resp

    def _authed(self, method: str, url: str, scope: str | None, headers: dict[str, str] | None, what: str) -> requests.Response:
        """One exchange with the registry's own origin, with one fresh login after its 401."""
        hdrs = {**(headers or {}), **self.auth.headers(scope)}
        resp = self.transport.send(method, url, headers=hdrs)
        if resp.status_code == 401 and self.auth.refresh_after_401(resp, scope):
            discard(resp)
            hdrs = {**(headers or {}), **self.auth.headers(scope)}
            resp = self.transport.send(method, url, headers=hdrs)
        if resp.status_code == 401:
            discard(resp)
            raise self.auth.denied(what)
        return resp

    def close(self) -> None:
        self.transport.close()


def _without_auth(headers: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
