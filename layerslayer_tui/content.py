"""Reading file content out of layers: the cheapest way the cache allows.

`read_entry` picks, for one listed member: the layer's seek index (one small
Range request from the gzip access point before it), the member's offset in
a plain tar layer, or a stream from byte 0 that stops at the member and
keeps the access points it made. A seek index row that cannot be decoded,
or that leads to the wrong bytes, is dropped with one warning and the file
is streamed instead.

`ImageFiles` finds what a path names in an image (the merged view, or one
layer), following symlinks inside the image only; `cat` and `get` build on
it for the CLI.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from layerslayer_tui.entry import EntryType, SourceKind, TarEntry
from layerslayer_tui.errors import ExportError, LayerslayerError, NotFoundError

if TYPE_CHECKING:
    from layerslayer_tui.fs import MergedTree
    from layerslayer_tui.registry.models import ImageInfo, LayerInfo
    from layerslayer_tui.session import Session

MAX_LINK_HOPS = 8  # hardlink chains (tar links always point back)
SYMLINK_HOPS = 40  # what Linux allows when resolving a path
Note = Callable[[str], None]


@dataclass(slots=True)
class FileRead:
    """One file's content and what it cost to get."""

    carved: Any  # peek.Carved
    layer_index: int
    via: str  # "seek index", "tar offset", "toc chunks", "stream", "listing" (an empty file)
    compressed_read: int  # blob bytes received
    requests: int

    def cost(self) -> str:
        """'4.8 KiB, read 1.9 MiB via the seek index'."""
        from layerslayer_tui.peek.reader import human

        size = self.carved.written
        how = {"seek index": "via the seek index", "tar offset": "at its tar offset",
               "stream": "streaming the layer from its start", "toc chunks": "from the chunks the layer's index names",
               "listing": "(empty, known from the listing)",
               "seek index, merged": "via the seek index, in one request with the file before it"}.get(
                   self.via, f"via {self.via}")
        return f"{human(size)}, read {human(self.compressed_read)} {how}"


def _loader(host: Any) -> Any:
    """The session's ImageLoader (blob sources, online check, pending seek
    indexes, notes); a LayerListing's host is the loader itself."""
    return getattr(host, "images", host)


def _scope(image: ImageInfo) -> str:
    from layerslayer_tui.cache import scope_of

    return scope_of(image.registry, image.repository)


def load_index(session: Session, image: ImageInfo, layer: LayerInfo, at: int | None = None) -> Any:
    """The cached seek index for a layer (-> gzindex.SeekIndex | None); a
    damaged row is dropped with a warning. `at`: an uncompressed offset to
    read at; only the window of the access point before it is read."""
    from layerslayer_tui.peek import gzindex

    cache = session.cache
    if cache is None:
        return None
    wait_for_indexes(session, layer.digest)
    if at is not None:
        got = cache.get_seek_index_at(layer.digest, _scope(image), at)
        if got is None:
            return None
        kind, value, scope = got
        if kind == "index":
            return value
        err = value
    else:
        row = cache.get_seek_index(layer.digest, _scope(image))
        if row is None:
            return None
        data, scope = row
        try:
            return gzindex.decode(data)
        except ValueError as exc:
            err = exc
    cache.drop_seek_index(layer.digest, scope)
    _loader(session).note_once(f"The cached seek index of layer {layer.index + 1} was damaged ({err}) and was dropped; "
                               "the file is streamed instead.")
    return None


def store_index(session: Session, image: ImageInfo, layer: LayerInfo, index: Any, *, verified: bool,
                mismatch: bool = False) -> None:
    """Keep access points: shared by digest when the bytes were verified,
    scoped to the repository otherwise; a digest mismatch drops them."""
    from layerslayer_tui import seek_store
    from layerslayer_tui.peek import gzindex

    cache = session.cache
    if cache is None:
        return
    if mismatch:
        cache.drop_seek_index(layer.digest, _scope(image))
        return
    if index is None or not index.points:
        return
    scope = seek_store.SHARED if verified and index.complete else _scope(image)
    cache.put_seek_index(layer.digest, scope, gzindex.encode(index), covered=index.covered, points=len(index.points))


