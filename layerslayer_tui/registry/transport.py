"""HTTP for one registry: one requests.Session (so manifest, config and blob
requests reuse connections), the scheme rule, bounded jittered retries, and
the mapping of final statuses to the app's errors.

Auth lives in auth.py; this module asks it for headers and, on a 401, lets it
fetch a fresh token once before giving up."""

from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit, urlunsplit

import requests

from ..errors import AuthError, NetworkError, NotFoundError, ProtocolError, RateLimitedError

if TYPE_CHECKING:
    from .auth import Authenticator
    from .credentials import Credentials

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
ERROR_BODY_CAP = 64 * 1024
USER_AGENT = "layerslayer-tui/0.1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    base: float = 0.5  # first backoff in seconds, doubled each time, jittered x0.5..1.5
    cap: float = 8.0  # longest backoff between tries
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the error says when to retry

    def backoff(self, attempt: int) -> float:
        return min(self.cap, self.base * (2**attempt)) * random.uniform(0.5, 1.5)


def is_loopback(host: str) -> bool:
    """host may carry a port and IPv6 brackets."""
    name = host
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def redact(url: str) -> str:
    """A URL fit for a log line: presigned query strings and user info dropped."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "<query>" if parts.query else "", ""))


def retry_after_seconds(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, min(86400.0, when.timestamp() - time.time()))


def discard(resp: requests.Response) -> None:
    """Drop a response we won't use, reading a small body so the connection is reused."""
    try:
        length = int(resp.headers.get("Content-Length", "-1"))
        if 0 <= length <= ERROR_BODY_CAP:
            resp.raw.read(length, decode_content=False)
    except Exception:  # noqa: BLE001 - only hygiene; the response is dropped anyway
        pass
    resp.close()


def read_body(resp: requests.Response, cap: int) -> bytes | None:
    """The decoded body, or None when it is longer than `cap` (registry data is
    untrusted, so never read it unbounded); the response is closed either way."""
    try:
        body = resp.raw.read(cap + 1, decode_content=True)
    finally:
        resp.close()
    return body if len(body) <= cap else None


def read_json(resp: requests.Response, cap: int, *, too_big: str, not_json: str) -> Any:
    """The body parsed as JSON, read as read_body does; ProtocolError with the
    given sentence when it is too long or not JSON."""
    body = read_body(resp, cap)
    if body is None:
        raise ProtocolError(too_big)
    try:
        return json.loads(body)
    except ValueError:
        raise ProtocolError(not_json) from None


def error_codes(resp: requests.Response) -> list[str]:
    """The registry's error codes (`{"errors":[{"code":...}]}`), read bounded."""
    try:
        if getattr(resp, "_content_consumed", False):
            body = (resp.content or b"")[:ERROR_BODY_CAP]
        else:
            body = resp.raw.read(ERROR_BODY_CAP, decode_content=True) if resp.raw is not None else b""
        data = json.loads(body or b"{}")
        return [str(e.get("code", "")) for e in data.get("errors", []) if isinstance(e, dict)]
    except Exception:  # noqa: BLE001 - an odd error body only costs the detail
        return []


def _reason(exc: BaseException) -> str:
    text = repr(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, requests.exceptions.Timeout) or "timed out" in text:
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "reset" in text or "aborted" in text or "remotedisconnected" in text:
        return "connection dropped"
    return "connection failed"


class Transport:
    """HTTP to one registry API host."""

    def __init__(
        self,
        registry: str,
        *,
        api_host: str | None = None,
        credentials: Credentials | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from .auth import Authenticator

        self.registry = registry
        self.api_host = api_host or registry
        self.insecure = insecure
        self.scheme = "http" if (insecure or is_loopback(self.api_host)) else "https"
        self.base_url = f"{self.scheme}://{self.api_host}"
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.auth: Authenticator = Authenticator(self, credentials)
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    # -- plain sending with retries --------------------------------------------
    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
        data: Any = None,
        params: dict[str, str] | None = None,
        retry: bool = True,
    ) -> requests.Response:
        """One request, retried on connection errors and 408/429/5xx (idempotent
        methods only). Returns the last response, whatever its status."""
        url = self.url(url)
        attempts = self.retry.attempts if (retry and method in IDEMPOTENT) else 1
        host = urlsplit(url).netloc
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                log.debug("%s %s", method, redact(url))
                resp = self.session.request(
                    method,
                    url,
                    headers=headers,
                    stream=stream,
                    allow_redirects=allow_redirects,
                    data=data,
                    params=params,
                    timeout=self.timeout,
                )
            except requests.exceptions.SSLError as exc:
                raise NetworkError(f"Could not reach {host}: {_reason(exc)}.") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if last:
                    raise NetworkError(f"Could not reach {host}: {_reason(exc)} (after {attempts} tries).") from None
                self.sleep(self.retry.backoff(attempt))
                continue
            if resp.status_code in RETRY_STATUSES and not last:
                wait = retry_after_seconds(resp)
                if wait is not None and wait > self.retry.max_retry_after:
                    return resp  # not worth waiting here: the caller says when to come back
                discard(resp)
                self.sleep(wait if wait is not None else self.retry.backoff(attempt))
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    # -- registry API requests (auth + one refresh on 401) ------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        scope: str | None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
        what: str = "the registry",
    ) -> requests.Response:
        """A registry API request carrying the right Authorization for `scope`."""
        self.auth.ensure_pinged()
        hdrs = dict(headers or {})
        hdrs.update(self.auth.headers(scope))
        resp = self.send(method, path, headers=hdrs, stream=stream, allow_redirects=allow_redirects)
        if resp.status_code == 401 and self.auth.refresh_after_401(resp, scope):
            discard(resp)
            hdrs = dict(headers or {})
            hdrs.update(self.auth.headers(scope))
            resp = self.send(method, path, headers=hdrs, stream=stream, allow_redirects=allow_redirects)
        if resp.status_code == 401:
            discard(resp)
            raise self.auth.denied(what)
        return resp

    def close(self) -> None:
        self.session.close()


def check(resp: requests.Response, what: str, *, ok: tuple[int, ...] = (200,)) -> requests.Response:
    """Map a final status to the app's errors; `what` names the thing asked for
    ("the tag docker.io/library/ubuntu:nope")."""
    status = resp.status_code
    if status in ok:
        return resp
    host = urlsplit(resp.url).netloc if resp.url else "the registry"
    codes = error_codes(resp) if status != 429 else []
    resp.close()
    if status == 404 or "NAME_UNKNOWN" in codes or "MANIFEST_UNKNOWN" in codes or "BLOB_UNKNOWN" in codes:
        if "NAME_UNKNOWN" in codes:
            raise NotFoundError(f"The repository of {what} does not exist on {host}.")
        raise NotFoundError(f"{what[:1].upper()}{what[1:]} was not found on {host}.")
    if status == 429:
        wait = retry_after_seconds(resp)
        when = f"try again in {wait:.0f} seconds" if wait is not None else "try again later"
        raise RateLimitedError(f"{host} is rate limiting requests for {what}; {when}.", wait)
    if status in (401, 403):
        raise AuthError(f"{host} refused access to {what} (HTTP {status}).")
    if status >= 500 or status == 408:
        raise NetworkError(f"{host} failed with HTTP {status} while sending {what}, even after retrying.")
    raise ProtocolError(f"{host} answered HTTP {status} for {what}, which this client does not understand.")
