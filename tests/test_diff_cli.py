"""`layerslayer-tui diff` against the real registry with images the bed builds
(tests/bed/compare.py): every kind of file change, config changes, layer
alignment, recompressed copies, --platform, partial listings, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bed.compare import CompareImages
from layerslayer_tui.cli import main

pytestmark = pytest.mark.registry


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["diff", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_path(doc: dict) -> dict[str, dict]:
    return {f["path"]: f for f in doc["files"]}


def test_every_kind_of_file_change(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    code, doc = run_json(capsys, imgs.a.ref, imgs.b.ref, "--full")
    assert code == 1 and doc["complete"] is True and doc["same"] is False
    files = by_path(doc)
    # A's whiteout of etc/gone: B still has it
    assert files["etc/gone"]["change"] == "added" and files["etc/gone"]["a"] is None
    assert files["etc/gone"]["b"]["layer"] == 0 and files["etc/gone"]["b"]["layer_digest"] == imgs.a.layers[0].digest
    # A's opaque opt: B has the base's opt/d, opt/keep; A has opt/new
    assert files["opt/d"]["change"] == "added" and files["opt/d/x"]["change"] == "added"
    assert files["opt/keep"]["change"] == "added" and files["opt/new"]["change"] == "removed"
    # B's opaque home and whiteout of the readme
    assert files["home/user"]["change"] == "removed" and files["home/user/notes"]["change"] == "removed"
    assert files["usr/share/doc/readme"]["change"] == "removed"
    # file -> directory (etc/conf) and directory -> file (srv)
    conf = files["etc/conf"]
    assert conf["change"] == "changed" and conf["fields"] == ["type"]
    assert conf["a"]["type"] == "file" and conf["b"]["type"] == "dir"
    assert files["etc/conf/inner"]["change"] == "added"
    assert files["srv"]["fields"] == ["type"] and files["srv"]["b"]["type"] == "file"
    assert files["srv/thing"]["change"] == "removed"
    # symlink retargeted
    link = files["lib/link"]
    assert link["fields"] == ["link"] and link["a"]["link"] == "../bin/sh" and link["b"]["link"] == "../bin/busybox"
    # mode-only and owner-only (size and content equal)
    assert files["bin/sh"]["fields"] == ["mode"] and files["bin/sh"]["b"]["mode"] == 0o700
    assert files["etc/passwd"]["fields"] == ["size", "owner"]
    assert files["etc/passwd"]["b"]["uid"] == 7
    # content-size change of a file in both tops
    assert files["app/main.py"]["fields"] == ["size"]
    # export-format entries: no leading ./ or /
    assert all(not p.startswith(("./", "/")) for p in files)
    # nothing that is equal shows up
    assert "var/data" not in files and "bin" not in files and "usr/share/doc" not in files
    assert doc["totals"]["added"] == sum(1 for f in doc["files"] if f["change"] == "added"
                                        and (f["b"]["type"] != "dir"))


def test_the_reverse_diff_swaps_sides(compare_images: CompareImages, env: Path, capsys) -> None:
    code, doc = run_json(capsys, compare_images.b.ref, compare_images.a.ref, "--full")
    files = by_path(doc)
    assert code == 1
    assert files["etc/conf"]["a"]["type"] == "dir" and files["etc/conf"]["b"]["type"] == "file"  # and back
    assert files["etc/conf/inner"]["change"] == "removed" and files["etc/gone"]["change"] == "removed"


def test_config_changes_and_layer_alignment(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    _code, doc = run_json(capsys, imgs.a.ref, imgs.b.ref, "--full")
    config = {c["field"]: (c["a"], c["b"]) for c in doc["config"]}
    assert config["cmd"] == (["/app/main.py"], ["/app/main.py", "--b"])
    assert config["env.VERSION"] == ("1", "2") and config["env.NEW"] == (None, "x") and "env.PATH" not in config
    assert config["workdir"] == ("/app", "/srv") and config["user"] == (None, "svc")
    assert config["entrypoint"] == (None, ["/bin/sh", "-c"])
    assert config["labels.version"] == ("1.4", "1.5")
    assert config["exposed_ports"] == (["80/tcp"], ["443/tcp", "80/tcp"]) and config["volumes"] == (None, ["/data"])
    rows = doc["layers"]
    assert [r["status"] for r in rows] == ["shared", "removed", "added"]
    assert rows[0]["a"]["digest"] == rows[0]["b"]["digest"] == imgs.a.layers[0].digest
    assert doc["a"]["manifest_digest"] == imgs.a.manifest_digest
    assert doc["b"]["config_digest"] == imgs.b.config_digest


def test_the_shared_base_is_read_once_then_not_at_all(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs, reg = compare_images, compare_images.registry
    base = imgs.a.layers[0].digest
    mark = reg.log_mark()
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--stat"]) == 1
    tops = {imgs.a.layers[1].digest, imgs.b.layers[1].digest}
    gets = [r for r in reg.access_log(mark, until=lambda rs: sum(r.is_blob_get for r in rs) >= 3) if r.is_blob_get]
    base_gets = [r for r in gets if base in r.path]
    # one whole read (a full listing may also peek at the blob's tail for an index footer)
    assert sum(r.written for r in base_gets) < imgs.a.layers[0].size + 65536, base_gets
    assert sum(r.written >= imgs.a.layers[0].size for r in base_gets) == 1
    assert {d for d in tops if any(d in r.path for r in gets)} == tops
    capsys.readouterr()
    mark = reg.log_mark()
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--stat"]) == 1  # warm cache
    assert not [r for r in reg.access_log(mark, timeout=0.5) if r.is_blob_get]


def test_the_shared_base_is_read_once_without_a_cache(compare_images: CompareImages, env: Path, capsys) -> None:
    """Not the cache's doing: with --no-cache the base is still listed once for both images."""
    imgs, reg = compare_images, compare_images.registry
    base = imgs.a.layers[0].digest
    mark = reg.log_mark()
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--no-cache", "--stat"]) == 1  # partial peeks: one GET each
    gets = [r for r in reg.access_log(mark, until=lambda rs: sum(r.is_blob_get for r in rs) >= 5) if r.is_blob_get]
    layers = {layer.digest for image in (imgs.a, imgs.b) for layer in image.layers}
    layer_gets = [r for r in gets if r.path.rsplit("/", 1)[-1] in layers]
    assert sum(base in r.path for r in layer_gets) == 1 and len(layer_gets) == 3  # base, top A, top B


