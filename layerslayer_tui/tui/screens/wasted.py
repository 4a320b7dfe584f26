"""The wasted-space report: files stored in more than one layer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from ..progress_text import partly_listed
from ..text import plain, size


class WastedScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,w", "close", "Close"), Binding("F", "fetch_all", "All", key_display="F")]

    def __init__(self, report: object, image_size: int) -> None:
        super().__init__(classes="dialog-screen")
        self.report = report
        self.image_size = image_size

    def compose(self) -> ComposeResult:
        r = self.report
        with Vertical(classes="dialog wide"):
            yield Label(plain("Wasted space", "bold"), classes="dialog-title")
            if r.partial_layers:
                # What is not listed yet may hold any amount of waste: no number to give.
                summary = (f"Efficiency unknown until every layer is listed, wasted at least {size(r.wasted_bytes)} so far"
                           f" (image {size(self.image_size)} compressed)")
            else:
                summary = f"Efficiency {r.efficiency * 100:.1f} %, wasted {size(r.wasted_bytes)} (image {size(self.image_size)} compressed)"
            yield Label(plain(summary))
            if r.partial_layers:
                yield Label(plain(f"{partly_listed(r.partial_layers)}: press F to list every layer, then w again.", "yellow"))
            yield DataTable(id="wasted-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Count", "Total", "Path")
        for o in self.report.top(200):
            table.add_row(str(len(o.layers)), size(o.cumulative), plain(o.path))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_fetch_all(self) -> None:
        """F, as the note says: close, and list every layer in full (the app's F)."""
        self.dismiss(None)
        self.app.action_fetch_all()
