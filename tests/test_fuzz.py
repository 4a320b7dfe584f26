"""A short fuzz run of every parser that meets untrusted bytes (tar scanner,
decompressor front, carving, manifest/index/config readers, TOC readers, the
cache's row codecs). Contract: any input returns or raises a LayerslayerError,
never another exception. Inputs start from valid seeds and are mutated
(tests/fuzz_targets.py); benchmarks/fuzz.py runs the same targets for longer."""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS, check_seeds, run_one, strategy
from hypothesis import HealthCheck, given, settings

# Examples per target: the whole file stays well under 30 s on one core.
EXAMPLES = {"carve": 150, "index": 150, "decompress": 150}
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
