"""The live filter under the file tree: the tree narrows as you type, escape
clears it; while a filter is active the bar stays in sight with its pattern
and match count, so a filter never hides files silently."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from ..text import plain

TYPING_PAUSE = 0.15  # seconds of quiet before the tree follows the typed pattern


class FilterInput(Input):
    BINDINGS = [Binding("escape", "clear_filter", "Clear", show=False)]

    def action_clear_filter(self) -> None:
        self.parent.clear()


class FilterBar(Horizontal):
    class Changed(Message):
        """The pattern to apply (None: no filter); `done`: the user finished typing (Enter / escape)."""

        def __init__(self, pattern: str | None, done: bool) -> None:
            super().__init__()
            self.pattern = pattern
            self.done = done

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._timer: Timer | None = None
        self.display = False

    def compose(self) -> ComposeResult:
        yield Static(plain("Filter ", "bold"), classes="filter-label")
        yield FilterInput(placeholder="glob (*.so, usr/lib/*) or substring; escape clears", id="filter-input")
        yield Static("", id="filter-count")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def open(self, pattern: str | None) -> None:
        self.display = True
        self.input.value = pattern or ""
        self.input.focus()
        self.input.cursor_position = len(self.input.value)

    def clear(self) -> None:
        self._stop()
        self.input.value = ""
        self.display = False
        self.post_message(self.Changed(None, True))

    def show_count(self, text: str) -> None:
        self.query_one("#filter-count", Static).update(plain(text, "dim"))

    def sync(self, pattern: str | None) -> None:
        """The app's filter changed elsewhere (a jump cleared it): show it."""
        if not self.input.has_focus:
            self.input.value = pattern or ""
            self.display = pattern is not None

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _pattern(self) -> str | None:
        return self.input.value.strip() or None

    @on(Input.Changed, "#filter-input")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if not self.input.has_focus:
            return  # set by sync(), not typed
        self._stop()
        self._timer = self.set_timer(TYPING_PAUSE, lambda: self.post_message(self.Changed(self._pattern(), False)))

    @on(Input.Submitted, "#filter-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._stop()
        pattern = self._pattern()
        self.display = pattern is not None
        self.post_message(self.Changed(pattern, True))
