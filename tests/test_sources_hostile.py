"""Hostile and broken local sources: each is refused with one sentence and
nothing outside the layout or archive is read."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from bed.local_sources import LocalCopies
from layerslayer_tui.errors import LayerFormatError, LayerslayerError, NotFoundError, ProtocolError
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry

SECRET = b"secret outside the archive\n"


def one_sentence(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and text.endswith(".") and text[0].isupper(), text
    return text


@pytest.fixture
def session(tmp_path: Path):
    with Session(cache=False) as s:
        yield s


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def add(tf: tarfile.TarFile, name: str, data: bytes = b"", **kw: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data) if data else None)


def rewrite_archive(src: Path, dest: Path, manifest: list | None = None, extra: list[tuple[str, dict]] = ()) -> Path:
    """A copy of a docker-archive with its manifest.json replaced and extra members."""
    with tarfile.open(src) as tf, tarfile.open(dest, "w") as out:
        original = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
        for m in tf.getmembers():
            if m.name != "manifest.json":
                out.addfile(m, tf.extractfile(m) if m.isreg() else None)
        for name, kw in extra:
            add(out, name, **kw)
        add(out, "manifest.json", json.dumps(manifest if manifest is not None else original).encode())
    return dest


def docker_manifest(local_copies: LocalCopies) -> list:
    with tarfile.open(local_copies.docker_archive) as tf:
        return json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]


@pytest.mark.parametrize("where", ["Config", "Layers"])
@pytest.mark.parametrize("path", ["../../outside/secret.txt", "/etc/passwd", "blobs/../../x"])
def test_manifest_json_pointing_outside(where: str, path: str, local_copies: LocalCopies, session: Session, tmp_path: Path) -> None:
    items = docker_manifest(local_copies)
    if where == "Config":
        items[0]["Config"] = path
    else:
        items[0]["Layers"][1] = path
    archive = rewrite_archive(local_copies.docker_archive, tmp_path / "evil.tar", items)
    with pytest.raises(ProtocolError) as err:
        session.open_image(f"docker-archive:{archive}")
    assert "outside the archive" in one_sentence(err.value)


def test_link_member_pointing_outside(local_copies: LocalCopies, session: Session, tmp_path: Path, outside: Path) -> None:
    items = docker_manifest(local_copies)
    items[0]["Layers"][0] = "evil/layer.tar"
    for target in (str(outside), "../../outside/secret.txt"):
        archive = rewrite_archive(local_copies.docker_archive, tmp_path / "evil.tar", items,
                                  [("evil/layer.tar", {"type": tarfile.SYMTYPE, "linkname": target})])
        with pytest.raises(ProtocolError) as err:
            session.open_image(f"docker-archive:{archive}")
        assert "outside the archive; it is not followed" in one_sentence(err.value)


def test_link_member_inside_the_archive_is_followed(local_copies: LocalCopies, session: Session, tmp_path: Path) -> None:
    """skopeo's own archives link <id>/layer.tar to ../<diffid>.tar: that stays inside and is read."""
    items = docker_manifest(local_copies)
    real = items[0]["Layers"][0]
    items[0]["Layers"][0] = "abc/layer.tar"
    archive = rewrite_archive(local_copies.docker_archive, tmp_path / "ok.tar", items,
                              [("abc/layer.tar", {"type": tarfile.SYMTYPE, "linkname": f"../{real}"})])
    image = session.open_image(f"docker-archive:{archive}")
    assert image.layers[0].digest == "sha256:" + real.removesuffix(".tar")


@pytest.fixture
def layout(local_copies: LocalCopies, tmp_path: Path) -> Path:
    dest = tmp_path / "layout"
    shutil.copytree(local_copies.oci_dir, dest)
    return dest


def blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.split(":")[1]


def test_symlinked_blob_in_a_layout(layout: Path, session: Session, outside: Path) -> None:
    image = session.open_image(f"oci:{layout}")
    target = blob(layout, image.layers[0].digest)
    outside.write_bytes(target.read_bytes())  # same bytes: only the link itself can be the reason to refuse
    target.unlink()
    target.symlink_to(outside)
    with pytest.raises(ProtocolError) as err:
        list(session.listing(image, 0, full=True))
    assert "is a symbolic link; it is not followed" in one_sentence(err.value)


