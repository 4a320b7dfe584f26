"""`IMAGE --ci`: dive's rules and .dive-ci format, against images with
hand-computed waste (tests/bed/compare.py: WASTE_*), on the real registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bed.compare import WASTE_BYTES, WASTE_EFFICIENCY, WASTE_USER_BYTES, WASTE_USER_PERCENT
from bed.images import PushedImage
from layerslayer_tui import ci
from layerslayer_tui.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # where .dive-ci is looked for
    return tmp_path


def dive_ci(where: Path, body: str, name: str = ".dive-ci") -> Path:
    path = where / name
    path.write_text(body)
    return path


@pytest.mark.registry
def test_figures_match_the_hand_computed_ones(waste_image: PushedImage, env: Path, capsys) -> None:
    main([waste_image.ref, "--ci", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["efficiency"] == pytest.approx(WASTE_EFFICIENCY)
    assert doc["wasted_bytes"] == WASTE_BYTES
    assert doc["user_size_bytes"] == WASTE_USER_BYTES
    assert doc["wasted_user_percent"] == pytest.approx(WASTE_USER_PERCENT)


@pytest.mark.registry
def test_dive_defaults_without_a_rules_file(waste_image: PushedImage, lean_image: PushedImage, env: Path,
                                           capsys) -> None:
    assert main([waste_image.ref, "--ci"]) == 1
    out = capsys.readouterr().out
    assert "  FAIL: lowestEfficiency: 0.6429 < 0.9" in out
    assert "  SKIP: highestWastedBytes: disabled" in out
    assert "  FAIL: highestUserWastedPercent: 1.2857 > 0.1" in out
    assert "Result: FAIL [Total:3] [Passed:0] [Failed:2] [Skipped:1]" in out
    assert "      2          5.9K  b" in out  # dive's inefficient-files table: count, cumulative size, path
    assert main([lean_image.ref, "--ci"]) == 0
    assert "Result: PASS" in capsys.readouterr().out


@pytest.mark.registry
def test_a_dive_ci_file_in_dives_format(waste_image: PushedImage, env: Path, capsys) -> None:
    dive_ci(env, """\
rules:
  # If the efficiency is measured below X%, mark as failed.
  # Expressed as a ratio between 0-1.
  lowestEfficiency: 0.64

  # If the amount of wasted space is at least X or larger than X, mark as failed.
  # Expressed in B, KB, MB, and GB.
  highestWastedBytes: 9KB

  # If the amount of wasted space makes up for X% or more of the image, mark as failed.
  # Note: the base image layer is NOT included in the total image size.
  # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.
  highestUserWastedPercent: disabled
""")
    assert main([waste_image.ref, "--ci"]) == 0
    out = capsys.readouterr().out
    assert "  PASS: lowestEfficiency: 0.6429 >= 0.64" in out
    assert "  PASS: highestWastedBytes: 9000 <= 9KB" in out  # 9KB is 9000 bytes, as go-humanize reads it


@pytest.mark.registry
@pytest.mark.parametrize(("rule", "limit", "status"), [
    ("lowestEfficiency", "0.65", "FAIL"),
    ("lowestEfficiency", "0.6428", "PASS"),
    ("highestWastedBytes", "8999", "FAIL"),
    ("highestWastedBytes", "8.9KB", "FAIL"),
    ("highestWastedBytes", "9KiB", "PASS"),
    ("highestUserWastedPercent", "1", "FAIL"),
    ("highestUserWastedPercent", "disabled", "SKIP"),
])  # fmt: skip
def test_each_rule_passes_and_fails(waste_image: PushedImage, env: Path, capsys, rule: str, limit: str,
                                    status: str) -> None:
    others = {r: "disabled" for r in ci.RULES if r != rule}
    body = "rules:\n" + "".join(f"  {k}: {v}\n" for k, v in {**others, rule: f'"{limit}"'}.items())
    config = dive_ci(env, body, "rules.yaml")
    code = main([waste_image.ref, "--ci", "--ci-config", str(config), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert {r["rule"]: r["status"] for r in doc["rules"]}[rule] == status
    assert code == (1 if status == "FAIL" else 0)


@pytest.mark.registry
def test_flags_override_the_file(waste_image: PushedImage, env: Path, capsys) -> None:
    dive_ci(env, "rules:\n  lowestEfficiency: 0.99\n  highestUserWastedPercent: disabled\n")
    assert main([waste_image.ref, "--ci"]) == 1
    capsys.readouterr()
    assert main([waste_image.ref, "--ci", "--lowestEfficiency", "0.5"]) == 0


@pytest.mark.parametrize("body", [
    "rules:\n  lowestEfficiency: 1.5\n",
    "rules:\n  highestWastedBytes: 20XB\n",
    "rules:\n  highestWastedBytes: -5MB\n",
    "rules:\n  lowestEfficiency: NaN\n",
    "rules:\n  lowestEfficiency: \n",
    "rules:\n\tlowestEfficiency: 0.9\n",
    "rules: [lowestEfficiency]\n",
    "rules:\n  lowestEfficency: 0.9\n",
    "rules:\n  lowestEfficiency: '0.9\n",
    "just some text\n",
])  # fmt: skip
def test_malformed_rules_files_are_exit_2_in_one_sentence(env: Path, capsys, body: str) -> None:
    config = dive_ci(env, body, "bad.yaml")
    # no registry needed: the rules are read before the image is opened
    assert main(["127.0.0.1:9/never/contacted:1", "--ci", "--ci-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and err.startswith("layerslayer-tui: ")


def test_other_config_errors(env: Path, capsys) -> None:
    assert main(["127.0.0.1:9/x:1", "--ci", "--ci-config", str(env / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (env / "bin.yaml").write_bytes(b"rules:\n  lowestEfficiency: \xff\n")
    assert main(["127.0.0.1:9/x:1", "--ci", "--ci-config", str(env / "bin.yaml")]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert main(["127.0.0.1:9/x:1", "--ci", "--highestWastedBytes", "lots"]) == 2
    assert "highestWastedBytes" in capsys.readouterr().err


@pytest.mark.registry
def test_missing_image_is_exit_2(waste_image: PushedImage, env: Path, capsys) -> None:
    assert main([f"{waste_image.host}/ci/nothing:1", "--ci"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("text", "value"), [
    ("20MB", 20_000_000), ("20mb", 20_000_000), ("20M", 20_000_000), ("20MiB", 20 * 2**20), ("20 MiB", 20 * 2**20),
    ("1,000", 1000), ("1.5 kB", 1500), ("20", 20), ("0", 0), ("2Gi", 2 * 2**30), ("0.5KiB", 512),
])  # fmt: skip
def test_sizes_as_go_humanize_reads_them(text: str, value: int) -> None:
    assert ci.parse_bytes(text) == value


@pytest.mark.parametrize("text", ["-5", "MB", "20XB", "NaN", "", " 20MB", "1e3", "99999999999999999999 EB"])
def test_sizes_that_do_not_parse(text: str) -> None:
    with pytest.raises(ValueError):
        ci.parse_bytes(text)
