from __future__ import annotations

import pytest

from layerslayer_tui.errors import InvalidReferenceError
from layerslayer_tui.reference import Reference, parse

HEX = "a3" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("user/app:1", "docker.io", "user/app", "1", None),
        ("localhost:5000/foo", "localhost:5000", "foo", "latest", None),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
        ("foo:5000/bar", "foo:5000", "bar", "latest", None),
        ("foo/bar:5000", "docker.io", "foo/bar", "5000", None),
        ("myregistry/foo", "docker.io", "myregistry/foo", "latest", None),
        ("[::1]:5000/foo:bar", "[::1]:5000", "foo", "bar", None),
        (f"ubuntu:22.04@sha256:{HEX}", "docker.io", "library/ubuntu", "22.04", f"sha256:{HEX}"),
        (f"ubuntu@sha256:{HEX}", "docker.io", "library/ubuntu", None, f"sha256:{HEX}"),
        ("index.docker.io/library/ubuntu:20.04", "docker.io", "library/ubuntu", "20.04", None),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("localhost/foo", "localhost", "foo", "latest", None),
        ("Foo/bar", "Foo", "bar", "latest", None),  # an uppercase first component is a host
        ("ghcr.io/owner/repo/sub:v1.2-rc_3", "ghcr.io", "owner/repo/sub", "v1.2-rc_3", None),
        ("a__b/c--d.e_f", "docker.io", "a__b/c--d.e_f", "latest", None),
        ("127.0.0.1:5000/x/y", "127.0.0.1:5000", "x/y", "latest", None),
        ("ubuntu:" + "t" * 128, "docker.io", "library/ubuntu", "t" * 128, None),
    ],
)
def test_parse_table(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_digest_wins_for_what_is_pulled() -> None:
    ref = parse(f"ubuntu:22.04@sha256:{HEX}")
    assert ref.identifier == f"sha256:{HEX}"
    assert parse("ubuntu:22.04").identifier == "22.04"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Ubuntu", "must be lowercase"),
        ("user/App", "must be lowercase"),
        ("foo..bar/x", "lowercase letters and digits"),
        ("ubuntu:" + "t" * 129, "129 characters long"),
        (f"ubuntu@sha256:{HEX.upper()}", "64 lowercase hex"),
        ("ubuntu@sha256:abc", "not a digest"),
        (f"ubuntu@md5:{HEX}", "not supported"),
        ("ubuntu:.bad", "must not start with"),
        ("foo//bar", "empty path component"),
        ("foo/", "empty path component"),
        (HEX, "image ID"),
        ("", "empty"),
        ("   ", "empty"),
        ("ubuntu:tag:more", "tag"),
        ("x" * 300, "at most 255"),
    ],
)
def test_invalid_references_say_why(text: str, words: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse(text)
    message = str(info.value)
    assert words in message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(
    ("text", "full", "familiar", "api_host"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest", "registry-1.docker.io"),
        ("user/app:1", "docker.io/user/app:1", "user/app:1", "registry-1.docker.io"),
        ("localhost:5000/foo:bar", "localhost:5000/foo:bar", "localhost:5000/foo:bar", "localhost:5000"),
        ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest", "registry-1.docker.io"),
        (f"ghcr.io/o/r@sha256:{HEX}", f"ghcr.io/o/r@sha256:{HEX}", f"ghcr.io/o/r@sha256:{HEX}", "ghcr.io"),
    ],
)
def test_forms(text: str, full: str, familiar: str, api_host: str) -> None:
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar == familiar
    assert ref.api_host == api_host
    assert parse(str(ref)) == ref  # the normalised form parses back to itself


def test_reference_is_frozen() -> None:
    ref = parse("ubuntu")
    assert isinstance(ref, Reference)
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]
