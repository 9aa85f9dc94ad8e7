#!/usr/bin/env python3
"""Deterministic mutations of fixture layers, for robustness tests of the unpacker.

  mutate.py OUTDIR COUNT [SEED]

Writes OUTDIR/NNN/ with layer files 0.tar, 1.tar... : the lower layers of a fixture as
they are, the last one mutated (bytes flipped in a header, a numeric field rewritten,
truncated, a block duplicated or dropped, a gzip stream damaged). Whatever the unpacker
does with them, it must either refuse them with one line or write a clean image.
"""
import gzip
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mklayers  # noqa: E402

BASES = ["whiteouts", "replace", "hardlinks", "names", "sparse", "attrs", "opqroot", "parents"]


def headers(raw):
    """Offsets of the 512-byte blocks that look like tar headers (ustar magic)."""
    return [o for o in range(0, len(raw) - 511, 512) if raw[o + 257:o + 262] == b"ustar"]


def mutate(raw, rnd):
    b = bytearray(raw)
    hs = headers(raw) or [0]
    kind = rnd.choice(["flip", "field", "truncate", "dupblock", "dropblock", "gzip", "flip", "field"])
    h = rnd.choice(hs)
    if kind == "flip":
        for _ in range(rnd.randint(1, 4)):
            b[h + rnd.randrange(512)] ^= 1 << rnd.randrange(8)
        fix_checksum(b, h, rnd)
    elif kind == "field":
        off, width = rnd.choice([(100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (156, 1),
                                 (157, 100), (0, 100), (329, 8), (337, 8), (345, 155)])
        val = rnd.choice([b"7" * (width - 1), b"0" * (width - 1), b"\x80" + b"\xff" * (width - 1),
                          b"-1", b"../../x", b"/abs", b".wh..wh..opq", b".wh.", b"a/./b", b"",
                          bytes(rnd.randrange(256) for _ in range(width))])
        b[h + off:h + off + width] = (val + b"\0" * width)[:width]
        fix_checksum(b, h, rnd)
    elif kind == "truncate":
        del b[rnd.randrange(len(b) + 1):]
    elif kind == "dupblock":
        o = rnd.randrange(0, len(b) // 512) * 512
        b[o:o] = b[o:o + 512]
    elif kind == "dropblock":
        o = rnd.randrange(0, len(b) // 512) * 512
        del b[o:o + 512]
    else:
        g = bytearray(gzip.compress(bytes(b), mtime=0))
        for _ in range(rnd.randint(1, 3)):
            g[rnd.randrange(len(g))] ^= 1 << rnd.randrange(8)
        return bytes(g), kind
    return bytes(b), kind


def fix_checksum(b, h, rnd):
    if rnd.random() < 0.8:   # mostly keep the checksum valid, so the mutation goes deeper
        b[h + 148:h + 156] = b"        "
        b[h + 148:h + 156] = ("%06o" % sum(b[h:h + 512])).encode() + b"\0 "


def main(argv):
    out, count = argv[1], int(argv[2])
    rnd = random.Random(int(argv[3]) if len(argv) > 3 else 1)
    cache = {n: mklayers.GOOD[n]() for n in BASES}
    for i in range(count):
        base = rnd.choice(BASES)
        layers = cache[base]
        k = rnd.randrange(len(layers))
        d = os.path.join(out, "%03d" % i)
        os.makedirs(d)
        for j in range(k):
            with open(os.path.join(d, "%d.tar" % j), "wb") as f:
                f.write(layers[j])
        data, kind = mutate(layers[k], rnd)
        with open(os.path.join(d, "%d.tar" % k), "wb") as f:
            f.write(data)
        with open(os.path.join(d, "what"), "w") as f:
            f.write("%s layer %d/%d: %s\n" % (base, k + 1, len(layers), kind))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
