from __future__ import annotations

import platform as host

import pytest

from layerslayer_tui.errors import InvalidReferenceError
from layerslayer_tui.registry.history import align, pretty_step, steps_from_config
from layerslayer_tui.image import Descriptor, HistoryStep, Platform
from layerslayer_tui.registry.platforms import choose, host_platform, is_attestation, normalise, parse_platform


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (("linux", "x86_64", None), ("linux", "amd64", None)),
        (("linux", "aarch64", None), ("linux", "arm64", None)),
        (("linux", "arm64", "v8"), ("linux", "arm64", None)),
        (("linux", "armhf", None), ("linux", "arm", "v7")),
        (("linux", "armel", None), ("linux", "arm", "v6")),
        (("linux", "arm", None), ("linux", "arm", "v7")),
        (("linux", "arm", "v6"), ("linux", "arm", "v6")),
        (("linux", "i386", None), ("linux", "386", None)),
        (("Linux", "AMD64", None), ("linux", "amd64", None)),
        (("linux", "s390x", None), ("linux", "s390x", None)),
    ],
)
def test_normalisation_table(given: tuple, want: tuple) -> None:
    p = normalise(Platform(*given))
    assert (p.os, p.architecture, p.variant) == want


def test_parse_platform_and_host_default() -> None:
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64")
    assert parse_platform("linux/arm") == Platform("linux", "arm", "v7")
    for bad in ("linux", "linux/", "a/b/c/d", ""):
        with pytest.raises(InvalidReferenceError, match="os/arch"):
            parse_platform(bad)
    assert host_platform() == normalise(Platform("linux", host.machine()))


def _d(n: int, os_: str, arch: str, variant: str | None = None, ann: dict | None = None) -> Descriptor:
    return Descriptor("application/vnd.oci.image.manifest.v1+json", f"sha256:{n:064x}", 100, ann or {}, (), Platform(os_, arch, variant))


def test_choose_skips_attestations_and_first_match_wins() -> None:
    att = _d(1, "unknown", "unknown", ann={"vnd.docker.reference.type": "attestation-manifest"})
    entries = [att, _d(2, "linux", "amd64"), _d(3, "linux", "arm", "v6"), _d(4, "linux", "arm", "v7"),
               _d(5, "linux", "arm64", "v8"), _d(6, "linux", "amd64")]
    assert is_attestation(att)
    assert choose(entries, parse_platform("linux/amd64")).digest.endswith("2")
    assert choose(entries, parse_platform("linux/aarch64")).digest.endswith("5")
    assert choose(entries, parse_platform("linux/arm64/v8")).digest.endswith("5")
    assert choose(entries, parse_platform("linux/arm")).digest.endswith("4")  # bare arm means v7
    assert choose(entries, parse_platform("linux/arm/v6")).digest.endswith("3")
    assert choose(entries, parse_platform("windows/amd64")) is None
    assert choose(entries, Platform("unknown", "unknown")) is None  # attestations are never chosen


def test_windows_os_version_must_match() -> None:
    entries = [
        Descriptor("m", "sha256:" + "1" * 64, 1, {}, (), Platform("windows", "amd64", None, "10.0.17763.1")),
        Descriptor("m", "sha256:" + "2" * 64, 1, {}, (), Platform("windows", "amd64", None, "10.0.20348.1")),
    ]
    assert choose(entries, Platform("windows", "amd64", None, "10.0.20348.1")).digest.endswith("2")
    assert choose(entries, Platform("windows", "amd64")).digest.endswith("1")


# -- history -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "pretty"),
    [
        ('/bin/sh -c #(nop)  CMD ["bash"]', 'CMD ["bash"]'),
        ("/bin/sh -c #(nop) ADD file:5b1e in / ", "ADD file:5b1e in /"),
        ("/bin/sh -c apt-get update", "RUN apt-get update"),
        ("|2 A=1 B=2 /bin/sh -c make", "RUN make"),
        ("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit", "RUN apt-get update && apt-get install -y curl"),
        ("COPY app /app # buildkit", "COPY app /app"),
        ("ENV LANG=C.UTF-8", "ENV LANG=C.UTF-8"),
        ("WORKDIR /app", "WORKDIR /app"),
        ("", ""),
    ],
)
def test_pretty_steps(raw: str, pretty: str) -> None:
    assert pretty_step(raw) == pretty


def test_align_by_empty_layer_keeps_raw_text() -> None:
    cfg = {
        "history": [
            {"created_by": "/bin/sh -c #(nop) ADD file:x in / "},
            {"created_by": '/bin/sh -c #(nop)  CMD ["bash"]', "empty_layer": True},
            {"created_by": "WORKDIR /app", "comment": "buildkit.dockerfile.v0"},  # a real (empty) layer: not inferred
            {"created_by": "RUN /bin/sh -c make # buildkit", "created": "2024-01-01T00:00:00Z"},
            {"created_by": "EXPOSE 80", "empty_layer": True},
        ]
    }
    steps = steps_from_config(cfg)
    assert align(steps, 3)
    assert [s.layer_index for s in steps] == [0, None, 1, 2, None]
    assert steps[3].created_by == "RUN /bin/sh -c make # buildkit" and steps[3].step == "RUN make"
    assert steps[3].created == "2024-01-01T00:00:00Z" and steps[2].comment == "buildkit.dockerfile.v0"


def test_align_leaves_everything_unlabelled_when_counts_disagree() -> None:
    steps = [HistoryStep("a", "a"), HistoryStep("b", "b", empty_layer=True), HistoryStep("c", "c")]
    assert not align(steps, 3)
    assert all(s.layer_index is None for s in steps)
    assert steps_from_config({"history": "nonsense"}) == []
    assert steps_from_config({"history": [None, {"created_by": 5}]})[1].created_by == ""
