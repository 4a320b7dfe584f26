"""Pick one item from a list (tags, platforms)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..text import plain


class ChoiceScreen(ModalScreen[int | None]):
    """Dismisses with the chosen index, or None on escape."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("j", "down", show=False),
        Binding("k", "up", show=False),
    ]

    def __init__(self, title: str, items: list[str], selected: int = 0, hint: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.items = items
        self.selected = selected
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.title_text, "bold"), classes="dialog-title")
            options = [Option(plain(item), id=str(i)) for i, item in enumerate(self.items)]
            yield OptionList(*options, id="choices")
            if self.hint:
                yield Label(plain(self.hint, "dim"))

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        if self.items:
            choices.highlighted = min(max(self.selected, 0), len(self.items) - 1)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int(event.option.id or 0))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()


