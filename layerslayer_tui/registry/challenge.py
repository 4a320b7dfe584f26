"""WWW-Authenticate challenges (RFC 7235): one header may carry several
challenges, and a response may carry several headers. Bearer scope values
contain commas, so a header must never be split on commas blindly."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_WS = re.compile(r"[ \t]*")
# `key=` that is not just the `=` padding at the end of a token68.
_PARAM_START = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+[ \t]*=(?!=*[ \t]*(?:,|$))")


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str  # lowercase: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict, hash=False)  # keys lowercase
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def skip_commas(self) -> None:
        while True:
            self.skip_ws()
            if self.peek() != ",":
                return
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str | None:
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            return None
        self.pos = m.end()
        return m.group()

    def quoted(self) -> str:
        assert self.peek() == '"'
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
            elif c == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(c)
                self.pos += 1
        return "".join(out)  # unterminated: take what is there


def _param_follows(r: _Reader) -> bool:
    """Is the text at r.pos `token =` (a parameter) rather than a new challenge?"""
    return _PARAM_START.match(r.text, r.pos) is not None


def parse_challenges(headers: list[str] | str) -> list[Challenge]:
    """All challenges in the given WWW-Authenticate header values, in order.

    Unparseable fragments are skipped rather than raised: a server's odd header
    should cost it that challenge, not the whole request."""
    values = [headers] if isinstance(headers, str) else list(headers)
    out: list[Challenge] = []
    for value in values:
        r = _Reader(value)
        while True:
            r.skip_commas()
            if r.pos >= len(r.text):
                break
            scheme = r.token()
            if scheme is None:
                # Garbage: skip to the next comma and try again.
                nxt = r.text.find(",", r.pos)
                r.pos = len(r.text) if nxt < 0 else nxt + 1
                continue
            params: dict[str, str] = {}
            token68: str | None = None
            r.skip_ws()
            m68 = _TOKEN68.match(r.text, r.pos)
            if m68 and not _param_follows(r):
                end = _WS.match(r.text, m68.end()).end()  # type: ignore[union-attr]
                if end >= len(r.text) or r.text[end] == ",":
                    token68 = m68.group()
                    r.pos = end
            if token68 is None:
                while True:
                    r.skip_commas()
                    if not _param_follows(r):
                        break
                    key = r.token()
                    assert key is not None
                    r.skip_ws()
                    r.pos += 1  # '='
                    r.skip_ws()
                    value_ = r.quoted() if r.peek() == '"' else (r.token() or "")
                    params.setdefault(key.lower(), value_)
            out.append(Challenge(scheme.lower(), params, token68))
    return out


def preferred(challenges: list[Challenge]) -> Challenge | None:
    """Bearer beats Basic; other schemes are not ours to answer."""
    for scheme in ("bearer", "basic"):
        for ch in challenges:
            if ch.scheme == scheme:
                return ch
    return None


def challenges_of(resp: object) -> list[Challenge]:
    """Every WWW-Authenticate header of a requests.Response, unjoined."""
    values: list[str] = []
    raw = getattr(resp, "raw", None)
    raw_headers = getattr(raw, "headers", None)
    getlist = getattr(raw_headers, "getlist", None)
    if callable(getlist):
        values = list(getlist("WWW-Authenticate"))
    if not values:
        joined = getattr(resp, "headers", {}).get("WWW-Authenticate")
        if joined:
            values = [joined]
    return parse_challenges(values)
