"""The help screen: every binding and what the tree markers mean."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

LEGEND = [
    ("green", "added in this layer"),
    ("yellow", "modified (size, mode, owner, time or link differ from below)"),
    ("red", "removed (a whiteout)"),
    ("", "unmodified"),
]


def help_text(bindings: list[tuple[str, str]]) -> Text:
    out = Text(end="")
    for key, description in bindings:
        out.append(f"{key:>12}  ", style="bold")
        out.append(description + "\n")
    out.append("\nTree colours\n", style="bold")
    for style, what in LEGEND:
        out.append("  name  ", style=style or "default")
        out.append(what + "\n")
    out.append("\n  dir/ …  more entries may still arrive under this directory (partial listing)\n")
    out.append("  name -> target  symlink;  name => target  hard link;  name*  executable\n")
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__(classes="dialog-screen")
        self.bindings_list = bindings

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Text("Keys", style="bold"), classes="dialog-title")
            with VerticalScroll():
                yield Static(help_text(self.bindings_list))

    def action_close(self) -> None:
        self.dismiss(None)
