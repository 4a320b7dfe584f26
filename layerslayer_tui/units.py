"""Human sizes: the one formatter every part of the tool uses.

Binary units throughout. The default form reads in sentences and on screen
("512 B", "1.5 KiB", "28.0 MiB", "150 KiB"); the compact form is `tree -h`'s
("512", "1.5K", "28.0M"), used by the txt export and the CLI's figures.
"""

from __future__ import annotations

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
