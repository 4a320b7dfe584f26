"""Human sizes: the one formatter every part of the tool uses, and the two
size readers (the CLI's, dive's).

Binary units throughout. The default form reads in sentences and on screen
("512 B", "1.5 KiB", "28.0 MiB", "150 KiB"); the compact form is `tree -h`'s
("512", "1.5K", "28.0M"), used by the txt export and the CLI's figures.
"""

from __future__ import annotations

import math
import re

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_size(n: int | float | None, *, compact: bool = False) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if compact:
                return str(int(n)) if unit == "B" else f"{value:.1f}{unit[0]}"
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable: the last unit always returns")  # pragma: no cover


__all__ = ["human_size"]


# -- reading sizes ---------------------------------------------------------------
# Two rules on purpose: the CLI's own options take binary units whatever the
# letter says ("500M" is 500 MiB, as in du and ls), while a .dive-ci file is
# read the way dive reads it (go-humanize: "20MB" is 20,000,000 bytes, "MiB"
# binary), so a CI rule means the same number in both tools.

def parse_size(text: str) -> int:
    """'500M', '2G', '1024', '1.5GiB' -> bytes. ValueError with a sentence otherwise."""
    t = text.strip().upper().replace("IB", "").rstrip("B")
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if t.endswith(suffix):
            t, mult = t[:-1], m
            break
    try:
        value = float(t)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (try 500M or 2G).") from None
    # float() also takes "inf", "nan" and "1e400" (= inf), which no byte count is.
    if not math.isfinite(value * mult) or value < 0:
        raise ValueError(f"{text!r} is not a size (try 500M or 2G).")
    return int(value * mult)


# go-humanize's bytesSizeTable: SI without "i", IEC with it; "" and "b" are bytes.
_GO_UNITS = {"": 1, "b": 1}
for _n, _u in enumerate("kmgtpe", start=1):
    _GO_UNITS[_u] = _GO_UNITS[_u + "b"] = 1000**_n
    _GO_UNITS[_u + "i"] = _GO_UNITS[_u + "ib"] = 1024**_n
_GO_NUMBER = re.compile(r"[0-9.,]*")
# What Go's strconv.ParseFloat takes in decimal form (no NaN/Inf: no limit is either).
GO_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_bytes(text: str) -> int:
    """A size as go-humanize's ParseBytes reads it ("20MB", "1.5 GiB", "1,000"). ValueError when it cannot."""
    digits = _GO_NUMBER.match(text).group()  # type: ignore[union-attr]
    number = digits.replace(",", "")
    if not GO_FLOAT.fullmatch(number):
        raise ValueError(f"{text!r} is not a byte size (e.g. 20MB, 512KiB, 1000)")
    unit = text[len(digits):].strip().lower()
    if unit not in _GO_UNITS:
        raise ValueError(f"{text!r} has an unknown unit {unit!r} (use B, KB, MB, GB, KiB, MiB, GiB...)")
    value = float(number) * _GO_UNITS[unit]
    if value >= 2**64:
        raise ValueError(f"{text!r} is too large")
    return int(value)