def store_index_later(session: Session, image: ImageInfo, layer: LayerInfo, peek_obj: Any, *, verified: bool,
                      mismatch: bool) -> None:
    """Store what a listing's recorder makes once it has caught up, on a
    helper thread: the listing itself never waits for it. A read of this
    layer (load_index) and Session.close() wait for it."""
    import threading

    if not getattr(peek_obj, "recording", False):
        if mismatch:
            store_index(session, image, layer, None, verified=False, mismatch=True)
        return
    if mismatch:
        peek_obj.seek_index(abandon=True)  # stop the recorder: nothing it made is kept
        store_index(session, image, layer, None, verified=False, mismatch=True)
        return

    def work() -> None:
        try:
            store_index(session, image, layer, peek_obj.seek_index(), verified=verified)
        except Exception:  # noqa: BLE001 - an index is an optimisation; the cache reports its own failures
            pass

    thread = threading.Thread(target=work, name="gz-index-store", daemon=True)
    _loader(session).pending_indexes[layer.digest] = (thread, peek_obj)
    thread.start()


def wait_for_indexes(session: Session, digest: str | None = None, *, timeout: float | None = None) -> None:
    """Wait for seek indexes still being recorded (all, or one layer's). With
    a timeout, recorders still running after it stop and keep their prefix
    (so quitting never hangs on a recorder far behind on a loaded machine)."""
    import time

    pending = _loader(session).pending_indexes
    deadline = None if timeout is None else time.monotonic() + timeout
    for key in [digest] if digest is not None else list(pending):
        held = pending.pop(key, None) if key is not None else None
        if held is None:
            continue
        thread, peek_obj = held
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            peek_obj.seek_index(abandon=True)
            thread.join()


def _plain_tar(layer: LayerInfo) -> bool:
    # OCI ".../layer.v1.tar", Docker ".../rootfs.diff.tar"; a lying media type is caught by the header check
    return (layer.descriptor.media_type or "").endswith(".tar")


def read_entry(
    session: Session,
    image: ImageInfo,
    layer: LayerInfo,
    entry: TarEntry,
    *,
    cap: int,
    out: BinaryIO | None = None,
    streamed_listing: bool = True,
) -> FileRead:
    """The content of one listed member (`entry.offset` from a streamed
    listing). `out`: write all of it there, else up to `cap` in memory."""
    from layerslayer_tui.peek import randomaccess as ra

    source = _loader(session).blob_source(image, layer.descriptor)  # a registry blob or a local layout's
    from layerslayer_tui.peek.carve import Carved

    if entry.type is EntryType.FILE and entry.size == 0 and not (entry.extra and any(
            k in entry.extra for k in ("sparse", "sparse_pax"))):
        return FileRead(Carved(entry=entry, content=b"" if out is None else None), layer.index, "listing", 0, 0)
    read = None
    if entry.extra and entry.extra.get("toc"):  # eStargz / zstd:chunked: the index says where the chunks are
        try:
            read = ra.read_chunks(source, entry, cap=cap, out=out)
            return FileRead(read.carved, layer.index, read.via, read.compressed_read, len(read.requests))
        except ra.IndexMismatch as err:
            _loader(session).note_once(f"{err} The file was streamed instead.")
            if out is not None:
                out.seek(0)
                out.truncate()
    streamed_listing = streamed_listing and entry.offset >= 0
    if streamed_listing:
        index = load_index(session, image, layer, entry.offset)
        try:
            if index is not None and index.points and index.points[0].uncompressed <= entry.offset:
                read = ra.read_via_index(source, entry, index, cap=cap, out=out)
            elif _plain_tar(layer):
                read = ra.read_plain(source, entry, cap=cap, out=out)
        except ra.IndexMismatch as err:
            if index is not None:
                store_index(session, image, layer, None, verified=False, mismatch=True)
            _loader(session).note_once(f"{err} The file was streamed instead.")
            read = None
            if out is not None:
                out.seek(0)
                out.truncate()
    if read is None:
        want = entry if streamed_listing else TarEntry(path=entry.path, type=entry.type)
        read = ra.read_streaming(source, want, cap=cap, out=out)
        store_index_later(session, image, layer, read.recorded, verified=False, mismatch=False)
    return FileRead(read.carved, layer.index, read.via, read.compressed_read, len(read.requests))


# -- paths in an image --------------------------------------------------------


@dataclass(slots=True)
class Found:
    layer_index: int
    entry: TarEntry
    path: str  # where the path landed after following symlinks


