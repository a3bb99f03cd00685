#!/usr/bin/env python3
"""Checks a Chromium screenshot of a dlfin model card (stdlib only).

  png_check.py stats FILE.png                 size and colour counts as JSON
  png_check.py crop FILE.png Y0 Y1 OUT.png     rows Y0..Y1 as a new PNG
  png_check.py card FILE.png                   asserts a rendered model card
  png_check.py chart FILE.png COLOUR...        asserts a rendered chart

Decodes 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) with zlib.
"""
import json
import struct
import sys
import zlib

# Chart colours of src/core/svg.h (Okabe-Ito palette).
COLOURS = {
    "blue": (0x00, 0x72, 0xB2),
    "orange": (0xE6, 0x9F, 0x00),
    "vermillion": (0xD5, 0x5E, 0x00),
    "green": (0x00, 0x9E, 0x73),
}


def read_png(path):
    """Returns (width, height, rows of (r, g, b) byte strings)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s is not a PNG" % path)
    pos, idat, width = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit("unsupported PNG layout")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if ftype == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 0xFF
        elif ftype == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 0xFF
        elif ftype == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 0xFF
        elif ftype == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 0xFF
        prev = line
        if bpp == 4:
            line = bytearray(b for k, b in enumerate(line) if k % 4 != 3)
        rows.append(bytes(line))
    return width, height, rows


def write_png(path, width, rows):
    """Writes RGB rows as a PNG."""
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def stats(path):
    """Colour statistics of a screenshot."""
    width, height, rows = read_png(path)
    counts = {name: 0 for name in COLOURS}
    nonwhite = 0
    last_content_row = 0
    for y, row in enumerate(rows):
        row_has = False
        for x in range(0, len(row), 3):
            r, g, b = row[x], row[x + 1], row[x + 2]
            if r < 235 or g < 235 or b < 235:
                nonwhite += 1
            for name, (cr, cg, cb) in COLOURS.items():
                if abs(r - cr) < 24 and abs(g - cg) < 24 and abs(b - cb) < 24:
                    counts[name] += 1
                    row_has = True
        if row_has:
            last_content_row = y
    return {"width": width, "height": height, "nonwhite_share": nonwhite / float(width * height),
            "colours": counts, "last_chart_row": last_content_row}


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    cmd, path = argv[1], argv[2]
    if cmd == "stats":
        print(json.dumps(stats(path)))
    elif cmd == "crop":
        width, _, rows = read_png(path)
        write_png(argv[5], width, rows[int(argv[3]):int(argv[4])])
    elif cmd in ("card", "chart"):
        s = stats(path)
        print(json.dumps(s))
        bad = []
        if s["nonwhite_share"] < 0.02:
            bad.append("the page is (almost) blank")
        need = argv[3:] if cmd == "chart" else ["blue", "orange", "vermillion", "green"]
        for name in need:
            # a chart line or a bar is at least a few hundred pixels
            if s["colours"][name] < (300 if cmd == "card" else 150):
                bad.append("too few %s pixels (%d): a chart did not render" % (name, s["colours"][name]))
        if bad:
            raise SystemExit("; ".join(bad))
        print("ok")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
