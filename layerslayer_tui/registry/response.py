"""What to do with an answer: map its status to the app's errors (`check`),
drop it (`discard`), read its body bounded (`read_body`, `read_json`), and
read the headers that carry numbers (`retry_after_seconds`, `content_length`).

Every body is untrusted: it is read in chunks up to a cap, gzip and deflate
encodings are decoded here with a cap on the decoded size too (urllib3 is
never asked to decode), and a read that fails or is cut short by the
request's deadline becomes one sentence. Imports only the two leaves
deadline.py and urls.py, so every other registry module may import it."""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import time
import zlib
from typing import Any

import requests
import urllib3

from ..errors import AuthError, NetworkError, NotFoundError, ProtocolError, RateLimitedError
from . import deadline
from .urls import host_of

ERROR_BODY_CAP = 64 * 1024
CHUNK = 64 * 1024
# Content-Length and Retry-After as digits; more than 18 of them is no size we would read.
_NUMBER = re.compile(r"\s*([0-9]{1,18})\s*")
READ_ERRORS = (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, http.client.HTTPException, OSError)


def content_length(resp: requests.Response) -> int | None:
    m = _NUMBER.fullmatch(resp.headers.get("Content-Length") or "")
    return int(m.group(1)) if m else None


def retry_after_seconds(resp: requests.Response) -> float | None:
    value = (resp.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    m = _NUMBER.fullmatch(value)
    if m:
        return float(min(int(m.group(1)), 86400))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    try:
        return max(0.0, min(86400.0, when.timestamp() - time.time()))
    except (OverflowError, ValueError, OSError):
        return None


def discard(resp: requests.Response) -> None:
    """Drop a response we won't use, reading a small announced body so the
    connection is reused; anything else (endless, unannounced) is just closed."""
    try:
        length = content_length(resp)
        if length is not None and length <= ERROR_BODY_CAP and resp.raw is not None:
            resp.raw.read(length, decode_content=False)
    except Exception:  # noqa: BLE001 - only hygiene; the response is dropped anyway
        pass
    resp.close()


class _Decoder:
    """gzip / deflate decoding that never yields more than asked for."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.gzip = encoding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS)
        self._first = b"" if not self.gzip else None  # deflate: kept until we know zlib vs raw

    def decode(self, data: bytes, limit: int) -> bytes:
        """Up to `limit` (>= 1) decoded bytes; more input left over means the body is longer."""
        if self._first is not None:
            self._first += data
            try:
                out = self._obj.decompress(self._first, limit)
                self._first = None
            except zlib.error:
                # Servers send raw deflate for "deflate" as often as zlib-wrapped.
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                data, self._first = self._first, None
                out = self._obj.decompress(data, limit)
        else:
            out = self._obj.decompress(data, limit)
        # gzip may hold several members; each starts a fresh decoder.
        while self.gzip and self._obj.eof and self._obj.unused_data and len(out) < limit and not self._obj.unconsumed_tail:
            rest = self._obj.unused_data
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += self._obj.decompress(rest, limit - len(out))
        return out

    @property
    def more(self) -> bool:
        return bool(self._obj.unconsumed_tail)

    @property
    def done(self) -> bool:
        return self._first is None and self._obj.eof


def _decoder(resp: requests.Response, what: str) -> _Decoder | None:
    encoding = (resp.headers.get("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Decoder(encoding)
    raise ProtocolError(f"{host_of(resp.url)} sent {what} in a content encoding this client does not read.")


def _dropped(resp: requests.Response, what: str, exc: BaseException | None) -> NetworkError:
    dl = deadline.expired()
    if dl is not None:
        return deadline.expired_error(host_of(resp.url), what, dl)
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return NetworkError(f"The connection to {host_of(resp.url)} dropped while it was sending {what}{why}.")


def read_body(resp: requests.Response, cap: int, *, what: str = "its answer") -> bytes | None:
    """The decoded body, or None when it is longer than `cap` (raw or decoded);
    the response is closed either way. NetworkError when the connection drops
    or the deadline passes, ProtocolError for a broken encoding."""
    out = bytearray()
    try:
        decoder = _decoder(resp, what)
        raw_cap = cap + CHUNK  # an encoded body is no bigger than the decoded one, give or take a header
        got = 0
        while True:
            try:
                chunk = resp.raw.read(CHUNK, decode_content=False)
            except READ_ERRORS as exc:
                raise _dropped(resp, what, exc) from None
            if not chunk:
                break
            got += len(chunk)
            if decoder is None:
                out += chunk
            else:
                try:
                    out += decoder.decode(chunk, cap + 1 - len(out))
                except zlib.error:
                    raise ProtocolError(f"{host_of(resp.url)} sent {what} with a broken {decoder.encoding} encoding.") from None
                if decoder.more:
                    return None
            if len(out) > cap or got > raw_cap:
                return None
        if deadline.expired() is not None:
            raise _dropped(resp, what, None)  # the watchdog cut a body that had no announced length
        if decoder is not None and not decoder.done and got:
            raise ProtocolError(f"{host_of(resp.url)} sent {what} with a broken {decoder.encoding} encoding (it ends early).")
        return bytes(out)
    finally:
        resp.close()


def parse_json(body: bytes, not_json: str) -> Any:
    """json.loads that fails with one sentence, deep nesting included."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise ProtocolError(not_json) from None


def read_json(resp: requests.Response, cap: int, *, too_big: str, not_json: str, what: str = "its answer") -> Any:
    """The body parsed as JSON, read as read_body does; ProtocolError with the
    given sentence when it is too long or not JSON."""
    body = read_body(resp, cap, what=what)
    if body is None:
        raise ProtocolError(too_big)
    return parse_json(body, not_json)


def error_codes(resp: requests.Response) -> list[str]:
    """The registry's error codes (`{"errors":[{"code":...}]}`), read bounded."""
    try:
        body = read_body(resp, ERROR_BODY_CAP, what="an error")
        data = json.loads(body or b"{}")
        return [str(e.get("code", ""))[:64] for e in data.get("errors", [])[:100] if isinstance(e, dict)]
    except Exception:  # noqa: BLE001 - an odd error body only costs the detail
        return []


def check(resp: requests.Response, what: str, *, ok: tuple[int, ...] = (200,)) -> requests.Response:
    """Map a final status to the app's errors; `what` names the thing asked for
    ("the tag docker.io/library/ubuntu:nope")."""
    status = resp.status_code
    if status in ok:
        return resp
    host = host_of(resp.url)
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