def follow(view: MergedTree, path: str) -> str:
    """Where `path` lands with every symlink in it followed, the last part
    included, never above the root; LayerslayerError for a loop."""
    from layerslayer_tui.fs.merged import SYMLINK

    todo = [p for p in path.split("/")][::-1]
    cur: list[str] = []
    hops = 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if cur:
                cur.pop()
            continue
        node = view.get("/".join(cur + [part]))
        if node is not None and node.kind == SYMLINK and node.entry is not None and node.entry.link:
            hops += 1
            if hops > SYMLINK_HOPS:
                raise LayerslayerError(f"{path} goes through more than {SYMLINK_HOPS} symbolic links (a loop?).")
            link = node.entry.link
            if link.startswith("/"):
                cur = []
            todo.extend(link.split("/")[::-1])
            continue
        cur.append(part)
    return "/".join(cur)


def hardlink_source(view_below: Callable[[int], MergedTree], entries_of: Callable[[int], list[TarEntry]],
                    layer_index: int, entry: TarEntry) -> tuple[int, TarEntry]:
    """The member whose content a hardlink shares: in its own layer before
    it, else what the path held in the layers below."""
    for _ in range(MAX_LINK_HOPS):
        if entry.type is not EntryType.HARDLINK or not entry.link:
            return layer_index, entry
        target = None
        for e in entries_of(layer_index):
            if e is entry or 0 <= entry.offset <= e.offset:
                break
            if e.path == entry.link:
                target = e
        if target is None and layer_index > 0:
            node = view_below(layer_index - 1).get(entry.link)
            if node is not None and node.entry is not None and node.layer_index is not None:
                layer_index, target = node.layer_index, node.entry
        if target is None:
            raise NotFoundError(f"The hardlink {entry.path} points to {entry.link}, which is not in the image.")
        entry = target
    raise LayerslayerError(f"The hardlink {entry.path} points through more than {MAX_LINK_HOPS} links.")


# -- writing files out (get) --------------------------------------------------


def safe_target(root: Path, rel: str) -> Path:
    """root/rel, refusing anything that would land outside root (a '..'
    part, or a symlink already inside root that leads out)."""
    from layerslayer_tui.fs.paths import normalize

    clean = normalize(rel)
    if clean is None:
        raise ExportError(f"Refusing to write {rel!r}: it would land outside {root}.")
    target = root / clean
    real_root = os.path.realpath(root)
    real_parent = os.path.realpath(target.parent)
    if real_parent != real_root and not real_parent.startswith(real_root + os.sep):
        raise ExportError(f"Refusing to write {clean}: a symbolic link in {root} leads outside it.")
    return target


