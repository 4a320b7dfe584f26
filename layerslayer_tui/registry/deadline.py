"""An overall deadline for one registry request: headers and body together.

A socket read timeout bounds each recv, not the whole answer: a server that
trickles one byte every few seconds (headers or body) keeps every recv short
and the request alive forever. So the sockets a request uses are watched: when
its deadline passes, a watchdog thread shuts them down, the blocked read
returns, and the reader raises one sentence (`expired()` tells it why).

Deadlines nest per thread (`with Deadline(60):`); a socket belongs to the
innermost open deadline of the thread that last sent a request on it, and
goes back to the enclosing one when that closes. Time spent sleeping on
purpose (retry backoff, Retry-After) does not count (`waited`).

The hook is a requests adapter whose urllib3 connections report their socket
when they connect and each time they send a request (a pooled connection
changes hands)."""

from __future__ import annotations

import socket
import threading
import time
import weakref
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import NetworkError

_local = threading.local()
_lock = threading.Lock()
# socket -> the deadline that may shut it down (None: nobody's)
_owners: weakref.WeakKeyDictionary[socket.socket, Deadline | None] = weakref.WeakKeyDictionary()


def _stack() -> list[Deadline]:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class Deadline:
    """`with Deadline(seconds):` bounds every request made in the block (None: no bound)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = float("inf")
        self.expired = False
        self._socks: list[weakref.ref[socket.socket]] = []

    def __enter__(self) -> Deadline:
        _stack().append(self)
        if self.seconds is not None:
            self.at = time.monotonic() + self.seconds
            _watchdog.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        stack = _stack()
        if self in stack:
            stack.remove(self)
        _watchdog.remove(self)
        parent = stack[-1] if stack else None
        with _lock:
            for ref in self._socks:
                sock = ref()
                if sock is not None and _owners.get(sock) is self:
                    _owners[sock] = parent
                    if parent is not None:
                        parent._socks.append(ref)
                        if parent.expired:
                            _shutdown(sock)
            self._socks = []

    def sockets(self) -> list[socket.socket]:
        """The sockets this deadline watches now (call inside the block)."""
        with _lock:
            return [sock for ref in self._socks if (sock := ref()) is not None and _owners.get(sock) is self]

    def _fire(self) -> None:
        with _lock:
            self.expired = True
            for ref in self._socks:
                sock = ref()
                if sock is not None and _owners.get(sock) is self:
                    _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        # The plain socket call: SSLSocket.shutdown would drop its SSL state
        # under a reader in another thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def current() -> Deadline | None:
    stack = _stack()
    return stack[-1] if stack else None


def expired() -> Deadline | None:
    """The open deadline of this thread that has passed, if any: a read that
    failed or ended early failed because of it."""
    for dl in _stack():
        if dl.expired:
            return dl
    return None


def expired_error(host: str, what: str, dl: Deadline) -> NetworkError:
    return NetworkError(f"{host} took more than {dl.seconds:g} seconds to send {what}, so the request was abandoned.")


def waited(seconds: float) -> None:
    """Sleeping on purpose (backoff, Retry-After) is not the server's time."""
    for dl in _stack():
        if dl.seconds is not None:
            _watchdog.extend(dl, seconds)


def watch(sock: Any) -> None:
    """This thread is about to use `sock`: its innermost deadline owns it now."""
    if not isinstance(sock, socket.socket):
        return
    dl = current()
    with _lock:
        _owners[sock] = dl
        if dl is not None:
            dl._socks.append(weakref.ref(sock))
    if expired() is not None:
        _shutdown(sock)  # too late for anything more on this request


class Stall:
    """A bound on each wait for a stream's next bytes, not on the whole stream
    (a layer may rightly take minutes): `waiting()` before a read, `got()`
    after it; the time the reader spends elsewhere does not count. It owns the
    given sockets without being any thread's current deadline."""

    def __init__(self, seconds: float, sockets: list[socket.socket]) -> None:
        self.seconds = seconds
        self._dl = Deadline(seconds)
        with _lock:
            for sock in sockets:
                _owners[sock] = self._dl
                self._dl._socks.append(weakref.ref(sock))

    @property
    def expired(self) -> bool:
        return self._dl.expired

    def waiting(self) -> None:
        _watchdog.rearm(self._dl, time.monotonic() + self.seconds)

    def got(self) -> None:
        _watchdog.idle(self._dl)

    def close(self) -> None:
        _watchdog.remove(self._dl)
        with _lock:
            for ref in self._dl._socks:
                sock = ref()
                if sock is not None and _owners.get(sock) is self._dl:
                    _owners[sock] = None
            self._dl._socks = []


class _Watchdog:
    """One daemon thread that fires deadlines when they pass."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: set[Deadline] = set()
        self._thread: threading.Thread | None = None
        self._wake_at = float("-inf")  # when the sleeping thread wakes by itself (-inf: it is not asleep)

    def add(self, dl: Deadline) -> None:
        with self._cond:
            self._active.add(dl)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="registry-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def arm(self, dl: Deadline, at: float) -> None:
        with self._cond:
            dl.at = at
        self.add(dl)

    def rearm(self, dl: Deadline, at: float) -> None:
        """`arm` for a deadline moved once per read (Stall): the thread is
        woken only when it would otherwise sleep past `at`. Waking it for every
        64 KiB read cost a GIL hand-off each (+20 % on a loopback listing)."""
        with self._cond:
            dl.at = at
            if dl in self._active and at >= self._wake_at:
                return  # it wakes first, sees the later time and sleeps again
            self._active.add(dl)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="registry-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def idle(self, dl: Deadline) -> None:
        """Not waiting for now: the deadline cannot fire, and the thread is not woken to hear it."""
        with self._cond:
            dl.at = float("inf")

    def remove(self, dl: Deadline) -> None:
        with self._cond:
            self._active.discard(dl)

    def extend(self, dl: Deadline, seconds: float) -> None:
        with self._cond:
            dl.at += seconds
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [dl for dl in self._active if dl.at <= now]
                self._active.difference_update(due)
                if not due:
                    nxt = min((dl.at for dl in self._active), default=float("inf"))
                    self._wake_at = nxt
                    self._cond.wait(None if nxt == float("inf") else nxt - now)
                    self._wake_at = float("-inf")  # awake: anyone arming before it sleeps again must notify
                    continue
            for dl in due:
                dl._fire()


_watchdog = _Watchdog()


# -- the hook into urllib3 ------------------------------------------------------------


class _Watched:
    def _new_conn(self) -> Any:
        sock = super()._new_conn()  # type: ignore[misc]
        watch(sock)  # the TCP connect and the TLS handshake count too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "sock", None) is not None:
            watch(self.sock)  # type: ignore[attr-defined]  # a pooled connection, reused
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """A requests adapter whose connections report their sockets to `watch`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
