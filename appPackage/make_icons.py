"""Generate the Teams app icons (color.png 192x192, outline.png 32x32).

Pure standard library: shapes are described as rectangles / rounded rectangles,
rendered with 4x4 supersampling for smooth edges and written by a tiny PNG
encoder (zlib + struct).  Run from anywhere:

    python appPackage/make_icons.py

The output is deterministic, so re-running it leaves the committed files unchanged.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent

BLUE = (0x2F, 0x6D, 0xB5)  # calm blue background (matches manifest accentColor)
WHITE = (0xFF, 0xFF, 0xFF)
LINE_BLUE = (0xA9, 0xC4, 0xE6)  # light blue "text lines" on the pages

SUPERSAMPLE = 4

Shape = Callable[[float, float], bool]


# --- PNG encoding -------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(width: int, height: int, rows: Sequence[bytes], *, rgba: bool) -> bytes:
    """Encode 8-bit RGB (colour type 2) or RGBA (colour type 6) rows as PNG."""
    channels = 4 if rgba else 3
    for row in rows:
        if len(row) != width * channels:
            raise ValueError("row length does not match width")
    if len(rows) != height:
        raise ValueError("row count does not match height")
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 2, 0, 0, 0)
    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter type 0 (None)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


# --- shapes -------------------------------------------------------------------------


def rect(x0: float, y0: float, x1: float, y1: float) -> Shape:
    return lambda x, y: x0 <= x < x1 and y0 <= y < y1


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x < x1 and y0 <= y < y1):
            return False
        cx = min(max(x, x0 + r), x1 - r)
        cy = min(max(y, y0 + r), y1 - r)
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r

    return inside


def union(*shapes: Shape) -> Shape:
    return lambda x, y: any(s(x, y) for s in shapes)


def minus(shape: Shape, *holes: Shape) -> Shape:
    return lambda x, y: shape(x, y) and not any(h(x, y) for h in holes)


def coverage(shape: Shape, px: int, py: int) -> float:
    """Fraction of the pixel (px, py) covered by shape (supersampled)."""
    n = SUPERSAMPLE
    hits = 0
    for sy in range(n):
        for sx in range(n):
            if shape(px + (sx + 0.5) / n, py + (sy + 0.5) / n):
                hits += 1
    return hits / (n * n)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


# --- the two icons ------------------------------------------------------------------


def _book_layers(size: float) -> list[tuple[Shape, tuple[int, int, int]]]:
    """Open book with a "P" on the left page and text lines on the right, in a
    192-unit design grid scaled to `size`."""
    k = size / 192.0

    def box(x0: float, y0: float, x1: float, y1: float, r: float = 0.0) -> Shape:
        if r:
            return rounded_rect(x0 * k, y0 * k, x1 * k, y1 * k, r * k)
        return rect(x0 * k, y0 * k, x1 * k, y1 * k)

    left_page = box(34, 50, 93, 142, 6)
    right_page = box(99, 50, 158, 142, 6)
    cover = box(28, 138, 164, 150, 5)
    pages = union(left_page, right_page, cover)

    # "P": a stem plus a bowl drawn as a rounded ring.
    stem = box(48, 66, 59, 126)
    bowl_outer = box(48, 66, 82, 102, 14)
    bowl_inner = box(59, 76, 71, 92, 6)
    letter_p = union(stem, minus(bowl_outer, bowl_inner))

    lines = union(
        *(box(110, y, 147, y + 7, 3.5) for y in (68, 84, 100)),
        box(110, 116, 134, 123, 3.5),
    )
    return [(pages, WHITE), (letter_p, BLUE), (lines, LINE_BLUE)]


def color_icon(size: int = 192) -> bytes:
    """Full-colour, fully opaque RGB icon: white book on a calm blue square."""
    layers = _book_layers(size)
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            colour = BLUE
            for shape, fill in layers:
                c = coverage(shape, px, py)
                if c:
                    colour = _mix(colour, fill, c)
            row += bytes(colour)
        rows.append(bytes(row))
    return encode_png(size, size, rows, rgba=False)


def outline_shape() -> Shape:
    """White-only glyph for the 32x32 outline icon: an open book drawn as two
    page outlines (2 px strokes) over a base line, with a "P" on the left page."""
    left = minus(rounded_rect(3, 6, 15.5, 25, 1.5), rect(5, 8, 13.5, 23))
    right = minus(rounded_rect(16.5, 6, 29, 25, 1.5), rect(18.5, 8, 27, 23))
    base = rounded_rect(2, 25, 30, 27, 1)
    p_stem = rect(7, 10, 9, 21)
    p_bowl = minus(rounded_rect(7, 10, 12.5, 16, 2.5), rect(9, 12, 10.5, 14))
    text_lines = union(rect(20, 11, 25, 12.5), rect(20, 15, 25, 16.5), rect(20, 19, 23.5, 20.5))
    return union(left, right, base, p_stem, p_bowl, text_lines)


def outline_icon(size: int = 32) -> bytes:
    """White on transparent RGBA icon; every visible pixel is pure white."""
    shape = outline_shape()
    scale = 32 / size
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            n = SUPERSAMPLE
            hits = sum(
                shape((px + (sx + 0.5) / n) * scale, (py + (sy + 0.5) / n) * scale)
                for sy in range(n)
                for sx in range(n)
            )
            alpha = round(255 * hits / (n * n))
            row += bytes((255, 255, 255, alpha)) if alpha else bytes(4)
        rows.append(bytes(row))
    return encode_png(size, size, rows, rgba=True)


def main() -> None:
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
