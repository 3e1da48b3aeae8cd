"""Calling the stack's API as a Cognito user: sign in (USER_PASSWORD_AUTH, answering a first
sign-in's new-password challenge) and GET with the ID token. Shared by the quickstart's report
(scripts/quickstart_report.py) and the CI smoke check (examples/ci/smoke_read.py). Uses boto3
against AWS_ENDPOINT_URL when it is set.
"""

import json
import secrets
import urllib.error
import urllib.request

import boto3


def sign_in(pool_id, client_id, user, password):
    """An ID token of `user`; a first sign-in sets a new random password."""
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
                "NEW_PASSWORD": f"Ef-{secrets.token_urlsafe(16)}-7a",
            },
        )
    return out["AuthenticationResult"]["IdToken"]


def get(url, token):
    """(HTTP status, JSON body) of a GET with `token` (none: no Authorization header)."""
    req = urllib.request.Request(url, headers={"Authorization": token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
