"""The file viewer: text with syntax colours when the type is known, hex for
binary. The content is untrusted: it is never read as markup and control
characters are shown as escapes."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..text import plain, visible, visible_lines

HEX_LIMIT = 64 * 1024  # bytes shown in the hex view; more would only slow the screen


def is_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the sample's end is still text.
        return err.start < len(head) - 4
    return False


def hex_dump(data: bytes, limit: int = HEX_LIMIT) -> Text:
    out = Text(no_wrap=True, end="")
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        out.append(f"{off:08x}  ", style="dim")
        out.append(f"{hexes:<47}  ")
        out.append(ascii_ + "\n", style="cyan")
    if len(data) > limit:
        out.append(f"… {len(data) - limit:,} more bytes not shown\n", style="dim italic")
    return out


def lexer_for(name: str) -> str | None:
    """Pygments lexer name from the file name only (content is untrusted and
    guessing from it is slow)."""
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:  # pragma: no cover - pygments comes with rich
        return None
    try:
        return get_lexer_for_filename(name).aliases[0]
    except (ClassNotFound, IndexError):
        return None


def render(name: str, data: bytes) -> Text | Syntax:
    if is_binary(data):
        return hex_dump(data)
    text = visible_lines(data.decode("utf-8", errors="replace"))
    lexer = lexer_for(name)
    if lexer is None:
        return Text(text, end="")
    return Syntax(text, lexer, line_numbers=True, word_wrap=False, theme="ansi_dark")


def viewer_header(path: str, cost: str, note: str = "") -> Text:
    """The title line; the note quotes registry data (a symlink's target)."""
    header = plain(path, "bold")
    header.append(f"  {cost}", style="dim")
    if note:
        header.append("  " + visible(note), style="yellow")
    header.append("  escape, q or v closes", style="dim italic")
    return header


class ViewerScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "close", "Close")]

    def __init__(self, path: str, data: bytes, note: str = "", cost: str = "") -> None:
        super().__init__(classes="viewer-screen")
        self.path = path
        self.data = data
        self.note = note
        self.cost = cost  # "4.8 KiB, read 1.9 MiB via the seek index"

    def compose(self) -> ComposeResult:
        with Vertical(id="viewer"):
            yield Label(viewer_header(self.path, self.cost or f"{len(self.data):,} bytes", self.note), id="viewer-title")
            with VerticalScroll(id="viewer-body"):
                yield Static(render(self.path.rsplit("/", 1)[-1], self.data), id="viewer-content")

    def on_mount(self) -> None:
        # query(), not query_one(): a viewer closed while it mounts (a fast Esc)
        # has no body any more, and that is not an error.
        self.query("#viewer-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
