"""`cat` and `get`: file content from the command line (content.py does the work).

stdout carries only the file's bytes (cat); everything else, one sentence a
line on stderr: what had to be listed or read, and what it cost.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK = 0


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _say(text: str) -> None:
    """One line on stderr; names from the image have their control characters escaped."""
    safe = text if text.isprintable() else _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    print(f"layerslayer-tui: {safe}", file=sys.stderr)


def _layer(text: str, count: int, usage: type[Exception]) -> int | None:
    t = text.strip().lower()
    if t == "merged":
        return None
    try:
        n = int(t)
    except ValueError:
        raise usage(f"--layer takes a number or 'merged', not {text!r}.") from None
    if not -count <= n < count:
        raise usage(f"Layer {n} does not exist: the image has {count} layers (0 to {count - 1}).")
    return n % count


def run(command: str, args: argparse.Namespace, words: list[str], session_for: Callable[[argparse.Namespace], Any],
        usage: type[Exception]) -> int:
    from layerslayer_tui.content import ImageFiles, cat, get

    if command == "cat" and len(words) != 2:
        raise usage("Use cat IMAGE PATH, e.g. cat alpine:3.20 /etc/os-release (see --help).")
    if command == "get" and len(words) < 2:
        raise usage("Use get IMAGE PATH... [-o DIR], e.g. get alpine:3.20 /etc -o out (see --help).")
    if args.output and command == "cat":
        raise usage("cat writes to stdout; -o is for get.")
    ref, paths = words[0], words[1:]
    budget = 256 * 1024
    with session_for(args) as session:
        image = session.open_image(ref, args.platform)
        if not image.layers:
            raise usage(f"{image.reference} has no layers.")
        files = ImageFiles(session, image, layer=_layer(args.layer, len(image.layers), usage), budget=budget,
                           note=_say)
        if command == "cat":
            read = cat(files, paths[0], sys.stdout.buffer)
            _say(f"{paths[0]}: {read.cost()}")
        else:
            count = get(files, paths, Path(args.output or "."), force=args.force, done=_say)
            _say(f"{count} file(s) saved under {args.output or '.'}")
        for note in session.pop_warnings():
            _say(note)
    return EXIT_OK
