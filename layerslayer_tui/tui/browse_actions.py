"""b browses a registry's catalog or Docker Hub's search (BrowseScreen);
a layout or archive holding several images asks which to open, as an index
asks for a platform. Mixed into `LayerslayerApp`."""

from __future__ import annotations

from textual.widgets import Input

from layerslayer_tui.sources.ref import is_local

from .screens.browse import BrowseScreen
from .screens.choice import ChoiceScreen


class BrowseActionsMixin:
    """b (browse) and the several-images picker."""

    def action_browse(self) -> None:
        if self.session is None:
            return
        image = self.image
        # The registry of the image on screen is listed at once; a local image has none.
        start = image.registry if image is not None and not is_local(image.reference) else ""
        self.push_screen(BrowseScreen(self.session, start), self._browsed)

    def _browsed(self, reference: str | None) -> None:
        if not reference:
            return
        self.query_one("#reference", Input).value = reference
        self.load(reference, self.platform_arg)

    def _pick_image(self, reference: str, choices: list[str], message: str) -> None:
        """Called from the resolve worker when a local source holds several images."""
        self.set_status(message)

        def chosen(index: int | None) -> None:
            if index is None:
                self.set_status("No image chosen.")
                return
            self._browsed(choices[index])

        self.push_screen(ChoiceScreen(f"{len(choices)} images in {reference}", choices, 0, "Enter opens the image."), chosen)
