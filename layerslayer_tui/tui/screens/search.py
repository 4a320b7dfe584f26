"""Search every listing seen: which images and layers hold a path like
`*/id_rsa`. The search runs over the cache in a thread worker; every string
in the results came from a registry and is shown as plain text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from layerslayer_tui.errors import LayerslayerError

from ..messages import unexpected
from ..text import plain, short_digest, size

LIMIT = 1000  # hits shown; more say so and ask for a narrower pattern


def summary(pattern: str, hits: list[Any], limit: int = LIMIT) -> str:
    """The line above the results."""
    if not hits:
        return f"No listing seen so far has a path matching {pattern}."
    if len(hits) > limit:
        return f"The first {limit:,} hits for {pattern} are shown: narrow the pattern to see the rest."
    images = len({hit.image for hit in hits})
    return f"{len(hits):,} hit{'' if len(hits) == 1 else 's'} for {pattern} in {images} image{'' if images == 1 else 's'}."


class SearchScreen(ModalScreen[Any]):
    """Dismisses with the chosen `session.SearchHit`, or None on escape."""

    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, search: Callable[..., list[Any]], pattern: str = "", *, limit: int = LIMIT) -> None:
        super().__init__(classes="dialog-screen")
        self._search = search
        self.pattern = pattern
        self.limit = limit
        self.hits: list[Any] = []
        self.summary = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide", id="search"):
            yield Label(plain("Search every listing seen", "bold"), classes="dialog-title")
            yield Input(self.pattern, placeholder="a glob (*/id_rsa, *.pem) or part of a path", id="search-pattern")
            yield Label(plain("Enter searches. Only what was listed is searched: partial layers may hold more.", "dim"),
                        id="search-status")
            yield DataTable(id="search-results", cursor_type="row", zebra_stripes=True)
            yield Label(plain("Enter on a hit opens its image at that layer; escape closes.", "dim"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Image", "Layer", "Path", "Size")
        self.query_one(Input).focus()
        if self.pattern:
            self.run_search(self.pattern)

    @on(Input.Submitted, "#search-pattern")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_search(event.value)

    def run_search(self, pattern: str) -> None:
        pattern = pattern.strip()
        if not pattern:
            self._status("Type a glob (*/id_rsa, *.pem) or part of a path.")
            return
        self.pattern = pattern
        self._status(f"Searching for {pattern} …")
        self._search_worker(pattern)

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, pattern: str) -> None:
        try:
            hits = self._search(pattern, limit=self.limit + 1)
        except LayerslayerError as err:
            self.app.call_from_thread(self._failed, pattern, err)
            return
        except Exception as err:  # noqa: BLE001 - a bug below must not take the screen down
            self.app.call_from_thread(self._failed, pattern, unexpected("searching", err))
            return
        self.app.call_from_thread(self._show, pattern, hits)

    def _show(self, pattern: str, hits: list[Any]) -> None:
        if pattern != self.pattern:
            return  # an older search finished after a newer one started
        self.hits = hits[: self.limit]
        table = self.query_one(DataTable)
        table.clear()
        for n, hit in enumerate(self.hits):
            table.add_row(
                plain(hit.image),
                plain(f"{hit.layer_index} {short_digest(hit.layer_digest, 8)}"),
                plain(hit.path),
                plain(size(hit.size)),
                key=str(n),
            )
        self._status(summary(pattern, hits, self.limit))
        if self.hits:
            table.focus()

    def _failed(self, pattern: str, err: LayerslayerError) -> None:
        self._status(f"Search for {pattern} failed: {err}", "red")

    def _status(self, text: str, style: str = "") -> None:
        self.summary = text
        self.query_one("#search-status", Label).update(plain(text, style))

    @on(DataTable.RowSelected, "#search-results")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(self.hits[int(event.row_key.value or 0)])

    def action_close(self) -> None:
        self.dismiss(None)
