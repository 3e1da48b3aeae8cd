"""The smoke check's read: the first invoice of the fixture comes back through the GET API
for an analyst (waiting for the stream to deliver it), and a producer's GET is refused with
403.

Signs in through scripts/api_client.py (boto3, honouring AWS_ENDPOINT_URL).
"""

import argparse
import csv
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from api_client import get, sign_in  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", required=True)
    ap.add_argument("--outputs", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--wait", type=int, default=180, help="seconds to wait for the rows")
    args = ap.parse_args()
    outputs = json.load(open(args.outputs))
    pool, client = outputs["user_pool_id"], outputs["app_client_id"]
    with open(args.csv, encoding="latin-1", newline="") as f:
        invoice = next(csv.DictReader(f))["InvoiceNo"]
    url = f"{args.api.rstrip('/')}/invoices/{invoice}"

    producer = sign_in(pool, client, "ci-producer", os.environ["ECOMFLOW_PRODUCER_PASSWORD"])
    status, body = get(url, producer)
    print(f"GET /invoices/{invoice} as ci-producer: HTTP {status} {body}")
    if status != 403:
        sys.exit(f"a producer's GET must be refused with 403, got {status}")

    analyst = sign_in(pool, client, "ci-analyst", os.environ["ECOMFLOW_ANALYST_PASSWORD"])
    deadline = time.time() + args.wait
    while True:
        status, body = get(url, analyst)
        lines = body.get("lines", []) if isinstance(body, dict) else []
        if status == 200 and lines:
            break
        if time.time() > deadline or status not in (200, 404):
            sys.exit(f"GET /invoices/{invoice} as ci-analyst: HTTP {status} {body}")
        time.sleep(2)
    print(f"GET /invoices/{invoice} as ci-analyst: HTTP 200, {len(lines)} lines")


if __name__ == "__main__":
    main()
