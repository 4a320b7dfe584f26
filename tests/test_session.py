"""Session + cache against the real registry: reopen from the cache with no
blob request, partial-then-complete upgrade, shared base layers, offline mode,
search across images, a corrupt cache file, cancellation."""

from __future__ import annotations

import io
import random
import tarfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bed.images import PushedImage, make_layer, push_image
from layerslayer_tui.cache import scope_of
from layerslayer_tui.errors import NotFoundError, OfflineError
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


def random_files(prefix: str, count: int, size: int, seed: int) -> dict[str, bytes | str | None]:
    rnd = random.Random(seed)
    files: dict[str, bytes | str | None] = {prefix: None}
    for i in range(count):
        files[f"{prefix}/f{i:04d}.bin"] = rnd.randbytes(size)  # incompressible: the layer is really big
    files[f"{prefix}/link"] = "->f0000.bin"
    return files


def truth(layer_blob: bytes) -> list[str]:
    """Paths as tarfile reads them from the same bytes."""
    with tarfile.open(fileobj=io.BytesIO(layer_blob), mode="r:*") as tf:
        return [m.name.removeprefix("./").rstrip("/") for m in tf.getmembers()]


@dataclass
class Bed:
    registry: object
    base: bytes
    one: PushedImage  # [base, top1]
    two: PushedImage  # [base, top2]
    big: PushedImage  # one layer of ~1.5 MiB, for cancellation


@pytest.fixture(scope="module")
def bed(registry) -> Bed:
    base = make_layer(random_files("base", 300, 2048, 1), "gzip")  # ~600 KiB: partial under a 64 KiB budget
    top1 = make_layer({"app": None, "app/one.txt": b"1", "app/id_rsa": b"secret"}, "gzip")
    top2 = make_layer(random_files("opt", 40, 512, 2), "zstd")
    one = push_image(registry, "sess/one", "1", [base, top1])
    two = push_image(registry, "sess/two", "1", [base, top2])
    big = push_image(registry, "sess/big", "1", [make_layer(random_files("big", 1500, 1024, 3), "gzip")])
    return Bed(registry, base, one, two, big)


def settle(registry) -> int:
    """A log mark after every earlier request's line: the registry logs just
    after it answers, so a sentinel request of our own is awaited first."""
    token = uuid.uuid4().hex
    requests.get(f"{registry.url}/v2/?settle={token}", timeout=30)
    records = registry.access_log(0, until=lambda recs: any(token in r.path for r in recs))
    return 1 + max(i for i, r in enumerate(records) if token in r.path)


def requests_since(registry, mark: int) -> list:
    """Every request logged after mark, once the log has caught up."""
    end = settle(registry)
    return [r for r in registry.access_log(mark)[: end - mark] if "settle=" not in r.path]


def blob_gets(registry, mark: int) -> list:
    return [r for r in requests_since(registry, mark) if r.is_blob_get]


def drain(listing) -> list[str]:
    return [e.path for batch in listing for e in batch.entries]


