"""What the file tree shows: the selected layer, or the merged view, through
the filter and the change markers, with a trailing note when the listing is
partial. Mixed into `LayerslayerApp`.

A layer's own tree is shown at once. A merged view not built yet, and a
filter, over more than SYNC_BELOW entries are built on the tree builder's
thread (a million entries take a second to merge, a tenth to filter): the
tree keeps what it shows until the result arrives, and a newer request (the
next keystroke) cancels the older. Smaller ones are built at once, here."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from layerslayer_tui.fs import Change, Filter, FilteredView, MergedTree
from layerslayer_tui.fs.filter import Reveal

from .progress_text import partial_note, partial_subtitle, partly_listed
from .text import plain
from .tree_builder import ViewJob, ViewReady
from .view_state import MARKERS, TreeViewState
from .widgets.filter_bar import FilterBar
from .widgets.file_tree import FileTree

__all__ = ["MARKERS", "REVEAL_MATCHES", "REVEAL_ROWS", "TreeViewMixin"]
# A new filter expands the paths to its first matches, as far as both allow.
REVEAL_MATCHES = 50
REVEAL_ROWS = 200
# Entries in a view below which it is merged or filtered on the UI thread (a
# few tens of ms at most): no round trip, no "building" flash for small images.
SYNC_BELOW = 20_000


class TreeViewMixin:
    """The tree's view, its filter and markers, and the keys m, /, 1-4."""

    MERGED_REFRESH = 1.0  # seconds between rebuilds of a merged view that is still growing

    def _init_tree_view(self) -> None:
        self.view_state = TreeViewState()
        self._view_token = 0  # the newest view asked for; results of older ones are dropped
        self._view_waiting = False  # a view job is on the builder's thread

    # The state's fields, as the other mixins read and set them.
    @property
    def merged(self) -> bool:
        return self.view_state.merged

    @merged.setter
    def merged(self, value: bool) -> None:
        self.view_state.merged = value

    @property
    def pattern(self) -> str | None:
        return self.view_state.pattern

    @property
    def markers(self) -> set[Change]:
        return self.view_state.markers

    def _note(self, index: int) -> Text | None:
        progress = self.workspace.progress(index) if self.workspace is not None else None
        return partial_note(progress, running=index not in self.finished)

    def _subtitle(self) -> Text:
        """How much of the view is listed, under the tree (always in sight)."""
        if self.workspace is None:
            return plain("")
        if self.merged or self.layer is None:
            partial = self.workspace.partial_layers(self.layer)
            return plain(f"{len(partial)} layer{'' if len(partial) == 1 else 's'} partly listed · F for all" if partial else "")
        return plain(partial_subtitle(self.workspace.progress(self.layer), running=self.layer not in self.finished,
                                      checking=self.layer in self.listing_state.checking))

    def current_view(self) -> tuple[Any, bool]:
        """The tree to show (before filtering), None when it is a merged view
        not built yet, and whether it has removals."""
        ws = self.workspace
        if self.layer is None or self.merged:
            return ws.merged_ready(self.layer), False
        # changes() marks the layer's own tree in place: tree() is the same
        # object, marked once the builder has run it.
        self._ensure_marks()
        return ws.tree(self.layer), True

    def refresh_view(self, *, reveal: bool = False) -> None:
        """Show the current view; `reveal` (a new filter): expand the paths to
        its first matches and say how many are left in collapsed directories.
        A view that needs building is asked of the tree builder, shown when ready."""
        tree = self.query_one(FileTree)
        self._view_token += 1  # whatever was asked before is out of date
        self._view_waiting = False
        if self.workspace is None:
            tree.show(None, keep=False)
            tree.border_subtitle = ""
            return
        merged = self.merged or self.layer is None
        with self.workspace.lock:
            view, removals = self.current_view()
            flt = self.current_filter()
            small = self._view_entries() < SYNC_BELOW
            if view is None and small:
                view = self.workspace.merged(self.layer)
            if view is not None and (flt is None or small):
                plan = None
                if flt is not None:
                    view = FilteredView(view, flt, removals=removals)
                    if reveal:
                        plan = view.result.reveal(max_matches=REVEAL_MATCHES, max_rows=REVEAL_ROWS)
                self._show_view(tree, view, removals, plan)
                return
        self._view_waiting = True
        limits = (REVEAL_MATCHES, REVEAL_ROWS) if reveal else None
        self.tree_builder.view(ViewJob(self._view_token, self.image, self.layer, merged, flt, removals, limits))
        tree.border_title = self._tree_title()
        if flt is not None and flt.pattern is not None:
            self.query_one(FilterBar).show_count("filtering …")
        shown = tree.view.view if isinstance(tree.view, FilteredView) else tree.view
        if merged and not (isinstance(shown, MergedTree) and self.view_state.shown_upto == self.layer):
            # Nothing of this merged view is on screen yet: say what the wait is for.
            tree.show(None, keep=False)
            tree.set_note(Text("… building the merged view", style="italic dim", end=""))
            self.set_status("Building the merged view …")

    def _view_entries(self) -> int:
        """The entries of the layers the current view is made of."""
        ws = self.workspace
        if self.layer is not None and not self.merged:
            return len(ws.tree(self.layer))
        last = len(ws.image.layers) - 1 if self.layer is None else self.layer
        return sum(len(ws.tree(i)) for i in range(last + 1))

    def _show_view(self, tree: FileTree, view: Any, removals: bool, plan: Reveal | None = None) -> None:
        merged = self.merged or self.layer is None
        note = self._merged_note() if merged else self._note(self.layer)
        tree.show(view, removals=removals, note=note)
        if plan is not None and isinstance(view, FilteredView):
            self._reveal_matches(tree, view, plan)
        tree.border_title = self._tree_title()
        tree.border_subtitle = self._subtitle()
        self.view_state.shown_upto = self.layer if merged else None
        self.view_state.built(time.monotonic())

    def _view_ready(self, ready: ViewReady) -> None:
        """On the UI thread: a view the builder built (ignored when a newer one was asked for)."""
        job = ready.job
        if job.token != self._view_token or job.image is not self.image or self.workspace is None:
            return
        self._view_waiting = False
        if ready.view is None:
            return
        self.view_state.build_seconds = ready.seconds
        view = ready.view
        if ready.result is not None and job.flt is not None:
            view = FilteredView(view, job.flt, removals=job.removals, result=ready.result)
        with self.workspace.lock:
            self._show_view(self.query_one(FileTree), view, job.removals, ready.plan)
        if job.merged and job.flt is None and self.status_text.startswith("Building the merged"):
            self.set_status("Merged view built.")

    def _refresh_interval(self) -> float:
        """How long a growing view that needs building waits between two builds:
        never less than MERGED_REFRESH, nor than twice its last build (a merged
        view of a million entries takes seconds; rebuilding it more often than
        that would leave the listing little time)."""
        return max(self.MERGED_REFRESH, 2 * self.view_state.build_seconds)

    def _reveal_matches(self, tree: FileTree, view: FilteredView, plan: Reveal) -> None:
        """Open the directories the plan names (planned on the builder's thread:
        it goes through every match) and say how many matches are in sight."""
        result = view.result
        for path in plan.expand:
            tree.expand_path(path)
        total = len(result.matches)
        if total:
            first = tree.widget_for(result.matches[0].path)
            if first is not None:
                # after the refresh: the new rows have no line numbers before it
                tree.call_after_refresh(tree.move_cursor, first)
        what = f"Filter {self.pattern}" if self.pattern else "Filter"
        self.query_one(FilterBar).show_count(
            "nothing matches" if not total else f"{total:,} match{'' if total == 1 else 'es'}")
        if not total:
            self.set_status(f"{what}: nothing matches.")
        elif plan.collapsed:
            self.set_status(f"{what}: {total:,} matches, {plan.collapsed:,} of them in collapsed directories.")
        else:
            self.set_status(f"{what}: {total:,} match{'' if total == 1 else 'es'}, all in sight.")

    def current_filter(self) -> Filter | None:
        """The filter on screen; change markers only exist in a layer's own view."""
        return self.view_state.filter(self.layer)

    def _refresh_merged_if_dirty(self) -> None:
        if (self.view_state.stale and self.workspace is not None and not self._view_waiting
                and self.view_state.due(time.monotonic(), self._refresh_interval())):
            self.refresh_view()

    def _merged_note(self) -> Text | None:
        if self.workspace is None:
            return None
        upto = None if self.layer is None else self.layer
        partial = self.workspace.partial_layers(upto)
        if not partial:
            return None
        return Text(f"… {partly_listed(partial)}: press F for all of them", style="bold yellow", end="")

    def _tree_title(self) -> Text:
        # A border title given as str is read as markup: the filter is typed text.
        title = self.view_state.title(self.layer)
        if self.query_one(FileTree).order == "size":
            title = title[:-1] + "; by size)" if title.endswith(")") else title + " (by size)"
        return plain(title)

    # -- keys: m, /, 1-4 ------------------------------------------------------------

    def action_toggle_merged(self) -> None:
        if self.image is None:
            return
        self.merged = not self.merged
        self.refresh_view()

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.pattern)

    def clear_filter(self) -> None:
        """No pattern, every change marker shown."""
        self.view_state.pattern = None
        self.view_state.markers = set(MARKERS)
        self.query_one(FilterBar).sync(None)
        self.refresh_view()

    def on_filter_bar_changed(self, message: FilterBar.Changed) -> None:
        """Live: the tree follows the pattern as it is typed."""
        if message.pattern != self.pattern:
            self.view_state.pattern = message.pattern
            self.refresh_view(reveal=self.pattern is not None)
        if message.pattern is None:
            self.set_status("Filter cleared.")
        if message.done:
            self.query_one(FileTree).focus()

    def action_sort(self) -> None:
        tree = self.query_one(FileTree)
        order = tree.toggle_order()
        tree.border_title = self._tree_title()
        self.set_status("Tree sorted by size, biggest first." if order == "size" else "Tree sorted by name.")

    def action_toggle_marker(self, which: int) -> None:
        self.view_state.toggle_marker(which)
        self.refresh_view()
