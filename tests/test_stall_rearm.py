"""The stall bound of a layer stream (registry/deadline.py Stall) is re-armed
for every read without waking the watchdog thread each time; it must still
fire when a wait outlasts it, after idle spells and however the watchdog
was sleeping, and never while the reader is away."""

from __future__ import annotations

import socket
import time

from layerslayer_tui.registry import deadline


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.settimeout(10)
    return a, b


def test_a_rearmed_stall_fires_after_idle_spells() -> None:
    a, b = _pair()
    stall = deadline.Stall(0.3, [a])
    try:
        for _ in range(200):  # many quick reads: armed and idle in turn
            b.send(b"x")
            stall.waiting()
            assert a.recv(1) == b"x"
            stall.got()
        time.sleep(0.6)  # the reader away longer than the bound: not the server's time
        assert not stall.expired
        stall.waiting()
        started = time.monotonic()
        assert a.recv(1) == b""  # nothing comes: the watchdog shuts the socket down
        stall.got()
        assert stall.expired and time.monotonic() - started < 3
    finally:
        stall.close()
        a.close()
        b.close()


def test_a_stall_armed_while_the_watchdog_sleeps_for_good_wakes_it() -> None:
    """With nothing armed the watchdog sleeps without a timeout: arming an
    idle stall again must wake it, or the wait would never be bounded."""
    a, b = _pair()
    stall = deadline.Stall(0.3, [a])
    try:
        stall.waiting()
        stall.got()  # idle: the only deadline is now at infinity
        time.sleep(0.5)  # the watchdog woke at the old time and went to sleep for good
        stall.waiting()
        started = time.monotonic()
        assert a.recv(1) == b""
        assert stall.expired and time.monotonic() - started < 3
    finally:
        stall.close()
        a.close()
        b.close()
