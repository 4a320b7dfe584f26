"""From a search hit back to the tree, decided without a screen."""

from __future__ import annotations

from layerslayer_tui.image import Descriptor, ImageInfo, LayerInfo, Platform
from layerslayer_tui.tui.hit_trail import HitTrail, layer_with

GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def image(digests: list[str]) -> ImageInfo:
    layers = [LayerInfo(i, Descriptor(GZ, d, 1)) for i, d in enumerate(digests)]
    return ImageInfo("localhost:5000", "t/h", "localhost:5000/t/h:1", "sha256:" + "m" * 64,
                     "application/vnd.oci.image.manifest.v1+json", "sha256:" + "c" * 64, {}, layers, [], False,
                     Platform("linux", "amd64"))


def test_a_repeated_digest_prefers_the_hinted_layer() -> None:
    img = image(["sha256:a", "sha256:b", "sha256:a"])
    assert layer_with(img, "sha256:a") == 0
    assert layer_with(img, "sha256:a", hint=2) == 2
    assert layer_with(img, "sha256:a", hint=1) == 0  # a wrong hint is ignored
    assert layer_with(img, "sha256:z") is None and layer_with(None, "sha256:a") is None


def test_a_pending_hit_picks_its_layer_then_reveals_its_path_once() -> None:
    trail = HitTrail(pending=("sha256:b", "etc/passwd"))
    assert trail.on_image(image(["sha256:a", "sha256:b"])) == (1, False)
    assert trail.pending is None
    assert trail.take_reveal(0, selected=1) is None  # another layer ended
    assert trail.take_reveal(1, selected=0) is None  # the user moved away
    assert trail.take_reveal(1, selected=1) == "etc/passwd"
    assert trail.take_reveal(1, selected=1) is None  # only once


def test_a_hit_whose_layer_is_missing_falls_back_to_the_default() -> None:
    trail = HitTrail(pending=("sha256:gone", "x"))
    assert trail.on_image(image(["sha256:a"])) == (None, True)
    assert trail.on_image(image(["sha256:a"])) == (None, False)  # told once
    assert trail.reveal is None
