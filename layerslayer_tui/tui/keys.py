"""The app's key bindings and the help screen's text (kept side by side so
they stay in step)."""

from __future__ import annotations

from textual.binding import Binding

BINDINGS = [
    # Every key works wherever the focus is; the footer shows the global ones
    # here, and each pane adds what applies to it (LAYER_KEYS, TREE_KEYS).
    Binding("o,colon", "edit_reference", "Open", key_display="o", show=False, tooltip="Type another image reference"),
    Binding("f", "fetch_full", "Full", show=False, tooltip="Fetch the full listing of the selected layer"),
    Binding("F", "fetch_all", "All", key_display="F", show=False, tooltip="Full listings of every layer"),
    Binding("m", "toggle_merged", "Merged", show=False),
    Binding("p", "platform", "Platform", show=False),
    Binding("slash", "filter", "Filter", key_display="/", show=False),
    Binding("z", "sort", "Sort", show=False, tooltip="Sort the tree by size (biggest first) or back by name"),
    Binding("1", "toggle_marker(0)", "Added", show=False),
    Binding("2", "toggle_marker(1)", "Modified", show=False),
    Binding("3", "toggle_marker(2)", "Removed", show=False),
    Binding("4", "toggle_marker(3)", "Unmodified", show=False),
    Binding("v", "view_file", "View", show=False),
    Binding("s", "save_file", "Save", show=False),
    Binding("e", "export", "Export", show=False),
    Binding("d", "download", "Download", show=False),
    Binding("t", "tags", "Tags", show=False),
    Binding("w", "wasted", "Wasted", show=False),
    Binding("c", "compare", "Compare", show=False),
    Binding("S", "search", "Search", key_display="S"),
    Binding("b", "browse", "Browse", show=False),
    Binding("escape", "cancel", "Cancel", show=False),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
    Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
    # Ctrl-C ends the app with the CLI's documented "interrupted" code (an input's own copy binding comes first)
    Binding("ctrl+c", "interrupt", "Quit", show=False),
]

# Shown in the footer while the layer pane has the focus (the app's bindings do the work).
LAYER_KEYS = [
    Binding("f", "app.fetch_full", "Full"),
    Binding("F", "app.fetch_all", "All", key_display="F"),
    Binding("p", "app.platform", "Platform"),
    Binding("t", "app.tags", "Tags"),
    Binding("w", "app.wasted", "Wasted"),
    Binding("d", "app.download", "Download"),
]

_SHOW = Binding.Group("Show", compact=True)
# Shown in the footer while the file tree has the focus.
TREE_KEYS = [
    Binding("v", "app.view_file", "View"),
    Binding("s", "app.save_file", "Save"),
    Binding("e", "app.export", "Export"),
    Binding("slash", "app.filter", "Filter", key_display="/"),
    Binding("z", "app.sort", "Sort"),
    Binding("1", "app.toggle_marker(0)", "Added", group=_SHOW),
    Binding("2", "app.toggle_marker(1)", "Modified", group=_SHOW),
    Binding("3", "app.toggle_marker(2)", "Removed", group=_SHOW),
    Binding("4", "app.toggle_marker(3)", "Unmodified", group=_SHOW),
]

HELP = [
    ("o or :", "type another image reference at the top (Enter loads, escape leaves it unchanged)"),
    ("Tab", "move between the layers and the tree"),
    ("j k / arrows", "move in lists; h l collapse / expand in the tree"),
    ("f", "fetch the full listing of the selected layer (continues the partial read; checks an index listing)"),
    ("F", "full listing of every layer (exact merged view and wasted space)"),
    ("m", "toggle the merged view (layers up to the selected one)"),
    ("/", "filter the tree live by glob or substring (escape in the filter clears it)"),
    ("z", "sort the tree by size, biggest first (directories by their totals), or back by name; remembered"),
    ("1 2 3 4", "show or hide added / modified / removed / unmodified"),
    ("v", "view the selected file"),
    ("s", "save the selected file into a folder"),
    ("e", "export the tree on screen (format from the extension: txt json csv tar.txt)"),
    ("d", "download the selected layer blob (digest verified)"),
    ("t", "pick another tag of this repository"),
    ("p", "switch to another platform of a multi-platform image"),
    ("w", "wasted-space report"),
    ("c", "compare with another image (tags suggested): layers aligned, file differences, e export, v diff"),
    ("S", "search every listing seen, all images and layers (*/id_rsa, *.pem or a substring)"),
    ("b", "browse a registry's repositories and tags, or search Docker Hub (hub WORDS)"),
    ("escape", "cancel the running listing (one layer's read pauses: f carries on from there)"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every action by name"),
    ("q / ctrl+q", "quit"),
    ("ctrl+c", "quit with exit code 130 (interrupted)"),
]
