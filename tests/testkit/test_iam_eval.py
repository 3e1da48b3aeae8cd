"""Tests of the emulator's IAM evaluation (iam_eval.py) and its Cognito rules (moto_ext.py).

Plain unittest, no installs beyond moto[server] (which brings boto3). From the repository root:

    python3 -m unittest discover -s tests/testkit -p 'test_*.py' -v

`Evaluator*` cases test the evaluator alone; `EmulatorTest` starts `moto_ext.py` on a free
loopback port and talks to it with boto3, as the tool's Lambda roles and admin keys would.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

import iam_eval
from iam_eval import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, evaluate

ACCOUNT = "123456789012"
STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders"
OTHER_STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/other"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


class EvaluatorActions(unittest.TestCase):
    def test_exact_action_allowed_other_action_denied(self):
        p = [policy(allow("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), IMPLICIT_DENY)

    def test_actions_are_case_insensitive(self):
        p = [policy(allow("KINESIS:putrecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)

    def test_star_wildcard_in_action(self):
        p = [policy(allow("kinesis:Put*", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:GetRecords", STREAM), IMPLICIT_DENY)

    def test_question_mark_matches_one_character(self):
        p = [policy(allow("kinesis:PutRecord?", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "kinesis:PutRecord", STREAM), IMPLICIT_DENY)

    def test_action_list(self):
        p = [policy(allow(["dynamodb:GetItem", "dynamodb:Query"]))]
        self.assertEqual(evaluate(p, "dynamodb:Query", "*"), ALLOWED)
        self.assertEqual(evaluate(p, "dynamodb:PutItem", "*"), IMPLICIT_DENY)

    def test_not_action(self):
        p = [policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "iam:CreateRole", "*"), IMPLICIT_DENY)

    def test_deny_with_not_action(self):
        p = [
            policy(allow("*"), {"Effect": "Deny", "NotAction": "kinesis:*", "Resource": "*"})
        ]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::b/k"), EXPLICIT_DENY)


class EvaluatorResources(unittest.TestCase):
    def test_exact_resource(self):
        p = [policy(allow("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", OTHER_STREAM), IMPLICIT_DENY)

    def test_star_in_resource_and_case_sensitivity(self):
        p = [policy(allow("s3:PutObject", "arn:aws:s3:::lake/rejects/*"))]
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/rejects/a/b.gz"), ALLOWED)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/REJECTS/a"), IMPLICIT_DENY)
        self.assertEqual(evaluate(p, "s3:PutObject", "arn:aws:s3:::lake/other/a"), IMPLICIT_DENY)

    def test_question_mark_in_resource(self):
        p = [policy(allow("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t?"))]
        table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/"
        self.assertEqual(evaluate(p, "dynamodb:GetItem", table + "t1"), ALLOWED)
        self.assertEqual(evaluate(p, "dynamodb:GetItem", table + "t12"), IMPLICIT_DENY)

    def test_star_inside_a_segment_stays_in_it_and_a_trailing_star_does_not(self):
        group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:"
        inside = [policy(allow("logs:PutLogEvents", group + "a*b"))]
        self.assertEqual(evaluate(inside, "logs:PutLogEvents", group + "axxb"), ALLOWED)
        self.assertEqual(evaluate(inside, "logs:PutLogEvents", group + "a:b"), IMPLICIT_DENY)
        trailing = [policy(allow("logs:PutLogEvents", group + "a*"))]
        self.assertEqual(
            evaluate(trailing, "logs:PutLogEvents", group + "a:log-stream:s"), ALLOWED
        )

    def test_star_resource_matches_everything_including_unmapped_star(self):
        p = [policy(allow("sns:Publish"))]
        self.assertEqual(evaluate(p, "sns:Publish", "*"), ALLOWED)
        scoped = [policy(allow("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t"))]
        self.assertEqual(evaluate(scoped, "sns:Publish", "*"), IMPLICIT_DENY)

    def test_not_resource(self):
        p = [policy({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::lake/secret/*"})]
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/open/x"), ALLOWED)
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/secret/x"), IMPLICIT_DENY)

    def test_statement_without_resource_never_applies(self):
        p = [policy({"Effect": "Allow", "Action": "s3:*"})]
        self.assertEqual(evaluate(p, "s3:GetObject", "arn:aws:s3:::lake/x"), IMPLICIT_DENY)


class EvaluatorDecision(unittest.TestCase):
    def test_default_deny(self):
        self.assertEqual(evaluate([], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)
        self.assertEqual(evaluate([policy()], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)

    def test_explicit_deny_wins_over_allow_in_the_same_policy(self):
        p = [policy(allow("kinesis:*"), deny("kinesis:PutRecords", STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate(p, "kinesis:PutRecords", OTHER_STREAM), ALLOWED)

    def test_explicit_deny_wins_across_policies_in_any_order(self):
        allowing, denying = policy(allow("*")), policy(deny("kinesis:*"))
        self.assertEqual(evaluate([allowing, denying], "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate([denying, allowing], "kinesis:PutRecords", STREAM), EXPLICIT_DENY)
        self.assertEqual(evaluate([denying, allowing], "s3:GetObject", "*"), ALLOWED)

    def test_deny_that_does_not_match_leaves_allow(self):
        p = [policy(allow("*"), deny("kinesis:PutRecords", OTHER_STREAM))]
        self.assertEqual(evaluate(p, "kinesis:PutRecords", STREAM), ALLOWED)


class EvaluatorDocuments(unittest.TestCase):
    statement = allow("kinesis:PutRecords", STREAM)

    def test_json_text(self):
        self.assertEqual(evaluate([policy(self.statement)], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_url_encoded_text(self):
        encoded = quote(policy(self.statement))
        self.assertEqual(evaluate([encoded], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_dict_and_single_statement_object(self):
        document = {"Version": "2012-10-17", "Statement": self.statement}
        self.assertEqual(evaluate([document], "kinesis:PutRecords", STREAM), ALLOWED)

    def test_garbage_allows_nothing(self):
        self.assertEqual(evaluate(["not a policy"], "kinesis:PutRecords", STREAM), IMPLICIT_DENY)


class EvaluatorConditions(unittest.TestCase):
    def check(self, condition, context, expected):
        p = [policy(allow("s3:ListBucket", "arn:aws:s3:::lake", Condition=condition))]
        got = evaluate(p, "s3:ListBucket", "arn:aws:s3:::lake", context)
        self.assertEqual(got, expected, f"{condition} with {context}")

    def test_string_equals(self):
        c = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)
        self.check(c, {"aws:RequestedRegion": "US-EAST-1"}, IMPLICIT_DENY)
        self.check(c, {"aws:RequestedRegion": "eu-west-1"}, IMPLICIT_DENY)

    def test_string_not_equals(self):
        c = {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)
        self.check(c, {"aws:RequestedRegion": "eu-central-1"}, IMPLICIT_DENY)

    def test_string_like(self):
        c = {"StringLike": {"s3:prefix": ["rejects/*", "x?"]}}
        self.check(c, {"s3:prefix": "rejects/dt=2026-01-01/"}, ALLOWED)
        self.check(c, {"s3:prefix": "xy"}, ALLOWED)
        self.check(c, {"s3:prefix": "Rejects/a"}, IMPLICIT_DENY)
        self.check(c, {"s3:prefix": "xyz"}, IMPLICIT_DENY)

    def test_string_not_like(self):
        c = {"StringNotLike": {"s3:prefix": "private/*"}}
        self.check(c, {"s3:prefix": "public/a"}, ALLOWED)
        self.check(c, {"s3:prefix": "private/a"}, IMPLICIT_DENY)

    def test_arn_like_matches_each_part(self):
        c = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ecomflow-*"}}
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ecomflow-dev-ingest"}, ALLOWED)
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/other"}, IMPLICIT_DENY)
        self.check(c, {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/ecomflow-x"}, IMPLICIT_DENY)

    def test_arn_like_star_does_not_span_parts_unlike_string_like(self):
        # The IAM guide's own example of StringLike matching where ArnLike does not.
        pattern = f"arn:aws:someservice:*:{ACCOUNT}:finance/*"
        value = f"arn:aws:someservice:us-east-2:999999999999:store/abc:{ACCOUNT}:finance/doc.txt"
        self.check({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}, ALLOWED)
        self.check({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value}, IMPLICIT_DENY)

    def test_arn_equals_behaves_as_arn_like(self):
        c = {"ArnEquals": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}}
        self.check(c, {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"}, ALLOWED)
        self.check(c, {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts"}, IMPLICIT_DENY)

    def test_arn_not_like(self):
        c = {"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-*"}}
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ingest"}, ALLOWED)
        self.check(c, {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-1"}, IMPLICIT_DENY)

    def test_bool(self):
        c = {"Bool": {"aws:SecureTransport": "true"}}
        self.check(c, {"aws:SecureTransport": "true"}, ALLOWED)
        self.check(c, {"aws:SecureTransport": True}, ALLOWED)
        self.check(c, {"aws:SecureTransport": "false"}, IMPLICIT_DENY)

    def test_bool_deny_insecure_transport(self):
        p = [policy(allow("s3:*"), deny("s3:*", Condition={"Bool": {"aws:SecureTransport": False}}))]
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {"aws:SecureTransport": "false"}), EXPLICIT_DENY)
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {"aws:SecureTransport": "true"}), ALLOWED)

    def test_numeric_operators(self):
        cases = [
            ("NumericLessThan", "10", "9", "10"),
            ("NumericLessThanEquals", "10", "10", "11"),
            ("NumericGreaterThan", "10", "11", "10"),
            ("NumericGreaterThanEquals", "10", "10", "9"),
            ("NumericEquals", "10", "10.0", "11"),
            ("NumericNotEquals", "10", "11", "10"),
        ]
        for operator, limit, good, bad in cases:
            c = {operator: {"s3:max-keys": limit}}
            self.check(c, {"s3:max-keys": good}, ALLOWED)
            self.check(c, {"s3:max-keys": bad}, IMPLICIT_DENY)
        self.check({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "many"}, IMPLICIT_DENY)

    def test_absent_key_fails_a_positive_operator(self):
        for c in (
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            {"StringLike": {"s3:prefix": "*"}},
            {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}},
            {"Bool": {"aws:SecureTransport": "false"}},
            {"NumericLessThan": {"s3:max-keys": "10"}},
        ):
            self.check(c, {}, IMPLICIT_DENY)

    def test_absent_key_satisfies_a_negated_operator(self):
        for c in (
            {"StringNotEquals": {"aws:SourceAccount": ACCOUNT}},
            {"StringNotLike": {"s3:prefix": "private/*"}},
            {"ArnNotLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:*"}},
        ):
            self.check(c, {}, ALLOWED)

    def test_if_exists(self):
        c = {"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}
        self.check(c, {}, ALLOWED)
        self.check(c, {"aws:SourceAccount": ACCOUNT}, ALLOWED)
        self.check(c, {"aws:SourceAccount": "999999999999"}, IMPLICIT_DENY)
        a = {"ArnLikeIfExists": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}
        self.check(a, {}, ALLOWED)
        self.check(a, {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:t"}, IMPLICIT_DENY)

    def test_negated_if_exists_in_a_deny_still_denies(self):
        # "If you are using an Effect: Deny element with a negated condition operator like
        # StringNotEqualsIfExists, the request is still denied even if the tag is missing."
        p = [
            policy(
                allow("*"),
                deny("*", Condition={"StringNotEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}),
            )
        ]
        self.assertEqual(evaluate(p, "s3:GetObject", "*", {}), EXPLICIT_DENY)

    def test_null(self):
        self.check({"Null": {"s3:prefix": "true"}}, {}, ALLOWED)
        self.check({"Null": {"s3:prefix": "true"}}, {"s3:prefix": "a"}, IMPLICIT_DENY)
        self.check({"Null": {"s3:prefix": "false"}}, {"s3:prefix": "a"}, ALLOWED)
        self.check({"Null": {"s3:prefix": "false"}}, {}, IMPLICIT_DENY)

    def test_for_any_value(self):
        c = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "owner"]}}
        self.check(c, {"aws:TagKeys": ["cost", "owner"]}, ALLOWED)
        self.check(c, {"aws:TagKeys": ["cost"]}, IMPLICIT_DENY)
        self.check(c, {}, IMPLICIT_DENY)
        self.check(c, {"aws:TagKeys": []}, IMPLICIT_DENY)

    def test_for_all_values(self):
        c = {"ForAllValues:StringLike": {"aws:TagKeys": ["ecomflow:*", "Name"]}}
        self.check(c, {"aws:TagKeys": ["ecomflow:stack", "Name"]}, ALLOWED)
        self.check(c, {"aws:TagKeys": ["ecomflow:stack", "other"]}, IMPLICIT_DENY)
        self.check(c, {}, ALLOWED)

    def test_for_all_values_negated_as_the_guide_tabulates(self):
        # Deny ForAllValues:StringNotLike aws:TagKeys "key1*": key1 values do not match,
        # key2:audit matches, no key at all matches.
        p = [
            policy(
                allow("*"),
                deny("iam:Tag*", Condition={"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}),
            )
        ]
        run = lambda keys: evaluate(p, "iam:TagRole", "*", {} if keys is None else {"aws:TagKeys": keys})
        self.assertEqual(run(["key1:legal"]), ALLOWED)
        self.assertEqual(run(["key1:hr", "key1:personnel"]), ALLOWED)
        self.assertEqual(run(["key2:audit"]), EXPLICIT_DENY)
        self.assertEqual(run(None), EXPLICIT_DENY)

    def test_operators_and_keys_are_and_ed(self):
        c = {
            "StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT},
            "Bool": {"aws:SecureTransport": "false"},
        }
        good = {"aws:RequestedRegion": "us-east-1", "aws:PrincipalAccount": ACCOUNT, "aws:SecureTransport": "false"}
        self.check(c, good, ALLOWED)
        self.check(c, {**good, "aws:PrincipalAccount": "999999999999"}, IMPLICIT_DENY)
        self.check(c, {**good, "aws:SecureTransport": "true"}, IMPLICIT_DENY)

    def test_condition_key_names_are_case_insensitive(self):
        c = {"StringEquals": {"AWS:requestedregion": "us-east-1"}}
        self.check(c, {"aws:RequestedRegion": "us-east-1"}, ALLOWED)

    def test_unknown_operator_never_applies(self):
        self.check({"StringSortOf": {"aws:RequestedRegion": "us-east-1"}}, {"aws:RequestedRegion": "us-east-1"}, IMPLICIT_DENY)


class RequestParts(unittest.TestCase):
    def test_signing_key_of_a_temporary_sigv4_header(self):
        header = (
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE123456789/20260101/us-east-1/kinesis/"
            "aws4_request, SignedHeaders=host, Signature=abc"
        )
        self.assertEqual(iam_eval.signing_key({"Authorization": header}, {}), "ASIAEXAMPLE123456789")

    def test_other_keys_are_not_evaluated(self):
        for key in ("testing", "AKIAEXAMPLE123456789"):
            header = f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/s3/aws4_request, Signature=x"
            self.assertIsNone(iam_eval.signing_key({"Authorization": header}, {}))
        self.assertIsNone(iam_eval.signing_key({}, {}))

    def test_presigned_url_credential(self):
        query = {"X-Amz-Credential": ["ASIAEXAMPLE123456789/20260101/us-east-1/s3/aws4_request"]}
        self.assertEqual(iam_eval.signing_key({}, query), "ASIAEXAMPLE123456789")
        query = {"X-Amz-Credential": ["testing/20260101/us-east-1/s3/aws4_request"]}
        self.assertIsNone(iam_eval.signing_key({}, query))

    def test_denial_messages(self):
        principal = f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest/s1"
        implicit = iam_eval.denial_message(principal, "kinesis:PutRecords", STREAM, IMPLICIT_DENY)
        self.assertEqual(
            implicit,
            f"User: {principal} is not authorized to perform: kinesis:PutRecords on resource: "
            f"{STREAM} because no identity-based policy allows the kinesis:PutRecords action",
        )
        explicit = iam_eval.denial_message(principal, "kinesis:PutRecords", STREAM, EXPLICIT_DENY)
        self.assertTrue(explicit.endswith("with an explicit deny in an identity-based policy"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmulatorTest(unittest.TestCase):
    """moto_ext.py as the tests and the quickstart run it, driven with boto3."""

    role = "ecomflow-test-ingest"
    session = "ingest-session"

    @classmethod
    def setUpClass(cls):
        import boto3

        cls.boto3 = boto3
        here = os.path.dirname(os.path.abspath(__file__))
        port = free_port()
        cls.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        env = {**os.environ, "MOTO_ACCESS_LOG": "0"}
        python = os.environ.get("MOTO_PYTHON", sys.executable)
        cls.server = subprocess.Popen(
            [python, os.path.join(here, "moto_ext.py"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=cls.log,
            env=env,
        )
        cls.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if cls.server.poll() is not None or time.time() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("moto_ext.py did not start")
                time.sleep(0.1)
        cls.build()

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        try:
            cls.server.wait(10)
        except subprocess.TimeoutExpired:
            cls.server.kill()
            cls.server.wait()
        cls.log.close()
        os.unlink(cls.log.name)

    @classmethod
    def client(cls, service, credentials=None):
        from botocore.config import Config

        keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return cls.boto3.client(
            service,
            endpoint_url=cls.url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
            **keys,
        )

    @classmethod
    def build(cls):
        """Resources and a role allowed kinesis:PutRecords on one stream, assumed."""
        kinesis, iam = cls.client("kinesis"), cls.client("iam")
        for name in ("orders", "other"):
            kinesis.create_stream(StreamName=name, ShardCount=1)
        cls.client("dynamodb").create_table(
            TableName="invoices",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        cls.client("s3").create_bucket(Bucket="lake")
        cls.topic = cls.client("sns").create_topic(Name="alerts")["TopicArn"]
        trust = policy(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        )
        cls.role_arn = iam.create_role(RoleName=cls.role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        cls.account = cls.role_arn.split(":")[4]
        cls.stream_arn = f"arn:aws:kinesis:us-east-1:{cls.account}:stream/orders"
        cls.inline = [
            allow("kinesis:PutRecords", cls.stream_arn),
            allow("s3:PutObject", "arn:aws:s3:::lake/rejects/ingest/*"),
        ]
        iam.put_role_policy(RoleName=cls.role, PolicyName="least-privilege", PolicyDocument=policy(*cls.inline))
        firehose = cls.client("firehose")
        for name in ("clean", "raw"):
            firehose.create_delivery_stream(
                DeliveryStreamName=name,
                S3DestinationConfiguration={
                    "RoleARN": f"arn:aws:iam::{cls.account}:role/firehose",
                    "BucketARN": "arn:aws:s3:::lake",
                },
            )
        managed = iam.create_policy(
            PolicyName="read-and-guard",
            PolicyDocument=policy(
                allow("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{cls.account}:table/invoices"),
                deny("s3:PutObject", "arn:aws:s3:::lake/rejects/ingest/secret/*"),
                allow(["kinesis:GetShardIterator", "kinesis:GetRecords"], cls.stream_arn),
                allow(
                    "firehose:PutRecordBatch",
                    f"arn:aws:firehose:us-east-1:{cls.account}:deliverystream/clean",
                ),
            ),
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=cls.role, PolicyArn=managed)
        credentials = cls.client("sts").assume_role(RoleArn=cls.role_arn, RoleSessionName=cls.session)[
            "Credentials"
        ]
        cls.role_keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    def as_role(self, service):
        return self.client(service, self.role_keys)

    def refused(self, call, code, status):
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], code)
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], status)
        return error["Error"]["Message"]

    def assert_names_role_and_action(self, message, action, resource):
        principal = f"arn:aws:sts::{self.account}:assumed-role/{self.role}/{self.session}"
        self.assertIn(f"User: {principal} is not authorized to perform: {action}", message)
        self.assertIn(resource, message)

    def records(self, stream):
        kinesis = self.client("kinesis")
        shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        return [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]]

    def server_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    # Kinesis: the one action on the one stream the role may use.

    def test_allowed_put_records_succeeds(self):
        answer = self.as_role("kinesis").put_records(
            StreamName="orders", Records=[{"Data": b"allowed-row", "PartitionKey": "k"}]
        )
        self.assertEqual(answer["FailedRecordCount"], 0)
        self.assertIn(b"allowed-row", self.records("orders"))

    def test_put_records_to_another_stream_is_denied(self):
        put = lambda: self.as_role("kinesis").put_records(
            StreamName="other", Records=[{"Data": b"denied-row", "PartitionKey": "k"}]
        )
        message = self.refused(put, "AccessDeniedException", 400)
        other = f"arn:aws:kinesis:us-east-1:{self.account}:stream/other"
        self.assert_names_role_and_action(message, "kinesis:PutRecords", other)
        self.assertIn("because no identity-based policy allows the kinesis:PutRecords action", message)
        self.assertNotIn(b"denied-row", self.records("other"))
        deadline = time.time() + 5
        while "kinesis:PutRecords on " + other not in self.server_log() and time.time() < deadline:
            time.sleep(0.05)
        line = next(l for l in self.server_log().splitlines() if "kinesis:PutRecords on " + other in l)
        self.assertIn(f"assumed-role/{self.role}/{self.session}", line)

    def test_another_kinesis_action_on_the_allowed_stream_is_denied(self):
        put = lambda: self.as_role("kinesis").put_record(StreamName="orders", Data=b"x", PartitionKey="k")
        message = self.refused(put, "AccessDeniedException", 400)
        self.assert_names_role_and_action(message, "kinesis:PutRecord", self.stream_arn)

    def test_stream_arn_parameter_is_the_resource_too(self):
        answer = self.as_role("kinesis").put_records(
            StreamARN=self.stream_arn, Records=[{"Data": b"by-arn", "PartitionKey": "k"}]
        )
        self.assertEqual(answer["FailedRecordCount"], 0)

    def test_get_records_is_evaluated_on_the_stream_its_iterator_names(self):
        kinesis = self.as_role("kinesis")
        shard = self.client("kinesis").list_shards(StreamName="orders")["Shards"][0]["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName="orders", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        self.assertIn("Records", kinesis.get_records(ShardIterator=iterator))
        other = lambda: kinesis.get_shard_iterator(
            StreamName="other", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )
        self.refused(other, "AccessDeniedException", 400)

    # Firehose: the one delivery stream.

    def test_firehose_put_record_batch_on_its_delivery_stream_only(self):
        firehose = self.as_role("firehose")
        records = [{"Data": b'{"invoice": 1}'}]
        answer = firehose.put_record_batch(DeliveryStreamName="clean", Records=records)
        self.assertEqual(answer["FailedPutCount"], 0)
        put = lambda: firehose.put_record_batch(DeliveryStreamName="raw", Records=records)
        message = self.refused(put, "AccessDeniedException", 400)
        raw = f"arn:aws:firehose:us-east-1:{self.account}:deliverystream/raw"
        self.assert_names_role_and_action(message, "firehose:PutRecordBatch", raw)

    # DynamoDB: PutItem not allowed, GetItem allowed by the attached managed policy.

    def test_dynamodb_put_item_is_denied(self):
        put = lambda: self.as_role("dynamodb").put_item(TableName="invoices", Item={"pk": {"S": "denied"}})
        message = self.refused(put, "AccessDeniedException", 400)
        table = f"arn:aws:dynamodb:us-east-1:{self.account}:table/invoices"
        self.assert_names_role_and_action(message, "dynamodb:PutItem", table)
        self.assertNotIn("Item", self.client("dynamodb").get_item(TableName="invoices", Key={"pk": {"S": "denied"}}))

    def test_dynamodb_batch_write_is_evaluated_per_table(self):
        write = lambda: self.as_role("dynamodb").batch_write_item(
            RequestItems={"invoices": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]}
        )
        message = self.refused(write, "AccessDeniedException", 400)
        self.assert_names_role_and_action(message, "dynamodb:BatchWriteItem", "table/invoices")

    def test_attached_managed_policy_allows_get_item(self):
        self.client("dynamodb").put_item(TableName="invoices", Item={"pk": {"S": "readable"}})
        item = self.as_role("dynamodb").get_item(TableName="invoices", Key={"pk": {"S": "readable"}})
        self.assertEqual(item["Item"]["pk"]["S"], "readable")

    # S3: PutObject under the allowed prefix only; an explicit deny inside it.

    def test_s3_put_object_under_the_allowed_prefix_works(self):
        self.as_role("s3").put_object(Bucket="lake", Key="rejects/ingest/dt=2026-01-01/a.jsonl.gz", Body=b"1")
        body = self.client("s3").get_object(Bucket="lake", Key="rejects/ingest/dt=2026-01-01/a.jsonl.gz")["Body"]
        self.assertEqual(body.read(), b"1")

    def test_s3_put_object_outside_the_prefix_is_403_access_denied(self):
        put = lambda: self.as_role("s3").put_object(Bucket="lake", Key="curated/a.parquet", Body=b"1")
        message = self.refused(put, "AccessDenied", 403)
        self.assert_names_role_and_action(message, "s3:PutObject", "arn:aws:s3:::lake/curated/a.parquet")
        listed = self.client("s3").list_objects_v2(Bucket="lake", Prefix="curated/a.parquet")
        self.assertEqual(listed.get("KeyCount"), 0)

    def test_s3_explicit_deny_says_so(self):
        put = lambda: self.as_role("s3").put_object(Bucket="lake", Key="rejects/ingest/secret/a", Body=b"1")
        message = self.refused(put, "AccessDenied", 403)
        self.assertIn("with an explicit deny in an identity-based policy", message)

    def test_s3_get_object_is_not_allowed(self):
        self.client("s3").put_object(Bucket="lake", Key="rejects/ingest/readme", Body=b"1")
        get = lambda: self.as_role("s3").get_object(Bucket="lake", Key="rejects/ingest/readme")
        self.refused(get, "AccessDenied", 403)

    # SNS and STS.

    def test_sns_publish_is_denied_with_authorization_error(self):
        publish = lambda: self.as_role("sns").publish(TopicArn=self.topic, Message="m")
        message = self.refused(publish, "AuthorizationError", 403)
        self.assert_names_role_and_action(message, "sns:Publish", self.topic)

    def test_get_caller_identity_is_always_allowed(self):
        identity = self.as_role("sts").get_caller_identity()
        self.assertEqual(identity["Arn"], f"arn:aws:sts::{self.account}:assumed-role/{self.role}/{self.session}")

    # The admin keys are never evaluated.

    def test_admin_credentials_are_unaffected(self):
        answer = self.client("kinesis").put_records(
            StreamName="other", Records=[{"Data": b"admin-row", "PartitionKey": "k"}]
        )
        self.assertEqual(answer["FailedRecordCount"], 0)
        self.client("dynamodb").put_item(TableName="invoices", Item={"pk": {"S": "admin"}})
        self.client("s3").put_object(Bucket="lake", Key="admin/anything", Body=b"1")
        self.client("sns").publish(TopicArn=self.topic, Message="admin")

    # A policy change is seen by the next call.

    def test_a_changed_role_policy_applies_at_once(self):
        iam = self.client("iam")
        other = f"arn:aws:kinesis:us-east-1:{self.account}:stream/other"
        put = lambda: self.as_role("kinesis").put_records(
            StreamName="other", Records=[{"Data": b"later", "PartitionKey": "k"}]
        )
        wider = policy(*self.inline, allow("kinesis:PutRecords", other))
        iam.put_role_policy(RoleName=self.role, PolicyName="least-privilege", PolicyDocument=wider)
        try:
            self.assertEqual(put()["FailedRecordCount"], 0)
        finally:
            iam.put_role_policy(
                RoleName=self.role, PolicyName="least-privilege", PolicyDocument=policy(*self.inline)
            )
        self.refused(put, "AccessDeniedException", 400)

    # Cognito SignUp and AllowAdminCreateUserOnly.

    def pool_client(self, admin_only):
        cognito = self.client("cognito-idp")
        config = {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": admin_only}}
        pool = cognito.create_user_pool(PoolName=f"pool-{admin_only}", **config)["UserPool"]["Id"]
        return cognito.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]

    def sign_up(self, client_id):
        return self.client("cognito-idp").sign_up(ClientId=client_id, Username="shopper", Password="Secret-pass-1!")

    def test_sign_up_refused_when_only_admins_create_users(self):
        client_id = self.pool_client(admin_only=True)
        message = self.refused(lambda: self.sign_up(client_id), "NotAuthorizedException", 400)
        self.assertEqual(message, "SignUp is not permitted for this user pool")

    def test_sign_up_allowed_otherwise(self):
        client_id = self.pool_client(admin_only=False)
        self.assertIn("UserSub", self.sign_up(client_id))

    # Cognito UpdateUserPool: settings fixed at creation stay, the others reset to defaults.

    def test_update_keeps_the_settings_fixed_at_creation(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName="fixed",
            AliasAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
        )["UserPool"]["Id"]
        cognito.update_user_pool(UserPoolId=pool, UserPoolTags={"team": "data"})
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual(described["AliasAttributes"], ["email"])
        self.assertEqual(described["UsernameConfiguration"], {"CaseSensitive": False})

    def test_update_resets_what_the_request_leaves_out(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName="reset", AutoVerifiedAttributes=["email"]
        )["UserPool"]["Id"]
        cognito.update_user_pool(UserPoolId=pool, UserPoolTags={"team": "data"})
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertNotIn("email", described.get("AutoVerifiedAttributes", []))


if __name__ == "__main__":
    unittest.main()
