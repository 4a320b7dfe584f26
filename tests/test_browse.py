"""Registry catalogs (the real registry, paging on the fault server, a
refused catalog, Docker Hub) and Docker Hub search against a local fake
serving the documented response shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bed.faults import Status
from bed.images import make_layer, push_image
from layerslayer_tui.cli import main
from layerslayer_tui.errors import RateLimitedError
from layerslayer_tui.registry.catalog import CatalogUnavailable
from layerslayer_tui.registry.hub_search import parse_page
from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAYERSLAYER_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_catalog_of_the_real_registry(registry, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("browse/one", "browse/two"):
        push_image(registry, name, "1", [make_layer({"f": name.encode()})])
    with Session(cache=False) as s:
        repos = s.catalog(registry.host)
    assert {"browse/one", "browse/two"} <= set(repos) and repos == sorted(repos)
    assert main(["catalog", registry.host]) == 0
    assert {"browse/one", "browse/two"} <= set(capsys.readouterr().out.split())


def test_catalog_follows_link_pages(fault_server) -> None:
    for i in range(5):
        fault_server.add_image(f"pages/r{i}", "1", [make_layer({"f": b"x"})])
    fault_server.tags_page_size = 2
    mark = fault_server.mark()
    with Session(cache=False) as s:
        repos = s.catalog(fault_server.host)
    assert repos == sorted({r for r, _ in fault_server.manifests})
    assert len(repos) == len(set(repos))
    pages = [r for r in fault_server.since(mark) if r.path.startswith("/v2/_catalog")]
    assert len(pages) == (len(repos) + 1) // 2 and "last=" in pages[-1].path


@pytest.mark.parametrize("code, words", [(401, "does not let these credentials list"), (404, "offers no catalog")])
def test_refused_catalog_is_one_sentence(fault_server, code: int, words: str, env: Path, capsys) -> None:
    fault_server.fail("catalog", Status(code))
    with Session(cache=False) as s, pytest.raises(CatalogUnavailable, match=words):
        s.catalog(fault_server.host)
    fault_server.fail("catalog", Status(code))
    assert main(["catalog", fault_server.host]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err


def test_token_registry_refuses_an_anonymous_catalog(registry_token) -> None:
    with Session(cache=False) as s, pytest.raises(CatalogUnavailable, match="does not let these credentials"):
        s.catalog(registry_token.host)


def test_docker_hub_has_no_catalog(env: Path, capsys) -> None:
    for host in ("docker.io", "index.docker.io"):
        with Session(cache=False) as s, pytest.raises(CatalogUnavailable, match="Docker Hub has no catalog"):
            s.catalog(host)
    assert main(["catalog", "docker.io"]) == 2 and "search-hub" in capsys.readouterr().err


HUB_REPOS = [
    {"repo_name": "library/nginx", "short_description": "Official build of Nginx.", "star_count": 20000,
     "pull_count": 1_000_000_000, "repo_owner": "", "is_automated": False, "is_official": True},
    {"repo_name": "bitnami/nginx", "short_description": "Bitnami nginx\x1b[31m red", "star_count": 150,
     "pull_count": 5_000_000, "repo_owner": "", "is_automated": False, "is_official": False},
    {"repo_name": "someone/nginx-proxy", "star_count": 3},  # fields missing: tolerated
    {"short_description": "a result without a name is skipped, not an error"},
    {"repo_name": "other/thing", "short_description": "does not match"},
]


def test_search_hub_pages_and_parses(fake_hub, env: Path, capsys) -> None:
    fake_hub.repos = HUB_REPOS
    with Session(cache=False) as s:
        first = s.search_hub("nginx")
    assert [r.name for r in first.results] == ["library/nginx", "bitnami/nginx", "someone/nginx-proxy"]
    assert first.results[0].official and first.results[0].pulls == 1_000_000_000 and first.results[0].reference == "docker.io/library/nginx"
    assert first.results[1].description == "Bitnami nginx[31m red"  # the escape character is dropped
    assert first.results[2].description == "" and first.results[2].pulls == 0
    assert not first.more
    fake_hub.repos = [{"repo_name": f"u/nginx{i}", "star_count": i} for i in range(30)]
    assert main(["search-hub", "nginx", "--json"]) == 0
    page1 = json.loads(capsys.readouterr().out)
    assert page1["count"] == 30 and page1["more"] and len(page1["results"]) == 25
    assert main(["search-hub", "nginx", "--page", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in out] == [f"u/nginx{i}" for i in range(25, 30)]
    seen = fake_hub.requests[-1].query
    assert seen == {"query": "nginx", "page": "2", "page_size": "25"}


def test_search_hub_rate_limit(fake_hub, env: Path, capsys) -> None:
    fake_hub.repos = HUB_REPOS
    fake_hub.queue_status(429, {"Retry-After": "0"})
    with Session(cache=False) as s:
        assert s.search_hub("nginx").results  # a short Retry-After is waited out, as for the registry
        for _ in range(4):
            fake_hub.queue_status(429, {"Retry-After": "3600"})
        with pytest.raises(RateLimitedError, match="rate limiting"):
            s.search_hub("nginx")
    fake_hub.statuses.clear()


def test_parser_tolerates_odd_pages() -> None:
    assert parse_page({}, "x", 1).results == []
    assert parse_page({"results": "nope", "count": "many"}, "x", 1).count == 0
    older = parse_page({"num_results": 1, "results": [{"name": "busybox", "description": "tiny"}]}, "x", 1)
    assert older.results[0].reference == "docker.io/library/busybox" and older.results[0].description == "tiny"


def test_cli_escapes_registry_names(fault_server, fake_hub, env: Path, capsys) -> None:
    fault_server.add_image("esc/ok", "1", [make_layer({"f": b"x"})])
    fault_server.manifests[("esc/\x1b]0;pwned\x07", "1")] = fault_server.manifests[("esc/ok", "1")]
    assert main(["catalog", fault_server.host]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "esc/\\x1b]0;pwned\\x07" in out
    fake_hub.repos = [{"repo_name": "evil/\x1b[2Jname", "short_description": "tab\there"}]
    assert main(["search-hub", "name"]) == 0
    line = capsys.readouterr().out.strip()
    assert "\x1b" not in line and line.split("\t")[0] == "evil/[2Jname"  # the parser drops control characters