def open_new(target: Path, mode: int, *, force: bool) -> BinaryIO:
    """A new file that never follows a symlink at its own name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    if force:
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            pass
        else:
            if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
                raise ExportError(f"{target} exists and is not a regular file; not replaced.")
            os.unlink(target)
    flags |= os.O_EXCL
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise ExportError(f"{target} already exists; use --force to overwrite it.") from None
    except OSError as err:
        raise ExportError(f"Cannot write {target}: {err.strerror or err}.") from None
    os.fchmod(fd, mode & 0o777)  # setuid/setgid/sticky bits from an image are never applied
    return os.fdopen(fd, "wb")


def read_member(
    session: Session,
    image: ImageInfo,
    layer: LayerInfo,
    path: str | TarEntry,
    entries: list[TarEntry],
    *,
    cap: int,
    dest: str | os.PathLike[str] | None = None,
) -> FileRead | None:
    """A member of a streamed listing, by path (its last copy, as extraction
    leaves it) or by entry; hardlinks resolved inside the layer. None when
    the listing does not hold it (the caller streams and reports)."""
    from layerslayer_tui.peek.scanner import normalise

    if isinstance(path, TarEntry):
        asked: TarEntry | None = path
    else:
        want = normalise(path)
        asked = None
        for e in entries:
            if e.path == want:
                asked = e
        if asked is None:
            return None
    assert asked is not None
    target = asked
    for _ in range(MAX_LINK_HOPS):
        if target.type is not EntryType.HARDLINK or not target.link:
            break
        link = target.link
        nxt = None
        for e in entries:
            if e is target or 0 <= target.offset <= e.offset:
                break
            if e.path == link:
                nxt = e
        if nxt is None:
            return None  # the caller streams (and reports what the layer says)
        target = nxt
    else:
        raise LayerslayerError(f"The hardlink {asked.path} points through more than {MAX_LINK_HOPS} links.")
    if dest is None:
        read = read_entry(session, image, layer, target, cap=cap)
    else:
        read = _read_to_file(session, image, layer, target, cap, Path(dest))
    if target is not asked:
        read.carved.resolved, read.carved.entry = read.carved.entry, asked
    return read


def _read_to_file(session: Session, image: ImageInfo, layer: LayerInfo, entry: TarEntry, cap: int,
                  dest: Path) -> FileRead:
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".carve-", dir=dest.parent)
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
    ok = False
    try:
        with os.fdopen(fd, "w+b") as out:
            read = read_entry(session, image, layer, entry, cap=cap, out=out)
        if read.carved.entry.type is EntryType.FILE:
            os.replace(tmp, dest)
            ok = True
            read.carved.dest = dest
        return read
    except OSError as err:
        raise ExportError(f"Cannot write {dest}: {err.strerror or err}.") from None
    finally:
        if not ok and os.path.exists(tmp):
            os.unlink(tmp)


# -- cat and get: paths in an image -------------------------------------------


@dataclass(slots=True)
class _Hit:
    """What a path holds in the merged view, as far as cat needs it."""

    entry: TarEntry | None  # None: an implied directory
    layer_index: int

    @property
    def kind(self) -> str:
        return "dir" if self.entry is None else self.entry.type.value

    @property
    def is_dir(self) -> bool:
        return self.entry is None or self.entry.type is EntryType.DIR


class _Lookup:
    """Path -> topmost entry across layers with whiteouts and opaque
    directories applied, from plain dicts: a file lookup needs no trees
    (building them for a 100k-entry image takes seconds)."""

    def __init__(self, layers: list[tuple[int, list[TarEntry]]], *, merged: bool) -> None:
        from layerslayer_tui.fs.paths import OPAQUE_MARKER, WHITEOUT_PREFIX

        self._layers: list[tuple[int, dict[str, TarEntry], set[str], set[str], list[TarEntry]]] = []
        for index, entries in layers:
            by_path: dict[str, TarEntry] = {}
            gone: set[str] = set()
            opaque: set[str] = set()
            for e in entries:
                name = e.path.rpartition("/")[2]
                if merged and name.startswith(WHITEOUT_PREFIX):
                    parent = e.path[: len(e.path) - len(name)].rstrip("/")
                    if name == OPAQUE_MARKER:
                        opaque.add(parent)
                    elif not name.startswith(WHITEOUT_PREFIX * 2):
                        gone.add(f"{parent}/{name[4:]}" if parent else name[4:])
                    continue
                by_path[e.path] = e
            self._layers.append((index, by_path, gone, opaque, entries))
        self._layers.reverse()  # topmost first
        self.deleted_by: int | None = None

    def get(self, path: str) -> _Hit | None:
        """The topmost entry at `path` (OCI rules: a whiteout or an opaque
        directory hides lower layers; a non-directory over a parent hides
        what lies below it). `deleted_by` names the whiteout's layer."""
        from layerslayer_tui.fs.paths import ancestors

        self.deleted_by = None
        parents = ancestors(path)
        for index, by_path, gone, opaque, _entries in self._layers:
            entry = by_path.get(path)
            if entry is not None:
                return _Hit(entry, index)
            for anc in parents:
                held = by_path.get(anc)
                if held is not None and held.type is not EntryType.DIR:
                    return None
            if path in gone or any(a in gone for a in parents):
                self.deleted_by = index
                return None
            if any(a in opaque for a in parents):
                return None
        return None

    def has_children(self, path: str) -> bool:
        prefix = path + "/"
        return any(p.startswith(prefix) for _i, by_path, _g, _o, _e in self._layers for p in by_path)


