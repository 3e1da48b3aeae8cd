#!/usr/bin/env python3
"""Cut the small committed fixture out of the real dataset, keeping the original bytes.

Usage: python3 bench/make_fixture.py data/online_retail.csv.gz \
           lambdas/records/tests/fixtures/online_retail_sample.csv

The selection is deterministic: the first 60 data rows, then for every quirk the first
few rows showing it (cancellations, A adjustments, each non-product stock code, the
pound sign byte 0xA3, empty Description, negative Quantity outside cancellations, zero
and 3-decimal prices, empty CustomerID, quoted fields, rare countries, two-digit
months/days) and both copies of a few exact duplicate rows. Rows keep file order.
"""
import csv
import gzip
import io
import re
import sys


def main(src, dst):
    raw = gzip.open(src).read() if src.endswith(".gz") else open(src, "rb").read()
    lines = raw.split(b"\n")
    header, data = lines[0], [l for l in lines[1:] if l]
    rows = [next(csv.reader(io.StringIO(l.decode("latin-1")))) for l in data]
    pick = set(range(60))

    def first(pred, n):
        k = 0
        for i, r in enumerate(rows):
            if pred(r, data[i]):
                pick.add(i)
                k += 1
                if k == n:
                    return

    first(lambda r, b: r[0].startswith("C"), 12)
    first(lambda r, b: r[0].startswith("A"), 3)
    for code in ["POST", "D", "M", "m", "DOT", "BANK CHARGES", "AMAZONFEE", "C2", "CRUK",
                 "PADS", "S", "B", "DCGSSGIRL", "DCGS0003"]:
        first(lambda r, b, code=code: r[1] == code, 2)
    first(lambda r, b: r[1].startswith("gift_0001_"), 3)
    first(lambda r, b: re.fullmatch(r"\d{5}[A-Za-z]{2,}", r[1]) is not None, 2)
    first(lambda r, b: b"\xa3" in b, 6)
    first(lambda r, b: r[2] == "", 6)
    first(lambda r, b: r[3].startswith("-") and not r[0].startswith("C"), 6)
    first(lambda r, b: float(r[5]) == 0.0, 5)
    first(lambda r, b: len(r[5].split(".")[-1]) == 3 and "." in r[5], 3)
    first(lambda r, b: r[6] == "", 10)
    first(lambda r, b: b'"' in b, 6)
    for country in ["Unspecified", "European Community", "RSA", "Saudi Arabia", "EIRE"]:
        first(lambda r, b, c=country: r[7] == c, 2)
    first(lambda r, b: r[4].startswith("10/1") and " 1" in r[4], 2)
    first(lambda r, b: r[4].startswith("9/3") and r[4].endswith("15:0" + r[4][-1]), 1)
    # Exact duplicates: both copies of the first few duplicated rows.
    seen = {}
    pairs = 0
    for i, b in enumerate(data):
        if b in seen and pairs < 8:
            pick.add(seen[b])
            pick.add(i)
            pairs += 1
        seen.setdefault(b, i)
    with open(dst, "wb") as out:
        out.write(header + b"\n")
        for i in sorted(pick):
            out.write(data[i] + b"\n")
    print(f"{len(pick)} rows written to {dst}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
