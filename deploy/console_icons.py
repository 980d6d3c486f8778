#!/usr/bin/env python3
"""Draws the console's PNG icons (192 and 512 px) from the same shapes as
server/console/favicon.svg: a rounded teal square with a yellow "M" line.

Python standard library only (zlib for PNG), 4x4 supersampling for smooth
edges, so the output is the same on every machine. The icons have about
thirty distinct colours, so they are written as palette PNGs (8-bit
indices, a tRNS chunk for the soft corners): the 192 px icon, which
Chromium fetches on every first load for the manifest, went from 1,970
bytes as RGBA to about 1,300. Run once from the
repository root and commit the result:

    python3 deploy/console_icons.py server/console

It writes icon-192.png and icon-512.png (purpose "any") and
icon-maskable-512.png (full-bleed background, the mark inside the 80 %
safe zone, for launchers that crop icons to a circle).
"""

import struct
import sys
import zlib
from pathlib import Path

TEAL = (0x1D, 0x4E, 0x5F)
YELLOW = (0xF2, 0xC1, 0x4E)
# The favicon's "M", in its 32-unit box.
M_POINTS = [(6, 24), (6, 8), (11, 16), (16, 8), (21, 16), (26, 8), (26, 24)]
STROKE = 3.0
RADIUS = 6.0
SAMPLES = 4


def seg_dist2(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)
    t = max(0.0, min(1.0, t))
    cx, cy = ax + t * dx, ay + t * dy
    return (px - cx) ** 2 + (py - cy) ** 2


def in_rounded_square(x, y, size, radius):
    cx = min(max(x, radius), size - radius)
    cy = min(max(y, radius), size - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius


def draw(size, maskable):
    """RGBA rows of one icon."""
    # Where the 32-unit drawing goes: the whole icon, or the safe zone.
    scale = size / 32 * (0.8 if maskable else 1.0)
    offset = size * 0.1 if maskable else 0.0
    points = [(offset + x * scale, offset + y * scale) for x, y in M_POINTS]
    half2 = (STROKE * scale / 2) ** 2
    segments = list(zip(points, points[1:]))
    rows = []
    for j in range(size):
        row = bytearray([0])  # PNG filter: none
        for i in range(size):
            bg = ink = 0
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    x = i + (si + 0.5) / SAMPLES
                    y = j + (sj + 0.5) / SAMPLES
                    if maskable or in_rounded_square(x, y, size, RADIUS * size / 32):
                        bg += 1
                        if any(seg_dist2(x, y, *a, *b) <= half2 for a, b in segments):
                            ink += 1
            n = SAMPLES * SAMPLES
            alpha = bg / n
            if bg:
                mix = ink / bg
                rgb = [round(t * (1 - mix) + y * mix) for t, y in zip(TEAL, YELLOW)]
            else:
                rgb = list(TEAL)
            row += bytes(rgb + [round(alpha * 255)])
        rows.append(bytes(row))
    return rows


def png(size, rows):
    """An indexed-colour PNG of RGBA `rows` (filter byte first, as `draw`
    gives them). Filter "none" on every row: on these flat shapes it
    compresses best (measured against Sub, Up and a per-row choice)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = [[row[i:i + 4] for i in range(1, len(row), 4)] for row in rows]
    # Translucent colours first, so the tRNS chunk stops at the last of them.
    colours = sorted({p for row in pixels for p in row}, key=lambda c: (c[3] == 255, c))
    assert len(colours) <= 256, "too many colours for a palette"
    index = {c: i for i, c in enumerate(colours)}
    data = b"".join(b"\x00" + bytes(index[p] for p in row) for row in pixels)
    header = struct.pack(">IIBBBBB", size, size, 8, 3, 0, 0, 0)
    palette = b"".join(c[:3] for c in colours)
    alpha = bytes(c[3] for c in colours if c[3] != 255)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", palette)
            + (chunk(b"tRNS", alpha) if alpha else b"")
            + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b""))


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "server/console")
    for name, size, maskable in [("icon-192.png", 192, False), ("icon-512.png", 512, False),
                                 ("icon-maskable-512.png", 512, True)]:
        (out / name).write_bytes(png(size, draw(size, maskable)))
        print(out / name)


if __name__ == "__main__":
    main()
