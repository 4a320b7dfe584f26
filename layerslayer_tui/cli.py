"""Command line: open the TUI, or export / search / manage the cache headless.

The headless paths never import Textual (tests/test_layering.py checks it):
the TUI module is imported only when the full-screen app is about to run.
All logic the TUI also needs lives in session.py and workspace.py.

Exit codes: 0 success, 2 a usage error or any LayerslayerError (one sentence
on stderr), 130 interrupted (Ctrl-C).

`search`, `cache`, `catalog`, `search-hub` and `diff` as the first word
are commands (catalog and search-hub live in browse_cli.py, diff in
cli_diff.py; `IMAGE --ci` in cli_ci.py). An image literally named so is
reached with a tag or a registry, e.g. `layerslayer-tui search:latest` or
`docker.io/library/search`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from layerslayer_tui import __version__
from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.printable import visible

if TYPE_CHECKING:
    from layerslayer_tui.entry import EntryBatch
    from layerslayer_tui.session import Session

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
COMMANDS = ("search", "cache", "catalog", "search-hub", "diff", "cat", "get")
CACHE_ACTIONS = ("info", "clear", "prune")


class _UsageError(LayerslayerError):
    """Arguments that do not make sense together."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse would print the whole usage block; one sentence is the rule here.
        raise _UsageError(f"{message[0].upper()}{message[1:].rstrip('.')} (see --help).")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="layerslayer-tui",
        description="Browse the files of any container image layer straight from the registry.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "commands:\n"
            "  search PATTERN            paths matching a glob or substring in every cached listing\n"
            "  cache info|clear|prune    show, empty or shrink the cache (prune needs --max-size SIZE)\n"
            "  catalog REGISTRY          the repositories a registry lists (/v2/_catalog)\n"
            "  search-hub WORDS...       Docker Hub repositories matching the words (--page N)\n"
            "  diff IMAGE_A IMAGE_B      compare two images: config, layers, files (--json, --stat, --filter)\n"
            "  IMAGE --ci                gate an image with dive's rules (.dive-ci or --ci-config FILE)\n"
            "  cat IMAGE PATH            write one file of the image to stdout (--layer N: that layer's copy)\n"
            "  get IMAGE PATH... [-o DIR]  save files or directories of the image under DIR (default .)\n"
            "\n"
            "IMAGE may also be oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF],\n"
            "docker-daemon:REF or podman:REF (a local layout, archive or engine image).\n"
            "\n"
            "An image literally named like a command needs a tag or a registry (search:latest).\n"
            "Exit codes: 0 ok, 2 error (one sentence on stderr), 130 interrupted;\n"
            "diff: 0 same, 1 different; --ci: 0 every rule passed, 1 a rule failed."
        ),
    )
    p.add_argument("words", nargs="*", metavar="IMAGE", help="image reference (or: search PATTERN, cache ACTION)")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image")
    p.add_argument("--export", metavar="FILE", help="write the listing to FILE (.txt .json .csv .tar.txt) and exit")
    p.add_argument("--json", action="store_true", help="write the JSON export (or search hits) to stdout and exit")
    p.add_argument("--layer", default="merged",
                   help="N (0 = bottom, -1 = top), 'all' (one export per layer) or 'merged' (default)")
    p.add_argument("--full", action="store_true", help="list whole layers instead of the first --budget bytes")
    p.add_argument("--budget", default="256K", help="bytes read per layer for a partial listing (default 256K)")
    p.add_argument("--filter", metavar="PATTERN", help="export only paths matching a glob or substring")
    p.add_argument("--format", dest="fmt", help="export format when FILE's name does not say (txt json csv tar.txt)")
    p.add_argument("--force", action="store_true", help="overwrite an existing export file")
    p.add_argument("--offline", action="store_true", help="use only what the cache holds")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST",
                   help="allow plain HTTP for HOST (repeatable; loopback hosts always may)")
    p.add_argument("--username", help="registry user name (with --password-stdin)")
    p.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")
    p.add_argument("--max-size", help="for 'cache prune': the size to shrink the cache to (e.g. 500M)")
    p.add_argument("--page", type=int, default=1, help="for 'search-hub': which page of results (default 1)")
    p.add_argument("--stat", action="store_true", help="for 'diff': totals per directory only")
    p.add_argument("--ci", action="store_true", help="check the image against dive's CI rules and exit")
    p.add_argument("--ci-config", metavar="FILE", help="dive rules file for --ci (default: .dive-ci if present)")
    for rule in ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent"):
        p.add_argument(f"--{rule}", dest=rule, metavar="VALUE", help=f"--ci: override the {rule} rule")
    p.add_argument("-o", "--output", metavar="DIR", help="for 'get': the folder to save into (default: .)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except LayerslayerError as exc:
        _clear_progress()
        _say(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of our stdout went away (| head): stop quietly, and point
        # stdout at /dev/null so the interpreter's final flush does not complain.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    words: list[str] = args.words
    if words and words[0] in COMMANDS:
        if words[0] in ("cat", "get"):
            from layerslayer_tui import cli_content

            return cli_content.run(words[0], args, words[1:], _session, _UsageError)
        if words[0] == "search":
            if len(words) != 2:
                raise _UsageError("Give one pattern to search for, e.g. search '*/id_rsa' (see --help).")
            return _search(args, words[1])
        if words[0] in ("catalog", "search-hub"):
            return _browse(args, words[0], words[1:])
        if words[0] == "diff":
            if len(words) != 3:
                raise _UsageError("Give two images to compare, e.g. diff app:1.4 app:1.5 (see --help).")
            from layerslayer_tui.cli_diff import run_diff

            return run_diff(args, words[1], words[2], _session, _budget, _progress, _clear_progress)
        if len(words) != 2 or words[1] not in CACHE_ACTIONS:
            raise _UsageError("Use cache info, cache clear or cache prune --max-size SIZE (see --help).")
        return _cache(args, words[1])
    if len(words) > 1:
        raise _UsageError(f"Give one image reference, not {len(words)} (see --help).")
    image = words[0] if words else None
    if args.ci:
        if image is None:
            raise _UsageError("Name the image to check with --ci (see --help).")
        from layerslayer_tui.cli_ci import run_ci

        return run_ci(args, image, _session, _progress, _clear_progress)
    if args.export or args.json:
        if image is None:
            raise _UsageError("Name the image to export (see --help).")
        if args.export and args.json:
            raise _UsageError("Use either --export FILE or --json, not both.")
        return _export(args, image)
    return _tui(args, image)


# --- shared -----------------------------------------------------------------


def _say(text: str) -> None:
    """One line on stderr. Sentences quote references, media types, platforms
    and paths a registry chose, so their control characters are escaped."""
    print(f"layerslayer-tui: {visible(text)}", file=sys.stderr)


def _session(args: argparse.Namespace) -> Session:
    from layerslayer_tui.session import Session

    password = None
    if args.password_stdin:
        if args.username is None:
            raise _UsageError("--password-stdin needs --username.")
        password = sys.stdin.readline().rstrip("\r\n")
    session = Session(
        offline=args.offline,
        cache=not args.no_cache,
        insecure=tuple(args.insecure_registry),
        username=args.username,
        password=password,
    )
    for note in session.pop_warnings():
        _say(note)
    return session


def _budget(text: str) -> int:
    from layerslayer_tui.cache import parse_size

    try:
        value = parse_size(text)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    if value < 1024:
        raise _UsageError("--budget must be at least 1K.")
    return value


_progress_shown = False


def _progress(text: str) -> None:
    global _progress_shown
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[2K" + text)
        sys.stderr.flush()
        _progress_shown = True


def _clear_progress() -> None:
    global _progress_shown
    if _progress_shown:
        sys.stderr.write("\r\x1b[2K")
        sys.stderr.flush()
        _progress_shown = False


# --- export -------------------------------------------------------------------


def _layer_choice(text: str, count: int) -> tuple[str, list[int]]:
    """('merged' | 'all' | 'layer', layer indexes the export is made of)."""
    t = text.strip().lower()
    if t == "merged":
        return "merged", list(range(count))
    if t == "all":
        return "all", list(range(count))
    try:
        n = int(t)
    except ValueError:
        raise _UsageError(f"--layer takes a number, 'all' or 'merged', not {text!r}.") from None
    if not -count <= n < count:
        raise _UsageError(f"Layer {n} does not exist: the image has {count} layers (0 to {count - 1}).")
    return "layer", [n % count]


def _export(args: argparse.Namespace, ref_text: str) -> int:
    from layerslayer_tui.units import human_size
    from layerslayer_tui.workspace import Workspace

    budget = _budget(args.budget)
    with _session(args) as session:
        image = session.open_image(ref_text, args.platform)
        if not image.layers:
            raise LayerslayerError(f"{image.reference} has no layers to list.")
        mode, chosen = _layer_choice(args.layer, len(image.layers))
        ws = Workspace(image)
        # A single layer's change markers need the layers below it listed too.
        needed = list(range(max(chosen) + 1))
        total = len(needed)

        def shown(index: int, batch: EntryBatch) -> None:
            p = batch.progress
            _progress(f"layer {index + 1}/{total}: {p.entries} entries, {human_size(p.compressed_read, compact=True)} read")

        ws.load(session, needed, full=args.full, budget=budget, on_batch=shown)
        _clear_progress()
        for note in session.pop_warnings():
            _say(note)
        for index in needed:  # names that are absolute or escape the root: never silent
            unsafe = ws.tree(index).unsafe_note()
            if unsafe is not None:
                _say(unsafe)
        if args.json:
            return _export_stdout(ws, mode, chosen, args.filter)
        dest = args.export
        if mode == "all":
            from pathlib import Path

            target = Path(dest)
            suffix = ".tar.txt" if target.name.lower().endswith(".tar.txt") else target.suffix
            stem = target.name[: len(target.name) - len(suffix)] if suffix else target.name
            for i in chosen:
                out = target.with_name(f"{stem}.{i}{suffix}")
                ws.export(out, "layer", i, args.filter, args.fmt, args.force)
                print(visible(str(out)), file=sys.stderr)
        elif mode == "merged":
            ws.export(dest, "merged", None, args.filter, args.fmt, args.force)
        else:
            ws.export(dest, "layer", chosen[0], args.filter, args.fmt, args.force)
        _report_incomplete(ws, needed, full=args.full)
    return EXIT_OK


def _report_incomplete(ws: Any, listed: list[int], *, full: bool) -> None:
    """Name the layers this run listed that are not complete, and why, from
    their progress: a partial read (the budget) is cured by --full; a full read
    that still ended short says what the reader found (digest mismatch, a
    truncated archive). Layers never listed are not named."""
    short = [i for i in listed if not ws.is_complete(i)]
    if not short:
        return
    if not full:
        _say(f"layers {', '.join(map(str, short))} were listed partially; use --full for everything.")
        return
    for i in short:
        progress = ws.progress(i)
        reason = progress.note if progress is not None and progress.note else "the read ended early"
        _say(f"layer {i} is incomplete even read in full: {reason}")


def _export_stdout(ws: Any, mode: str, chosen: list[int], pattern: str | None) -> int:
    out = sys.stdout
    if mode == "all":
        # One JSON document: an array of per-layer exports.
        import io

        docs = []
        for i in chosen:
            buf = io.StringIO()
            ws.export_to(buf, "layer", i, pattern, "json")
            docs.append(json.loads(buf.getvalue()))
        json.dump(docs, out)
        out.write("\n")
    else:
        ws.export_to(out, "merged" if mode == "merged" else "layer", None if mode == "merged" else chosen[0],
                     pattern, "json")
    out.flush()
    return EXIT_OK


# --- search and cache -------------------------------------------------------------


def _search(args: argparse.Namespace, pattern: str) -> int:
    with _session(args) as session:
        hits = session.search(pattern)
        notes = session.pop_warnings()
    for note in notes:
        _say(note)
    if args.json:
        # json.dumps escapes every control character (ensure_ascii): the output stays one JSON document.
        json.dump([{"image": h.image, "layer_index": h.layer_index, "layer_digest": h.layer_digest,
                    "path": h.path, "size": h.size} for h in hits], sys.stdout)
        sys.stdout.write("\n")
        return EXIT_OK
    for h in hits:
        # Tab-separated, one hit a line: an escaped name cannot break the columns or the terminal.
        print(f"{visible(h.image)}\t{h.layer_index}\t{visible(h.layer_digest[:19])}\t{h.size}\t{visible(h.path)}")
    if not hits:
        _say(f"no cached listing has a path matching {pattern!r}.")
    return EXIT_OK


def _browse(args: argparse.Namespace, command: str, rest: list[str]) -> int:
    from layerslayer_tui import browse_cli

    if command == "catalog":
        if len(rest) != 1:
            raise _UsageError("Give one registry host, e.g. catalog registry.example.com:5000 (see --help).")
        with _session(args) as session:
            return browse_cli.catalog(session, rest[0], args.json)
    if not rest:
        raise _UsageError("Give words to search Docker Hub for, e.g. search-hub nginx (see --help).")
    with _session(args) as session:
        return browse_cli.search_hub(session, " ".join(rest), args.page, args.json)


def _cache(args: argparse.Namespace, action: str) -> int:
    from layerslayer_tui.cache import Cache, parse_size
    from layerslayer_tui.units import human_size

    if action == "prune" and not args.max_size:
        raise _UsageError("cache prune needs --max-size SIZE (e.g. 500M).")
    limit = 0
    if action == "prune":
        try:
            limit = parse_size(args.max_size)
        except ValueError as exc:
            raise _UsageError(str(exc)) from None
    cache = Cache()
    try:
        if action == "info":
            info = cache.info()
            if args.json:
                json.dump(info, sys.stdout)
                sys.stdout.write("\n")
                return EXIT_OK
            print(f"path: {visible(info['path'])}")
            print(f"size: {human_size(info['size'], compact=True)}")
            if cache.warning:
                _say(cache.warning)
            else:
                print(f"listings: {info['listings']} ({info['complete_listings']} complete, {info['entries']} entries)")
                print(f"images: {info['images']}")
        elif action == "clear":
            before = cache.size()
            cache.clear()
            if cache.warning:
                raise LayerslayerError(cache.warning)
            print(f"Cache cleared ({human_size(max(0, before - cache.size()), compact=True)} freed).")
        else:
            if cache.warning:
                raise LayerslayerError(cache.warning)
            freed = cache.prune(limit)
            print(f"Cache pruned to {human_size(cache.size(), compact=True)} ({human_size(freed, compact=True)} freed).")
    finally:
        cache.close()
    return EXIT_OK


# --- the full-screen app ----------------------------------------------------------


def _tui(args: argparse.Namespace, ref_text: str | None) -> int:
    session = _session(args)
    try:
        try:
            from layerslayer_tui.tui.app import run_app
        except ImportError:
            raise LayerslayerError(
                "The full-screen interface is not available in this build; use --export FILE or --json."
            ) from None
        from layerslayer_tui.terminal_input import keys_from_terminal

        keys_from_terminal()  # after --password-stdin emptied a piped stdin
        result = run_app(ref_text, platform=args.platform, session=session)
    finally:
        session.close()
    return result if isinstance(result, int) else EXIT_OK
