#!/usr/bin/env python3
"""The obvious alternative to `ecomflow-infra users sync`: a sequential boto3 loop of
admin_create_user + admin_add_user_to_group, as a hand-written provisioning script would do.

usage: users_boto3.py ENDPOINT POOL_ID USERS.json
USERS.json: [{"username": ..., "email": ..., "groups": [...]}, ...]; groups must exist.
Prints one JSON line: {"users": N, "calls": N, "seconds": S, "failed": N}.
"""
import json
import sys
import time

import boto3
from botocore.config import Config


def main():
    endpoint, pool, path = sys.argv[1:4]
    users = json.load(open(path))
    client = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        # botocore's standard retries, so throttling is retried as a careful script would.
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )
    calls = failed = 0
    start = time.monotonic()
    for u in users:
        try:
            client.admin_create_user(
                UserPoolId=pool,
                Username=u["username"],
                UserAttributes=[
                    {"Name": "email", "Value": u["email"]},
                    {"Name": "email_verified", "Value": "true"},
                ],
                MessageAction="SUPPRESS",
            )
            calls += 1
            for g in u["groups"]:
                client.admin_add_user_to_group(UserPoolId=pool, Username=u["username"], GroupName=g)
                calls += 1
        except Exception as e:  # count and go on, as a loop script would
            failed += 1
            print(f"failed {u['username']}: {e}", file=sys.stderr)
    print(json.dumps({"users": len(users), "calls": calls, "seconds": time.monotonic() - start, "failed": failed}))


if __name__ == "__main__":
    main()
