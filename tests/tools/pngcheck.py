#!/usr/bin/env python3
"""pngcheck.py - what a status-page screenshot shows, for test_status_page.sh.

    pngcheck.py FILE WIDTH HEIGHT MIN_CARDS MAX_CARDS

Decodes the PNG (8-bit RGB or RGBA, not interlaced: what chromium writes) with the
standard library alone, checks its size, and counts the stanza cards side by side: the
page draws each card with a 0.5rem (8 px) left border in its state's colour (green, amber,
red or grey), so the distinct places of such stripes (at least 40 px tall) are the columns. A page whose
style sheet the CSP refused (a wrong hash) has no coloured stripes at all, and a phone
layout has one column. Prints what it found; exits 1 when it is not what was expected.
"""
import struct
import sys
import zlib

STRIPES = {(0x1a, 0x7f, 0x37), (0x9a, 0x67, 0x00), (0xcf, 0x22, 0x2e), (0x8c, 0x95, 0x9f)}


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG: depth %d, colour type %d" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def runs(row, w, bpp):
    """(x, colour) of each run of 6-10 pixels of a state colour on one row."""
    out, run, colour = [], 0, None
    for x in range(w + 1):
        px = tuple(row[x * bpp:x * bpp + 3]) if x < w else None
        if px is not None and px in STRIPES and (run == 0 or px == colour):
            run, colour = run + 1, px
            continue
        if 6 <= run <= 10:
            out.append((x - run, colour))
        run, colour = (1, px) if px in STRIPES else (0, None)
    return out


def columns(rows, w, bpp, tall=40):
    """Distinct x of the stripes: runs at the same x on at least `tall` rows in a row
    (a card's border, not a badge or a word)."""
    streak, xs = {}, set()
    for r in rows:
        now = {x for x, _ in runs(r, w, bpp)}
        streak = {x: streak.get(x, 0) + 1 for x in now}
        xs |= {x for x, n in streak.items() if n >= tall}
    return sorted(xs)


def main():
    path, want_w, want_h, lo, hi = sys.argv[1], *map(int, sys.argv[2:6])
    w, h, bpp, rows = decode(path)
    cards = len(columns(rows, w, bpp))
    print("%s: %dx%d, %d card(s) side by side" % (path, w, h, cards))
    if (w, h) != (want_w, want_h):
        print("expected %dx%d" % (want_w, want_h))
        return 1
    if not lo <= cards <= hi:
        print("expected %d to %d cards side by side" % (lo, hi))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
