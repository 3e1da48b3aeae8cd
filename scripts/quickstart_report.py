"""Quickstart steps 8 and the summary: query an invoice back through the GET API with a
real Cognito token, compare it with the source rows, and count what the pipeline stored.
Groups authorise routes: the producer who streamed the rows may not read them (403), an
analyst may.

Run by scripts/quickstart while `ecomflow-infra local serve` is up; the producer's password
comes from ECOMFLOW_PASSWORD, the analyst's temporary one from ECOMFLOW_READER_PASSWORD (its
first sign-in sets a new random one). Uses boto3 against AWS_ENDPOINT_URL, so it runs with the
emulator venv's python (scripts/ensure-emulator prints its path).
"""

import argparse
import csv
import gzip
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

import boto3

from api_client import get, sign_in


def key(line):
    """What a GET line and a source row must agree on, in comparable types."""
    customer = str(line.get("CustomerID") or "").strip()
    if customer.endswith(".0"):
        customer = customer[:-2]
    return (
        str(line["StockCode"]).strip(),
        int(line["Quantity"]),
        Decimal(str(line["UnitPrice"])),
        customer,
    )


def count_items(table):
    ddb = boto3.client("dynamodb")
    total = 0
    for page in ddb.get_paginator("scan").paginate(TableName=table, Select="COUNT"):
        total += page["Count"]
    return total


def count_objects(bucket, prefix):
    s3 = boto3.client("s3")
    n = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        n += len(page.get("Contents", []))
    return n


def wait_for_items(table, seconds=120):
    """The poller works in the background: wait until the item count stops growing."""
    deadline = time.time() + seconds
    last, stable = -1, 0
    while time.time() < deadline:
        n = count_items(table)
        stable = stable + 1 if n == last and n > 0 else 0
        if stable >= 3:
            return n
        last = n
        time.sleep(1)
    return last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--user", required=True, help="the producer who streamed the rows")
    ap.add_argument("--reader", required=True, help="an analyst")
    ap.add_argument("--outputs", required=True)
    ap.add_argument("--stream-summary", required=True)
    ap.add_argument("--started", type=int, required=True)
    ap.add_argument("--csv", default=str(Path(__file__).resolve().parent.parent / "data" / "online_retail.csv.gz"))
    args = ap.parse_args()
    outputs = json.load(open(args.outputs))
    sent = json.load(open(args.stream_summary))

    items = wait_for_items(outputs["invoices_table"])
    with gzip.open(args.csv, "rt", encoding="latin-1", newline="") as f:
        first = next(csv.DictReader(f))
    invoice = first["InvoiceNo"]
    with gzip.open(args.csv, "rt", encoding="latin-1", newline="") as f:
        source = [r for r in csv.DictReader(f) if r["InvoiceNo"] == invoice]

    status, _ = get(f"{args.api}/invoices/{invoice}", None)
    print(f"GET /invoices/{invoice} without a token: HTTP {status}")
    if status != 401:
        sys.exit(f"expected 401 without a token, got HTTP {status}")
    pool, client = outputs["user_pool_id"], outputs["app_client_id"]
    token = sign_in(pool, client, args.user, os.environ["ECOMFLOW_PASSWORD"])
    status, body = get(f"{args.api}/invoices/{invoice}", token)
    print(f"GET /invoices/{invoice} as {args.user} (producers): HTTP {status}, {body}")
    if status != 403:
        sys.exit(f"expected 403 for a producer's GET, got HTTP {status}")
    token = sign_in(pool, client, args.reader, os.environ["ECOMFLOW_READER_PASSWORD"])
    status, body = get(f"{args.api}/invoices/{invoice}", token)
    lines = body.get("lines", []) if isinstance(body, dict) else []
    print(f"GET /invoices/{invoice} as {args.reader} (analysts): HTTP {status}, {len(lines)} lines "
          f"(the source file has {len(source)} rows for it)")
    for line in lines[:3]:
        print("   ", json.dumps(line)[:160])
    if status != 200:
        sys.exit(f"expected 200 with a token, got HTTP {status}: {body}")
    answered = sorted(key(line) for line in lines)
    expected = sorted(key(row) for row in source)
    if answered != expected:
        sys.exit(f"the GET answer differs from the source rows:\n  got      {answered}\n"
                 f"  expected {expected}")
    print("  equal to the source rows (stock code, quantity, unit price, customer)")

    clean = count_objects(outputs["bucket"], "clean/")
    rejects = count_objects(outputs["bucket"], "rejects/")
    customers = count_items(outputs["customers_table"])
    print("summary")
    print(f"  rows sent:          {sent['sent']}")
    print(f"  accepted:           {sent['accepted']}")
    print(f"  rejected:           {sent['rejected']} {json.dumps(sent['rejected_by_reason'])}")
    print(f"  DynamoDB items:     {items} invoice lines, {customers} customer invoices")
    print(f"  S3 objects:         {clean} Parquet under clean/ (Firehose), {rejects} under rejects/")


if __name__ == "__main__":
    main()
