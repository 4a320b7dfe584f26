"""Compare mode: the open image (A) against a second reference (B).

The layer pane shows both layer lists aligned (shared layers dimmed), the
tree shows the file differences with markers (+ added, - removed, ~ changed)
and per-directory totals, filled lazily as directories open. The work (open
B, list each distinct layer digest once, diff) runs in a thread worker
through the session (`compare.load_against`); this screen only draws.
Keys: f lists every layer in full, e exports the comparison (.json or text),
v shows a bounded unified diff of the selected file, escape or c goes back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from layerslayer_tui import compare, compare_report
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.fs.diff import ADDED, CHANGED, DiffTree, PathChange
from layerslayer_tui.image import ImageInfo

from ..checks import valid_tag
from ..session_api import SessionAPI
from ..text import join, plain, short_digest, size, visible
from .dialogs import ConfirmScreen, PromptScreen
from .viewer import ViewerScreen

MARK_STYLE = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}
ROW_MARK = {compare.SHARED: "=", compare.RECOMPRESSED: "≈", compare.MOVED: "↕", compare.ADDED: "+",
            compare.REMOVED: "-"}


class ReferencePrompt(PromptScreen):
    """The prompt for B: the repository's tags offered as completions (only
    well-formed ones: a suggestion lands in the input box as it is)."""

    def __init__(self, image: ImageInfo, tags: list[str]) -> None:
        base = f"{image.registry}/{image.repository}:"
        others = [t for t in tags if t != image.tag and valid_tag(t)]
        hint = "Tags: " + ", ".join(others[:12]) + (" …" if len(others) > 12 else "") if others else \
            "Another image, e.g. a tag of this repository."
        super().__init__("Compare with", base, hint, "image reference")
        self.suggestions = [base + t for t in others]

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.suggester = SuggestFromList(self.suggestions, case_sensitive=True)
        field.focus()


class _Cancelled(Exception):
    pass


def _totals_text(path_totals: Any) -> str:
    return compare_report.totals_text(path_totals)


def layer_rows(cmp: compare.Comparison) -> list[Text]:
    """One row per aligned pair, read like a unified diff so it fits a narrow
    pane: 'mark A│B size digest step', the layer indexes in A and in B (blank
    where the side has none); shared layers dimmed, A-only red, B-only green."""
    out = []
    for row in cmp.layers:
        layer = row.b if row.b is not None else row.a
        assert layer is not None
        if row.status in (compare.SHARED, compare.RECOMPRESSED):
            style = "dim"
        elif row.status == compare.MOVED:
            style = "yellow"
        else:
            style = "green" if row.a is None else "red"
        ia = f"{row.a.index:>2}" if row.a is not None else "  "
        ib = f"{row.b.index:<2}" if row.b is not None else "  "
        step = layer.step.step if layer.step is not None else ""
        text = join((f"{ROW_MARK[row.status]} ", style), (ia, style), ("│", "dim"), (ib, style),
                    (f" {size(layer.size):>9} {short_digest(layer.digest, 8)} ", style), (step, style))
        text.no_wrap = True
        text.overflow = "ellipsis"
        out.append(text)
    return out


def config_lines(changes: list[compare.ConfigChange]) -> Text:
    """One line per config change; the breaks are real, the registry's values escaped."""
    if not changes:
        return plain("Same config.", "dim")
    return Text("\n", end="").join(
        join((c.field, "bold"), f": {compare.config_value(c.a)} → {compare.config_value(c.b)}") for c in changes)


def change_label(name: str, change: PathChange | None, tree: DiffTree, path: str) -> Text:
    if change is None:
        return join((name + "/", "bold"), ("  " + _totals_text(tree.totals(path)), "dim"))
    mark, style = MARK_STYLE[change.change]
    node = change.b if change.b is not None else change.a
    is_dir = node is not None and node.kids is not None
    label = join((f"{mark} ", style), (name + ("/" if is_dir else ""), style))
    if tree.has_children(path):
        label.append("  " + _totals_text(tree.totals(path)), style="dim")
    elif change.change == CHANGED or not is_dir:
        label.append("  " + visible(compare_report.change_text(change)), style="dim")  # quotes link targets
    return label