class _RowLookup:
    """_Lookup's answers from cached listings read row by row
    (listing_rows.ListingRows): a file found without building every entry."""

    def __init__(self, layers: list[tuple[int, Any]], *, merged: bool) -> None:
        self._layers = list(reversed(layers))  # topmost first
        self._merged = merged
        self.deleted_by: int | None = None

    def _entry(self, rows: Any, path: str) -> TarEntry | None:
        from layerslayer_tui.fs.paths import WHITEOUT_PREFIX

        if self._merged and path.rpartition("/")[2].startswith(WHITEOUT_PREFIX):
            return None  # a whiteout is a marker, never a file of the merged view
        return rows.get(path)

    @staticmethod
    def _whited_out(rows: Any, path: str) -> bool:
        from layerslayer_tui.fs.paths import WHITEOUT_PREFIX

        parent, _sep, name = path.rpartition("/")
        if name.startswith(WHITEOUT_PREFIX):  # ".wh..wh.*" names are markers, not whiteouts
            return False
        marker = WHITEOUT_PREFIX + name
        return rows.find(f"{parent}/{marker}" if parent else marker) is not None

    def get(self, path: str) -> _Hit | None:
        """As _Lookup.get."""
        from layerslayer_tui.fs.paths import OPAQUE_MARKER, ancestors

        self.deleted_by = None
        parents = ancestors(path)
        for index, rows in self._layers:
            entry = self._entry(rows, path)
            if entry is not None:
                return _Hit(entry, index)
            for anc in parents:
                held = self._entry(rows, anc)
                if held is not None and held.type is not EntryType.DIR:
                    return None
            if not self._merged:
                continue
            if self._whited_out(rows, path) or any(self._whited_out(rows, a) for a in parents):
                self.deleted_by = index
                return None
            if any(rows.find(f"{a}/{OPAQUE_MARKER}") is not None for a in parents):
                return None
        return None

    def has_children(self, path: str) -> bool:
        from layerslayer_tui.fs.paths import WHITEOUT_PREFIX

        skip = (lambda name: name.startswith(WHITEOUT_PREFIX)) if self._merged else None
        return any(rows.has_under(path, skip) for _i, rows in self._layers)


