"""The reference box at the top: it shows the reference that is loaded, and
is edited only on purpose (`:` or `o`, or a click). It is outside the Tab
cycle and never selects all on focus, so a stray key cannot replace the
reference; escape leaves it unchanged and puts the loaded reference back."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class ReferenceInput(Input):
    BINDINGS = [Binding("escape", "leave", "Leave unchanged", show=False)]

    class Left(Message):
        """Editing ended without loading (escape): focus goes back to the panes."""

    def __init__(self, **kw) -> None:
        super().__init__(select_on_focus=False, **kw)
        self.loaded = ""  # the reference on screen ("" until one is loaded)
        self.pending: str | None = None  # a reference being opened, shown while it loads
        self.can_focus = False

    @property
    def editing(self) -> bool:
        return self.can_focus

    def edit(self) -> None:
        """Open the box for typing: the cursor at the end, nothing selected."""
        self.can_focus = True
        self.focus()
        self.cursor_position = len(self.value)

    def show_loaded(self, reference: str | None = None) -> None:
        """Editing is over: show what is loaded (the new reference when given)."""
        if reference is not None:
            self.loaded = reference
        self.pending = None
        self.value = self.loaded
        self.can_focus = not self.loaded  # with nothing loaded, typing here is the only thing to do

    def showing(self, reference: str) -> None:
        """A reference is being opened: shown while it loads; show_loaded()
        or load_failed() follows."""
        self.pending = reference
        self.value = reference
        if self.loaded and self.has_focus:
            self.can_focus = False
            self.post_message(self.Left())

    def load_failed(self) -> None:
        """The reference did not open: the loaded one is shown again; with
        none loaded, the typed text stays for correcting."""
        self.pending = None
        if self.loaded:
            self.show_loaded()
        elif not self.has_focus:
            self.edit()

    def action_leave(self) -> None:
        if not self.loaded:
            self.value = ""
            return
        self.show_loaded()
        self.post_message(self.Left())

    def _on_blur(self, event: events.Blur) -> None:
        # (Input's own blur handler runs too.) Leaving the box any other way (a click on a pane) leaves the reference unchanged too.
        if self.loaded and self.pending is None:
            self.value = self.loaded
        if self.loaded:
            self.can_focus = False

    def _on_mouse_down(self, event: events.MouseDown) -> None:
        # A click is an explicit act too. (Textual then runs Input's own handler: handlers run down the MRO.)
        if not self.editing:
            self.edit()
