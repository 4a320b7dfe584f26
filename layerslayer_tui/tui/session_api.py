"""What the app asks of a session, as a Protocol: `session.Session` is the
real one; tests hand the app wrappers that delay or fail some calls. The app
types its `session` with this instead of `Any`. (`pop_warnings()` is asked
for with getattr: a session without notes may leave it out.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from layerslayer_tui.image import ImageInfo, LayerInfo, Platform
from layerslayer_tui.peek.carve import Carved
from layerslayer_tui.session import LayerListing, SearchHit

if TYPE_CHECKING:
    from layerslayer_tui.registry.hub_search import HubPage


class SessionAPI(Protocol):
    def platforms(self, ref_text: str) -> list[Platform]: ...

    def open_image(self, ref_text: str, platform: str | Platform | None = None) -> ImageInfo: ...

    def listing(self, image: ImageInfo, layer: LayerInfo | int, *, full: bool = False,
                budget: int = ...) -> LayerListing: ...

    def carve(self, image: ImageInfo, layer: LayerInfo | int, path: str, cap: int = ...,
              dest: str | Path | None = None) -> Carved: ...

    def read_file(self, image: ImageInfo, layer: LayerInfo | int, path: str, *, cap: int = ...,
                  dest: str | Path | None = None) -> Any: ...  # content.FileRead: carved + cost()

    def download_layer(self, image: ImageInfo, layer: LayerInfo | int, dest: str | Path,
                       progress: Callable[[int, int | None], None] | None = None, overwrite: bool = False) -> Path: ...

    def tags(self, image: ImageInfo | str) -> list[str]: ...

    def catalog(self, registry: str) -> list[str]: ...

    def search_hub(self, words: str, *, page: int = 1) -> HubPage: ...

    def search(self, pattern: str, *, limit: int | None = None) -> list[SearchHit]: ...

    def login(self, registry: str, username: str, secret: str) -> None: ...

    def credential_source(self, registry: str) -> str: ...

    def close(self) -> None: ...
