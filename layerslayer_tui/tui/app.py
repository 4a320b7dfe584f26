"""The Textual app: reference input, layer pane, file tree, status line.

All network and parse work runs in thread workers that call the Session and
post messages back; the UI thread owns the Workspace (it is thread-confined)
and feeds it from those messages. Nothing here parses bytes or speaks HTTP.
The app is assembled from mixins, one module each: `listing` (workers and
feeding), `tree_view` (what the tree shows), `file_actions` (v, s),
`export_actions` (e, d), `image_actions` (t, w), `search_actions` (S),
`browse_actions` (b, and the picker for archives of several images);
keys live in `keys`.
"""

from __future__ import annotations

import gc
from typing import Any

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, OptionList, Static, Tree
from textual.css.query import NoMatches
from textual.worker import get_current_worker

from layerslayer_tui.errors import AuthError, LayerslayerError, NotFoundError
from layerslayer_tui.image import ImageInfo, LayerInfo, Platform
from layerslayer_tui.sources.ref import AmbiguousImageError
from layerslayer_tui.workspace import Workspace

from . import commands, history, keys, login_actions, platform_actions, tag_offer
from .details import file_details, image_details, layer_details
from .browse_actions import BrowseActionsMixin
from .export_actions import ExportActionsMixin
from .file_actions import FileActionsMixin, carved_content, safe_destination, save_name
from .image_actions import ImageActionsMixin
from .listing import ListingMixin
from .search_actions import SearchActionsMixin
from .session_api import SessionAPI
from .suggest import ReferenceSuggester
from .messages import Failed, ImageLoaded, PlatformsFound, Progress
from .screens.help import HelpScreen
from .screens.platform import PlatformScreen
from .text import join, plain, size, visible
from .tree_view import MARKERS, TreeViewMixin
from .widgets.details import Details
from .widgets.file_tree import FileTree
from .widgets.filter_bar import FilterBar
from .widgets.layer_list import LayerList, parse_id
from .widgets.reference import ReferenceInput

__all__ = ["LayerslayerApp", "run_app", "MARKERS", "carved_content", "safe_destination", "save_name"]


