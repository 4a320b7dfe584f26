"""Messages the thread workers post to the UI thread."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field

from textual.message import Message

from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.image import ImageInfo, Platform


@dataclass
class PlatformsFound(Message):
    reference: str
    platforms: list[Platform]


@dataclass
class ImageLoaded(Message):
    image: ImageInfo


@dataclass
class LayerDone(Message):
    """A layer's listing stream ended (exhausted, not cancelled)."""

    image: ImageInfo
    layer: int


@dataclass
class AllListed(Message):
    """F's worker went through every layer (posted after their LayerDone)."""

    image: ImageInfo


@dataclass
class Failed(Message):
    """A worker met an error; `what` says what it was doing. A worker hands
    over whatever it caught (`caught`, any Exception); `error` is always a
    LayerslayerError: any other exception is put in one sentence here, so a
    bug in a lower layer never takes the screen down."""

    what: str
    caught: InitVar[Exception]
    image: ImageInfo | None = None
    layer: int | None = None
    error: LayerslayerError = field(init=False)

    def __post_init__(self, caught: Exception) -> None:
        super().__post_init__()
        self.error = caught if isinstance(caught, LayerslayerError) else unexpected(self.what, caught)


@dataclass
class Progress(Message):
    """A line for the status bar from a long job (downloads)."""

    text: str

    def can_replace(self, message: Message) -> bool:
        # A newer status line still queued supersedes this one: when the UI
        # lags behind a download, it shows the latest figure, not every one.
        return isinstance(message, Progress)


def unexpected(what: str, err: BaseException) -> LayerslayerError:
    detail = f"{type(err).__name__}: {err}".rstrip(".")
    return LayerslayerError(f"Unexpected failure while {what}: {detail}.")