def test_recompressed_copy_has_no_file_changes(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    code, doc = run_json(capsys, imgs.a.ref, imgs.a_zstd.ref, "--full")
    assert doc["files"] == [] and doc["config"] == [] and doc["complete"] is True
    assert [r["status"] for r in doc["layers"]] == ["shared", "recompressed"]
    assert doc["a"]["manifest_digest"] != doc["b"]["manifest_digest"]
    assert code == 0
    assert main(["diff", imgs.a.ref, imgs.a_zstd.ref, "--full"]) == 0
    out = capsys.readouterr().out
    assert f"(recompressed in B: {imgs.a_zstd.layers[1].digest[7:19]}" in out and "Files: no differences." in out


def test_platform_applies_to_both(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    code, doc = run_json(capsys, imgs.multi_1.ref, imgs.multi_2.ref, "--platform", "linux/arm64", "--full")
    assert code == 1
    assert doc["a"]["manifest_digest"] == imgs.arm_1.manifest_digest
    assert doc["b"]["manifest_digest"] == imgs.arm_2.manifest_digest
    assert doc["a"]["platform"] == doc["b"]["platform"] == "linux/arm64"
    assert [(f["path"], f["fields"]) for f in doc["files"]] == [("arch", ["size"])]
    code, doc = run_json(capsys, imgs.multi_1.ref, imgs.multi_2.ref, "--platform", "linux/amd64", "--full")
    assert code == 0 and doc["same"] is True


def test_a_partial_listing_is_reported_as_such(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    code = main(["diff", imgs.big_1.ref, imgs.big_2.ref, "--json"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["complete"] is False and doc["same"] is False
    assert 1 in doc["a"]["partial_layers"] and 1 in doc["b"]["partial_layers"]
    assert code != 0
    assert "not a full diff" in captured.err
    code = main(["diff", imgs.big_1.ref, imgs.big_2.ref])
    out = capsys.readouterr().out
    assert "INCOMPLETE: layers A " in out and "use --full" in out
    code, doc = run_json(capsys, imgs.big_1.ref, imgs.big_2.ref, "--full")
    assert doc["complete"] is True and code == 1
    assert doc["totals"]["changed"] == 40 and doc["totals"]["added"] == 0


def test_a_partial_listing_without_differences_never_says_same(compare_images: CompareImages, env: Path,
                                                               capsys) -> None:
    imgs = compare_images
    code = main(["diff", imgs.big_1.ref, imgs.big_1.ref])
    captured = capsys.readouterr()
    assert code == 2 and "not a full diff" in captured.err


def test_text_report_groups_by_directory_and_escapes(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full"]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "esc\\x1b[2Jname" in out and "\\x1b]0;title\\x07\\u202eevil" in out
    assert "etc: " in out and "  ~ etc/conf  type file -> dir" in out
    assert "  ~ lib/link  link ../bin/sh -> ../bin/busybox" in out
    assert "  env.VERSION: 1 -> 2" in out
    assert "Layers (A | B):" in out


def test_stat_and_filter(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--stat"]) == 1
    out = capsys.readouterr().out
    assert "  etc: " in out and "  ~ " not in out and "Layers" not in out
    code, doc = run_json(capsys, imgs.a.ref, imgs.b.ref, "--full", "--filter", "etc/*")
    assert {f["path"] for f in doc["files"]} == {"etc/conf", "etc/conf/inner", "etc/gone", "etc/passwd"}
    assert doc["filter"] == "etc/*"
    code, doc = run_json(capsys, imgs.a.ref, imgs.b.ref, "--full", "--stat")
    assert "files" not in doc and doc["totals"]["removed"] > 0


def test_missing_image_is_exit_2(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    code = main(["diff", imgs.a.ref, f"{imgs.a.host}/cmp/app:nope"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_diff_needs_two_images(env: Path, capsys) -> None:
    assert main(["diff", "only-one"]) == 2
    assert "two images" in capsys.readouterr().err


def test_export_writes_the_report_to_a_file(compare_images: CompareImages, env: Path, capsys) -> None:
    imgs = compare_images
    out = env / "d.json"
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--export", str(out)]) == 1
    assert json.loads(out.read_text())["files"] and capsys.readouterr().out == ""
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--export", str(out)]) == 2  # exists
    assert "already exists" in capsys.readouterr().err
    assert main(["diff", imgs.a.ref, imgs.b.ref, "--full", "--export", str(env / "d.txt")]) == 1
    assert (env / "d.txt").read_text().startswith("A: ")


def test_a_local_layout_against_the_registry(compare_images: CompareImages, env: Path, capsys) -> None:
    """Any image source works on either side: an OCI layout copy of A is A."""
    from bed.local_sources import skopeo_copy

    imgs = compare_images
    layout = env / "layout"
    skopeo_copy(f"docker://{imgs.a.ref}", f"oci:{layout}:a")
    code, doc = run_json(capsys, f"oci:{layout}:a", imgs.a.ref, "--full")
    assert doc["same"] is True and code == 0
    assert [r["status"] for r in doc["layers"]] == ["shared", "shared"]
    code, doc = run_json(capsys, f"oci:{layout}:a", imgs.b.ref, "--full")
    assert code == 1 and by_path(doc)["etc/conf"]["fields"] == ["type"]
