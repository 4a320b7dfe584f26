"""The config's history as build steps, aligned to the layers they made."""

from __future__ import annotations

import re

from ..image import HistoryStep

_NOP = "/bin/sh -c #(nop) "
_SHELL = "/bin/sh -c "
_BUILDKIT_TAIL = " # buildkit"
# Build args before the shell: `|2 A=1 B=2 /bin/sh -c make`.
_ARGS_RUN = re.compile(r"^\|\d+ (?:.*? )?/bin/sh -c (.*)$", re.S)


def pretty_step(created_by: str) -> str:
    """`RUN apt-get ...`, `ENV A=b`: the Dockerfile line a history entry stands for."""
    text = created_by.strip()
    if text.endswith(_BUILDKIT_TAIL):
        text = text[: -len(_BUILDKIT_TAIL)].rstrip()
    if text.startswith("RUN " + _SHELL):
        return "RUN " + text[len("RUN " + _SHELL) :].strip()
    if text.startswith(_NOP.rstrip()):
        return text[len(_NOP.rstrip()) :].strip()
    m = _ARGS_RUN.match(text)
    if m:
        return "RUN " + m.group(1).strip()
    if text.startswith(_SHELL):
        return "RUN " + text[len(_SHELL) :].strip()
    return text


def steps_from_config(config: dict) -> list[HistoryStep]:
    raw = config.get("history")
    out: list[HistoryStep] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict):
            item = {}
        created_by = item.get("created_by")
        created_by = created_by if isinstance(created_by, str) else ""
        out.append(
            HistoryStep(
                created_by=created_by,
                step=pretty_step(created_by),
                created=item["created"] if isinstance(item.get("created"), str) else None,
                comment=item["comment"] if isinstance(item.get("comment"), str) else None,
                empty_layer=item.get("empty_layer") is True,
            )
        )
    return out


def align(steps: list[HistoryStep], n_layers: int) -> bool:
    """Give each non-empty step the index of the next layer (in place).
    When the counts disagree, leave every step unlabelled and return False:
    shifted labels would be worse than none."""
    makers = [s for s in steps if not s.empty_layer]
    if len(makers) != n_layers:
        for s in steps:
            s.layer_index = None
        return False
    for i, s in enumerate(makers):
        s.layer_index = i
    return True
