"""Local sources (oci:, oci-archive:, docker-archive:) made by skopeo and
umoci from an image pushed to the real registry, read through the Session
exactly like the registry copy: same entries, same digests, same merged
view, same file contents."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bed.local_sources import LOCAL_FILES, LocalCopies, docker25_archive, merge_docker_archives, skopeo_copy, umoci_tag
from layerslayer_tui.cli import main
from layerslayer_tui.errors import LayerslayerError, NotFoundError, OfflineError
from layerslayer_tui.image import ImageInfo
from layerslayer_tui.session import Session
from layerslayer_tui.sources import AmbiguousImageError, is_local, parse_source
from layerslayer_tui.workspace import Workspace

pytestmark = pytest.mark.registry


@pytest.fixture
def session(tmp_path: Path):
    with Session(cache_path=tmp_path / "cache.db") as s:
        yield s


def read_all(session: Session, image: ImageInfo) -> tuple[list[list], Workspace]:
    """Every layer listed whole; (entries per layer, the workspace holding them)."""
    ws = Workspace(image)
    per_layer = []
    for layer in image.layers:
        listing = session.listing(image, layer, full=True)
        for batch in listing:
            ws.feed(layer.index, batch)
        assert listing.progress.complete and listing.progress.verified, listing.progress.note
        per_layer.append(listing.entries)
    return per_layer, ws


def merged(ws: Workspace) -> list[tuple]:
    return [(n.path, n.kind, n.entry.size if n.entry else None, n.layer_index) for n in ws.merged().walk()]


@pytest.fixture(scope="module")
def pushed(local_copies: LocalCopies, tmp_path_factory: pytest.TempPathFactory):
    """The registry copy, listed once: (image, entries per layer, merged view)."""
    with Session(cache=False) as s:
        image = s.open_image(local_copies.registry_ref)
        entries, ws = read_all(s, image)
        return image, entries, merged(ws)


def test_reference_forms() -> None:
    assert is_local("oci:dir") and is_local("docker-archive:x.tar:a:1") and not is_local("ubuntu:22.04")
    assert not is_local("localhost:5000/app:1")
    ref = parse_source("docker-archive:app.tar:localhost:5000/app:1")
    assert (ref.path, ref.name) == (os.path.abspath("app.tar"), "localhost:5000/app:1")
    assert str(parse_source("oci:/x/lay:@1")) == "oci:/x/lay:@1" and parse_source("oci:/x/lay:@1").index == 1
    assert str(parse_source("podman:localhost/app:1")) == "podman:localhost/app:1"
    with pytest.raises(LayerslayerError, match="Name the file"):
        parse_source("oci:")


@pytest.mark.parametrize("form", ["oci", "oci-archive"])
def test_oci_layout_and_archive_match_the_registry(form: str, local_copies: LocalCopies, pushed, session: Session) -> None:
    reg_image, reg_entries, reg_merged = pushed
    path = local_copies.oci_dir if form == "oci" else local_copies.oci_archive
    image = session.open_image(f"{form}:{path}:1")
    # skopeo converts the Docker manifest and config to OCI ones (new digests); layer blobs are copied as they are.
    assert [l.digest for l in image.layers] == [l.digest for l in reg_image.layers]
    assert [l.size for l in image.layers] == [l.size for l in reg_image.layers]
    assert [l.diff_id for l in image.layers] == [l.diff_id for l in reg_image.layers]
    assert [s.step for s in image.history] == [s.step for s in reg_image.history]
    entries, ws = read_all(session, image)
    assert entries == reg_entries
    assert merged(ws) == reg_merged
    assert session.carve(image, 2, "app/run").content == b"#!/bin/sh\necho bye\n"
    assert image.reference == f"{form}:{path}:1"


def test_oci_layout_keeps_the_manifest_digest_of_an_oci_image(sample_image, tmp_path: Path, session: Session) -> None:
    skopeo_copy(f"docker://{sample_image.app.ref}", f"oci:{tmp_path / 'lay'}:1", "--preserve-digests")
    image = session.open_image(f"oci:{tmp_path / 'lay'}")
    assert image.manifest_digest == sample_image.app.manifest_digest
    assert [l.digest for l in image.layers] == [l.digest for l in sample_image.app.layers]


def test_docker_archive_matches_the_registry(local_copies: LocalCopies, pushed, session: Session) -> None:
    reg_image, reg_entries, reg_merged = pushed
    image = session.open_image(f"docker-archive:{local_copies.docker_archive}")
    # docker-archive layers are stored uncompressed: each blob is its diff_id.
    assert [l.digest for l in image.layers] == [l.diff_id for l in reg_image.layers]
    assert image.config_digest == reg_image.config_digest
    entries, ws = read_all(session, image)
    assert entries == reg_entries
    assert merged(ws) == reg_merged
    assert session.carve(image, 1, "app/big.bin").content == LOCAL_FILES[1]["app/big.bin"]
    assert session.open_image(f"docker-archive:{local_copies.docker_archive}:local/app:1").config_digest == reg_image.config_digest


def test_docker25_archive_reads_the_oci_blobs(local_copies: LocalCopies, pushed, session: Session, tmp_path: Path) -> None:
    reg_image, reg_entries, reg_merged = pushed
    archive = docker25_archive(local_copies.oci_dir, tmp_path / "d25.tar", "local/app:1")
    image = session.open_image(f"docker-archive:{archive}")
    assert [l.digest for l in image.layers] == [l.digest for l in reg_image.layers]
    entries, ws = read_all(session, image)
    assert entries == reg_entries and merged(ws) == reg_merged


def test_gzipped_docker_archive(local_copies: LocalCopies, pushed, session: Session, tmp_path: Path) -> None:
    gz = tmp_path / "app.tar.gz"
    subprocess.run(f"gzip -c {local_copies.docker_archive} > {gz}", shell=True, check=True)
    image = session.open_image(f"docker-archive:{gz}")
    entries, _ws = read_all(session, image)
    assert entries == pushed[1]


def test_several_images_need_a_name(local_copies: LocalCopies, tmp_path: Path, session: Session) -> None:
    layout = tmp_path / "two"
    shutil.copytree(local_copies.oci_dir, layout)
    umoci_tag(layout, "1", "second")
    with pytest.raises(AmbiguousImageError) as err:
        session.platforms(f"oci:{layout}")
    assert err.value.choices == [f"oci:{layout}:1", f"oci:{layout}:second"]
    assert "holds 2 images" in str(err.value)
    assert session.open_image(err.value.choices[1]).tag == "second"
    with pytest.raises(NotFoundError, match="has no image named nope; it holds 1, second"):
        session.open_image(f"oci:{layout}:nope")

    both = merge_docker_archives([local_copies.docker_archive, local_copies.other_archive], tmp_path / "both.tar")
    with pytest.raises(AmbiguousImageError) as err:
        session.open_image(f"docker-archive:{both}")
    assert err.value.choices == [f"docker-archive:{both}:docker.io/local/app:1", f"docker-archive:{both}:docker.io/local/other:2"]
    other = session.open_image(f"docker-archive:{both}:local/other:2")  # familiar names match too
    assert other.config_digest == local_copies.other.config_digest
    assert session.open_image(f"docker-archive:{both}:@1").config_digest == local_copies.other.config_digest


def test_multi_platform_layout(sample_image, tmp_path: Path, session: Session) -> None:
    skopeo_copy(f"docker://{sample_image.multi.ref}", f"oci:{tmp_path / 'multi'}:1", "--all")
    ref = f"oci:{tmp_path / 'multi'}"
    with Session(cache=False) as reg:
        assert session.platforms(ref) == reg.platforms(sample_image.multi.ref)
    image = session.open_image(ref, "linux/arm64")
    assert image.manifest_digest == sample_image.arm64.manifest_digest
    assert image.index_digest == sample_image.multi.manifest_digest


def test_offline_and_cache_and_search(local_copies: LocalCopies, tmp_path: Path) -> None:
    ref = f"oci-archive:{local_copies.oci_archive}"
    with Session(cache_path=tmp_path / "c.db", offline=True) as s:
        image = s.open_image(ref)  # a local file needs no network, offline or not
        read_all(s, image)
        hits = s.search("app/run")
        assert {h.image for h in hits} == {ref} and {h.layer_index for h in hits} == {1, 2}
        assert s.listing(image, 0).cached  # listings are cached by digest, like a registry image's
        with pytest.raises(OfflineError):
            s.open_image("127.0.0.1:1/not/there:1")


def test_cli_export_of_a_layout(local_copies: LocalCopies, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["--json", "--full", f"oci:{local_copies.oci_dir}:1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "app/big.bin" in json.dumps(out)
    assert main(["--json", f"oci:{tmp_path / 'nowhere'}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_download_layer_from_an_archive(local_copies: LocalCopies, session: Session, tmp_path: Path) -> None:
    image = session.open_image(f"oci-archive:{local_copies.oci_archive}")
    dest = session.download_layer(image, 1, tmp_path / "layer.bin")
    assert "sha256:" + hashlib.sha256(dest.read_bytes()).hexdigest() == image.layers[1].digest


def test_partial_listing_reads_a_prefix_in_place(local_copies: LocalCopies, session: Session) -> None:
    """An uncompressed layer inside an uncompressed archive: the partial read
    stops at the budget, the rest continues from there (nothing read twice)."""
    image = session.open_image(f"docker-archive:{local_copies.docker_archive}")
    layer = image.layers[1]
    assert layer.size > 100_000
    listing = session.listing(image, layer, budget=16 * 1024)
    list(listing)
    assert not listing.progress.complete and 0 < listing.progress.compressed_read <= 16 * 1024
    assert listing.entries
    rest = list(listing.continue_full())
    assert listing.progress.complete and listing.progress.verified
    assert listing.progress.compressed_read == layer.size
    assert "app/big.bin" in [e.path for b in rest for e in b.entries] + [e.path for e in listing.entries]


def test_tags_of_a_local_image_is_one_sentence(local_copies: LocalCopies, session: Session) -> None:
    image = session.open_image(f"oci:{local_copies.oci_dir}")
    with pytest.raises(LayerslayerError, match=r"^A local oci: source has no tag list; name another image in it as oci:PATH:NAME\.$"):
        session.tags(image)


@pytest.mark.parametrize("form", ["oci", "oci-archive", "docker-archive"])
def test_cat_and_get_read_the_same_bytes_as_from_the_registry(form: str, local_copies: LocalCopies, tmp_path: Path,
                                                              monkeypatch, capsysbinary) -> None:
    """`cat` and `get` on a local copy give the registry copy's bytes: the
    merged view (app/run from the top layer, the link followed inside the
    image), and a file of a lower layer."""
    ref = {"oci": f"oci:{local_copies.oci_dir}:1", "oci-archive": f"oci-archive:{local_copies.oci_archive}",
           "docker-archive": f"docker-archive:{local_copies.docker_archive}"}[form]
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    for path in ("app/run", "app/link", "app/big.bin", "etc/os-release"):
        assert main(["cat", local_copies.registry_ref, path]) == 0
        want = capsysbinary.readouterr().out
        assert main(["cat", ref, path]) == 0
        assert capsysbinary.readouterr().out == want, path
    assert want == b"ID=local\n"
    assert main(["cat", ref, "etc/hostname"]) == 2  # deleted by a whiteout in layer 1
    assert b"hostname" in capsysbinary.readouterr().err
    out = tmp_path / "got"
    out.mkdir()
    assert main(["get", ref, "app", "-o", str(out)]) == 0
    assert (out / "app" / "big.bin").read_bytes() == bytes(range(256)) * 600
    assert (out / "app" / "run").read_bytes() == b"#!/bin/sh\necho bye\n"