class LayerslayerApp(
    ListingMixin, TreeViewMixin, FileActionsMixin, ExportActionsMixin, ImageActionsMixin, SearchActionsMixin,
    BrowseActionsMixin, App[int]
):
    TITLE = "layerslayer"
    CSS_PATH = "app.tcss"
    BINDINGS = keys.BINDINGS
    HELP = keys.HELP

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification (screens' too: they call the app's) is literal text
        with control characters escaped: notes and errors quote registry paths."""
        super().notify(visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    def __init__(self, reference: str | None = None, *, platform: str | None = None,
                 session: SessionAPI | None = None) -> None:
        super().__init__()
        self.initial_reference = reference
        self.platform_arg = platform
        self._own_session = session is None
        self.session: SessionAPI | None = session
        self.image: ImageInfo | None = None
        self.workspace: Workspace | None = None
        self.layer: int | None = None  # selected layer; None = the "Image (merged)" row
        self.history = history.load()
        self._status = Text("")
        self._init_listing()
        self._init_tree_view()
        self._init_search()

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield ReferenceInput(
            placeholder="image reference, e.g. docker.io/library/debian:12 (Enter loads)",
            suggester=ReferenceSuggester(self.history),
            id="reference",
        )
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LayerList(id="layers")
                yield Details(id="details")
            with Vertical(id="right"):
                yield FileTree(id="tree")
                yield FilterBar(id="filter")
        yield Static(id="status")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p is in the help: room for the pane's keys

    def on_mount(self) -> None:
        self.query_one("#tree").border_title = "Files"
        self.query_one("#details").border_title = "Details"
        self.set_status("Type an image reference and press Enter.")
        if self.session is None:
            self._start_session()
        self.show_session_warnings()
        self.set_interval(self.MERGED_REFRESH, self._refresh_merged_if_dirty)
        if self.initial_reference:
            self.load(self.initial_reference, self.platform_arg)
        else:
            self.query_one(ReferenceInput).edit()

    def show_session_warnings(self) -> None:
        """What the session noted since the last call (a damaged cache row
        skipped, ...): shown when the app starts and after every layer."""
        pop = getattr(self.session, "pop_warnings", None)
        for warning in pop() if pop is not None else []:
            self.notify(warning, severity="warning", markup=False)

    def _start_session(self) -> None:
        from layerslayer_tui.session import Session

        try:
            self.session = Session()
        except LayerslayerError as err:
            self.show_error("starting", err)

    async def on_unmount(self) -> None:
        self._cancel_listings()
        if self._own_session and self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001 - quitting must not fail
                pass

    # -- status ---------------------------------------------------------------

    def set_status(self, text: str | Text, style: str = "") -> None:
        self._status = text if isinstance(text, Text) else plain(text, style)
        try:
            self.query_one("#status", Static).update(self._status)
        except NoMatches:  # the app is closing: a last slice of a listing was fed after the screen went
            pass

    @property
    def status_text(self) -> str:
        return self._status.plain

    def show_error(self, what: str, err: LayerslayerError) -> None:
        message = str(err)
        self.notify(message, title=f"Error while {what}", severity="error", markup=False, timeout=8)
        self.set_status(join(("Error: ", "bold red"), (message, "red")))

    def clear_errors(self) -> None:
        """Error toasts are about the state they came from: a new load or image ends them."""
        stale = [n for n in self._notifications if n.severity == "error"]
        for notification in stale:
            self._unnotify(notification, refresh=False)
        if stale:
            self._refresh_notifications()

    def on_progress(self, message: Progress) -> None:
        self.set_status(message.text)

    # -- loading a reference --------------------------------------------------

    @on(Input.Submitted, "#reference")
    def _reference_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.load(text, self.platform_arg)

    def load(self, reference: str, platform: str | Platform | None = None) -> None:
        self.query_one(ReferenceInput).showing(reference)
        self.clear_errors()
        self._cancel_listings()
        self.set_status(f"Resolving {reference} …")
        self._resolve(reference, platform)

    @work(thread=True, exclusive=True, group="resolve")
    def _resolve(self, reference: str, platform: str | Platform | None) -> None:
        worker = get_current_worker()
        try:
            if platform is None:
                platforms = self.session.platforms(reference)
                if len(platforms) > 1:
                    if not worker.is_cancelled:
                        self.post_message(PlatformsFound(reference, platforms))
                    return
                if platforms:
                    platform = platforms[0]
            image = self.session.open_image(reference, platform)
        except AmbiguousImageError as err:  # a layout or archive of several images: pick one, like a platform
            if not worker.is_cancelled:
                self.call_from_thread(self._pick_image, reference, err.choices, str(err))
            return
        except Exception as err:  # noqa: BLE001 - Failed puts a bug's exception in one sentence
            self.post_message(Failed(f"loading {reference}", err))
            self.call_from_thread(self.query_one(ReferenceInput).load_failed)
            if isinstance(err, AuthError) and not worker.is_cancelled:
                self.call_from_thread(login_actions.auth_failed_loading, self, reference, platform, err)
            elif isinstance(err, NotFoundError) and not worker.is_cancelled:
                offer = tag_offer.other_tags(self.session, reference)
                if offer is not None and not worker.is_cancelled:
                    self.call_from_thread(tag_offer.offer_tags, self, *offer, platform)
            return
        if not worker.is_cancelled:
            self.post_message(ImageLoaded(image))

    def on_platforms_found(self, message: PlatformsFound) -> None:
        self.set_status(f"{message.reference} has {len(message.platforms)} platforms: pick one.")

        def chosen(index: int | None) -> None:
            if index is None:
                self.query_one(ReferenceInput).load_failed()
                self.set_status("No platform chosen.")
                return
            platform = message.platforms[index]
            self.set_status(f"Resolving {message.reference} for {platform} …")
            self._resolve(message.reference, platform)

        self.push_screen(PlatformScreen(message.reference, message.platforms), chosen)

    def on_image_loaded(self, message: ImageLoaded) -> None:
        self._cancel_listings()
        self.clear_errors()
        image = message.image
        self.image = image
        self.workspace = Workspace(image)
        gc.unfreeze()  # the previous image's trees may now be collected
        self._reset_listing()
        self.layer = None
        self.history = history.remember(image.reference, self.history)
        reference_input = self.query_one(ReferenceInput)
        reference_input.suggester = ReferenceSuggester(self.history)
        reference_input.show_loaded(image.reference)
        self.sub_title = image.reference + (f" ({image.platform})" if image.platforms and image.platform else "")
        layers = self.query_one(LayerList)
        layers.load(image)
        total = sum(layer.size for layer in image.layers)
        self.set_status(f"{image.reference}: {len(image.layers)} layers, {size(total)} compressed.")
        self.query_one(FileTree).show(None, keep=False)
        layers.focus()
        if image.layers:
            first = self._hit_layer()
            if first is None:
                first = image.layers[0].index
            else:
                self.merged = False
            layers.highlight_layer(first)
            self.select_layer(first)
        else:
            self.select_layer(None)

    # -- selecting layers -----------------------------------------------------

    @on(OptionList.OptionHighlighted, "#layers")
    def _layer_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.image is None:
            return
        index = parse_id(event.option.id)
        if index == self.layer and self.query_one(FileTree).view is not None:
            return
        self.select_layer(index)

    def select_layer(self, index: int | None) -> None:
        self.layer = index
        self.update_details()
        if index is not None and not self.full_running:
            if index not in self.finished:
                self.start_listing(index)
            else:
                self.workers.cancel_group(self, "listing")
        self.refresh_view()

    def layer_info(self, index: int | None) -> LayerInfo | None:
        if self.image is None or index is None:
            return None
        for layer in self.image.layers:
            if layer.index == index:
                return layer
        return None

    # -- details: the selected layer, or the file under the tree's cursor -------

    @on(Tree.NodeHighlighted, "#tree")
    def _file_highlighted(self, event: Tree.NodeHighlighted) -> None:
        self.update_details()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.update_details()

    def update_details(self) -> None:
        details = self.query_one("#details", Details)
        image = self.image
        if image is None:
            details.show([])
            return
        tree = self.query_one(FileTree)
        node = tree.selected_node if tree.has_focus else None
        if node is not None:
            counted = getattr(tree.view, "kept", None)  # under a filter: what it keeps of a directory
            kept = counted(node) if counted is not None and node.is_dir else None
            details.show(file_details(node, self.layer, merged=self.merged or self.layer is None, kept=kept), "File")
            return
        layer = self.layer_info(self.layer)
        if layer is None:
            details.show(image_details(image), "Image")
        else:
            progress = self.workspace.progress(layer.index) if self.workspace is not None else None
            details.show(layer_details(layer, progress), f"Layer {layer.index}")

    def get_system_commands(self, screen: Any) -> Any:
        """The command palette: Textual's commands and every app action by name."""
        return commands.system_commands(self, super().get_system_commands(screen))

    def action_platform(self) -> None:
        platform_actions.switch_platform(self)

    def action_edit_reference(self) -> None:
        self.query_one(ReferenceInput).edit()

    def on_reference_input_left(self, message: ReferenceInput.Left) -> None:
        self.query_one(LayerList).focus()

    def action_interrupt(self) -> None:
        self.exit(130)  # the CLI's EXIT_INTERRUPTED: Ctrl-C is documented as "interrupted"

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.HELP))

    def action_compare(self) -> None:
        """c: compare the open image with another reference (compare_actions)."""
        from .compare_actions import start_compare

        start_compare(self)


def run_app(reference: str | None, *, platform: str | None = None, session: SessionAPI | None = None) -> int:
    """Run the app full screen; the CLI's entry point. Returns the exit code."""
    app = LayerslayerApp(reference, platform=platform, session=session)
    result = app.run()
    return result if isinstance(result, int) else 0
