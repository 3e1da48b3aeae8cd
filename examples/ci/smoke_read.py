"""The smoke check's read: the first invoice of the fixture comes back through the GET API
for an analyst (waiting for the stream to deliver it), and a producer's GET is refused with
403.

Signs in with USER_PASSWORD_AUTH against the copy's pool (boto3, honouring
AWS_ENDPOINT_URL); a first sign-in answers the new-password challenge.
"""

import argparse
import csv
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request

import boto3


def sign_in(pool_id, client_id, user, password):
    # A pool ID starts with its region (`us-east-1_...`).
    idp = boto3.client("cognito-idp", region_name=pool_id.split("_")[0])
    out = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": password},
    )
    if out.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        out = idp.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=out["Session"],
            ChallengeResponses={
                "USERNAME": user,
                "NEW_PASSWORD": f"Ci-{secrets.token_urlsafe(16)}-7a",
            },
        )
    return out["AuthenticationResult"]["IdToken"]


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


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
