"""dive's CI rules (`dive --ci`, `.dive-ci`), evaluated on a listed image.

Same rule names, value syntax and verdicts as dive (runtime/ci/rule.go), so an
existing `.dive-ci` works unchanged:

- `lowestEfficiency`: a ratio 0..1; fails when the image's efficiency is below it.
- `highestWastedBytes`: a byte size as go-humanize's ParseBytes reads it
  (`20MB` = 20,000,000, `20MiB` = 20 x 2^20, `20M` = `20MB`, `1,000` = 1000,
  a bare number is bytes); fails when the wasted bytes exceed it.
- `highestUserWastedPercent`: a ratio 0..1 (despite the name); fails when
  wasted bytes / bytes of every layer but the first exceed it.
- any rule set to `disabled` is skipped.

Defaults are dive's: 0.9, disabled, 0.1. The values come from `.dive-ci`
(YAML: a `rules:` mapping), then flags override them. A value that does not
parse, or is out of range, is a configuration error (exit 2), not a failure.

The figures come from `fs.wasted` (see there, and docs/DIFF-FORMAT.md, for the
one deliberate difference from dive: a whiteout of a file counts the size it
deletes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from layerslayer_tui.errors import LayerslayerError
from layerslayer_tui.fs import WastedReport
from layerslayer_tui.units import GO_FLOAT, parse_bytes  # parse_bytes re-exported: dive's byte sizes

RULES = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")
DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}
DISABLED = "disabled"
DEFAULT_FILE = ".dive-ci"
MAX_CONFIG_BYTES = 64 * 1024  # a rules file is a few lines; refuse to read a huge one

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


class CiConfigError(LayerslayerError):
    """The rules file or a rule value cannot be used (exit 2)."""


# -- values --------------------------------------------------------------------



def parse_ratio(text: str, rule: str) -> float:
    if not GO_FLOAT.fullmatch(text):
        raise ValueError(f"{rule} takes a ratio between 0 and 1, not {text!r}")
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(f"{rule} must be between 0 and 1 (a ratio, e.g. 0.9), not {text}")
    return value


def check_value(rule: str, text: str) -> None:
    """Raise CiConfigError when `text` is not a usable value for `rule`."""
    if text == DISABLED:
        return
    try:
        if rule == "highestWastedBytes":
            parse_bytes(text)
        else:
            parse_ratio(text, rule)
    except ValueError as exc:
        raise CiConfigError(f"The CI rule {rule}: {exc}.") from None


# -- the rules file --------------------------------------------------------------


def _scalar(raw: str, where: str) -> str:
    value = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith(("'", '"')) else raw.strip()
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        rest = value[end + 1:].strip() if end > 0 else "x"
        if end < 0 or (rest and not rest.startswith("#")):
            raise CiConfigError(f"{where}: the quoted value is not closed.")
        return value[1:end]
    if value[:1] in ("[", "{", "&", "*", "!", "|", ">"):
        raise CiConfigError(f"{where}: give a plain value (a number, a size or 'disabled').")
    return value


def read_rules(path: Path) -> dict[str, str]:
    """The rule values a `.dive-ci` file sets (dive's YAML: `rules:` then indented
    `name: value` lines; comments allowed; names case-blind as viper reads them)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise CiConfigError(f"Cannot read the CI rules file {path}: {exc.strerror or exc}.") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise CiConfigError(f"The CI rules file {path} is larger than {MAX_CONFIG_BYTES // 1024} KiB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CiConfigError(f"The CI rules file {path} is not UTF-8 text.") from None
    names = {r.lower(): r for r in RULES}
    found: dict[str, str] = {}
    section: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{path} line {number}"
        if not line.strip() or line.lstrip().startswith("#") or line.strip() in ("---", "..."):
            continue
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise CiConfigError(f"{where}: YAML does not allow tabs for indentation.")
        key, sep, raw = line.strip().partition(":")
        if not sep or not key or (raw and not raw[0].isspace()):
            raise CiConfigError(f"{where}: expected 'name: value' as in dive's .dive-ci.")
        key = key.strip().strip("'\"")
        if not line[0].isspace():
            section = key.lower()
            if raw.strip() and not raw.strip().startswith("#"):
                raise CiConfigError(f"{where}: '{key}' should hold the rules, one per indented line.")
            continue
        if section != "rules":
            continue  # viper ignores other settings; so do we
        if key.lower() not in names:
            raise CiConfigError(f"{where}: unknown rule {key!r} (dive knows {', '.join(RULES)}).")
        value = _scalar(raw, where)
        if not value:
            raise CiConfigError(f"{where}: the rule {key} has no value.")
        found[names[key.lower()]] = value
    return found


def resolve_rules(config: str | None, overrides: dict[str, str | None], cwd: Path | None = None) -> dict[str, str]:
    """dive's defaults, then the rules file (`config`, or `.dive-ci` in cwd when
    present), then the flags; every value checked."""
    rules = dict(DEFAULTS)
    if config is not None:
        path = Path(config)
        if not path.is_file():
            raise CiConfigError(f"The CI rules file {config} " + ("is not a file." if path.exists() else "does not exist."))
        rules.update(read_rules(path))
    else:
        default = (cwd or Path.cwd()) / DEFAULT_FILE
        if default.is_file():
            rules.update(read_rules(default))
    rules.update({k: v.strip() for k, v in overrides.items() if v is not None})
    for rule, value in rules.items():
        check_value(rule, value)
    return rules


# -- evaluation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Analysis:
    """dive's AnalysisResult figures for one image."""

    efficiency: float
    wasted_bytes: int
    size_bytes: int  # file bytes of every layer
    user_size_bytes: int  # file bytes of every layer but the first
    report: WastedReport

    @property
    def wasted_user_percent(self) -> float:
        """A ratio, as dive computes it (inf when the upper layers hold no bytes but waste exists)."""
        if self.user_size_bytes:
            return self.wasted_bytes / self.user_size_bytes
        return 0.0 if not self.wasted_bytes else math.inf


def analyse(report: WastedReport, layer_bytes: list[int]) -> Analysis:
    """layer_bytes: per layer, the content bytes its tar holds (dive's layer size)."""
    return Analysis(report.efficiency, report.wasted_bytes, sum(layer_bytes), sum(layer_bytes[1:]), report)


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    status: str  # PASS, FAIL, SKIP
    value: str  # the image's figure, as text
    limit: str  # the configured value ("disabled" when skipped)


def evaluate(analysis: Analysis, rules: dict[str, str]) -> list[RuleResult]:
    out = []
    for rule in RULES:
        limit = rules[rule]
        if rule == "lowestEfficiency":
            value, shown = analysis.efficiency, f"{analysis.efficiency:.4f}"
        elif rule == "highestWastedBytes":
            value, shown = analysis.wasted_bytes, str(analysis.wasted_bytes)
        else:
            value, shown = analysis.wasted_user_percent, f"{analysis.wasted_user_percent:.4f}"
        if limit == DISABLED:
            out.append(RuleResult(rule, SKIP, shown, limit))
            continue
        if rule == "lowestEfficiency":
            failed = parse_ratio(limit, rule) > value
        elif rule == "highestWastedBytes":
            failed = value > parse_bytes(limit)
        else:
            failed = parse_ratio(limit, rule) < value
        out.append(RuleResult(rule, FAIL if failed else PASS, shown, limit))
    return out


def passed(results: list[RuleResult]) -> bool:
    return all(r.status != FAIL for r in results)
