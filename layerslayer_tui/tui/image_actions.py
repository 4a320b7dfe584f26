"""Keys about the image as a whole: t picks another tag of the repository,
w shows the wasted-space report. Mixed into `LayerslayerApp`."""

from __future__ import annotations

from textual import work
from textual.widgets import Input

from layerslayer_tui.image import ImageInfo

from .checks import valid_tag
from .messages import Failed
from .screens.choice import ChoiceScreen
from .screens.wasted import WastedScreen


class ImageActionsMixin:
    """t (tags) and w (wasted space)."""

    def action_tags(self) -> None:
        if self.image is None:
            return
        self.set_status(f"Listing the tags of {self.image.repository} …")
        self._tags(self.image)

    @work(thread=True, exclusive=True, group="tags")
    def _tags(self, image: ImageInfo) -> None:
        try:
            tags = self.session.tags(image)
        except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
            self.post_message(Failed("listing tags", err))
            return
        self.call_from_thread(self._pick_tag, image, tags)

    def _pick_tag(self, image: ImageInfo, tags: list[str]) -> None:
        if not tags:
            self.set_status(f"{image.repository} has no tags.")
            return
        selected = tags.index(image.tag) if image.tag in tags else 0
        self.set_status(f"{len(tags)} tags.")

        def chosen(index: int | None) -> None:
            if index is None:
                return
            tag = tags[index]
            if not valid_tag(tag):
                # The registry sent it: it never goes into the reference box raw.
                shown = repr(tag) if len(tag) <= 80 else repr(tag[:80]) + " …"
                self.set_status(f"The registry listed {shown}, which is not a valid tag name; it was not opened.",
                                "yellow")
                return
            reference = f"{image.registry}/{image.repository}:{tag}"
            self.query_one("#reference", Input).value = reference
            self.load(reference, self.platform_arg)

        self.push_screen(ChoiceScreen(f"Tags of {image.repository}", tags, selected, "Enter opens the tag."), chosen)

    def action_wasted(self) -> None:
        if self.workspace is None or self.image is None:
            return
        report = self.workspace.wasted()
        self.push_screen(WastedScreen(report, sum(l.size for l in self.image.layers)))
