"""Fixture plugin; see tests/conftest.py.

Layer builders for every test: tars from a small spec in each tarfile format,
gzip with several members and zstd with several (and skippable) frames,
sparse files from the real GNU tar, a header declaring a file over 8 GiB,
and ground-truth listings from tarfile and from `tar -tv`.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

MTIME = 1_700_000_000


@dataclass
class Item:
    """One member of a layer spec."""

    name: str
    kind: str = "file"  # file dir symlink hardlink char block fifo
    data: bytes = b""
    link: str = ""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    uname: str = "root"
    gname: str = "root"
    mtime: float = MTIME
    dev: tuple[int, int] = (0, 0)
    pax: dict[str, str] = field(default_factory=dict)  # extra PAX records (PAX format only)


_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


def build_tar(files: Iterable[Item], format: int = tarfile.PAX_FORMAT) -> bytes:  # noqa: A002 - tarfile's word
    """A tar archive of the spec, written by CPython's tarfile in `format`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=format, encoding="utf-8") as tar:
        for item in files:
            info = tarfile.TarInfo(item.name)
            info.type = _TYPES[item.kind]
            info.mode = item.mode if item.mode is not None else (0o755 if item.kind == "dir" else 0o644)
            info.uid, info.gid, info.uname, info.gname = item.uid, item.gid, item.uname, item.gname
            info.mtime = item.mtime
            info.linkname = item.link
            info.devmajor, info.devminor = item.dev
            if item.pax and format == tarfile.PAX_FORMAT:
                info.pax_headers = dict(item.pax)
            if item.kind == "file":
                info.size = len(item.data)
                tar.addfile(info, io.BytesIO(item.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


LONG_DIR = "l" * 90 + "/" + "m" * 60  # > 100 chars, splittable into a ustar prefix
VERY_LONG = "v" * 120 + "/" + "w" * 150 + "/file"  # > 255 chars: GNU L or PAX path only
LONG_TARGET = "../" + "t" * 150  # > 100 chars link target


def rich_spec(*, ustar: bool = False, pax: bool = False, control_chars: bool = True) -> list[Item]:
    """Every kind of member a layer holds, with hostile names. `ustar` drops
    what ustar cannot encode; `pax` adds PAX-only records (xattrs)."""
    body = bytes(range(256)) * 400  # 100 KiB: content spans many feed chunks
    items = [
        Item("./", "dir"),
        Item("etc/", "dir"),
        Item("etc/hosts", data=b"127.0.0.1 localhost\n"),
        Item("etc/.wh..wh..opq"),
        Item(".wh.removed"),
        Item("usr/bin/tool", data=body, mode=0o4755, uid=1000, gid=1001, uname="user", gname="grp"),
        Item("usr/bin/link", "symlink", link="tool"),
        Item("usr/bin/hard", "hardlink", link="usr/bin/tool"),
        Item("usr/empty"),
        Item("dev/null", "char", dev=(1, 3), mode=0o666),
        Item("dev/sda", "block", dev=(8, 0), mode=0o660),
        Item("run/fifo", "fifo"),
        Item(LONG_DIR + "/f", data=b"long"),
        Item("données/café.txt", data="é".encode()),
        Item("日本語/ファイル", data=b"x"),
        Item("a[/]b", data=b"y"),
        Item("[bold]x[/bold]", data=b"z"),
        Item("sp ace/tab\there"),
        Item("frac", mtime=MTIME + 0.25),
        Item("sticky", "dir", mode=0o1777),
    ]
    if control_chars:
        items.append(Item("\x1b[31mred", data=b"r"))
    if not ustar:
        items += [
            Item(VERY_LONG, data=b"deep"),
            Item("links/long-target", "symlink", link=LONG_TARGET),
            Item("links/hard-to-long", "hardlink", link=VERY_LONG),
            Item("bigid", uid=3_000_000, gid=4_000_000),
        ]
    if pax:
        items.append(Item("xattr", pax={"SCHILY.xattr.user.k": "v", "SCHILY.xattr.security.capability": "cap"}))
    return items


FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def format_tar(name: str, *, control_chars: bool = True) -> bytes:
    """The rich spec written in the named format ("ustar", "gnu", "pax")."""
    return build_tar(rich_spec(ustar=name == "ustar", pax=name == "pax", control_chars=control_chars), FORMATS[name])


def _split(data: bytes, parts: int) -> list[bytes]:
    step = max(1, -(-len(data) // max(parts, 1)))
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


def gzip_bytes(data: bytes, members: int = 1, *, padding: int = 0) -> bytes:
    """gzip in `members` concatenated members, with `padding` zero bytes after each."""
    return b"".join(gzip.compress(piece, mtime=0) + bytes(padding) for piece in _split(data, members))


def skippable_frame(payload: bytes = b"skip me", magic_low: int = 0) -> bytes:
    return (0x184D2A50 + magic_low).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


def zstd_bytes(data: bytes, frames: int = 1, skippable: bool = True) -> bytes:
    """zstd in `frames` frames; with `skippable`, skippable frames before, between and after."""
    cctx = zstandard.ZstdCompressor(level=3)
    out = [skippable_frame(b"head", 0xA)] if skippable else []
    for n, piece in enumerate(_split(data, frames)):
        out.append(cctx.compress(piece))
        if skippable:
            out.append(skippable_frame(b"x" * (n + 1), n % 16))
    return b"".join(out)


def huge_declared_tar(format: int = tarfile.GNU_FORMAT, declared: int = 9 * 1024**3) -> bytes:  # noqa: A002
    """A small file, then one declaring `declared` bytes (base-256 in GNU, a PAX
    size record in PAX) whose content is cut off after 64 KiB."""
    first = build_tar([Item("before", data=b"1")], format)[: -2 * 512]
    first = first[: len(first) - (len(first) % 512)]
    # tarfile pads archives to 10 KiB records: keep only the member blocks.
    first = _strip_end(first)
    info = tarfile.TarInfo("huge.img")
    info.size = declared
    info.mtime = MTIME
    header = info.tobuf(format, "utf-8", "surrogateescape")
    return first + header + bytes(64 * 1024)


def _strip_end(data: bytes) -> bytes:
    while data.endswith(bytes(512)):
        data = data[:-512]
    return data


def sparse_file_bytes(segments: int = 12, gap: int = 40960, chunk: int = 5000) -> bytes:
    """Content with many holes: data, zeros, data, ... (ends in a hole)."""
    out = bytearray()
    for n in range(segments):
        out += bytes(gap)
        out += bytes([65 + n % 26]) * chunk
    out += bytes(gap)
    return bytes(out)


def gnu_sparse_tar(workdir: Path, content: bytes, fmt: str = "gnu") -> bytes:
    """A tar made by the real GNU tar with --sparse (fmt "gnu": old 'S'
    headers with extension blocks; "posix": PAX sparse 1.0)."""
    if shutil.which("tar") is None:
        pytest.skip("GNU tar is not installed")
    src = workdir / f"sparse-src-{fmt}"
    src.mkdir(parents=True, exist_ok=True)
    target = src / "holes.bin"
    with open(target, "wb") as fh:
        pos = 0
        for run_start in range(0, len(content), 4096):
            piece = content[run_start : run_start + 4096]
            if piece.count(0) == len(piece):
                continue  # leave a hole
            fh.seek(run_start)
            fh.write(piece)
            pos = run_start + len(piece)
        fh.truncate(len(content))
        del pos
    os.utime(target, (MTIME, MTIME))
    (src / "plain.txt").write_bytes(b"plain\n")
    os.utime(src / "plain.txt", (MTIME, MTIME))
    args = ["tar", "--sparse", f"--format={fmt}", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", str(src)]
    if fmt == "posix":
        args.insert(2, "--sparse-version=1.0")
    return subprocess.run([*args, "holes.bin", "plain.txt"], check=True, capture_output=True).stdout


# -- ground truth -----------------------------------------------------------


def _norm(path: str) -> str:
    while True:
        if path.startswith("./"):
            path = path[2:]
        elif path.startswith("/"):
            path = path[1:]
        else:
            break
    path = "" if path == "." else path
    return path.rstrip("/")


_KINDS = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.GNUTYPE_SPARSE: "file",
    tarfile.LNKTYPE: "hardlink",
    tarfile.SYMTYPE: "symlink",
    tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block",
    tarfile.DIRTYPE: "dir",
    tarfile.FIFOTYPE: "fifo",
}


def raw_tar(layer: bytes) -> bytes:
    """The tar inside a (possibly multi-member / multi-frame) compressed layer."""
    if layer[:2] == b"\x1f\x8b":
        return gzip.decompress(layer)
    if layer[:4] == b"\x28\xb5\x2f\xfd" or layer[1:4] == b"\x2a\x4d\x18":
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(layer), read_across_frames=True)
        return reader.read()
    return layer


def tarfile_listing(layer: bytes) -> list[tuple]:
    """(path, kind, size, mode, uid, gid, uname, gname, mtime, link, offset,
    devmajor, devminor, xattrs) per member, as CPython's tarfile reads them."""
    out = []
    with tarfile.open(fileobj=io.BytesIO(raw_tar(layer)), mode="r:", encoding="utf-8") as tar:
        for m in tar:
            path = _norm(m.name)
            if not path:
                continue
            kind = _KINDS.get(m.type, "file")
            link = (_norm(m.linkname) if kind == "hardlink" else m.linkname) or None
            dev = (m.devmajor, m.devminor) if kind in ("char", "block") else (0, 0)
            xattrs = {k[len("SCHILY.xattr.") :]: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
            out.append(
                (path, kind, m.size, m.mode & 0o7777, m.uid, m.gid, m.uname, m.gname, float(m.mtime), link, m.offset, *dev, xattrs or None)
            )
    return out


def entry_tuples(entries: Sequence) -> list[tuple]:
    """The same tuples from our TarEntry objects."""
    return [
        (
            e.path,
            e.type.value,
            e.size,
            e.mode,
            e.uid,
            e.gid,
            e.uname,
            e.gname,
            float(e.mtime),
            e.link,
            e.offset,
            e.devmajor,
            e.devminor,
            e.xattrs,
        )
        for e in entries
    ]


_TV_KIND = {"-": "file", "h": "hardlink", "l": "symlink", "c": "char", "b": "block", "d": "dir", "p": "fifo"}


def tar_tv_listing(layer: bytes) -> list[tuple]:
    """(path, kind, size, mode-string, uid, gid, mtime, link) from GNU `tar -tv`
    (numeric owners, UTC full times, literal names: use names without newlines)."""
    proc = subprocess.run(
        ["tar", "--numeric-owner", "--full-time", "--utc", "--quoting-style=literal", "-tvf", "-"],
        input=raw_tar(layer),
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
    )
    out = []
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        perms, owner, rest = line.split(None, 2)
        kind = _TV_KIND[perms[0]]
        uid, gid = (int(x) for x in owner.split("/"))
        if kind in ("char", "block"):
            devs, rest = rest.split(None, 1)
            if devs.endswith(","):
                minor, rest = rest.split(None, 1)
                devs += minor
            size = 0
        else:
            size_text, rest = rest.split(None, 1)
            size = int(size_text)
        _date, _time, name = rest.split(" ", 2)
        link = None
        if kind == "symlink":
            name, link = name.split(" -> ", 1)
        elif kind == "hardlink":
            name, link = name.split(" link to ", 1)
        path = _norm(name)
        if path:
            out.append((path, kind, size, perms[1:], uid, gid, f"{_date} {_time}", _norm(link) if kind == "hardlink" else link))
    return out


@pytest.fixture(scope="session")
def layer_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("layers")


@pytest.fixture(scope="session")
def format_tars() -> dict[str, bytes]:
    """The rich spec as raw tar in each of ustar, gnu and pax."""
    return {name: format_tar(name) for name in FORMATS}


# -- byte sources with a memory of what they were asked ---------------------


class _RecordingStream:
    def __init__(self, owner: RecordingSource, start: int, end: int | None) -> None:
        self.owner = owner
        self.range_ignored = owner.ignore_range and (start != 0 or end is not None)
        self.start = 0 if owner.ignore_range else start
        self._end = len(owner.data) if (end is None or owner.ignore_range) else min(end + 1, len(owner.data))
        self.total = len(owner.data)
        self.closed = False

    def iter_chunks(self, chunk_size: int = 65536):
        pos = self.start
        owner = self.owner
        while pos < self._end and not self.closed:
            nxt = min(pos + chunk_size, self._end)
            if owner.drop_at is not None and pos < owner.drop_at <= nxt:
                nxt = owner.drop_at
                owner.drop_at = None  # the connection drops once, quietly, like a cut TCP stream
                owner.sent += nxt - pos
                yield owner.data[pos:nxt]
                return
            owner.sent += nxt - pos
            yield owner.data[pos:nxt]
            pos = nxt

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.owner.closes += 1


class RecordingSource:
    """A ByteSource over bytes that logs every open (start, end), counts bytes
    sent and closes, and can ignore Range or drop a stream at one offset."""

    def __init__(self, data: bytes, *, ignore_range: bool = False, drop_at: int | None = None) -> None:
        self.data = data
        self.size: int | None = len(data)
        self.ignore_range = ignore_range
        self.drop_at = drop_at
        self.opens: list[tuple[int, int | None]] = []
        self.sent = 0
        self.closes = 0

    def open(self, start: int = 0, end: int | None = None) -> _RecordingStream:
        self.opens.append((start, end))
        return _RecordingStream(self, start, end)


def many_files_spec(count: int, size: int = 3000, seed: int = 7) -> list[Item]:
    """A layer of `count` files with poorly compressible content (so a budget
    prefix covers only some of them) across nested directories."""
    import random

    rng = random.Random(seed)
    items: list[Item] = [Item("data/", "dir")]
    for n in range(count):
        if n % 50 == 0:
            items.append(Item(f"data/d{n // 50}/", "dir"))
        items.append(Item(f"data/d{n // 50}/f{n}.bin", data=rng.randbytes(rng.randint(0, size))))
    return items


@pytest.fixture(scope="session")
def many_files_tar() -> bytes:
    return build_tar(many_files_spec(600), tarfile.PAX_FORMAT)
