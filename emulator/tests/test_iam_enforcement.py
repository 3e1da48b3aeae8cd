"""IAM for role sessions on a running emulator (`ecomflow_emulator.iam_eval`), driven with boto3
as the tool's Lambda roles and admin keys would: a role allowed kinesis:PutRecords on one stream,
PutObject under one prefix, and (through an attached managed policy) a few reads, assumed with
AssumeRole; each service's allowed call succeeds and its refused call gets the service's own
error code, HTTP status and message (the rules and their AWS pages: iam_eval's documentation).
"""

import time
import unittest

from support import EmulatorCase, allow, deny, policy


class IamEnforcement(EmulatorCase):
    role = "ecomflow-test-ingest"
    session = "ingest-session"

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


if __name__ == "__main__":
    unittest.main()
