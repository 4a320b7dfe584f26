"""The one helper every piece of registry text goes through on its way to the screen."""

from __future__ import annotations

from hypothesis import given, strategies as st
from rich.text import Text

from layerslayer_tui.fs import LayerTree
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.tui.screens.viewer import hex_dump, is_binary, render
from layerslayer_tui.tui.text import join, plain, size, visible, visible_lines
from layerslayer_tui.tui.widgets.file_tree import node_label


def test_markup_is_kept_literally() -> None:
    for name in ["a[/]b", "[bold]x", "[link=http://evil]y[/link]", "[/]", "\\[x]"]:
        text = plain(name)
        assert isinstance(text, Text)
        assert text.plain == name
        assert text.spans == []


def test_control_characters_are_shown_as_escapes() -> None:
    assert visible("\x1b[31mred") == "\\x1b[31mred"
    assert visible("a\nb\tc\rd\x00\x7f\x9b") == "a\\x0ab\\x09c\\x0dd\\x00\\x7f\\x9b"
    assert visible("right\u202eto left") == "right\\u202eto left"
    assert visible_lines("l1\r\nl2\tx\x1b") == "l1\nl2\tx\\x1b"
    assert join(("\x07bell", "red"), " ok").plain == "\\x07bell ok"


@given(st.text())
def test_visible_never_lets_a_control_through(text: str) -> None:
    out = visible(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    if text.isprintable() and not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in text):
        assert out == text


def test_sizes() -> None:
    assert size(0) == "0 B"
    assert size(1023) == "1023 B"
    assert size(1536) == "1.5 KiB"
    assert size(28 * 1024 * 1024) == "28.0 MiB"
    assert size(None) == "?"


def test_node_labels_escape_names_and_targets() -> None:
    tree = LayerTree(0)
    tree.add(
        [
            TarEntry("d", EntryType.DIR),
            TarEntry("d/\x1b[2Jx", EntryType.FILE, size=10, mode=0o755),
            TarEntry("d/[b]l", EntryType.SYMLINK, link="[red]\x1bt"),
        ]
    )
    by_name = {n.name: n for n in tree.children("d")}
    assert node_label(by_name["\x1b[2Jx"]).plain == "\\x1b[2Jx*  10 B"
    assert node_label(by_name["[b]l"]).plain == "[b]l -> [red]\\x1bt"
    assert node_label(tree.get("d"), may_grow=True).plain == "d/  10 B in 2 files …"


def test_viewer_picks_text_syntax_or_hex() -> None:
    assert not is_binary(b"hello\n")
    assert is_binary(b"\x00\x01")
    assert not is_binary("é".encode() * 5000)  # a character cut at the sample end is still text
    assert type(render("x.py", b"print(1)\n")).__name__ == "Syntax"
    text = render("notes", b"[bold]hi\x1b[0m\n")
    assert isinstance(text, Text) and text.plain == "[bold]hi\\x1b[0m\n" and text.spans == []
    dump = hex_dump(bytes(range(20)))
    assert dump.plain.splitlines()[0].startswith("00000000  00 01 02 03")
    assert dump.plain.splitlines()[1].startswith("00000010  10 11 12 13")
