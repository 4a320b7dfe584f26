"""URL facts the registry modules share: which hosts may speak plain HTTP,
what counts as the same origin (credentials never cross one), and a form of
a URL fit for a log line."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit


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


def origin(url: str) -> tuple[str, str]:
    """(scheme, host:port) lowercased; an unreadable URL has no origin ("", "")."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ("", "")
    if not host:
        return ("", "")
    if port is None:
        port = 443 if parts.scheme.lower() == "https" else 80
    return (parts.scheme.lower(), f"{host}:{port}")


def same_origin(a: str, b: str) -> bool:
    """Same scheme, host and port: the only place the credentials of one may go."""
    oa = origin(a)
    return oa != ("", "") and oa == origin(b)


def host_of(url: str | None, default: str = "the registry") -> str:
    """host:port of a URL for a message."""
    try:
        return urlsplit(url or "").netloc.rpartition("@")[2] or default
    except ValueError:
        return default


def redact(url: str) -> str:
    """A URL fit for a log line: presigned query strings and user info dropped."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "<query>" if parts.query else "", ""))
