"""Fuzz the cache's row decoders (listing blobs, image documents, platform
lists) with Hypothesis for longer than the suite does; prints the inputs tried
and the failures found (a failure: a decoder that returns values of the wrong
type, or raises something other than an ordinary Exception, or a Cache that
raises or turns itself off over one bad row).

    .venv/bin/python benchmarks/fuzz_cache_rows.py [EXAMPLES]   (default 5000)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from _cli import parse_size  # noqa: E402
from fuzz_cache import check_blob, check_document, damaged_blobs, damaged_documents  # noqa: E402


def main() -> None:
    examples = parse_size(__doc__, "examples", 5000, "examples per decoder (default 5000)")
    tried = {"listing blobs": 0, "image/platform documents": 0}
    failures: list[str] = []
    opts = settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))

    @opts
    @given(damaged_blobs())
    def blobs(blob: bytes) -> None:
        tried["listing blobs"] += 1
        try:
            check_blob(blob)
        except AssertionError as exc:
            failures.append(f"listing blob {blob[:60]!r}...: {exc or 'a value of the wrong type'}")

    @opts
    @given(damaged_documents())
    def documents(doc: bytes) -> None:
        tried["image/platform documents"] += 1
        try:
            check_document(doc)
        except AssertionError as exc:
            failures.append(f"document {doc[:200]!r}: {exc or 'a value of the wrong type'}")

    blobs()
    documents()
    for what, n in tried.items():
        print(f"{what}: {n} inputs tried")
    print(f"failures: {len(failures)}")
    for line in failures[:20]:
        print("  " + line)


if __name__ == "__main__":
    main()
