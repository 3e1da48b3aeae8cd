"""Cuts tests/fixtures/glue_parity_sample.csv from the real dataset (reproducibly).

    zcat data/online_retail.csv.gz | python3 tests/glue/make_fixture.py > tests/fixtures/glue_parity_sample.csv

Whole invoices (contiguous runs of one InvoiceNo) are kept as raw bytes, in file order:
the first invoices of the file, then the first few invoices showing each quirk the
cleaning rules care about (cancellations, adjustments, every non-product code, missing
CustomerID, exact duplicates, zero/negative/3-decimal prices, Latin-1 pound signs, quotes
and commas in descriptions, empty descriptions, lower-case codes, the DST change days).
Of a large invoice only a few rows around its rare rows (pound signs, gift vouchers...)
are kept.
"""

import collections
import sys

HEAD_ROWS = 2000  # rows taken from the start of the file
MAX_BLOCK = 80  # of a larger invoice, only a window around its rare rows is taken
WINDOW = 3  # rows kept either side of a rare row of a large invoice
PER_QUIRK = 4  # invoices per quirk
ALWAYS = {"latin1_pound", "adjustment", "negative_price", "price_scale_3"}  # every one


def blocks(lines):
    cur, key = [], None
    for raw in lines:
        inv = raw.split(b",", 1)[0]
        if cur and inv != key:
            yield cur
            cur = []
        key = inv
        cur.append(raw)
    if cur:
        yield cur


def fields(raw):
    import csv

    return next(csv.reader([raw.decode("latin-1").rstrip("\r\n")]))


def is_product(code):
    head, tail = code[:5], code[5:]
    return (len(head) == 5 and head.isascii() and head.isdigit() and all(c.isascii() and c.isalpha() for c in tail)) or (
        code.startswith("DCGS") and len(code) > 4
    )


def quirks(rows):
    out = set()
    seen = set()
    for raw, f in rows:
        inv, code, desc, qty, date, price, cust, _country = f
        if inv.startswith("C"):
            out.add("cancellation")
        if inv.startswith("A"):
            out.add("adjustment")
        if not is_product(code):
            out.add("code:" + code)
        elif code.startswith("DCGS"):
            out.add("dcgs")
        elif any(c.islower() for c in code):
            out.add("lowercase_code")
        if not cust:
            out.add("missing_customer")
        if raw in seen:
            out.add("duplicate")
        seen.add(raw)
        if b"\xa3" in raw:
            out.add("latin1_pound")
        if '"' in desc:
            out.add("quote_in_description")
        if "," in desc:
            out.add("comma_in_description")
        if not desc:
            out.add("empty_description")
        if price.startswith("-"):
            out.add("negative_price")
        if price in ("0", "0.0", "0.00"):
            out.add("zero_price")
        if "." in price and len(price.split(".")[1]) == 3:
            out.add("price_scale_3")
        if qty.startswith("-"):
            out.add("negative_quantity")
        if abs(int(qty)) >= 10000:
            out.add("huge_quantity")
        if date.startswith(("3/27/2011", "10/30/2011")):
            out.add("dst_day")
    return out


def main():
    data = sys.stdin.buffer.read().splitlines(keepends=True)
    header, body = data[0], data[1:]
    chosen, taken, counts = [], 0, collections.Counter()
    for i, block in enumerate(blocks(body)):
        rows = [(raw, fields(raw)) for raw in block]
        q = quirks(rows)
        if taken < HEAD_ROWS:
            keep = True
        elif len(block) > MAX_BLOCK:
            keep = False
            rare = [
                i
                for i, row in enumerate(rows)
                if any(k in ALWAYS or (k.startswith("code:") and counts[k] < PER_QUIRK) for k in quirks([row]))
            ]
            if rare:
                wanted = sorted({j for i in rare for j in range(max(0, i - WINDOW), min(len(block), i + WINDOW + 1))})
                part = [rows[j] for j in wanted]
                chosen.append([raw for raw, _ in part])
                taken += len(part)
                counts.update(quirks(part))
        else:
            keep = bool(q & ALWAYS) or any(counts[k] < PER_QUIRK for k in q)
        if keep:
            chosen.append(block)
            taken += len(block)
            counts.update(q)
    sys.stdout.buffer.write(header)
    for block in chosen:
        sys.stdout.buffer.writelines(block)
    print(f"{taken} rows, {len(chosen)} invoices; quirk invoices: {dict(sorted(counts.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()
