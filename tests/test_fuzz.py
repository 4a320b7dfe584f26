"""A short fuzz run of every parser that meets untrusted bytes (tar scanner,
decompressor front, carving, manifest/index/config readers, TOC readers, the
cache's row codecs). Contract: any input returns or raises a LayerslayerError,
never another exception. Inputs start from valid seeds and are mutated
(tests/fuzz_targets.py); benchmarks/fuzz.py runs the same targets for longer."""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS, check_seeds, run_one, strategy
from hypothesis import HealthCheck, given, settings

# Examples per target: the whole file stays under 30 s on one core. The cache
# codecs get few: tests/test_security_cache.py fuzzes them at length already.
EXAMPLES = {"carve": 120, "index": 100, "decompress": 150, "listing_codec": 40, "image_codec": 60}
DEFAULT_EXAMPLES = 200


def test_every_seed_is_accepted() -> None:
    check_seeds()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_target_keeps_the_contract(name: str) -> None:
    @settings(
        max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy(name))
    def run(data: bytes) -> None:
        failure = run_one(name, data)
        if failure is not None:
            raise failure

    run()


# -- regressions: every crash the fuzzers found, kept -------------------------------

DEEP_LIST = b"[" * 3000
MONTH_13 = b'{"version":1,"entries":[{"name":"a","type":"reg","modtime":"2020-13-01T00:00:00Z"}]}'


def test_a_manifest_nested_too_deep_is_one_sentence() -> None:
    from layerslayer_tui.errors import ProtocolError
    from layerslayer_tui.registry.manifests import parse_manifest

    with pytest.raises(ProtocolError, match="is not JSON"):
        parse_manifest(b'{"manifests":' + DEEP_LIST, None, "the image")  # was RecursionError


@pytest.mark.parametrize("document", [DEEP_LIST, MONTH_13], ids=["deep", "month13"])
def test_a_bad_toc_falls_back_to_streaming(document: bytes) -> None:
    from fuzz_targets import estargz_blob, zstd_chunked_blob

    from layerslayer_tui.peek import BytesSource
    from layerslayer_tui.peek.index import read_index

    for blob in (estargz_blob(document), zstd_chunked_blob(document)):
        listing = read_index(BytesSource(blob), size=len(blob), annotations={})  # was RecursionError / ValueError
        assert listing is not None and not listing.ok
        assert "could not be used" in (listing.fallback_reason or "")


def test_a_non_finite_pax_mtime_is_refused() -> None:
    from fuzz_targets import _member, _pax

    from layerslayer_tui.errors import LayerFormatError
    from layerslayer_tui.peek import TarScanner

    for value in ("inf", "nan", "1e400"):
        data = _member("x", b"x", _pax("mtime", value)) + _member("a", b"0") + bytes(1024)
        with pytest.raises(LayerFormatError, match="malformed PAX mtime"):
            TarScanner().feed(data)  # was an entry with mtime inf (invalid JSON on export)
