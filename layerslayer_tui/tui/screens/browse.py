"""Browse what a registry holds: registry -> repositories -> tags -> image.

Type a registry host and Enter to list its catalog, or `hub WORDS` to search
Docker Hub (which has no catalog). The filter field narrows the list as you
type (keys typed on the list go there too; Enter in it opens the first
match). Enter on a repository lists its tags; Enter on a tag opens the image;
escape goes back a level, then closes. A registry that refuses its catalog
is one line in the status, not an error: type `HOST/REPOSITORY` to go
straight to its tags. Every name shown came from a registry: plain text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from layerslayer_tui.errors import LayerslayerError

from ..messages import unexpected
from ..session_api import SessionAPI
from ..text import plain

HUB_PREFIX = "hub "
SHOWN = 2000  # rows drawn at once; the filter narrows the rest


@dataclass
class Level:
    """One list on screen: what it lists and the items (value, label)."""

    kind: str  # "repositories", "hub" (search results), "tags"
    title: str
    items: list[tuple[str, str]]
    registry: str = ""
    repository: str = ""


def _natural(tag: str) -> list[Any]:
    """1.9 before 1.10: digit runs compare as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", tag)]


def _pulls(n: int) -> str:
    for unit, step in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= step:
            return f"{n / step:.1f}{unit}".replace(".0", "")
    return str(n)


def hub_label(r: Any) -> str:
    marks = " ".join(m for m, on_ in (("[official]", r.official), ("[verified]", r.verified)) if on_)
    head = f"{r.name}  ★{r.stars}  {_pulls(r.pulls)} pulls"
    return "  ".join(x for x in (head, marks, r.description) if x)


class BrowseScreen(ModalScreen[str | None]):
    """Dismisses with an image reference to open, or None."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, session: SessionAPI, start: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.session = session
        self.start = start
        self.levels: list[Level] = []
        self.status = ""
        self.shown: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="browse"):
            yield Label(plain("Browse a registry", "bold"), classes="dialog-title")
            yield Input(self.start, placeholder="registry host (Enter lists it), HOST/REPOSITORY, or hub WORDS for Docker Hub",
                        id="browse-where")
            # No select-all on focus: type-to-filter moves focus here and keeps appending.
            yield Input(placeholder="type to filter", id="browse-filter", select_on_focus=False)
            yield Label("", id="browse-status")
            yield OptionList(id="browse-items")
            yield Label(plain("Enter opens; escape goes back a level, then closes.", "dim"))

    def on_mount(self) -> None:
        self.query_one("#browse-where", Input).focus()
        self._status("Type a registry host and press Enter, or hub WORDS to search Docker Hub.")
        if self.start:
            self.go(self.start)

    # -- navigation ---------------------------------------------------------
    @on(Input.Submitted, "#browse-where")
    def _where(self, event: Input.Submitted) -> None:
        event.stop()
        self.go(event.value)

    def go(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if text.lower().startswith(HUB_PREFIX) or text.lower() == "hub":
            words = text[len(HUB_PREFIX):].strip() if len(text) > 3 else ""
            if not words:
                self._status("Type words after hub, e.g. hub nginx.")
                return
            self._status(f"Searching Docker Hub for {words} …")
            self._fetch("hub", words, "")
        elif "/" in text:
            host, _, repo = text.partition("/")
            self._status(f"Listing the tags of {text} …")
            self._fetch("tags", host, repo, keep=False)
        else:
            self._status(f"Listing the repositories of {text} …")
            self._fetch("repositories", text, "")

    @work(thread=True, exclusive=True, group="browse")
    def _fetch(self, kind: str, where: str, repository: str, keep: bool = True) -> None:
        try:
            if kind == "repositories":
                repos = self.session.catalog(where)
                level = Level(kind, f"{len(repos):,} repositories on {where}", [(r, r) for r in repos], registry=where)
            elif kind == "hub":
                page = self.session.search_hub(where)
                title = f"{page.count or len(page.results):,} Docker Hub repositories match {where}" + (
                    f" (the first {len(page.results)} shown)" if page.more else "")
                level = Level("hub", title, [(r.reference, hub_label(r)) for r in page.results])
            else:
                tags = sorted(self.session.tags(f"{where}/{repository}"), key=_natural)
                level = Level(kind, f"{len(tags):,} tags of {where}/{repository}", [(t, t) for t in tags],
                              registry=where, repository=repository)
        except LayerslayerError as err:
            self.app.call_from_thread(self._status, str(err), "red" if kind == "tags" else "yellow")
            return
        except Exception as err:  # noqa: BLE001 - a bug below must not take the screen down
            self.app.call_from_thread(self._status, str(unexpected("browsing", err)), "red")
            return
        self.app.call_from_thread(self._push, level, keep)

    def _push(self, level: Level, keep: bool = True) -> None:
        if not keep:
            self.levels.clear()
        self.levels.append(level)
        self.query_one("#browse-filter", Input).value = ""
        self._fill("")
        self.query_one("#browse-items", OptionList).focus()

    def _fill(self, pattern: str) -> None:
        level = self.levels[-1] if self.levels else None
        items = level.items if level else []
        needle = pattern.strip().lower()
        matched = [it for it in items if needle in it[1].lower()] if needle else items
        self.shown = matched[:SHOWN]
        options = self.query_one("#browse-items", OptionList)
        options.clear_options()
        options.add_options([Option(plain(label), id=str(i)) for i, (_v, label) in enumerate(self.shown)])
        if self.shown:
            options.highlighted = 0
        if level is not None:
            more = f"; {len(matched) - SHOWN:,} more: filter to narrow" if len(matched) > SHOWN else ""
            hits = f"{len(matched):,} match {pattern.strip()}" if needle else ""
            self._status("; ".join(x for x in (level.title, hits) if x) + more + ".")

    @on(Input.Changed, "#browse-filter")
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self._fill(event.value)

    @on(Input.Submitted, "#browse-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        """Enter in the filter opens the highlighted row (the first match)."""
        event.stop()
        highlighted = self.query_one("#browse-items", OptionList).highlighted
        if highlighted is not None and self.shown:
            self.open(highlighted)

    @on(OptionList.OptionSelected, "#browse-items")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open(int(event.option.id or 0))

    def open(self, row: int) -> None:
        if not self.levels or not 0 <= row < len(self.shown):
            return
        level = self.levels[-1]
        value = self.shown[row][0]
        if level.kind == "repositories":
            self._status(f"Listing the tags of {level.registry}/{value} …")
            self._fetch("tags", level.registry, value)
        elif level.kind == "hub":  # a Docker Hub result: docker.io/NAME
            host, _, repo = value.partition("/")
            self._status(f"Listing the tags of {value} …")
            self._fetch("tags", host, repo)
        else:
            self.dismiss(f"{level.registry}/{level.repository}:{value}")

    def on_key(self, event: Any) -> None:
        """Printable keys typed while the list has focus go to the filter (type-to-filter)."""
        options = self.query_one("#browse-items", OptionList)
        if self.focused is options and event.character and event.character.isprintable() and event.key not in ("j", "k"):
            field = self.query_one("#browse-filter", Input)
            field.focus()
            field.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def action_back(self) -> None:
        if len(self.levels) > 1:
            self.levels.pop()
            self.query_one("#browse-filter", Input).value = ""
            self._fill("")
            self.query_one("#browse-items", OptionList).focus()
        else:
            self.dismiss(None)

    def _status(self, text: str, style: str = "") -> None:
        self.status = text
        self.query_one("#browse-status", Label).update(plain(text, style))
