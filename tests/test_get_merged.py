"""`get` of many files near each other in a gzip layer shares Range
requests (randomaccess.plan_groups / read_group): after one full read, a
40-file directory costs a few blob requests in the registry's access log,
not one per file, and every file equals tarfile's extraction."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_seek_index import blob_gets, full_read, seek_bed, small_spacing  # noqa: F401 - fixtures
from test_session import settle

from layerslayer_tui.session import Session

pytestmark = pytest.mark.registry


def test_get_of_a_directory_shares_requests(seek_bed, small_spacing, tmp_path) -> None:  # noqa: F811
    cache = tmp_path / "cache"
    with Session(cache_path=cache / "cache.sqlite3") as session:
        full_read(session, seek_bed.image.ref)
    wanted = sorted(p for p in seek_bed.truth if p.startswith("srv/d5/"))
    assert len(wanted) == 40
    mark = settle(seek_bed.registry)
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", "get", seek_bed.image.ref, "srv/d5",
                           "srv/zz-last.xml", "srv/d0/file000.txt", "-o", str(out)], capture_output=True,
                          timeout=120, env={**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    for path in wanted:
        assert (out / "d5" / path.rpartition("/")[2]).read_bytes() == seek_bed.truth[path], path
    assert (out / "zz-last.xml").read_bytes() == seek_bed.truth["srv/zz-last.xml"]
    assert (out / "file000.txt").read_bytes() == seek_bed.truth["srv/d0/file000.txt"]
    gets = blob_gets(seek_bed.registry, mark)
    # 42 files (one at a time: 42 requests). Files at most MERGE_GAP (1 MiB) of compressed bytes apart share a
    # request: this layer's 1.5 MiB random file splits srv/d5 in two, and each half is that close to one of the
    # other two files: two requests.
    assert 1 <= len(gets) <= 4, proc.stderr.decode()
    assert sum(g.written for g in gets) < len(seek_bed.blob) * 2 // 3  # the random 1.5 MiB is never read
    err = proc.stderr.decode()
    assert "in one request with the file before it" in err
    assert not [p for p in os.listdir(out) if p.startswith(".layerslayer-get-")]  # the shared reads' folder is gone


def test_shared_requests_keep_sparse_files_hardlinks_and_empty_files(seek_bed, small_spacing, tmp_path) -> None:  # noqa: F811
    cache = tmp_path / "cache"
    with Session(cache_path=cache / "cache.sqlite3") as session:
        full_read(session, seek_bed.image.ref)
    names = ["holes.bin", "srv/big.bin", "srv/hard-big", "srv/hard-hard", "srv/empty", "srv/d4/file199.txt",
             "srv/d5/file200.txt"]
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "layerslayer_tui", "get", seek_bed.image.ref, *names, "-o", str(out)],
                          capture_output=True, timeout=120, env={**os.environ, "LAYERSLAYER_CACHE_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    for name in names:
        assert (out / name.rpartition("/")[2]).read_bytes() == seek_bed.truth[name], name
    assert b"in one request with the file before it" in proc.stderr