class ImageFiles:
    """The files of one image as the container sees them (the merged view),
    or of one layer (`layer`), listed as little as needed: cached listings
    first, partial peeks for the rest, full reads only where the answer
    depends on them. `note` hears, in one sentence each, what was read."""

    def __init__(self, session: Session, image: ImageInfo, *, layer: int | None = None, budget: int = 256 * 1024,
                 note: Note = lambda _s: None) -> None:
        from layerslayer_tui.workspace import Workspace

        self.session = session
        self.image = image
        self.layer = layer
        self.budget = budget
        self.note = note
        self.ws = Workspace(image)
        self._entries: dict[int, Sequence[TarEntry]] = {}
        self._streamed: dict[int, bool] = {}
        self._listed: set[int] = set()
        self._full: set[int] = set()
        self._views: dict[int, MergedTree] = {}
        self._progress: dict[int, Any] = {}
        self._lookup: _Lookup | _RowLookup | None = None
        # Complete cached listings read row by row (listing_rows.py) until a
        # tree or a whole layer's entries are needed: then decoded once.
        self._rows: dict[int, Any] = {}
        self._blobs: dict[int, bytes] = {}

    @property
    def layers(self) -> list[int]:
        return [self.layer] if self.layer is not None else list(range(len(self.image.layers)))

    def _list(self, index: int, *, full: bool) -> None:
        from layerslayer_tui.peek.reader import human

        if index in self._full or (index in self._listed and not full):
            return
        if self._from_rows(index):
            return
        listing = self.session.listing(self.image, index, full=full, budget=self.budget)
        try:
            for _batch in listing:
                pass
        finally:
            listing.close()
        if not listing.cached:
            how = "whole" if listing.complete else "partially"
            self.note(f"listed layer {index} {how} ({human(listing.progress.compressed_read)} read)")
        self._entries[index] = listing.entries  # the columns as listed: no entry object per row
        self._progress[index] = listing.progress
        self._streamed[index] = listing.progress.kind is SourceKind.STREAM
        self._listed.add(index)
        if listing.complete:
            self._full.add(index)
        self._views.clear()
        self._lookup = None

    def _from_rows(self, index: int) -> bool:
        """List a layer from its complete cached listing without decoding it
        (False: no such listing, or it does not read; the ordinary way then
        decides, and drops a damaged row)."""
        import dataclasses

        from layerslayer_tui.listing_rows import ListingRows

        cache = self.session.cache
        if cache is None:
            return False
        held = cache.get_listing_blob(self.image.layers[index].digest, _scope(self.image))
        if held is None or not held[1].complete:
            return False
        blob, progress, _found = held
        try:
            rows = ListingRows(blob)
        except ValueError:
            return False
        if rows.n != progress.entries:
            return False
        self._rows[index], self._blobs[index] = rows, blob
        self._progress[index] = dataclasses.replace(progress, cached=True)
        self._streamed[index] = progress.kind is SourceKind.STREAM
        self._listed.add(index)
        self._full.add(index)
        self._views.clear()
        self._lookup = None
        return True

    def _entries_of(self, index: int) -> Sequence[TarEntry]:
        """Every entry of a listed layer (decoded now when it was read row by row)."""
        got = self._entries.get(index)
        if got is None and index in self._blobs:
            from layerslayer_tui.listing_codec import decode_entries

            try:
                got = decode_entries(self._blobs[index])
            except Exception:  # noqa: BLE001 - as the cache: a row that does not decode is damage to it
                cached = self.session.cache.get_listing(self.image.layers[index].digest, _scope(self.image)) \
                    if self.session.cache is not None else None  # drops the damaged row, with a note
                if cached is None:
                    raise LayerslayerError(f"The cached listing of layer {index} is damaged; run the command "
                                           "again to list the layer anew.") from None
                got = cached.entries
            del self._blobs[index]
            self._entries[index] = got
        return got if got is not None else []

    def view(self, upto: int | None = None) -> MergedTree:
        from layerslayer_tui.fs import MergedTree

        key = -1 if upto is None else upto
        view = self._views.get(key)
        if view is None:
            from layerslayer_tui.entry import EntryBatch

            for index in self._listed:  # the trees are built only when a view is needed (get DIR, hardlinks)
                if not self.ws.is_listed(index):
                    self.ws.feed(index, EntryBatch(self._entries_of(index), self._progress[index]))
            if self.layer is not None:
                view = MergedTree()
                view.apply(self.ws.tree(self.layer), self.layer)
            else:
                view = self.ws.merged(upto)
            self._views[key] = view
        return view

    def locate(self, path: str) -> tuple[str, Any]:
        """(where `path` lands with symlinks followed inside the image, its
        node or None), listing layers as far as the answer needs: partial
        peeks first, then full reads of the layers that could still change it
        (all of them when the path was not seen or is a directory; those above
        its layer otherwise)."""
        clean = path.strip()
        if not clean or clean.strip("/") == "":
            raise LayerslayerError(f"{path!r} is the image's root directory, not a file.")
        for index in self.layers:
            self._list(index, full=False)
        landed, node = self._look(clean)
        owner = node.layer_index if node is not None and node.layer_index is not None else -1
        if node is not None and node.is_dir:
            owner = -1  # a directory's content comes from every layer
        pending = [i for i in reversed(self.layers) if i > owner and i not in self._full]
        if pending:
            for index in pending:
                self._list(index, full=True)
            landed, node = self._look(clean)
        return landed, node

    def _look(self, path: str) -> tuple[str, Any]:
        if self._lookup is None:
            listed = [i for i in self.layers if i in self._listed]
            if all(i in self._rows for i in listed):
                self._lookup = _RowLookup([(i, self._rows[i]) for i in listed], merged=self.layer is None)
            else:
                self._lookup = _Lookup([(i, self._entries_of(i)) for i in listed], merged=self.layer is None)
        landed = follow(self._lookup, path)  # type: ignore[arg-type]
        return landed, (self._lookup.get(landed) if landed else None)

    def find(self, path: str) -> Found:
        """The regular file (or hardlink) `path` names; NotFoundError or
        LayerslayerError with one sentence otherwise."""
        from layerslayer_tui.fs.merged import HARDLINK

        landed, node = self.locate(path)
        if node is not None and node.is_dir or node is None and landed and self._lookup is not None \
                and self._lookup.deleted_by is None and self._lookup.has_children(landed):
            raise LayerslayerError(f"{path} is a directory; use get to save a directory.")
        if node is None or node.entry is None or node.layer_index is None:
            raise NotFoundError(self._missing(path.strip(), landed))
        if node.kind not in ("file", HARDLINK):
            raise LayerslayerError(f"{path} is not a regular file (it is a {node.kind}).")
        return Found(node.layer_index, node.entry, landed)

    def has_children(self, path: str) -> bool:
        return self._lookup is not None and self._lookup.has_children(path)

    def _missing(self, path: str, landed: str) -> str:
        lookup = self._lookup
        if lookup is not None and landed:
            lookup.get(landed)
            if lookup.deleted_by is not None:
                return f"{path} was deleted by layer {lookup.deleted_by} (a whiteout); it is not in the image."
        where = "the image" if self.layer is None else f"layer {self.layer}"
        return f"There is no file {path} in {where}."

    def read(self, found: Found, *, cap: int = 1 << 62, dest: Path | None = None) -> FileRead:
        """The content of a found file (hardlinks resolved, in its layer or below)."""
        layer_index, entry = found.layer_index, found.entry
        fast = self._read_by_rows(layer_index, entry, cap, dest)
        if fast is not None:
            return fast
        if entry.type is EntryType.HARDLINK:
            layer_index, entry = hardlink_source(lambda i: self.view(i), self._entries_of, layer_index, entry)
        if not self._streamed.get(layer_index, False):
            entry = TarEntry(path=entry.path, type=EntryType.FILE, size=entry.size)  # an index listing: find by path
            return self.session.read_file(self.image, layer_index, entry, cap=cap, dest=dest)
        _loader(self.session).require_online(f"the content of {entry.path}", self.image)
        layer = self.image.layers[layer_index]
        read = read_member(self.session, self.image, layer, entry, self._entries_of(layer_index), cap=cap,
                           dest=dest)
        if read is None:
            return self.session.read_file(self.image, layer_index, entry.path, cap=cap, dest=dest)
        return read

    def _in_layer(self, layer_index: int, entry: TarEntry) -> TarEntry | None:
        """The member whose bytes a streamed layer's entry has (a hardlink
        resolved inside the layer, from its rows); None when the layer was
        not read row by row or the link leads elsewhere."""
        rows = self._rows.get(layer_index)
        if rows is None or not self._streamed.get(layer_index, False):
            return None
        target = entry
        here = rows.find(entry.path)  # the entry the lookup found: the last of its path
        for _ in range(MAX_LINK_HOPS):
            if target.type is not EntryType.HARDLINK or not target.link:
                return target
            there = rows.find_before(target.link, rows.n if here is None else here)
            if there is None:
                return None  # in a layer below, or missing: the general way says which
            target, here = rows.entry(there, target.link), there
        return None

    def _read_by_rows(self, layer_index: int, entry: TarEntry, cap: int, dest: Path | None) -> FileRead | None:
        """A streamed layer's member read from its row (hardlinks resolved
        inside the layer); None when _in_layer has no answer (the caller goes
        the general way)."""
        target = self._in_layer(layer_index, entry)
        if target is None:
            return None
        _loader(self.session).require_online(f"the content of {entry.path}", self.image)
        layer = self.image.layers[layer_index]
        read = read_member(self.session, self.image, layer, target, [], cap=cap, dest=dest)
        assert read is not None  # an entry (not a path) is always read
        if target is not entry:
            read.carved.resolved, read.carved.entry = read.carved.entry, entry
        return read

    def read_together(self, founds: list[Found], folder: Path) -> dict[int, tuple[Path, FileRead]]:
        """Files of the same gzip layers read in as few Range requests as the
        seek index allows (randomaccess.plan_groups): {position in `founds`:
        (a file under `folder` holding its bytes, what it cost)}. Files left
        out (no index, a group of one, a group that did not read) are for
        `read`, one by one."""
        import dataclasses

        from layerslayer_tui.peek import randomaccess as ra

        by_layer: dict[int, list[tuple[int, TarEntry, TarEntry]]] = {}
        for k, found in enumerate(founds):
            target = self._in_layer(found.layer_index, found.entry)
            if target is not None and target.type is EntryType.FILE and target.size > 0 and target.offset >= 0:
                by_layer.setdefault(found.layer_index, []).append((k, target, found.entry))
        done: dict[int, tuple[Path, FileRead]] = {}
        for layer_index, items in by_layer.items():
            if len(items) < 2:
                continue
            _loader(self.session).require_online(f"the content of {items[0][2].path}", self.image)
            layer = self.image.layers[layer_index]
            index = load_index(self.session, self.image, layer)
            if index is None or not index.points:
                continue
            source = _loader(self.session).blob_source(self.image, layer.descriptor)
            first = index.points[0].uncompressed
            groups = ra.plan_groups(index, [t for _k, t, _a in items if t.offset >= first], source.size)
            held: dict[int, tuple[Path, FileRead]] = {}
            for group in groups:
                if len(group) < 2:
                    continue
                paths = [folder / f"{layer_index}-{e.offset}" for e in group]
                outs = [open(p, "w+b") for p in paths]  # noqa: SIM115 - closed below, all of them
                try:
                    reads = ra.read_group(source, group, index, outs)
                except (ra.IndexMismatch, LayerslayerError):
                    continue  # read one by one instead, which reports (and drops a wrong index)
                finally:
                    for fh in outs:
                        fh.close()
                for path, entry, r in zip(paths, group, reads):
                    held[entry.offset] = (path, FileRead(r.carved, layer_index, r.via, r.compressed_read,
                                                         len(r.requests)))
            for k, target, asked in items:
                if target.offset in held:
                    path, read = held[target.offset]
                    if target is not asked:
                        read = FileRead(dataclasses.replace(read.carved, resolved=read.carved.entry, entry=asked),
                                        read.layer_index, read.via, read.compressed_read, read.requests)
                    done[k] = (path, read)
        return done


