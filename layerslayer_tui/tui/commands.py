"""The command palette (ctrl+p): every app action by name, beside Textual's
own commands; and a screenshot command that works without ~/Downloads and
says where it wrote, in plain text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from textual.app import SystemCommand

from . import keys

# action -> the name people look for in the palette (the footer's word is too short)
TITLES = {
    "edit_reference": "Open another image reference",
    "fetch_full": "Full listing of the selected layer",
    "fetch_all": "Full listing of every layer",
    "toggle_merged": "Merged view on / off",
    "platform": "Switch platform",
    "filter": "Filter the tree",
    "sort": "Sort the tree by size / by name",
    "toggle_marker(0)": "Show / hide added files",
    "toggle_marker(1)": "Show / hide modified files",
    "toggle_marker(2)": "Show / hide removed files",
    "toggle_marker(3)": "Show / hide unmodified files",
    "view_file": "View the selected file",
    "save_file": "Save the selected file",
    "export": "Export the tree",
    "download": "Download the selected layer",
    "tags": "Tags of this repository",
    "wasted": "Wasted-space report",
    "compare": "Compare with another image",
    "search": "Search every listing seen",
    "browse": "Browse a registry",
    "cancel": "Cancel the running listing",
    "help": "Help: every key",
}
_LEFT_OUT = {"quit", "interrupt"}  # Textual's own "Quit" is in the palette already


def _help_texts() -> dict[str, str]:
    """Binding key -> the help screen's sentence for it."""
    out: dict[str, str] = {}
    for names, text in keys.HELP:
        for name in names.replace(" or ", " ").replace("/", " ").split():
            out.setdefault(name, text)
    return out


def app_commands(app: Any) -> Iterator[SystemCommand]:
    helps = _help_texts()
    seen: set[str] = set()
    for binding in keys.BINDINGS:
        action = binding.action
        if action in _LEFT_OUT or action in seen:
            continue
        seen.add(action)
        key = binding.key_display or binding.key.split(",")[0]
        text = binding.tooltip or helps.get(key) or binding.description
        yield SystemCommand(TITLES.get(action, binding.description), f"{text} (key {key})",
                            lambda a=action: app.call_next(app.run_action, a))


def screenshot_folder() -> Path:
    """~/Downloads when it exists, else the working directory (never a folder to create)."""
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.cwd()


def save_screenshot(app: Any) -> None:
    folder = screenshot_folder()
    try:
        path = app.save_screenshot(path=str(folder))
    except OSError as err:
        app.notify(f"Cannot write a screenshot into {folder}: {err.strerror or err}.", title="Screenshot",
                   severity="error")
        return
    app.notify(f"Saved to {path}", title="Screenshot")


def system_commands(app: Any, textual_commands: Iterable[SystemCommand]) -> Iterator[SystemCommand]:
    for command in textual_commands:
        if command.title == "Screenshot":
            yield SystemCommand("Screenshot", f"Save an SVG of the screen into {screenshot_folder()}",
                                lambda: app.set_timer(0.1, lambda: save_screenshot(app)))
        else:
            yield command
    yield from app_commands(app)
