#!/usr/bin/env python3
"""Writes an IDX folder whose "test" files are held-out TRAINING rows, for choosing settings
(learning rate, epochs, ADMM penalties) without ever looking at the official test set.

usage: bench/idx_holdout.py SRC_DIR OUT_DIR [--train N] [--holdout M]
  SRC_DIR holds train-{images-idx3,labels-idx1}-ubyte(.gz) (e.g. /usr/share/datasets/fashion-mnist);
  OUT_DIR gets train-* = the first N training rows, t10k-* = the last M training rows
  (defaults 50000 and 10000: disjoint when N + M <= 60000). Use it as --data mnist:OUT_DIR."""
import gzip, os, struct, sys

def read(path):
    for p in (path + ".gz", path):
        if os.path.exists(p):
            return (gzip.open if p.endswith(".gz") else open)(p, "rb").read()
    sys.exit(f"idx_holdout: missing {path}(.gz)")

def write(path, magic, dims, body):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + body)

args = sys.argv[1:]
if len(args) < 2:
    sys.exit(__doc__)
src, out = args[0], args[1]
n = int(args[args.index("--train") + 1]) if "--train" in args else 50000
m = int(args[args.index("--holdout") + 1]) if "--holdout" in args else 10000
img, lbl = read(src + "/train-images-idx3-ubyte"), read(src + "/train-labels-idx1-ubyte")
count, rows, cols = struct.unpack(">III", img[4:16])
if n + m > count:
    sys.exit(f"idx_holdout: {n} + {m} rows asked, the training set has {count}")
px = rows * cols
os.makedirs(out, exist_ok=True)
write(out + "/train-images-idx3-ubyte", 0x803, (n, rows, cols), img[16:16 + n * px])
write(out + "/train-labels-idx1-ubyte", 0x801, (n,), lbl[8:8 + n])
write(out + "/t10k-images-idx3-ubyte", 0x803, (m, rows, cols), img[16 + (count - m) * px:16 + count * px])
write(out + "/t10k-labels-idx1-ubyte", 0x801, (m,), lbl[8 + count - m:8 + count])
print(f"idx_holdout: {out}: {n} training rows, {m} held-out training rows as the test files")
