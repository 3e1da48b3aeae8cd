#!/usr/bin/env python3
"""Python reference of the `records` crate's cleaning rules (default rules).

It does what the original Python Lambdas would: the `csv` module to split rows,
`decimal.Decimal` for exact prices, `datetime.strptime` for dates, a set of tuples for
duplicates, and `json.dumps` to serialise each clean line.

Usage:
    python3 bench/clean_reference.py PATH [--report] [--rules='{"keep_cancellations":false}']

PATH is the dataset CSV, optionally gzip-compressed. The file is read (and decompressed)
into memory before the clock starts. Prints `python rows/s: N` and, with --report, a JSON
report whose counts must match the Rust `records::report::check` output.
"""
import csv
import datetime
import decimal
import gzip
import json
import re
import sys
import time

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
           "UnitPrice", "CustomerID", "Country"]
INVOICE_RE = re.compile(r"[CA]?[0-9]+\Z")
PRODUCT_RE = re.compile(r"[0-9]{5}[A-Za-z]*\Z|DCGS[A-Za-z0-9]+\Z")
NULLS = {"", "nan", "NaN", "NAN", "null", "NULL", "None"}

RULES = {
    "keep_cancellations": True,
    "keep_missing_customer": True,
    "keep_non_product_codes": False,
    "drop_duplicates": True,
}


class Reject(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


PRICE_LIMIT = decimal.Decimal(10) ** 7

def strip_zero_fraction(s):
    head, dot, frac = s.partition(".")
    if dot and frac and set(frac) == {"0"}:
        return head
    return s


def parse_int(s):
    s = strip_zero_fraction(s.strip())
    body = s[1:] if s[:1] in ("-", "+") else s
    if not body.isdigit() or not body.isascii():
        raise ValueError(s)
    return int(s)


def parse_date(s):
    s = s.strip()
    for fmt in ("%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise ValueError(s)


def clean_row(row):
    if len(row) != 8:
        raise Reject("wrong_field_count")
    inv, stock, desc, qty, date, price, cust, country = row
    inv = inv.strip()
    if not inv:
        raise Reject("empty_invoice_no")
    if not INVOICE_RE.match(inv):
        raise Reject("bad_invoice_no")
    stock = stock.strip()
    if not stock:
        raise Reject("empty_stock_code")
    try:
        qty = parse_int(qty)
    except ValueError:
        raise Reject("bad_quantity")
    try:
        date = parse_date(date)
    except ValueError:
        raise Reject("bad_date")
    try:
        price = decimal.Decimal(price.strip())
        if not price.is_finite():
            raise ValueError(price)
    except (decimal.InvalidOperation, ValueError):
        raise Reject("bad_price")
    # What the lake's decimal(10,3) holds, as the crate checks it.
    places = -price.as_tuple().exponent
    if (places > 3 and -price.normalize().as_tuple().exponent > 3) or abs(price) >= PRICE_LIMIT:
        raise Reject("bad_price")
    cust = cust.strip()
    if cust in NULLS:
        cust = None
    else:
        try:
            cust = parse_int(cust)
        except ValueError:
            raise Reject("bad_customer_id")
        if cust <= 0 or cust > 0xFFFFFFFF:
            raise Reject("bad_customer_id")
    country = country.strip()
    if not country:
        raise Reject("empty_country")
    if any(len(t.encode("utf-8")) > most for t, most in ((inv, 16), (stock, 32), (desc, 512), (country, 64))):
        raise Reject("too_long")
    cancel = inv.startswith("C")
    if cancel and not RULES["keep_cancellations"]:
        raise Reject("cancellation")
    if not RULES["keep_non_product_codes"] and not PRODUCT_RE.match(stock):
        raise Reject("non_product_code")
    if cust is None and not RULES["keep_missing_customer"]:
        raise Reject("missing_customer_id")
    return {
        "InvoiceNo": inv,
        "StockCode": stock,
        "Description": desc,
        "Quantity": qty,
        "InvoiceDate": date.strftime("%Y-%m-%d %H:%M:%S"),
        "UnitPrice": str(price),
        "CustomerID": cust,
        "Country": country,
        "IsCancellation": cancel,
    }


def decoded_lines(raw):
    for line in raw.splitlines(keepends=True):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line.decode("latin-1")


def run(raw):
    reader = csv.reader(decoded_lines(raw))
    header = next(reader)
    if [h.strip().lstrip("\ufeff") for h in header] != COLUMNS:
        raise SystemExit(f"unexpected header {header!r}")
    seen_lines = set()
    seen_raw = set()
    rep = {
        "rows_read": 0, "accepted": 0, "rejected": 0, "rejected_by_reason": {},
        "cancellations": 0, "adjustments": 0, "missing_customer_id": 0,
        "exact_duplicate_rows": 0,
    }
    invoices, customers, stocks, countries = set(), set(), set(), set()
    first = last = None
    total_qty = 0
    revenue = decimal.Decimal(0)
    out_bytes = 0
    for row in reader:
        rep["rows_read"] += 1
        key = tuple(row)
        if key in seen_raw:
            rep["exact_duplicate_rows"] += 1
        else:
            seen_raw.add(key)
        inv0 = row[0].strip()[:1] if row else ""
        if inv0 == "C":
            rep["cancellations"] += 1
        elif inv0 == "A":
            rep["adjustments"] += 1
        if len(row) == 8 and not row[6].strip():
            rep["missing_customer_id"] += 1
        try:
            line = clean_row(row)
            if RULES["drop_duplicates"]:
                dkey = tuple(line.values())
                if dkey in seen_lines:
                    raise Reject("duplicate")
                seen_lines.add(dkey)
        except Reject as r:
            rep["rejected"] += 1
            rep["rejected_by_reason"][r.reason] = rep["rejected_by_reason"].get(r.reason, 0) + 1
            continue
        out_bytes += len(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode()) + 1
        rep["accepted"] += 1
        invoices.add(line["InvoiceNo"])
        stocks.add(line["StockCode"])
        countries.add(line["Country"])
        if line["CustomerID"] is not None:
            customers.add(line["CustomerID"])
        d = line["InvoiceDate"]
        first = d if first is None or d < first else first
        last = d if last is None or d > last else last
        total_qty += line["Quantity"]
        revenue += line["Quantity"] * decimal.Decimal(line["UnitPrice"])
    rep.update({
        "distinct_invoices": len(invoices),
        "distinct_customers": len(customers),
        "distinct_stock_codes": len(stocks),
        "distinct_countries": len(countries),
        "first_invoice_date": first,
        "last_invoice_date": last,
        "total_quantity": total_qty,
        "total_revenue": str(revenue),
        "json_bytes": out_bytes,
    })
    return rep


def main():
    path = sys.argv[1]
    for arg in sys.argv[2:]:
        if arg.startswith("--rules="):
            RULES.update(json.loads(arg[len("--rules="):]))
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        raw = f.read()
    start = time.perf_counter()
    rep = run(raw)
    secs = time.perf_counter() - start
    print(f"python rows: {rep['rows_read']}")
    print(f"python seconds: {secs:.3f}")
    print(f"python rows/s: {rep['rows_read'] / secs:.0f}")
    if "--report" in sys.argv[2:]:
        print(json.dumps(rep, sort_keys=True))


if __name__ == "__main__":
    main()