def cat(files: ImageFiles, path: str, out: BinaryIO) -> FileRead:
    """Write the file `path` names to `out` (binary), through a temporary
    file so that a fallback to streaming never leaves half a file behind."""
    import shutil
    import tempfile

    found = files.find(path)
    with tempfile.TemporaryDirectory(prefix="layerslayer-cat-") as tmp:
        target = Path(tmp) / "content"
        read = files.read(found, dest=target)
        if target.exists():
            with open(target, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
        out.flush()
    return read


def get(files: ImageFiles, paths: list[str], dest: Path, *, force: bool = False,
        done: Note = lambda _s: None) -> int:
    """Save files and whole directories under `dest` (created if missing);
    modes kept (never setuid), symlinks recreated (never followed), nothing
    written outside `dest`, nothing overwritten without `force`. Files near
    each other in a layer share Range requests (ImageFiles.read_together).
    Returns the number of files written."""
    dest.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[Found, Path]] = []
    links: list[tuple[Path, str]] = []
    dirs: list[tuple[Path, int]] = []
    for path in paths:
        landed, hit = files.locate(path)
        is_dir = hit is not None and hit.is_dir or hit is None and bool(landed) and files.has_children(landed)
        if is_dir:
            view = files.view()
            node = view.get(landed)
            if node is None:
                continue
            base = landed.rpartition("/")[2]
            for sub in [node, *view.walk(landed)]:
                rel = base if sub is node else f"{base}/{sub.path[len(landed) + 1:]}"
                target = safe_target(dest, rel)
                if sub.is_dir:
                    if target.is_symlink():
                        raise ExportError(f"Refusing to write into {target}: it is a symbolic link.")
                    target.mkdir(parents=True, exist_ok=True)
                    mode = sub.entry.mode if sub.entry is not None else 0o755
                    dirs.append((target, mode))
                elif sub.kind == "symlink" and sub.entry is not None and sub.entry.link:
                    links.append((target, sub.entry.link))
                elif sub.kind in ("file", "hardlink") and sub.entry is not None and sub.layer_index is not None:
                    jobs.append((Found(sub.layer_index, sub.entry, sub.path), target))
            continue
        found = files.find(path)
        jobs.append((found, safe_target(dest, found.path.rpartition("/")[2])))
    written = _save_all(files, jobs, dest, force, done)
    for target, link in links:
        if os.path.lexists(target):
            if not force:
                raise ExportError(f"{target} already exists; use --force to overwrite it.")
            if target.is_dir() and not target.is_symlink():
                raise ExportError(f"{target} is a directory; not replaced by a symbolic link.")
            target.unlink()
        os.symlink(link, target)  # the link text only: nothing is ever written through it
    for target, mode in reversed(dirs):
        os.chmod(target, (mode & 0o777) | 0o700)  # keep the owner able to read what was saved
    return written


