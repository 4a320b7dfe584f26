"""Registry auth: ping, Basic, and Bearer tokens (anonymous, with a password,
or with an identity token), cached per (realm, service, scope) until they
expire, with one fresh token after a 401.

Credentials go to two places only: the registry's own origin (Basic) and the
token realm that origin named in its own 401. A challenge from any other host
(say, where a redirect led) is never adopted, and a token request redirected
to another host is refused rather than sent there with the password or the
refresh token."""

from __future__ import annotations

import base64
import math
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from ..errors import AuthError, ProtocolError
from .challenge import Challenge, challenges_of, preferred
from .redirects import Chain, is_redirect
from .response import check, discard, read_json
from .urls import host_of

if TYPE_CHECKING:
    import requests

    from .credentials import Credentials
    from .transport import Transport

TOKEN_BODY_CAP = 1024 * 1024
MIN_TOKEN_LIFE = 60.0  # the spec's default, and the floor for shorter claims
EXPIRY_MARGIN = 5.0  # renew a little early so a token does not expire in flight
CLIENT_ID = "layerslayer-tui"
_TOKEN = re.compile(r"[!-~]+")  # visible ASCII: a token goes into a header line as is


def pull_scope(repository: str) -> str:
    return f"repository:{repository}:pull"


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Authenticator:
    """Auth state for one registry (thread-safe); sends through `transport`."""

    def __init__(self, transport: Transport, credentials: Credentials | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.transport = transport
        self.credentials = credentials
        self.clock = clock
        self.challenge: Challenge | None = None
        self.token_fetches = 0
        self._pinged = False
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.RLock()

    # -- ping -------------------------------------------------------------------
    def ensure_pinged(self) -> None:
        with self._lock:
            if self._pinged:
                return
            t = self.transport
            what = "the registry API check"
            with t.deadline():
                url = t.url("/v2/")
                chain = Chain(t.base_url, what)
                resp = t.send("GET", url)
                while is_redirect(resp):
                    resp = t.send("GET", chain.follow(resp))
                if resp.status_code == 401:
                    ch = preferred(challenges_of(resp))
                    discard(resp)
                    # Another host's 401 names no login of ours: requests to the registry
                    # itself will meet its own challenge, if it has one.
                    if chain.trusted:
                        if ch is None:
                            raise AuthError(f"{t.registry} asks for a login method this client does not support.")
                        self.challenge = ch
                elif resp.status_code == 404:
                    discard(resp)
                    raise ProtocolError(f"{host_of(resp.url, t.api_host)} does not speak the registry API v2 (GET /v2/ answered 404).")
                else:
                    check(resp, what, ok=(200,))
                    discard(resp)  # the body says nothing we need: never read it
            self._pinged = True

    # -- headers ----------------------------------------------------------------
    def headers(self, scope: str | None) -> dict[str, str]:
        """What a request to the registry's own origin carries for `scope`."""
        with self._lock:
            ch = self.challenge
            creds = self.credentials
            if ch is None:
                return {}
            if ch.scheme == "basic":
                if creds and creds.username and creds.password:
                    return {"Authorization": basic_header(creds.username, creds.password)}
                return {}
            return {"Authorization": f"Bearer {self._token(ch, scope)}"}

    def _token(self, ch: Challenge, scope: str | None, *, force: bool = False, fetch_scope: str | None = None) -> str:
        key = (ch.realm or "", ch.params.get("service", ""), scope or "")
        cached = self._tokens.get(key)
        if cached and not force and cached[1] > self.clock():
            return cached[0]
        token, life = self._fetch(ch, fetch_scope or scope)
        self._tokens[key] = (token, self.clock() + life - EXPIRY_MARGIN)
        return token

    def refresh_after_401(self, resp: object, scope: str | None) -> bool:
        """The registry itself answered 401 (never pass another host's answer):
        adopt its challenge and get fresh credentials once. True when a retry
        has a chance."""
        ch = preferred(challenges_of(resp))
        with self._lock:
            if ch is None:
                return False
            previous, self.challenge = self.challenge, ch
            if ch.scheme == "basic":
                creds = self.credentials
                return bool(creds and creds.username and creds.password) and (previous is None or previous.scheme != "basic")
            self._token(ch, scope, force=True, fetch_scope=ch.params.get("scope") or scope)
            return True

    def denied(self, what: str) -> AuthError:
        reg = self.transport.registry
        if self.credentials is not None:
            who = f" as {self.credentials.username}" if self.credentials.username else ""
            return AuthError(f"{reg} refused access to {what}{who}: check your username and password.")
        return AuthError(f"{reg} requires login to read {what} (or it does not exist).")

    # -- token server -----------------------------------------------------------
    def _send_token_request(self, realm: str, scopes: list[str], service: str | None) -> requests.Response:
        """The token request, its redirects followed by hand: on the realm's own
        origin with the same credentials, elsewhere only when it carries none."""
        t = self.transport
        creds = self.credentials
        headers: dict[str, str] = {}
        form: dict[str, Any] | None = None
        params: list[tuple[str, str]] | None = None
        if creds is not None and creds.identity_token:
            method = "POST"
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": CLIENT_ID}
            if service:
                form["service"] = service
            if scopes:
                form["scope"] = " ".join(scopes)
        else:
            method = "GET"
            if creds is not None and creds.username and creds.password:
                headers["Authorization"] = basic_header(creds.username, creds.password)
            params = ([("service", service)] if service else []) + [("scope", s) for s in scopes]
        secret = form is not None or bool(headers)
        chain = Chain(realm, "an access token")
        resp = t.send(method, realm, headers=headers, data=form, params=params)
        while is_redirect(resp):
            status = resp.status_code
            url = chain.follow(resp)
            if secret and not chain.trusted:
                raise ProtocolError(
                    f"The token server of {t.registry} redirected the login to another host ({host_of(url)}); "
                    "credentials go only to the token server the registry named."
                )
            if method == "POST" and status not in (307, 308):
                raise ProtocolError(f"The token server of {t.registry} redirected the login with HTTP {status}, which this client does not follow.")
            # The Location is the whole next URL, query included.
            resp = t.send(method, url, headers=headers if chain.trusted else {}, data=form)
        return resp

    def _fetch(self, ch: Challenge, scope: str | None) -> tuple[str, float]:
        t = self.transport
        realm = ch.realm
        if not realm:
            raise ProtocolError(f"{t.registry} asked for a bearer token but named no token server.")
        try:
            parts = urlsplit(realm)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ProtocolError(f"{t.registry} named a token server that is not a valid URL.") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProtocolError(f"{t.registry} named a token server that is not an HTTP URL.")
        if parts.scheme == "http" and t.scheme == "https":
            raise ProtocolError(
                f"{t.registry} sends logins to a plain-HTTP token server ({parts.netloc}); refusing that for an HTTPS registry."
            )
        service = ch.params.get("service")
        scopes = scope.split(" ") if scope else []
        creds = self.credentials
        self.token_fetches += 1
        with t.deadline():
            resp = self._send_token_request(realm, scopes, service)
            if resp.status_code in (401, 403):
                discard(resp)
                if creds is not None:
                    who = f" for {creds.username}" if creds.username else ""
                    raise AuthError(f"{t.registry} refused the login{who}: check your username and password.")
                raise AuthError(f"{t.registry} requires login.")
            check(resp, "an access token")
            data = read_json(
                resp,
                TOKEN_BODY_CAP,
                too_big=f"The token server of {t.registry} sent an oversized answer.",
                not_json=f"The token server of {t.registry} did not answer JSON.",
                what="an access token",
            )
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ProtocolError(f"The token server of {t.registry} answered without a token.")
        if not _TOKEN.fullmatch(token):
            raise ProtocolError(f"The token server of {t.registry} answered with a token that cannot go into a header.")
        try:
            life = float(data.get("expires_in") or MIN_TOKEN_LIFE)
        except (TypeError, ValueError, OverflowError):
            life = MIN_TOKEN_LIFE
        if not math.isfinite(life):
            life = MIN_TOKEN_LIFE
        return token, max(life, MIN_TOKEN_LIFE)
