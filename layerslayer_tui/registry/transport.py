"""HTTP to one registry host and the hosts it sends us to: one
requests.Session (so manifest, config and blob requests reuse connections),
the scheme rule, bounded jittered retries, and an overall deadline per request.

A sender only: it never follows a redirect (requests would read the redirect
body in full to do so) and never adds credentials; auth.py says which headers
a request carries and api.py composes the two. Every body is left unread for
response.py's bounded readers."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

import requests

from ..errors import NetworkError
from . import deadline
from .deadline import Deadline, WatchedAdapter
from .response import READ_ERRORS, discard, retry_after_seconds
from .urls import host_of, is_loopback, redact

__all__ = ["RetryPolicy", "Transport", "is_loopback", "redact"]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
USER_AGENT = "layerslayer-tui/0.1"
DEFAULT_DEADLINE = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    base: float = 0.5  # first backoff in seconds, doubled each time, jittered x0.5..1.5
    cap: float = 8.0  # longest backoff between tries
    max_retry_after: float = 60.0  # a longer Retry-After is not waited for: the error says when to retry

    def backoff(self, attempt: int) -> float:
        return min(self.cap, self.base * (2**attempt)) * random.uniform(0.5, 1.5)


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


class _Session(requests.Session):
    """A Session that never looks at redirects: with allow_redirects=False,
    requests still reads a redirect's whole body to prepare the next hop."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


class Transport:
    """Sends requests for one registry API host (and its token and storage hosts)."""

    def __init__(
        self,
        registry: str,
        *,
        api_host: str | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        deadline: float | None = DEFAULT_DEADLINE,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.registry = registry
        self.api_host = api_host or registry
        self.insecure = insecure
        self.scheme = "http" if (insecure or is_loopback(self.api_host)) else "https"
        self.base_url = f"{self.scheme}://{self.api_host}"
        self.timeout = timeout  # one connect or one read
        self.deadline_seconds = deadline  # one whole request: headers and body (None: no bound)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.session = _Session()
        self.session.headers["User-Agent"] = USER_AGENT
        # Only what response.py decodes itself, with a cap (not br/zstd, even if installed).
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        adapter = WatchedAdapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def deadline(self) -> Deadline:
        """`with transport.deadline():` around a request and the reading of its body."""
        return Deadline(self.deadline_seconds)

    def _wait(self, seconds: float) -> None:
        deadline.waited(seconds)
        self.sleep(seconds)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        params: Any = None,
        retry: bool = True,
    ) -> requests.Response:
        """One request, retried on connection errors and 408/429/5xx (idempotent
        methods only). Returns the last response, whatever its status, body
        unread; redirects are returned, not followed."""
        url = self.url(url)
        attempts = self.retry.attempts if (retry and method in IDEMPOTENT) else 1
        host = host_of(url)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            dl = deadline.expired()
            if dl is not None:
                raise deadline.expired_error(host, "an answer", dl)
            try:
                log.debug("%s %s", method, redact(url))
                resp = self.session.request(
                    method,
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    data=data,
                    params=params,
                    timeout=self.timeout,
                )
            except READ_ERRORS as exc:
                dl = deadline.expired()
                if dl is not None:
                    raise deadline.expired_error(host, "an answer", dl) from None
                if isinstance(exc, requests.exceptions.SSLError):
                    raise NetworkError(f"Could not reach {host}: {_reason(exc)}.") from None
                if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
                    if last:
                        raise NetworkError(f"Could not reach {host}: {_reason(exc)} (after {attempts} tries).") from None
                    self._wait(self.retry.backoff(attempt))
                    continue
                raise NetworkError(f"The request to {host} failed ({type(exc).__name__}).") from None
            if resp.status_code in RETRY_STATUSES and not last:
                wait = retry_after_seconds(resp)
                if wait is not None and wait > self.retry.max_retry_after:
                    return resp  # not worth waiting here: the caller says when to come back
                discard(resp)
                self._wait(wait if wait is not None else self.retry.backoff(attempt))
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()