def test_symlinked_blobs_directory(layout: Path, session: Session, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(layout / "blobs", elsewhere)
    (layout / "blobs").symlink_to(elsewhere)
    with pytest.raises(ProtocolError) as err:
        session.open_image(f"oci:{layout}")
    assert "The path blobs in the layout" in one_sentence(err.value) and "symbolic link" in str(err.value)


def test_missing_blob_is_one_sentence(layout: Path, session: Session) -> None:
    image = session.open_image(f"oci:{layout}")
    blob(layout, image.layers[2].digest).unlink()
    with pytest.raises(NotFoundError) as err:
        list(session.listing(image, 2))
    assert one_sentence(err.value) == f"The blob {image.layers[2].digest[:19]}… is missing from the layout {layout}."


def test_layer_digest_mismatch_is_never_verified(layout: Path, session: Session) -> None:
    image = session.open_image(f"oci:{layout}")
    path = blob(layout, image.layers[1].digest)
    data = bytearray(path.read_bytes())
    data[4] ^= 0xFF  # the gzip header's mtime: the entries still decode, the digest cannot match
    path.write_bytes(bytes(data))
    listing = session.listing(image, 1, full=True)
    list(listing)
    assert not listing.progress.verified and not listing.progress.complete
    assert "digest" in listing.progress.note


def test_config_digest_mismatch(layout: Path, session: Session) -> None:
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(blob(layout, index["manifests"][0]["digest"]).read_text())
    path = blob(layout, manifest["config"]["digest"])
    path.write_bytes(path.read_bytes().replace(b"amd64", b"arm64"))
    with pytest.raises(ProtocolError) as err:
        session.open_image(f"oci:{layout}")
    assert "does not match its digest" in one_sentence(err.value)


def test_truncated_archive(local_copies: LocalCopies, session: Session, tmp_path: Path) -> None:
    data = local_copies.docker_archive.read_bytes()
    with tarfile.open(local_copies.docker_archive) as tf:
        last_layer = docker_manifest(local_copies)[0]["Layers"][-1]
        cut = tf.getmember(last_layer).offset_data + 700  # inside the last layer
    for size in (cut, len(data) // 3, 100):
        short = tmp_path / f"short-{size}.tar"
        short.write_bytes(data[:size])
        with pytest.raises(LayerslayerError) as err:
            image = session.open_image(f"docker-archive:{short}")
            list(session.listing(image, len(image.layers) - 1, full=True))
        text = one_sentence(err.value)
        assert "truncated" in text or "no manifest.json" in text or "not a tar archive" in text


def test_not_a_layout(tmp_path: Path, session: Session) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.bin").write_bytes(b"not a tar " * 400)
    cases = [
        (f"oci:{tmp_path / 'empty'}", "is not an OCI image layout: it has no index.json"),
        (f"oci:{tmp_path / 'file.bin'}", "is not a directory"),
        (f"oci-archive:{tmp_path / 'file.bin'}", "is not a tar archive, or is truncated"),
        (f"oci-archive:{tmp_path / 'empty'}", "is a directory, not an archive"),
        (f"docker-archive:{tmp_path / 'nope.tar'}", "does not exist"),
    ]
    for ref, words in cases:
        with pytest.raises(LayerslayerError) as err:
            session.open_image(ref)
        assert words in one_sentence(err.value)


def test_descriptor_digest_with_a_path_in_a_layout(layout: Path, session: Session) -> None:
    """A layout names blobs by digest; a 'digest' holding a path is refused before any open."""
    index = json.loads((layout / "index.json").read_text())
    index["manifests"][0]["digest"] = "sha256:../../../outside/secret.txt"
    (layout / "index.json").write_text(json.dumps(index))
    with pytest.raises(ProtocolError) as err:
        session.open_image(f"oci:{layout}")
    assert "invalid digest" in one_sentence(err.value)
