#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-reassembly (see the record layout there):
in-order, reversed, overlapping, duplicated, reset and over-limit chunk
sequences.  Run once: gen-reassembly-corpus.py DIR.  Not a test."""
import os
import struct
import sys

FIN, RESET, FAR = 4, 8, 16


def rec(k, offset, length, flags=0, drain=0):
    return struct.pack('>BHHB', k | flags, offset, length, drain)


def split(k, total, step, order=None, drain=0):
    chunks = [(o, min(step, total - o)) for o in range(0, total, step)]
    if order == 'reverse':
        chunks.reverse()
    out = b''
    for i, (o, n) in enumerate(chunks):
        last = o + n == total
        out += rec(k, o, n, FIN if last else 0, drain)
    return out


seeds = {
    'one-frame': rec(0, 0, 100, FIN),
    'empty': rec(1, 0, 0, FIN),
    'in-order': split(0, 2000, 700),
    'reversed': split(1, 2000, 500, 'reverse', drain=1),
    'overlap': rec(2, 0, 600) + rec(2, 300, 600) + rec(2, 800, 400, FIN) + rec(2, 100, 50),
    'duplicate': rec(3, 0, 400) + rec(3, 0, 400) + rec(3, 400, 1, FIN) + rec(3, 400, 1, FIN),
    'interleaved': b''.join(rec(k, o, 250, FIN if o == 750 else 0, 1)
                            for o in range(0, 1000, 250) for k in range(4)),
    'reset': rec(0, 0, 500) + rec(0, 900, 0, RESET) + rec(0, 500, 400, FIN),
    'fin-conflict': rec(1, 0, 300, FIN) + rec(1, 0, 200) + rec(1, 200, 200, FIN),
    'fin-early': rec(2, 500, 100, FIN) + rec(2, 0, 500),
    'over-stream-window': rec(3, 1800, 400) + rec(3, 0, 1000, FIN),
    'over-message': split(0, 2048, 1024) + rec(0, 2048, 1000) + rec(0, 3048, 10, FIN),
    'far': rec(1, 0, 100) + rec(1, 0xffff, 100, FAR) + rec(1, 100, 1, FIN),
    'conn-window': b''.join(rec(k, 0, 1300) + rec(k, 1300, 700) for k in range(4))
                   + b''.join(rec(k, 2000, 0, FIN) for k in range(4)),
}
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], name), 'wb') as f:
        f.write(data)
