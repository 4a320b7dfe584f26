"""Tar format constants, named once (as in CPython's tarfile and Go's archive/tar)."""

from __future__ import annotations

import struct
import zlib

from ..entry import EntryType

BLOCKSIZE = 512
ZERO_BLOCK = bytes(BLOCKSIZE)

# Header layout: name mode uid gid size mtime chksum typeflag linkname magic
# version uname gname devmajor devminor prefix.
HEADER = struct.Struct("100s8s8s8s12s12s8sc100s6s2s32s32s8s8s155s")
# The same block as the scanner's loop over plain headers reads it: the first
# byte of linkname and of prefix (each read whole only when not NUL), uname
# and gname as one 64-byte field (one lookup key), devices skipped.
PLAIN_HEADER = struct.Struct("100s8s8s8s12s12s8scB99x6s2x64s16xB154x")
LINKNAME_OFFSET = 157
PREFIX_OFFSET = 345
CHKSUM_OFFSET = 148
CHKSUM_LEN = 8
CHKSUM_END = CHKSUM_OFFSET + CHKSUM_LEN
MAGIC_OFFSET = 257

POSIX_MAGIC = b"ustar\x00"  # followed by version "00"; offset 345 is a name prefix
GNU_MAGIC = b"ustar "  # followed by " \0"; offset 345 holds atime/ctime, never a prefix

# Old GNU sparse header ('S'): 4 (offset, numbytes) pairs of 12 bytes at 386,
# isextended at 482, realsize at 483; extension blocks hold 21 pairs and an
# isextended flag at 504.
GNU_SPARSE_OFFSET = 386
GNU_SPARSE_PAIRS = 4
GNU_ISEXTENDED = 482
GNU_REALSIZE = 483
GNU_REALSIZE_LEN = 12
GNU_EXT_PAIRS = 21
GNU_SPARSE_FIELD = 12  # each pair: an offset field, then a numbytes field
GNU_EXT_ISEXTENDED = 504

REGTYPE = b"0"
AREGTYPE = b"\x00"
LNKTYPE = b"1"
SYMTYPE = b"2"
CHRTYPE = b"3"
BLKTYPE = b"4"
DIRTYPE = b"5"
FIFOTYPE = b"6"
CONTTYPE = b"7"
GNUTYPE_LONGNAME = b"L"
GNUTYPE_LONGLINK = b"K"
GNUTYPE_SPARSE = b"S"
XHDTYPE = b"x"  # PAX extended header for the next entry
XGLTYPE = b"g"  # PAX global header
SOLARIS_XHDTYPE = b"X"  # old Solaris spelling of "x"

# Unknown type flags read as regular files, as POSIX asks and tarfile does.
ENTRY_TYPES: dict[bytes, EntryType] = {
    REGTYPE: EntryType.FILE,
    AREGTYPE: EntryType.FILE,
    CONTTYPE: EntryType.FILE,
    GNUTYPE_SPARSE: EntryType.FILE,
    LNKTYPE: EntryType.HARDLINK,
    SYMTYPE: EntryType.SYMLINK,
    CHRTYPE: EntryType.CHAR,
    BLKTYPE: EntryType.BLOCK,
    DIRTYPE: EntryType.DIR,
    FIFOTYPE: EntryType.FIFO,
}

# Only regular files carry content; links, devices, fifos and dirs skip their
# size field's bytes all the same, since some writers put data there.
MAX_RECORD = 1 << 20  # PAX / long-name records larger than this are refused (tar bombs)
# All the PAX records ('x') that precede one entry, together. Linux caps a
# file's xattr names at 64 KiB and each value at 64 KiB, paths at 4 KiB: 1 MiB
# is far above any real entry, and one entry's records are never multiplied.
MAX_ENTRY_PAX = 1 << 20
# Global PAX state ('g' headers, all of them together) applies to every later
# entry, so whatever it holds is multiplied by the entry count downstream (cache
# rows, exports). Real global headers hold a key or two (git archive writes one
# 52-byte comment); docker and containerd ignore them altogether. A 'g' record
# that would take the state past these bounds is refused whole.
MAX_GLOBAL_PAX = 4096  # bytes of keys + values
MAX_GLOBAL_PAX_KEYS = 64
MAX_SIZE = 1 << 62  # any declared size above this is nonsense

PAX_NUMBER_FIELDS = ("uid", "gid", "size")
PAX_XATTR_PREFIX = "SCHILY.xattr."


_SPACES = b" " * CHKSUM_LEN
_ADLER = zlib.adler32


def checksum_ok(
    buf: bytes | bytearray | memoryview,
    off: int,
    stored: int,
    *,
    _adler=_ADLER,  # noqa: ANN001 - bound as locals: this runs once per header on the hot path
    _spaces: bytes = _SPACES,
    _start: int = CHKSUM_OFFSET,
    _end: int = CHKSUM_END,
    _size: int = BLOCKSIZE,
) -> bool:
    """The header block at `off` sums to `stored`, the chksum field counted as
    spaces; unsigned or signed bytes, as tarfile and GNU tar accept."""
    # adler32's low half is (1 + byte sum) mod 65521: a C-speed byte sum.
    # It can only be fooled by sums differing by a multiple of 65521.
    a = _adler(buf[off + _end : off + _size], _adler(_spaces, _adler(buf[off : off + _start])))
    if a & 0xFFFF == (stored + 1) % 65521:
        return True
    block = bytes(buf[off : off + _size])
    unsigned = sum(block) - sum(block[CHKSUM_OFFSET:CHKSUM_END]) + CHKSUM_LEN * 32
    signed = unsigned - 256 * sum(1 for b in block if b >= 128)
    return stored in (unsigned, signed)