class CompareScreen(Screen[None]):
    # Its own styles, so the app's stylesheet stays as it is.
    DEFAULT_CSS = """
    #compare-title { height: 1; padding: 0 1; background: $boost; }
    #compare-main { height: 1fr; }
    #compare-left { width: 2fr; min-width: 36; max-width: 80; }
    #compare-layers { height: 1fr; border: round $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    #compare-layers:focus { border: round $accent; }
    #compare-config { height: auto; max-height: 10; border: round $panel; padding: 0 1; overflow-y: auto; }
    #compare-tree { width: 3fr; border: round $panel; }
    #compare-tree:focus { border: round $accent; }
    #compare-status { height: 1; padding: 0 1; background: $boost; color: $text; }
    """
    BINDINGS = [
        Binding("escape,c", "close", "Back"),
        Binding("f", "full", "Full"),
        Binding("e", "export", "Export"),
        Binding("v", "view_diff", "Diff"),
        # The main screen's keys would act on the image underneath: not here.
        Binding("F,m,slash,1,2,3,4,s,d,t,w,S", "nothing", show=False),
    ]

    def __init__(self, session: SessionAPI, image: ImageInfo, reference_b: str) -> None:
        super().__init__()
        self.session = session
        self.image_a = image
        self.reference_b = reference_b
        self.comparison: compare.Comparison | None = None
        self.diff_tree: DiffTree | None = None
        self._filled: set[str] = set()
        self._status = Text("")
        self.config_text = Text("")

    def compose(self) -> ComposeResult:
        yield Label(plain(f"A {self.image_a.reference}  vs  B {self.reference_b}", "bold"), id="compare-title")
        with Horizontal(id="compare-main"):
            with Vertical(id="compare-left"):
                yield OptionList(id="compare-layers")
                yield Static(id="compare-config")
            yield Tree("/", id="compare-tree")
        yield Static(id="compare-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-layers").border_title = "Layers (A│B)"
        self.query_one("#compare-tree").border_title = "Differences"
        self.query_one("#compare-config").border_title = "Config"
        self.query_one("#compare-tree", Tree).show_root = False
        self.start(full=False)

    # -- loading -----------------------------------------------------------------

    def set_status(self, text: str | Text, style: str = "") -> None:
        self._status = text if isinstance(text, Text) else plain(text, style)
        self.query_one("#compare-status", Static).update(self._status)

    @property
    def status_text(self) -> str:
        return self._status.plain

    def start(self, *, full: bool) -> None:
        self.set_status(f"Comparing with {self.reference_b} …")
        self._load(full)

    @work(thread=True, exclusive=True, group="compare")
    def _load(self, full: bool) -> None:
        worker = get_current_worker()

        def shown(done: int, total: int, batch: Any) -> None:
            if worker.is_cancelled:
                raise _Cancelled
            text = f"Listing layer {done + 1} of {total} distinct: {batch.progress.entries} entries"
            self.app.call_from_thread(self.set_status, text)

        try:
            cmp = compare.load_against(self.session, self.image_a, self.reference_b, full=full, on_batch=shown)
        except _Cancelled:
            return
        except LayerslayerError as err:
            self.app.call_from_thread(self._failed, str(err))
            return
        except Exception as err:  # noqa: BLE001 - a bug still ends as one sentence, not a crash
            self.app.call_from_thread(self._failed, f"Unexpected failure: {type(err).__name__}.")
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self.show, cmp)

    def _failed(self, message: str) -> None:
        self.app.notify(message, title="Compare", severity="error")
        self.set_status(join(("Error: ", "bold red"), (message, "red")))

    def show(self, cmp: compare.Comparison) -> None:
        self.comparison = cmp
        self.diff_tree = DiffTree(cmp.files)
        self._filled = set()
        title = self.query_one("#compare-title", Label)
        title.update(join(("A ", "bold"), (cmp.a.reference, ""), ("  vs  ", "dim"), ("B ", "bold"),
                          (cmp.b.reference, "")))
        layers = self.query_one("#compare-layers", OptionList)
        layers.clear_options()
        layers.add_options([Option(row) for row in layer_rows(cmp)])
        self.config_text = config_lines(cmp.config)
        self.query_one("#compare-config", Static).update(self.config_text)
        tree = self.query_one("#compare-tree", Tree)
        tree.clear()
        self._fill(tree.root, "")
        tree.root.expand()
        tree.focus()
        self.set_status(self.summary())

    def summary(self) -> Text:
        cmp = self.comparison
        assert cmp is not None
        files = cmp.files
        head = "No file differences" if not files else f"Files: {compare_report.totals_text(files.totals())}"
        text = join((head, "bold"), (f"; {len(cmp.config)} config change{'s' if len(cmp.config) != 1 else ''}", ""))
        if not cmp.complete:
            text.append_text(join(("  INCOMPLETE: ", "bold yellow"),
                                  (compare_report.incomplete_sentence(cmp).replace("use --full", "press f"),
                                   "yellow")))
        elif cmp.same:
            text.append("  The images have the same files and config.", style="green")
        return text

    # -- the tree, filled as directories open -------------------------------------------

    def _fill(self, node: Any, path: str) -> None:
        tree = self.diff_tree
        if tree is None or path in self._filled:
            return
        self._filled.add(path)
        for child in tree.children(path):
            name = child.rsplit("/", 1)[-1]
            label = change_label(name, tree.change(child), tree, child)
            if tree.has_children(child):
                node.add(label, data=child, allow_expand=True)
            else:
                node.add_leaf(label, data=child)

    @on(Tree.NodeExpanded, "#compare-tree")
    def _expanded(self, event: Tree.NodeExpanded) -> None:
        if event.node.data is not None:
            self._fill(event.node, event.node.data)

    @on(Tree.NodeHighlighted, "#compare-tree")
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        tree = self.diff_tree
        path = event.node.data
        if tree is None or path is None:
            return
        change = tree.change(path)
        if change is None:
            self.set_status(join((path + "/", "bold"), ("  " + _totals_text(tree.totals(path)), "")))
        else:
            mark, style = MARK_STYLE[change.change]
            self.set_status(join((f"{mark} {change.change} ", style), (path, "bold"),
                                 ("  " + compare_report.change_text(change), "")))

    def selected_change(self) -> PathChange | None:
        node = self.query_one("#compare-tree", Tree).cursor_node
        if node is None or node.data is None or self.diff_tree is None:
            return None
        return self.diff_tree.change(node.data)

    # -- keys ------------------------------------------------------------------------

    def action_nothing(self) -> None:
        pass

    def action_close(self) -> None:
        self.workers.cancel_group(self, "compare")
        self.dismiss(None)

    def action_full(self) -> None:
        if self.comparison is not None and self.comparison.complete:
            self.set_status("Every layer of both images is listed completely already.")
            return
        self.start(full=True)

    def action_export(self) -> None:
        cmp = self.comparison
        if cmp is None:
            return

        def chosen(value: str | None) -> None:
            if not value:
                return
            dest = Path(value.strip()).expanduser()
            if dest.exists():
                self.app.push_screen(ConfirmScreen(f"{dest} exists. Overwrite it?"),
                                     lambda yes: yes and self.export_to(dest, True))
            else:
                self.export_to(dest, False)

        default = "./" + compare_report.default_name(cmp)
        self.app.push_screen(PromptScreen("Export the comparison", default,
                                          ".json: the diff --json document; any other name: the text report",
                                          "path"), chosen)

    def export_to(self, dest: Path, overwrite: bool) -> Path | None:
        assert self.comparison is not None
        try:
            compare_report.save(self.comparison, dest, overwrite=overwrite)
        except LayerslayerError as err:
            self._failed(str(err))
            return None
        self.app.notify(f"Comparison written to {dest}.")
        return dest

    def action_view_diff(self) -> None:
        change = self.selected_change()
        if change is None:
            self.set_status("Select a changed, added or removed file to see its diff.")
            return
        sides = [n for n in (change.a, change.b) if n is not None]
        if any(n.kind != "file" for n in sides):
            self.set_status(f"{change.path} is not a regular file on both sides: {compare_report.change_text(change)}")
            return
        self.set_status(f"Reading both versions of {change.path} …")
        self._diff(change)

    @work(thread=True, exclusive=True, group="content")
    def _diff(self, change: PathChange) -> None:
        cmp = self.comparison
        assert cmp is not None
        try:
            text = compare.content_diff(self.session, cmp, change)
        except LayerslayerError as err:
            self.app.call_from_thread(self._failed, str(err))
            return
        self.app.call_from_thread(self._show_diff, change, text)

    def _show_diff(self, change: PathChange, text: str) -> None:
        note = "unified diff A → B" if change.change == CHANGED else \
            ("added in B" if change.change == ADDED else "removed in B")
        self.app.push_screen(ViewerScreen(f"{change.path}.diff", text.encode("utf-8"), note))
        self.set_status(self.summary())
