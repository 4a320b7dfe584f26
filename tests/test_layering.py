"""The core and the headless CLI never import Textual (or Rich): start-up time
counts on every headless command, and the core must stay screen-free."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import layerslayer_tui

PACKAGE = Path(layerslayer_tui.__file__).parent
UI_ONLY = {"textual", "rich"}


def core_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[1:2] == ["tui"] or parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_no_core_module_imports_textual_or_rich_in_its_source() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "tui" in path.relative_to(PACKAGE).parts[:1]:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {m}" for m in mods if m.split(".")[0] in UI_ONLY]
    assert offenders == []
    assert len(core_modules()) > 10  # the walk really saw the package


_PROBE = """
import json, sys
import importlib
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
from layerslayer_tui import cli
rc_search = cli.main(["search", "*/nothing-here"])
rc_info = cli.main(["cache", "info"])
rc_bad = cli.main(["--export", "x.json", "Not A Reference"])
print(json.dumps({"loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich")),
                  "rc": [rc_search, rc_info, rc_bad]}))
"""


def test_importing_the_core_and_running_headless_commands_loads_no_textual(tmp_path: Path) -> None:
    env = {"LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(core_modules())],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    assert out["rc"] == [0, 0, 2]


def test_a_real_headless_export_imports_no_textual(registry, tmp_path: Path) -> None:
    from bed.images import make_layer, push_image

    image = push_image(registry, "layering/app", "1", [make_layer({"a.txt": b"a"}, "gzip")])
    env = {"LAYERSLAYER_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "layerslayer_tui", image.ref, "--json"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [e["path"] for e in json.loads(proc.stdout)["entries"]] == ["a.txt"]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "layerslayer_tui.session" in imported  # the probe sees our own imports
    assert {m for m in imported if m.split(".")[0] in UI_ONLY} == set()
