"""Proportional bars (ncdu style): a size seen, not read. Decoration only:
every row keeps its number in plain text beside the bar."""

from __future__ import annotations

_EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 6
BAR_STYLE = "magenta on grey19"  # the empty part stays visible, so the bar's length reads as a share


def bar(part: int, whole: int, width: int = BAR_WIDTH) -> str:
    """`width` cells filled in proportion part/whole, to an eighth of a cell."""
    if whole <= 0 or part <= 0:
        return " " * width
    eighths = min(width * 8, max(1, round(part / whole * width * 8)))  # anything above zero shows
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return text + " " * (width - len(text))


def percent(part: int, whole: int) -> str:
    """"42.1%"; "<0.1%" for a sliver that is not nothing."""
    if whole <= 0:
        return "—"
    share = part / whole * 100
    if 0 < share < 0.05:
        return "<0.1%"
    return f"{share:.1f}%"
