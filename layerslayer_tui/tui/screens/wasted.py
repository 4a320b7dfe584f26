"""The wasted-space report: files stored in more than one layer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from ..text import plain, size


class WastedScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,w", "close", "Close")]

    def __init__(self, report: object, image_size: int) -> None:
        super().__init__(classes="dialog-screen")
        self.report = report
        self.image_size = image_size

    def compose(self) -> ComposeResult:
        r = self.report
        with Vertical(classes="dialog wide"):
            yield Label(plain("Wasted space", "bold"), classes="dialog-title")
            summary = f"Efficiency {r.efficiency * 100:.1f} %, wasted {size(r.wasted_bytes)} (image {size(self.image_size)} compressed)"
            yield Label(plain(summary))
            if r.partial_layers:
                layers = ", ".join(str(i) for i in r.partial_layers)
                yield Label(plain(f"Layers {layers} are only partly listed: press F for exact figures.", "yellow"))
            yield DataTable(id="wasted-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Count", "Total", "Path")
        for o in self.report.top(200):
            table.add_row(str(len(o.layers)), size(o.cumulative), plain(o.path))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
