"""An unknown tag: offer the repository's tags instead of a dead end."""

from __future__ import annotations

from typing import Any

from .checks import valid_tag
from .screens.choice import ChoiceScreen

MAX_TAGS = 500  # a picker, not a catalogue: the first ones, in the registry's order


def other_tags(session: Any, reference: str) -> tuple[str, str, list[str]] | None:
    """In the resolve worker, after a NotFoundError: (repository base, missing
    tag, valid tags of the repository), or None when there is nothing to offer
    (a digest, a local source, a repository that is not there either)."""
    from layerslayer_tui.reference import parse
    from layerslayer_tui.sources import is_local

    if is_local(reference):
        return None
    try:
        ref = parse(reference)
        if ref.digest:
            return None
        tags = [t for t in session.tags(f"{ref.registry}/{ref.repository}:{ref.tag or 'latest'}") if valid_tag(t)]
    except Exception:  # noqa: BLE001 - no tags to offer: the error already on screen stays the answer
        return None
    if not tags:
        return None
    return f"{ref.registry}/{ref.repository}", ref.tag or "latest", tags[:MAX_TAGS]


def offer_tags(app: Any, base: str, missing: str, tags: list[str], platform: Any) -> None:
    if app.screen is not app.screen_stack[0]:
        return  # another dialog is up: do not stack a second question on it

    def chosen(index: int | None) -> None:
        if index is not None:
            app.load(f"{base}:{tags[index]}", platform)

    app.push_screen(ChoiceScreen(f"{base} has no tag {missing}: pick one of its {len(tags)} tags", tags, 0,
                                 "Enter opens the tag; escape keeps what is on screen."), chosen)
