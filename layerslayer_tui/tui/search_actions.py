"""S: search every cached listing (all images and layers seen), and open a
hit: its image, that layer, the file under the cursor. Mixed into
`LayerslayerApp`."""

from __future__ import annotations

from textual.widgets import Input

from layerslayer_tui.fs.paths import tar_name
from layerslayer_tui.session import SearchHit

from .hit_trail import HitTrail, layer_with
from .screens.search import SearchScreen
from .widgets.file_tree import FileTree
from .widgets.layer_list import LayerList


class SearchActionsMixin:
    """The search screen and the way back from a hit to the tree."""

    def _init_search(self) -> None:
        self.hit_trail = HitTrail()

    def action_search(self) -> None:
        cache = getattr(self.session, "cache", None)
        if self.session is None or cache is None or not getattr(cache, "enabled", True):
            self.set_status("Search looks through the listing cache, which is off: there is nothing to search.")
            return

        screen = SearchScreen(self.session.search, self.hit_trail.pattern)

        def chosen(hit: SearchHit | None) -> None:
            self.hit_trail.pattern = screen.pattern  # the next search starts from this one
            if hit is not None:
                self.open_hit(hit)

        self.push_screen(screen, chosen)

    def open_hit(self, hit: SearchHit) -> None:
        """Show a search hit: load its image unless it is open, select its layer, reveal the path."""
        path = tar_name(hit.path)
        image = self.image
        if image is not None and image.reference == hit.image:
            index = layer_with(image, hit.layer_digest, hit.layer_index)
            if index is not None:
                self._show_hit(index, path)
                return
        self.hit_trail.pending = (hit.layer_digest, path)
        self.query_one("#reference", Input).value = hit.image
        # The hit's own platform: a multi-platform image opens without the picker.
        self.load(hit.image, hit.platform or self.platform_arg)

    def _hit_layer(self) -> int | None:
        """On a newly loaded image: the layer a pending hit asks for (None: the default)."""
        index, missing = self.hit_trail.on_image(self.image)
        if missing:
            self.notify("The layer of that hit is not in this image (another platform?).", severity="warning", markup=False)
        return index

    def _show_hit(self, index: int, path: str) -> None:
        self.merged = False
        self.hit_trail.reveal = (index, path)
        self.query_one(LayerList).highlight_layer(index)
        self.select_layer(index)
        if index in self.finished:
            self._reveal_pending(index)

    def _reveal_pending(self, index: int) -> None:
        """Called when a layer's listing ended: put the tree's cursor on the hit."""
        path = self.hit_trail.take_reveal(index, self.layer)
        if path is None:
            return
        tree = self.query_one(FileTree)
        parent = path.rpartition("/")[0]
        if parent:
            tree.expand_path(parent)
        widget = tree.widget_for(path)
        cleared = ""
        if widget is None and self.current_filter() is not None:
            # The jump lands on something the filter hides: the filter goes, and the status says so.
            cleared = f"the filter {self.pattern} hid it and is cleared" if self.pattern else "the hidden changes are shown again"
            self.clear_filter()
            if parent:
                tree.expand_path(parent)
            widget = tree.widget_for(path)
        if widget is None:
            self.set_status(f"{path} is not shown in layer {index}.")
            return
        tree.focus()
        # The new nodes get their lines on the next refresh; the cursor needs them.
        self.call_after_refresh(tree.move_cursor, widget, animate=False)
        self.set_status(f"{path} in layer {index}" + (f" ({cleared})." if cleared else "."))