def test_reopen_comes_from_the_cache_without_touching_the_registry(bed: Bed, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        image = s.open_image(bed.one.ref)
        listing = s.listing(image, 0, full=True)
        paths = drain(listing)
        assert listing.complete and listing.progress.verified and not listing.cached
    assert paths == truth(bed.base)

    mark = settle(bed.registry)
    with Session(cache_path=db) as s:
        image = s.open_image(bed.one.ref)  # the tag is fresh: no manifest request either
        listing = s.listing(image, 0)
        batches = list(listing)
        assert listing.cached and listing.complete and len(batches) == 1
        assert [e.path for e in batches[0].entries] == paths
    assert requests_since(bed.registry, mark) == []
    # control: the same steps without the cache do reach the registry, and the log shows it
    mark = settle(bed.registry)
    with Session(cache=False) as s:
        drain(s.listing(s.open_image(bed.one.ref), 0))
    assert len(blob_gets(bed.registry, mark)) >= 1


def test_partial_then_complete_upgrades_the_cache(bed: Bed, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    expected = truth(bed.base)
    with Session(cache_path=db) as s:
        image = s.open_image(bed.one.ref)
        listing = s.listing(image, 0, budget=64 * 1024)
        first = drain(listing)
        assert not listing.complete and 0 < len(first) < len(expected)
        assert first == expected[: len(first)]
        assert s.cache.listing_state(image.layers[0].digest, scope_of(image.registry, image.repository)).complete is False

    # a new run shows the cached partial at once, and `f` fetches the rest
    with Session(cache_path=db) as s:
        image = s.open_image(bed.one.ref)
        listing = s.listing(image, 0)
        shown = drain(listing)
        assert listing.cached and not listing.complete and shown == first
        rest = [e.path for b in listing.continue_full() for e in b.entries]
        assert shown + rest == expected  # nothing twice, nothing missing
        assert listing.complete
        state = s.cache.listing_state(image.layers[0].digest)
        assert state.complete and state.entries == len(expected)


def test_continue_in_the_same_run_reads_no_prefix_twice(bed: Bed) -> None:
    with Session(cache=False) as s:
        image = s.open_image(bed.one.ref)
        listing = s.listing(image, 0, budget=64 * 1024)
        first = drain(listing)
        rest = [e.path for b in s.continue_full(listing) for e in b.entries]
        assert first + rest == truth(bed.base)
        assert listing.complete and listing.progress.verified


def test_shared_base_layer_is_instant_in_the_second_image(bed: Bed, tmp_path: Path) -> None:
    with Session(cache_path=tmp_path / "c.db") as s:
        one = s.open_image(bed.one.ref)
        drain(s.listing(one, 0, full=True))
        two = s.open_image(bed.two.ref)
        assert two.layers[0].digest == one.layers[0].digest
        mark = settle(bed.registry)
        listing = s.listing(two, 0)
        assert drain(listing) == truth(bed.base) and listing.cached
        assert blob_gets(bed.registry, mark) == []


def test_offline_serves_the_cache_and_refuses_the_rest(bed: Bed, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        image = s.open_image(bed.one.ref)
        drain(s.listing(image, 1, full=True))
    mark = settle(bed.registry)
    with Session(cache_path=db, offline=True) as s:
        image = s.open_image(bed.one.ref)
        assert [e.path for e in next(iter(s.listing(image, 1))).entries] == truth(bed.one.layers[1].data)
        with pytest.raises(OfflineError) as err:
            s.listing(image, 0)
        assert "\n" not in str(err.value)
        with pytest.raises(OfflineError):
            s.open_image(bed.two.ref)
        with pytest.raises(OfflineError):
            s.tags(image)
    assert requests_since(bed.registry, mark) == []


def test_search_across_every_cached_listing(bed: Bed, tmp_path: Path) -> None:
    with Session(cache_path=tmp_path / "c.db") as s:
        for ref in (bed.one.ref, bed.two.ref):
            image = s.open_image(ref)
            for i in range(len(image.layers)):
                drain(s.listing(image, i, full=True))
        hits = s.search("*/id_rsa")
        assert [(h.image.endswith("sess/one:1"), h.layer_index, h.path, h.size) for h in hits] == [
            (True, 1, "app/id_rsa", 6)
        ]
        base_hits = s.search("base/f0001.bin")
        assert sorted(h.image.rsplit("/", 1)[1] for h in base_hits) == ["one:1", "two:1"]
        assert all(h.layer_index == 0 for h in base_hits)
        assert s.search("no-such-thing") == []


def test_corrupt_cache_file_warns_and_the_session_still_works(bed: Bed, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    db.write_bytes(b"\x00garbage" * 512)
    with Session(cache_path=db) as s:
        warnings = s.pop_warnings()
        assert len(warnings) == 1 and "cache" in warnings[0]
        assert s.pop_warnings() == []  # once
        image = s.open_image(bed.one.ref)
        assert drain(s.listing(image, 1, full=True)) == truth(bed.one.layers[1].data)


def test_unknown_tag_is_not_found(bed: Bed, tmp_path: Path) -> None:
    with Session(cache_path=tmp_path / "c.db") as s:
        with pytest.raises(NotFoundError):
            s.open_image(f"{bed.one.host}/sess/one:nope")


def test_close_cancels_a_running_listing(bed: Bed) -> None:
    with Session(cache=False) as s:
        image = s.open_image(bed.big.ref)
        listing = s.listing(image, 0, full=True)
        it = iter(listing)
        first = next(it)
        listing.close()
        rest = list(it)  # ends quietly
        got = len(first.entries) + sum(len(b.entries) for b in rest)
        assert not listing.complete
        assert got <= len(truth(bed.big.layers[0].data))


def test_platforms_and_images_of_an_index_come_from_the_cache(sample_image, tmp_path: Path) -> None:
    ref = sample_image.multi.ref
    db = tmp_path / "c.db"
    with Session(cache_path=db) as s:
        plats = s.platforms(ref)
        assert {str(p) for p in plats} == {"linux/amd64", "linux/arm64/v8"}
        arm = s.open_image(ref, "linux/arm64/v8")
        assert arm.manifest_digest == sample_image.arm64.manifest_digest
    mark = settle(sample_image.registry)
    with Session(cache_path=db, offline=True) as s:
        assert [str(p) for p in s.platforms(ref)] == [str(p) for p in plats]
        again = s.open_image(ref, "linux/arm64/v8")
        assert again.manifest_digest == arm.manifest_digest and again.layers == arm.layers
        with pytest.raises(OfflineError):
            s.open_image(ref, "linux/amd64")  # never loaded
    assert requests_since(sample_image.registry, mark) == []
