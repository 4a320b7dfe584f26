"""The compare screen's tree labels quote registry data (symlink targets) literally."""

from __future__ import annotations

from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.fs import LayerTree, merge
from layerslayer_tui.fs.diff import DiffTree, diff_views
from layerslayer_tui.tui.screens.compare import change_label


def _view(*entries: TarEntry):
    tree = LayerTree(0, complete=True)
    tree.add(list(entries))
    return merge([tree])


def test_an_added_symlink_target_is_shown_escaped_and_never_as_markup() -> None:
    a = _view(TarEntry("d", EntryType.DIR, mode=0o755, mtime=1.0))
    b = _view(TarEntry("d", EntryType.DIR, mode=0o755, mtime=1.0),
              TarEntry("d/[bold]x", EntryType.SYMLINK, mode=0o777, mtime=1.0, link="a[/]b\x1b[31m"))
    tree = DiffTree(diff_views(a, b))
    label = change_label("[bold]x", tree.change("d/[bold]x"), tree, "d/[bold]x")
    assert label.plain == "+ [bold]x  -> a[/]b\\x1b[31m"
    assert "\x1b" not in label.plain


def test_config_changes_are_one_line_each_with_values_escaped() -> None:
    from layerslayer_tui.compare import ConfigChange
    from layerslayer_tui.tui.screens.compare import config_lines

    text = config_lines([ConfigChange("cmd", "[bold]a", "b\x1b[2J"), ConfigChange("labels.x", None, "a[/]b")])
    assert text.plain == "cmd: [bold]a → b\\x1b[2J\nlabels.x: (none) → a[/]b"
    assert config_lines([]).plain == "Same config."
