"""Path normalisation for untrusted tar names: the one place that cleans them.

Layer tars come from registries we do not control. The readers (tar scanner,
index readers, carving) keep a name as stored apart from the harmless "./"
prefix and trailing "/" (`tar_name`), so fs/ can still tell an absolute or
escaping name; fs/ then gives every name one canonical relative form
(`normalize`) or flags it as unsafe (`classify`).
"""

from __future__ import annotations

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
# Other ".wh..wh.*" names are AUFS bookkeeping (plinks, orphans): never user files.
META_PREFIX = ".wh..wh."

# Why a name is unsafe (the values exports write as "unsafe").
ABSOLUTE = "absolute"  # "/abs/file"
ESCAPES = "escapes the root"  # "../x", "a/../../x"
DOTDOT = "has a .. part"  # "a/../b": stays inside, but a name a runtime must resolve
INVALID = "invalid name"  # a NUL byte (only a PAX record can carry one)


def tar_name(name: str) -> str:
    """A reader's form of a stored name: leading "./" and trailing "/" dropped,
    "." (the archive root) becomes "". A leading "/" and ".." parts are kept so
    that fs/ can flag them; this is the rule carving matches names with too."""
    while name.startswith("./"):
        name = name[2:].lstrip("/")  # ".//etc" is "etc", not an absolute name
    if name == ".":
        return ""
    if name.endswith("/") and name.strip("/"):
        name = name.rstrip("/")
    return name


def normalize(path: str) -> str | None:
    """Canonical form of a tar name: relative, no "./", no empty parts.

    Returns None for names that escape the root (a ".." component) and for the
    root itself, which the caller should skip rather than trust.
    """
    if "\x00" in path:
        return None
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            return None
        parts.append(part)
    if not parts:
        return None
    return "/".join(parts)


def classify(path: str) -> tuple[str | None, str | None]:
    """(where a runtime puts the name, why it is unsafe or None).

    The place follows umoci and containerd, which clamp a name into the root
    as if the root were "/": ".." at the root stays at the root and a leading
    "/" is dropped ("../escape/evil" lands in "escape/evil"). The place is
    None for the root itself and for invalid names.
    """
    if "\x00" in path:
        return None, INVALID
    reason = ABSOLUTE if path.startswith("/") else None
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
                reason = reason or DOTDOT
            else:
                reason = ESCAPES
            continue
        parts.append(part)
    return ("/".join(parts) or None), reason


# GNU tar's "escape" quoting: backslash and control characters made visible,
# so one entry is always one line whatever bytes the name holds.
_ESCAPES = {i: f"\\{i:03o}" for i in list(range(32)) + [127]}
_ESCAPES.update({ord("\\"): "\\\\", ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r"})
_ESCAPES.update({ord("\a"): "\\a", ord("\b"): "\\b", ord("\f"): "\\f", ord("\v"): "\\v"})


def quote(text: str) -> str:
    """A name for one line of text (exports, warnings): controls escaped as GNU tar does."""
    return text.translate(_ESCAPES)


def split(path: str) -> tuple[str, str]:
    """(parent, name); the parent of a top-level name is ""."""
    head, sep, tail = path.rpartition("/")
    return (head, tail) if sep else ("", path)


def ancestors(path: str) -> list[str]:
    """Every proper ancestor directory of path, outermost first, excluding the root."""
    out = []
    idx = path.find("/")
    while idx != -1:
        out.append(path[:idx])
        idx = path.find("/", idx + 1)
    return out
