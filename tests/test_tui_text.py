"""The one helper every piece of registry text goes through on its way to the screen."""

from __future__ import annotations

from hypothesis import given, strategies as st
from rich.text import Text

from layerslayer_tui.fs import LayerTree
from layerslayer_tui.entry import EntryType, TarEntry
from layerslayer_tui.tui.screens.viewer import hex_dump, is_binary, render, viewer_header
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


# -- the Details pane ---------------------------------------------------------------


def test_file_details_show_mode_owner_mtime_and_link() -> None:
    from layerslayer_tui.entry import EntryType, TarEntry
    from layerslayer_tui.fs import LayerTree
    from layerslayer_tui.tui.details import file_details
    from layerslayer_tui.tui.widgets.details import render_fields

    tree = LayerTree(0)
    tree.add([
        TarEntry("usr/bin/su", EntryType.FILE, size=2048, mode=0o4755, uid=0, gid=0, uname="root", gname="root", mtime=1700000000),
        TarEntry("usr/bin/sh", EntryType.SYMLINK, mode=0o777, uid=1000, gid=1000, mtime=0, link="[bold]dash"),
    ])
    su = "\n".join(f.name + " " + f.value for f in file_details(tree.get("usr/bin/su"), 0))
    assert "Path /usr/bin/su" in su
    assert "-rwsr-xr-x root:root (0:0)" in su
    assert "2023-11-14T22:13:20Z" in su
    assert "2.0 KiB (2,048 bytes)" in su
    sh = file_details(tree.get("usr/bin/sh"), 0)
    text = render_fields(sh, 200).plain
    assert "lrwxrwxrwx 1000:1000" in text and "Link -> [bold]dash" in text  # literal, not markup
    implied = render_fields(file_details(tree.get("usr"), 0), 200).plain
    assert "implied" in implied and "dir, 2.0 KiB in 2 files" in implied


def test_details_lines_are_cut_but_the_wrapped_field_keeps_all_its_text() -> None:
    from layerslayer_tui.tui.widgets.details import WRAP_LINES, Field, render_fields

    step = "RUN apt-get update && apt-get install -y curl ca-certificates && rm -rf /var/lib/apt/lists/*"
    text = render_fields([Field("Step", step, wrap=True), Field("Digest", "sha256:" + "a" * 64)], 28)
    lines = text.plain.split("\n")
    assert lines[-1] == "Digest sha256:" + "a" * 64  # one line; the pane's CSS cuts it with an ellipsis
    wrapped = lines[:-1]
    assert 1 < len(wrapped) <= WRAP_LINES and all(len(line) <= 28 for line in wrapped)
    short = render_fields([Field("Step", "RUN echo [red]hi \x1b[2J", wrap=True)], 10).plain
    assert short.replace("\n", "") == "Step RUN echo [red]hi \\x1b[2J"


def test_listing_states_in_words() -> None:
    from layerslayer_tui.entry import ListingProgress
    from layerslayer_tui.tui.progress_text import listing_state, partial_subtitle, progress_line
    from layerslayer_tui.tui.screens.search import summary

    index = ListingProgress(compressed_read=10035, layer_size=5_000_000, entries=312, complete=True,
                            source="estargz index", note="complete (from eStargz index, 9.8 KiB read)")
    assert listing_state(index) == "complete (from eStargz index, 9.8 KiB read)"
    assert progress_line(0, index, streaming=False) == "Listed layer 0: 312 entries, complete (from eStargz index, 9.8 KiB read)"
    assert partial_subtitle(index, running=False) == "from its eStargz index · f checks it"
    # the whole blob read, its digest right, its archive unfinished: never "complete, verified"
    short = ListingProgress(compressed_read=500, layer_size=500, entries=3, verified=True, cut_short=True,
                            note="The layer ends early.")
    assert listing_state(short) == "incomplete"
    assert progress_line(2, short, streaming=False) == "Listed layer 2: 500 B of 500 B, 3 entries, incomplete. The layer ends early."
    assert partial_subtitle(short, running=False) == "cut short"
    checked = ListingProgress(compressed_read=500, layer_size=500, entries=3, complete=True, verified=True, note="They agree.")
    assert progress_line(1, checked, streaming=False) == "Listed layer 1: 500 B of 500 B, 3 entries, complete, verified"
    assert progress_line(1, checked, streaming=False, note=True).endswith("complete, verified. They agree.")
    assert summary("*/id_rsa", []) == "No listing seen so far has a path matching */id_rsa."
    # f continues a partial peek: the peek's note (why it stopped) must not ride along
    going = ListingProgress(compressed_read=848 << 20, layer_size=1 << 31, entries=17_829,
                            note="Partial listing from the first 256 KiB of 2.0 GiB.")
    assert progress_line(0, going, streaming=True) == "Peeking layer 0: 848 MiB of 2.0 GiB, 17,829 entries, partial"
    assert progress_line(0, going, streaming=False).endswith("read). Partial listing from the first 256 KiB of 2.0 GiB.")
    # every byte read, the last entries still going into the tree: not "Peeking ... complete"
    assert progress_line(1, checked, streaming=True) == "Read layer 1: 500 B of 500 B, 3 entries, complete, verified"


def test_notifications_are_literal_with_controls_escaped(tmp_path, monkeypatch) -> None:
    """Notes and errors quote registry paths; every notification, from the app or
    a screen, shows them literally."""
    import asyncio

    from layerslayer_tui.tui.app import LayerslayerApp

    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAYERSLAYER_DATA_DIR", str(tmp_path / "data"))

    async def body() -> list[tuple[str, str]]:
        app = LayerslayerApp(None)
        async with app.run_test() as pilot:
            app.notify("first: etc/\x1b[31mred [bold]x[/]", title="Layer 0: \x07 checked")
            app.screen.notify("a[/]b\nc")
            await pilot.pause()
            return [(n.message, n.title) for n in app._notifications]

    assert asyncio.run(body()) == [
        ("first: etc/\\x1b[31mred [bold]x[/]", "Layer 0: \\x07 checked"),
        ("a[/]b\\x0ac", ""),
    ]


def test_viewer_header_shows_a_symlink_target_literally() -> None:
    header = viewer_header("etc/[bold]x", "4 bytes", "symlink to a[/]b\x1b[31m")
    assert header.plain == "etc/[bold]x  4 bytes  symlink to a[/]b\\x1b[31m  escape, q or v closes"
    assert "\x1b" not in header.plain
