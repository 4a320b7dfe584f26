"""Hypothesis strategies for tar entries: one definition for the tests of the
listing model, the cache codec and the row reader."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from layerslayer_tui.entry import EntryType, TarEntry


def tar_entries(*, max_path: int = 30, uid: Any = None, owner: Any = None, xattrs: Any = None,
                extra: Any = None) -> st.SearchStrategy[TarEntry]:
    """Entries with any type and in-range numbers; each field's strategy may be replaced."""
    return st.builds(
        TarEntry,
        path=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1,
                     max_size=max_path),
        type=st.sampled_from(list(EntryType)),
        size=st.integers(0, 2**62),
        mode=st.integers(0, 0o7777),
        uid=uid if uid is not None else st.integers(0, 2**31),
        gid=st.integers(0, 2**31),
        uname=owner if owner is not None else st.text(max_size=8),
        gname=owner if owner is not None else st.text(max_size=8),
        mtime=st.floats(-1e10, 1e10, allow_nan=False),
        link=st.none() | st.text(max_size=20),
        offset=st.integers(-1, 2**40),
        devmajor=st.integers(0, 255),
        devminor=st.integers(0, 255),
        xattrs=xattrs if xattrs is not None else st.none(),
        extra=extra if extra is not None else st.none(),
    )