def _save_all(files: ImageFiles, jobs: list[tuple[Found, Path]], dest: Path, force: bool, done: Note) -> int:
    """Every file of `jobs`: those read_together could read in shared
    requests first, into a private folder under `dest`, then each saved."""
    import shutil
    import tempfile

    if not jobs:
        return 0
    try:
        folder = Path(tempfile.mkdtemp(prefix=".layerslayer-get-", dir=dest))
    except OSError as err:
        raise ExportError(f"Cannot write into {dest}: {err.strerror or err}.") from None
    try:
        ready = files.read_together([found for found, _target in jobs], folder) if len(jobs) > 1 else {}
        return sum(_save(files, found, target, force, done, ready.get(k)) for k, (found, target) in enumerate(jobs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _save(files: ImageFiles, found: Found, target: Path, force: bool, done: Note,
          ready: tuple[Path, FileRead] | None = None) -> int:
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    safe_target(target.parent, target.name)
    mode = found.entry.mode if found.entry.mode is not None else 0o644
    out = open_new(target, mode, force=force)
    ok = False
    try:
        if ready is not None:
            part, read = ready
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
        else:
            with tempfile.TemporaryDirectory(prefix=".layerslayer-get-", dir=target.parent) as tmp:
                part = Path(tmp) / "content"
                read = files.read(found, dest=part)
                if part.exists():
                    with open(part, "rb") as fh:
                        shutil.copyfileobj(fh, out, 1 << 20)
        ok = True
        done(f"{found.path}: {read.cost()}")
        return 1
    finally:
        out.close()
        if not ok:
            os.unlink(target)
