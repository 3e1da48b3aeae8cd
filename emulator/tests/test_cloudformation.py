"""CloudFormation on a running emulator (`ecomflow_emulator.cloudformation`): CreateStack refuses
resource types it cannot make, applies every property the project's exported template sets as
AWS applies it (read back through each service's own API), tags as CloudFormation tags, fails
and rolls back as AWS does, and DeleteStack removes what it made; ValidateTemplate answers the
template's parameters and IAM capabilities; a TemplateBody over 51,200 characters and a TemplateURL
object over 1,000,000 bytes are refused. One emulator (one test class), a stack per test.
"""

import base64
import hashlib
import io
import itertools
import json
import time
import unittest
import zipfile

from support import ACCOUNT, EmulatorCase, allow, policy

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
KEY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}
TAGS = [{"Key": "project", "Value": "ecomflow"}]
STACK_TAGS = [{"Key": "env", "Value": "test"}, {"Key": "project", "Value": "stack-level"}]


def system_tags(stack_id, logical_id):
    return {
        "aws:cloudformation:stack-name": stack_id.split("/")[1],
        "aws:cloudformation:stack-id": stack_id,
        "aws:cloudformation:logical-id": logical_id,
    }


def as_dict(tags, key="Key", value="Value"):
    return {t[key]: t[value] for t in tags}


class CloudFormation(EmulatorCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.cf = cls.client("cloudformation")
        cls.s3 = cls.client("s3")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return 1\n")
        cls.code = buffer.getvalue()
        cls.s3.create_bucket(Bucket="cfn-code")
        cls.s3.put_object(Bucket="cfn-code", Key="ingest.zip", Body=cls.code)

    # -- helpers ------------------------------------------------------------------------------

    def stack(self, resources, tags=STACK_TAGS, **extra):
        """CreateStack; the stack as DescribeStacks answers it."""
        name = f"cfn-test-{next(self.names)}"
        template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
        stack_id = self.cf.create_stack(StackName=name, TemplateBody=json.dumps(template), Tags=tags,
                                        **extra)["StackId"]
        return self.cf.describe_stacks(StackName=stack_id)["Stacks"][0]

    def created(self, resources, **extra):
        stack = self.stack(resources, **extra)
        self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE", self.events(stack))
        return stack

    def events(self, stack):
        return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
                for e in self.cf.describe_stack_events(StackName=stack["StackId"])["StackEvents"][::-1]]

    def failed(self, resources, logical_id, **extra):
        """A stack whose resource `logical_id` fails: rolled back; that resource's reason."""
        stack = self.stack(resources, **extra)
        self.assertEqual(stack["StackStatus"], "ROLLBACK_COMPLETE", self.events(stack))
        [reason] = [r for lid, status, r in self.events(stack) if lid == logical_id and status == "CREATE_FAILED"]
        return reason

    def delete(self, stack):
        self.cf.delete_stack(StackName=stack["StackId"])
        return self.cf.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"]

    # -- resource types -----------------------------------------------------------------------

    def test_unsupported_types_refused(self):
        """Unknown types: AWS's "Unrecognized resource types"; types AWS knows that moto cannot
        create, and properties the emulator does not apply, refused by name; nothing made."""
        cases = [
            ({"X": {"Type": "AWS::Foo::Bar"}, "Y": {"Type": "AWS::Nope::Thing"},
              "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-never"}}},
             "Template format error: Unrecognized resource types: [AWS::Foo::Bar, AWS::Nope::Thing]"),
            ({"J": {"Type": "AWS::Glue::Database", "Properties": {"CatalogId": ACCOUNT, "DatabaseInput": {}}},
              "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-never"}}},
             "The emulator cannot create these resource types (moto has no CloudFormation support for them): "
             "[AWS::Glue::Database]"),
            ({"B": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "cfn-never", "NotificationConfiguration": {}}}},
             "The emulator cannot apply these properties: [AWS::S3::Bucket.NotificationConfiguration (B)]"),
        ]
        for resources, expected in cases:
            with self.subTest(expected=expected):
                name = f"cfn-test-{next(self.names)}"
                body = json.dumps({"Resources": resources})
                message = self.refused(lambda: self.cf.create_stack(StackName=name, TemplateBody=body),
                                       "ValidationError", 400)
                self.assertEqual(message, expected)
                self.refused(lambda: self.cf.describe_stacks(StackName=name), "ValidationError", 400)
        self.refused(lambda: self.s3.head_bucket(Bucket="cfn-never"), "404", 404)
        # A template of supported types is created.
        self.created({"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-supported"}}})

    # -- S3 -----------------------------------------------------------------------------------

    def test_s3_bucket_and_policy(self):
        bucket_policy = policy({"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                "Resource": ["arn:aws:s3:::cfn-lake", "arn:aws:s3:::cfn-lake/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        stack = self.created({
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
            "Logs": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-access-logs"}},
            "Lake": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": "cfn-lake",
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                    "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                      "KMSMasterKeyID": {"Fn::GetAtt": ["Key", "Arn"]}},
                    "BucketKeyEnabled": True}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                   "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "raw", "Prefix": "raw/", "Status": "Enabled", "ExpirationInDays": 30,
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
                    {"Id": "all", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]},
                "LoggingConfiguration": {"DestinationBucketName": {"Ref": "Logs"}, "LogFilePrefix": "lake/"},
                "Tags": TAGS}},
            "LakePolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": {"Ref": "Lake"}, "PolicyDocument": json.loads(bucket_policy)}},
            "Plain": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-plain-sse-s3",
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}},
        })
        key_arn = self.client("kms").describe_key(KeyId=self.physical(stack, "Key"))["KeyMetadata"]["Arn"]
        s3 = self.s3
        self.assertEqual(s3.get_bucket_encryption(Bucket="cfn-lake")["ServerSideEncryptionConfiguration"]["Rules"], [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
             "BucketKeyEnabled": True}])
        self.assertEqual(
            s3.get_bucket_encryption(Bucket="cfn-plain-sse-s3")["ServerSideEncryptionConfiguration"]["Rules"][0]
            ["ApplyServerSideEncryptionByDefault"], {"SSEAlgorithm": "AES256"})
        self.assertEqual(s3.get_public_access_block(Bucket="cfn-lake")["PublicAccessBlockConfiguration"], {
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        self.assertEqual(s3.get_bucket_ownership_controls(Bucket="cfn-lake")["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "BucketOwnerEnforced"}])
        self.assertEqual(s3.get_bucket_versioning(Bucket="cfn-lake")["Status"], "Enabled")
        rules = sorted(s3.get_bucket_lifecycle_configuration(Bucket="cfn-lake")["Rules"], key=lambda r: r["ID"])
        self.assertEqual(rules, [
            {"ID": "all", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
            {"ID": "raw", "Filter": {"Prefix": "raw/"}, "Status": "Enabled", "Expiration": {"Days": 30},
             "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}])
        self.assertEqual(s3.get_bucket_logging(Bucket="cfn-lake")["LoggingEnabled"],
                         {"TargetBucket": "cfn-access-logs", "TargetPrefix": "lake/"})
        self.assertEqual(json.loads(s3.get_bucket_policy(Bucket="cfn-lake")["Policy"]), json.loads(bucket_policy))
        # The bucket's tags, the stack's (not over its own) and CloudFormation's.
        self.assertEqual(as_dict(s3.get_bucket_tagging(Bucket="cfn-lake")["TagSet"]),
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Lake")})
        # Without BucketEncryption a bucket has AWS's default (SSE-S3) and the emulator's
        # default ownership, as CreateBucket gives them.
        self.assertEqual(s3.get_bucket_ownership_controls(Bucket="cfn-access-logs")["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "BucketOwnerEnforced"}])

        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        for bucket in ("cfn-lake", "cfn-access-logs", "cfn-plain-sse-s3"):
            self.refused(lambda: s3.head_bucket(Bucket=bucket), "404", 404)

    def test_s3_bucket_refused_rolls_back(self):
        """PutBucketLogging's refusal fails the bucket; the stack rolls back, removing what it
        made; OnFailure DO_NOTHING keeps it, DELETE deletes the stack."""
        resources = {
            "First": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-made-first"}},
            "Lake": {"Type": "AWS::S3::Bucket", "DependsOn": "First", "Properties": {
                "BucketName": "cfn-refused", "VersioningConfiguration": {"Status": "Enabled"},
                "LoggingConfiguration": {"DestinationBucketName": "cfn-no-such-bucket"}}},
        }
        reason = self.failed(resources, "Lake")
        self.assertIn("The target bucket for logging does not exist", reason)
        self.assertIn("InvalidTargetBucketForLogging", reason)
        for bucket in ("cfn-made-first", "cfn-refused"):
            self.refused(lambda: self.s3.head_bucket(Bucket=bucket), "404", 404)

        kept = self.stack(resources, OnFailure="DO_NOTHING")
        self.assertEqual((kept["StackStatus"], kept["StackStatusReason"]),
                         ("CREATE_FAILED", "The following resource(s) failed to create: [Lake]. "))
        self.s3.head_bucket(Bucket="cfn-made-first")
        self.refused(lambda: self.s3.head_bucket(Bucket="cfn-refused"), "404", 404)
        self.assertEqual(self.delete(kept), "DELETE_COMPLETE")
        self.refused(lambda: self.s3.head_bucket(Bucket="cfn-made-first"), "404", 404)

        gone = self.stack(resources, OnFailure="DELETE")
        self.assertEqual(gone["StackStatus"], "DELETE_COMPLETE")

    # -- KMS ----------------------------------------------------------------------------------

    def test_kms_key_and_alias(self):
        stack = self.created({
            "Key": {"Type": "AWS::KMS::Key", "Properties": {
                "Description": "ecomflow stack key", "KeyPolicy": KEY_POLICY, "EnableKeyRotation": True,
                "PendingWindowInDays": 7, "Tags": TAGS}},
            "KeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {
                "AliasName": "alias/cfn-stack-key", "TargetKeyId": {"Ref": "Key"}}},
        })
        kms = self.client("kms")
        key_id = self.physical(stack, "Key")
        metadata = kms.describe_key(KeyId="alias/cfn-stack-key")["KeyMetadata"]
        self.assertEqual((metadata["KeyId"], metadata["Description"], metadata["KeyState"], metadata["KeyManager"]),
                         (key_id, "ecomflow stack key", "Enabled", "CUSTOMER"))
        self.assertEqual(json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]), KEY_POLICY)
        rotation = kms.get_key_rotation_status(KeyId=key_id)
        self.assertEqual((rotation["KeyRotationEnabled"], rotation["RotationPeriodInDays"]), (True, 365))
        # KMS keys take no CloudFormation system tags (their schema says so); the stack's, yes.
        self.assertEqual(as_dict(kms.list_resource_tags(KeyId=key_id)["Tags"], "TagKey", "TagValue"),
                         {"project": "ecomflow", "env": "test"})

        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(metadata["KeyState"], "PendingDeletion")
        days = (metadata["DeletionDate"] - metadata["CreationDate"]).total_seconds() / 86400
        self.assertAlmostEqual(days, 7, delta=0.1)
        self.assertEqual(kms.list_aliases(KeyId=key_id)["Aliases"], [])

    def test_kms_key_refused(self):
        """CreateKey's checks: a policy naming a role that does not exist; a deletion window
        out of range."""
        ghost = {"Version": "2012-10-17", "Statement": [KEY_POLICY["Statement"][0], {
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/no-such-role"},
            "Action": "kms:Decrypt", "Resource": "*"}]}
        reason = self.failed({"Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": ghost}}}, "Key")
        self.assertIn("Policy contains a statement with one or more invalid principals.", reason)
        self.assertIn("MalformedPolicyDocumentException", reason)
        reason = self.failed({"Key": {"Type": "AWS::KMS::Key", "Properties": {
            "KeyPolicy": KEY_POLICY, "PendingWindowInDays": 5}}}, "Key")
        self.assertIn("PendingWindowInDays must be between 7 and 30", reason)
        reason = self.failed({"Alias": {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": "alias/aws/mine", "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}}}, "Alias")
        self.assertIn("NotAuthorizedException", reason)

    # -- IAM ----------------------------------------------------------------------------------

    def test_iam_role(self):
        inline = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kinesis:GetRecords", "Resource": "*"}]}
        stack = self.created({"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "cfn-ingest", "Path": "/ecomflow/", "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "Policies": [{"PolicyName": "read-stream", "PolicyDocument": inline}], "Tags": TAGS}}})
        iam = self.client("iam")
        role = iam.get_role(RoleName="cfn-ingest")["Role"]
        self.assertEqual((role["Path"], role["Arn"], role["AssumeRolePolicyDocument"]),
                         ("/ecomflow/", f"arn:aws:iam::{ACCOUNT}:role/ecomflow/cfn-ingest", LAMBDA_TRUST))
        self.assertEqual(iam.list_role_policies(RoleName="cfn-ingest")["PolicyNames"], ["read-stream"])
        self.assertEqual(iam.get_role_policy(RoleName="cfn-ingest", PolicyName="read-stream")["PolicyDocument"],
                         inline)
        # IAM roles take no CloudFormation system tags (their schema says so).
        self.assertEqual(as_dict(iam.list_role_tags(RoleName="cfn-ingest")["Tags"]),
                         {"project": "ecomflow", "env": "test"})

        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: iam.get_role(RoleName="cfn-ingest"), "NoSuchEntity", 404)

    def test_iam_role_refused(self):
        reason = self.failed({"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "cfn-bad-inline", "AssumeRolePolicyDocument": LAMBDA_TRUST,
            "Policies": [{"PolicyName": "bad", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]}}]}}}, "Role")
        self.assertIn("MalformedPolicyDocument", reason)
        self.refused(lambda: self.client("iam").get_role(RoleName="cfn-bad-inline"), "NoSuchEntity", 404)

    # -- Kinesis ------------------------------------------------------------------------------

    def test_kinesis_stream(self):
        stack = self.created({
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {
                "Name": "cfn-orders", "StreamModeDetails": {"StreamMode": "PROVISIONED"}, "ShardCount": 2,
                "RetentionPeriodHours": 48, "StreamEncryption": {"EncryptionType": "KMS", "KeyId": {"Ref": "Key"}},
                "Tags": TAGS}},
            "OnDemand": {"Type": "AWS::Kinesis::Stream", "Properties": {
                "Name": "cfn-on-demand", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}},
        })
        kinesis = self.client("kinesis")
        summary = kinesis.describe_stream_summary(StreamName="cfn-orders")["StreamDescriptionSummary"]
        self.assertEqual(
            (summary["StreamModeDetails"], summary["OpenShardCount"], summary["RetentionPeriodHours"],
             summary["EncryptionType"], summary["KeyId"]),
            ({"StreamMode": "PROVISIONED"}, 2, 48, "KMS", self.physical(stack, "Key")))
        self.assertEqual(kinesis.describe_stream_summary(StreamName="cfn-on-demand")["StreamDescriptionSummary"]
                         ["StreamModeDetails"], {"StreamMode": "ON_DEMAND"})
        self.assertEqual(as_dict(kinesis.list_tags_for_stream(StreamName="cfn-orders")["Tags"]),
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Stream")})
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: kinesis.describe_stream_summary(StreamName="cfn-orders"),
                     "ResourceNotFoundException", 400)

    def test_kinesis_stream_refused(self):
        reason = self.failed({"Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {
            "Name": "cfn-short", "ShardCount": 1, "RetentionPeriodHours": 10}}}, "Stream")
        self.assertIn("InvalidArgumentException", reason)
        self.refused(lambda: self.client("kinesis").describe_stream_summary(StreamName="cfn-short"),
                     "ResourceNotFoundException", 400)

    # -- DynamoDB -----------------------------------------------------------------------------

    def test_dynamodb_table(self):
        stack = self.created({
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
            "Customers": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": "cfn-customers",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                         {"AttributeName": "at", "AttributeType": "N"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "Key"}},
                "DeletionProtectionEnabled": False, "Tags": TAGS}},
            "Counters": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": "cfn-counters", "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"}}},
        })
        ddb = self.client("dynamodb")
        key_arn = self.client("kms").describe_key(KeyId=self.physical(stack, "Key"))["KeyMetadata"]["Arn"]
        table = ddb.describe_table(TableName="cfn-customers")["Table"]
        self.assertEqual(
            (table["KeySchema"], table["BillingModeSummary"]["BillingMode"], table["SSEDescription"],
             table["DeletionProtectionEnabled"]),
            ([{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}],
             "PAY_PER_REQUEST", {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key_arn}, False))
        self.assertEqual(ddb.describe_continuous_backups(TableName="cfn-customers")["ContinuousBackupsDescription"]
                         ["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED")
        # DynamoDB tables take no CloudFormation system tags (their schema says so).
        self.assertEqual(as_dict(ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]),
                         {"project": "ecomflow", "env": "test"})
        counters = ddb.describe_table(TableName="cfn-counters")["Table"]
        self.assertEqual((counters["ProvisionedThroughput"]["ReadCapacityUnits"],
                          counters["ProvisionedThroughput"]["WriteCapacityUnits"]), (5, 3))
        # Without a key, DynamoDB's AWS managed key.
        managed = self.client("kms").describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"]
        self.assertEqual(counters["SSEDescription"]["KMSMasterKeyArn"], managed)
        self.assertEqual(ddb.describe_continuous_backups(TableName="cfn-counters")["ContinuousBackupsDescription"]
                         ["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "DISABLED")
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: ddb.describe_table(TableName="cfn-customers"), "ResourceNotFoundException", 400)

    def test_dynamodb_table_refused(self):
        reason = self.failed({"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "cfn-no-throughput", "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PROVISIONED"}}}, "T")
        self.assertIn("ReadCapacityUnits and WriteCapacityUnits must both be specified", reason)
        # Deletion protection holds the table: the stack cannot be deleted until it is off.
        stack = self.created({"T": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": "cfn-protected", "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
            "DeletionProtectionEnabled": True}}})
        self.assertEqual(self.delete(stack), "DELETE_FAILED")
        self.client("dynamodb").update_table(TableName="cfn-protected", DeletionProtectionEnabled=False)
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        # It holds a rollback too: ROLLBACK_FAILED, the stack described as it is, nothing
        # made again for it.
        stack = self.stack({
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {
                "TableName": "cfn-protected-2", "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
                "DeletionProtectionEnabled": True}},
            "Bad": {"Type": "AWS::Logs::LogGroup", "DependsOn": "T", "Properties": {
                "LogGroupName": "/ecomflow/cfn-bad", "RetentionInDays": 2}},
        })
        self.assertEqual(stack["StackStatus"], "ROLLBACK_FAILED")
        resources = self.cf.list_stack_resources(StackName=stack["StackId"])["StackResourceSummaries"]
        self.assertEqual([r["LogicalResourceId"] for r in resources], ["T"])
        self.client("dynamodb").update_table(TableName="cfn-protected-2", DeletionProtectionEnabled=False)
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: self.client("dynamodb").describe_table(TableName="cfn-protected-2"),
                     "ResourceNotFoundException", 400)

    # -- SNS ----------------------------------------------------------------------------------

    def test_sns_topic_policy_and_subscription(self):
        topic_policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "S3Publishes", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sns:Publish", "Resource": {"Ref": "Topic"}}]}
        stack = self.created({
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {
                "TopicName": "cfn-alerts", "KmsMasterKeyId": "alias/aws/sns", "Tags": TAGS}},
            "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "Topic"}], "PolicyDocument": topic_policy}},
            "Mail": {"Type": "AWS::SNS::Subscription", "Properties": {
                "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "ops@example.com"}},
        })
        sns = self.client("sns")
        arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:cfn-alerts"
        self.assertEqual(self.physical(stack, "Topic"), arn)
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(attributes["KmsMasterKeyId"], "alias/aws/sns")
        statement = json.loads(attributes["Policy"])["Statement"]
        self.assertEqual([(s["Sid"], s["Resource"]) for s in statement], [("S3Publishes", arn)])
        [subscription] = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        self.assertEqual((subscription["Protocol"], subscription["Endpoint"]), ("email", "ops@example.com"))
        self.assertEqual(self.physical(stack, "Mail"), subscription["SubscriptionArn"])
        self.assertEqual(as_dict(sns.list_tags_for_resource(ResourceArn=arn)["Tags"]),
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Topic")})
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: sns.get_topic_attributes(TopicArn=arn), "NotFound", 404)

    def test_sns_topic_policy_refused(self):
        reason = self.failed({"P": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [f"arn:aws:sns:us-east-1:{ACCOUNT}:cfn-no-topic"],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": []}}}}, "P")
        self.assertIn("NotFound", reason)

    # -- CloudWatch Logs ----------------------------------------------------------------------

    def test_log_group(self):
        stack = self.created({
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY}},
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {
                "LogGroupName": "/ecomflow/cfn", "RetentionInDays": 14,
                "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}, "Tags": TAGS}},
        })
        logs = self.client("logs")
        [group] = logs.describe_log_groups(logGroupNamePrefix="/ecomflow/cfn")["logGroups"]
        key_arn = self.client("kms").describe_key(KeyId=self.physical(stack, "Key"))["KeyMetadata"]["Arn"]
        self.assertEqual((group["retentionInDays"], group["kmsKeyId"]), (14, key_arn))
        self.assertEqual(logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"],
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Group")})
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/ecomflow/cfn")["logGroups"], [])

    def test_log_group_refused(self):
        reason = self.failed({"Group": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": "/ecomflow/cfn-ten-days", "RetentionInDays": 10}}}, "Group")
        self.assertIn("Member must satisfy enum value set", reason)
        self.assertEqual(self.client("logs").describe_log_groups(
            logGroupNamePrefix="/ecomflow/cfn-ten-days")["logGroups"], [])

    # -- Lambda -------------------------------------------------------------------------------

    def lambda_stack(self, **function):
        return {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": f"cfn-fn-role-{next(self.names)}", "AssumeRolePolicyDocument": LAMBDA_TRUST}},
            "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {
                "Name": f"cfn-fn-stream-{next(self.names)}", "ShardCount": 1}},
            "Failures": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"cfn-fn-failures-{next(self.names)}"}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": "cfn-ingest", "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Runtime": "python3.12",
                "Handler": "index.handler", "Architectures": ["arm64"], "MemorySize": 256, "Timeout": 30,
                "ReservedConcurrentExecutions": 5, "Environment": {"Variables": {"TABLE": "customers"}},
                "Code": {"S3Bucket": "cfn-code", "S3Key": "ingest.zip"}, "Tags": TAGS, **function}},
            "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
                "FunctionName": {"Ref": "Fn"}, "EventSourceArn": {"Fn::GetAtt": ["Stream", "Arn"]},
                "StartingPosition": "TRIM_HORIZON", "BatchSize": 200, "MaximumBatchingWindowInSeconds": 5,
                "ParallelizationFactor": 2, "BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 3,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "DestinationConfig": {"OnFailure": {"Destination": {"Ref": "Failures"}}}, "Enabled": True}},
            "Invoke": {"Type": "AWS::Lambda::Permission", "Properties": {
                "FunctionName": {"Ref": "Fn"}, "Action": "lambda:InvokeFunction",
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {"Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:abc123/*/POST/orders"}}},
        }

    def test_lambda_function_mapping_and_permission(self):
        stack = self.created(self.lambda_stack())
        lam = self.client("lambda")
        config = lam.get_function_configuration(FunctionName="cfn-ingest")
        role_arn = self.client("iam").get_role(RoleName=self.physical(stack, "Role"))["Role"]["Arn"]
        self.assertEqual(
            (config["Role"], config["Runtime"], config["Handler"], config["Architectures"], config["MemorySize"],
             config["Timeout"], config["Environment"]["Variables"], config["CodeSha256"], config["CodeSize"]),
            (role_arn, "python3.12", "index.handler", ["arm64"], 256, 30, {"TABLE": "customers"},
             base64.b64encode(hashlib.sha256(self.code).digest()).decode(), len(self.code)))
        self.assertEqual(lam.get_function_concurrency(FunctionName="cfn-ingest")["ReservedConcurrentExecutions"], 5)
        self.assertEqual(lam.list_tags(Resource=config["FunctionArn"])["Tags"],
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Fn")})
        [mapping] = lam.list_event_source_mappings(FunctionName="cfn-ingest")["EventSourceMappings"]
        topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:{self.physical(stack, 'Failures').split(':')[-1]}"
        self.assertEqual(
            {k: mapping[k] for k in ("StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds",
                                     "ParallelizationFactor", "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                                     "FunctionResponseTypes", "DestinationConfig", "State", "EventSourceArn")},
            {"StartingPosition": "TRIM_HORIZON", "BatchSize": 200, "MaximumBatchingWindowInSeconds": 5,
             "ParallelizationFactor": 2, "BisectBatchOnFunctionError": True, "MaximumRetryAttempts": 3,
             "FunctionResponseTypes": ["ReportBatchItemFailures"],
             "DestinationConfig": {"OnFailure": {"Destination": topic}}, "State": "Enabled",
             "EventSourceArn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{self.physical(stack, 'Stream')}"})
        self.assertEqual(mapping["UUID"], self.physical(stack, "Mapping"))
        [statement] = json.loads(lam.get_policy(FunctionName="cfn-ingest")["Policy"])["Statement"]
        self.assertEqual(
            (statement["Sid"], statement["Action"], statement["Principal"], statement["Condition"]),
            (self.physical(stack, "Invoke"), "lambda:InvokeFunction", {"Service": "apigateway.amazonaws.com"},
             {"ArnLike": {"AWS:SourceArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:abc123/*/POST/orders"}}))
        self.assertNotIn("FunctionName", statement)

        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: lam.get_function(FunctionName="cfn-ingest"), "ResourceNotFoundException", 404)
        self.assertEqual(lam.list_event_source_mappings()["EventSourceMappings"], [])

    def test_lambda_function_refused(self):
        """CreateFunction's refusals: code that is not in S3; environment over 4 KB."""
        reason = self.failed(self.lambda_stack(Code={"S3Bucket": "cfn-code", "S3Key": "missing.zip"}), "Fn")
        self.assertIn("NoSuchKey", reason)
        reason = self.failed(self.lambda_stack(Environment={"Variables": {"BIG": "x" * 4100}}), "Fn")
        self.assertIn("exceeded the 4KB limit", reason)
        self.refused(lambda: self.client("lambda").get_function(FunctionName="cfn-ingest"),
                     "ResourceNotFoundException", 404)

    # -- Redshift -----------------------------------------------------------------------------

    def redshift_stack(self, **cluster):
        return {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "RoleName": f"cfn-redshift-{next(self.names)}", "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                            "Principal": {"Service": "redshift.amazonaws.com"}}]}}},
            "Params": {"Type": "AWS::Redshift::ClusterParameterGroup", "Properties": {
                "ParameterGroupName": "cfn-wh-params", "ParameterGroupFamily": "redshift-2.0",
                "Description": "warehouse parameters", "Tags": TAGS, "Parameters": [
                    {"ParameterName": "require_ssl", "ParameterValue": "true"},
                    {"ParameterName": "enable_user_activity_logging", "ParameterValue": "true"}]}},
            "Warehouse": {"Type": "AWS::Redshift::Cluster", "Properties": {
                "ClusterIdentifier": "cfn-wh", "NodeType": "ra3.large", "ClusterType": "single-node",
                "DBName": "ecomflow", "MasterUsername": "awsadmin", "ManageMasterPassword": True,
                "Encrypted": True, "PubliclyAccessible": False, "IamRoles": [{"Fn::GetAtt": ["Role", "Arn"]}],
                "ClusterParameterGroupName": {"Ref": "Params"},
                "LoggingProperties": {"LogDestinationType": "cloudwatch",
                                      "LogExports": ["connectionlog", "userlog", "useractivitylog"]},
                "Tags": TAGS, **cluster}},
        }

    def test_redshift_cluster_and_parameter_group(self):
        """The cluster is what CreateCluster makes: its database, managed secret, parameter
        group in sync, audit logging; DeleteStack is DeleteCluster."""
        stack = self.created(self.redshift_stack())
        rs = self.client("redshift")
        [cluster] = rs.describe_clusters(ClusterIdentifier="cfn-wh")["Clusters"]
        role_arn = self.client("iam").get_role(RoleName=self.physical(stack, "Role"))["Role"]["Arn"]
        self.assertEqual(
            (cluster["ClusterStatus"], cluster["NodeType"], cluster["NumberOfNodes"], cluster["DBName"],
             cluster["MasterUsername"], cluster["Encrypted"], cluster["PubliclyAccessible"],
             [r["IamRoleArn"] for r in cluster["IamRoles"]], cluster["Endpoint"]["Address"]),
            ("available", "ra3.large", 1, "ecomflow", "awsadmin", True, False, [role_arn], "127.0.0.1"))
        [group] = cluster["ClusterParameterGroups"]
        self.assertEqual((group["ParameterGroupName"], group["ParameterApplyStatus"]), ("cfn-wh-params", "in-sync"))
        self.assertEqual(self.physical(stack, "Params"), "cfn-wh-params")
        self.assertEqual(self.physical(stack, "Warehouse"), "cfn-wh")
        user = rs.describe_cluster_parameters(ParameterGroupName="cfn-wh-params", Source="user")["Parameters"]
        self.assertEqual({p["ParameterName"]: p["ParameterValue"] for p in user},
                         {"require_ssl": "true", "enable_user_activity_logging": "true"})
        logging = rs.describe_logging_status(ClusterIdentifier="cfn-wh")
        self.assertEqual((logging["LoggingEnabled"], logging["LogDestinationType"], logging["LogExports"]),
                         (True, "cloudwatch", ["connectionlog", "userlog", "useractivitylog"]))
        secret_arn = cluster["MasterPasswordSecretArn"]
        secret = json.loads(self.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
        self.assertEqual((secret["username"], secret["port"]), ("awsadmin", cluster["Endpoint"]["Port"]))
        self.assertEqual(as_dict(cluster["Tags"]),
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Warehouse")})
        [params] = rs.describe_cluster_parameter_groups(ParameterGroupName="cfn-wh-params")["ParameterGroups"]
        self.assertEqual(as_dict(params["Tags"]),
                         {"project": "ecomflow", "env": "test", **system_tags(stack["StackId"], "Params")})
        # The cluster's database answers, through the Data API with the managed secret.
        data = self.client("redshift-data")
        statement = data.execute_statement(ClusterIdentifier="cfn-wh", Database="ecomflow", SecretArn=secret_arn,
                                           Sql="select 1")["Id"]
        deadline = time.time() + 60
        while data.describe_statement(Id=statement)["Status"] not in ("FINISHED", "FAILED"):
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        self.assertEqual(data.describe_statement(Id=statement)["Status"], "FINISHED")

        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")
        self.refused(lambda: rs.describe_clusters(ClusterIdentifier="cfn-wh"), "ClusterNotFound", 404)
        self.refused(lambda: rs.describe_cluster_parameters(ParameterGroupName="cfn-wh-params"),
                     "ClusterParameterGroupNotFound", 404)
        secrets = self.client("secretsmanager").list_secrets(IncludePlannedDeletion=True)["SecretList"]
        self.assertNotIn(secret_arn, [s["ARN"] for s in secrets])

    def test_redshift_refused(self):
        reason = self.failed(self.redshift_stack(MasterUserPassword="Passw0rd-long"), "Warehouse")
        self.assertIn("You can't use MasterUserPassword if ManageMasterPassword is true.", reason)
        reason = self.failed(self.redshift_stack(ClusterParameterGroupName="no-such-group"), "Warehouse")
        self.assertIn("ClusterParameterGroupNotFound", reason)
        stack = self.redshift_stack()
        stack["Params"]["Properties"]["Parameters"] = [{"ParameterName": "no_such", "ParameterValue": "1"}]
        reason = self.failed(stack, "Params")
        self.assertIn("Could not find parameter with name: no_such", reason)
        rs = self.client("redshift")
        self.refused(lambda: rs.describe_clusters(ClusterIdentifier="cfn-wh"), "ClusterNotFound", 404)
        self.refused(lambda: rs.describe_cluster_parameters(ParameterGroupName="cfn-wh-params"),
                     "ClusterParameterGroupNotFound", 404)

    # -- DeleteStack --------------------------------------------------------------------------

    def test_delete_stack(self):
        """Reverse dependency order; Retain kept; a bucket not empty fails the delete (the stack
        stays DELETE_FAILED) until emptied; a deleted stack makes nothing again."""
        resources = {
            "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {"BucketName": "cfn-kept"}},
            "Full": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "cfn-full"}},
            "FullPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": {"Ref": "Full"}, "PolicyDocument": json.loads(policy(allow("s3:GetObject",
                    "arn:aws:s3:::cfn-full/*", Principal={"AWS": ROOT})))}},
        }
        template = {"Resources": resources, "Outputs": {"Bucket": {"Value": {"Ref": "Full"}}}}
        stack_id = self.cf.create_stack(StackName="cfn-delete", TemplateBody=json.dumps(template))["StackId"]
        self.s3.put_object(Bucket="cfn-full", Key="data.json", Body=b"{}")

        self.cf.delete_stack(StackName="cfn-delete")
        stack = self.cf.describe_stacks(StackName="cfn-delete")["Stacks"][0]
        self.assertEqual((stack["StackStatus"], stack["StackStatusReason"]),
                         ("DELETE_FAILED", "The following resource(s) failed to delete: [Full]. "))
        [reason] = [r for lid, status, r in self.events(stack) if lid == "Full" and status == "DELETE_FAILED"]
        self.assertIn("BucketNotEmpty", reason)
        # The policy (which depends on the bucket) went first.
        self.refused(lambda: self.s3.get_bucket_policy(Bucket="cfn-full"), "NoSuchBucketPolicy", 404)

        self.s3.delete_object(Bucket="cfn-full", Key="data.json")
        self.cf.delete_stack(StackName="cfn-delete")
        self.assertEqual(self.cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"], "DELETE_COMPLETE")
        self.refused(lambda: self.s3.head_bucket(Bucket="cfn-full"), "404", 404)
        self.s3.head_bucket(Bucket="cfn-kept")
        # Described again, the deleted stack makes nothing.
        self.cf.describe_stacks(StackName=stack_id)
        self.refused(lambda: self.s3.head_bucket(Bucket="cfn-full"), "404", 404)

    # -- ValidateTemplate ---------------------------------------------------------------------

    def test_validate_template_parameters(self):
        template = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "ecomflow lake",
            "Parameters": {
                "Environment": {"Type": "String", "Default": "dev", "Description": "Deployment environment"},
                "AlertEmail": {"Type": "String"},
                "Secret": {"Type": "String", "NoEcho": True},
            },
            "Resources": {"Lake": {"Type": "AWS::S3::Bucket",
                                   "Properties": {"BucketName": {"Fn::Sub": "lake-${Environment}"}}}},
        }
        # AlertEmail and Secret are unused: a cfn-lint warning, which AWS does not refuse.
        answer = self.cf.validate_template(TemplateBody=json.dumps(template))
        self.assertEqual(answer["Parameters"], [
            {"ParameterKey": "Environment", "DefaultValue": "dev", "NoEcho": False,
             "Description": "Deployment environment"},
            {"ParameterKey": "AlertEmail", "NoEcho": False},
            {"ParameterKey": "Secret", "NoEcho": True},
        ])
        self.assertEqual(answer["Description"], "ecomflow lake")
        self.assertEqual(answer["Capabilities"], [])  # no IAM resources
        self.assertNotIn("CapabilitiesReason", answer)
        self.assertEqual(answer["DeclaredTransforms"], [])

        # YAML, short-form tags: the default as written (a string), no Description when none.
        yaml_body = "\n".join([
            "Parameters:",
            "  Retention:",
            "    Type: Number",
            "    Default: 10",
            "    Description: Days kept",
            "  Stage:",
            "    Type: String",
            "    NoEcho: 'true'",
            "Resources:",
            "  Logs:",
            "    Type: AWS::Logs::LogGroup",
            "    Properties:",
            "      RetentionInDays: !Ref Retention",
            "      LogGroupName: !Sub '/ecomflow/${Stage}'",
        ])
        answer = self.cf.validate_template(TemplateBody=yaml_body)
        self.assertEqual(answer["Parameters"], [
            {"ParameterKey": "Retention", "DefaultValue": "10", "NoEcho": False, "Description": "Days kept"},
            {"ParameterKey": "Stage", "NoEcho": True},
        ])
        self.assertNotIn("Description", answer)
        self.assertEqual(answer["Capabilities"], [])

    def test_validate_template_named_role(self):
        # YAML: a role with RoleName needs CAPABILITY_NAMED_IAM.
        body = "\n".join([
            "Description: named role",
            "Resources:",
            "  Ingest:",
            "    Type: AWS::IAM::Role",
            "    Properties:",
            "      RoleName: !Sub '${AWS::StackName}-ingest'",
            "      AssumeRolePolicyDocument:",
            "        Version: '2012-10-17'",
            "        Statement:",
            "          - Effect: Allow",
            "            Principal: {Service: lambda.amazonaws.com}",
            "            Action: sts:AssumeRole",
        ])
        answer = self.cf.validate_template(TemplateBody=body)
        self.assertEqual(answer["Capabilities"], ["CAPABILITY_NAMED_IAM"])
        self.assertEqual(answer["CapabilitiesReason"], "The following resource(s) require capabilities: [AWS::IAM::Role]")
        self.assertEqual(answer["Parameters"], [])
        self.assertEqual(answer["Description"], "named role")
        # The same template read from S3 (TemplateURL).
        self.s3.put_object(Bucket="cfn-code", Key="named-role.yaml", Body=body.encode())
        by_url = self.cf.validate_template(TemplateURL="https://cfn-code.s3.amazonaws.com/named-role.yaml")
        self.assertEqual(by_url["Capabilities"], ["CAPABILITY_NAMED_IAM"])

    def test_validate_template_unnamed_role(self):
        # JSON: IAM resources without custom names need CAPABILITY_IAM; every IAM type is named.
        template = {"Resources": {
            "Ingest": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST}},
            "Profile": {"Type": "AWS::IAM::InstanceProfile", "Properties": {"Roles": [{"Ref": "Ingest"}]}},
            "Other": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": LAMBDA_TRUST}},
        }}
        answer = self.cf.validate_template(TemplateBody=json.dumps(template))
        self.assertEqual(answer["Capabilities"], ["CAPABILITY_IAM"])
        self.assertEqual(answer["CapabilitiesReason"],
                         "The following resource(s) require capabilities: [AWS::IAM::InstanceProfile, AWS::IAM::Role]")

    def test_validate_template_without_iam_and_refused(self):
        template = {"Transform": "AWS::Serverless-2016-10-31",
                    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
        answer = self.cf.validate_template(TemplateBody=json.dumps(template))
        self.assertEqual((answer["Capabilities"], answer["Parameters"]), ([], []))
        self.assertNotIn("CapabilitiesReason", answer)
        self.assertEqual(answer["DeclaredTransforms"], ["AWS::Serverless-2016-10-31"])
        # moto's check stays: a template cfn-lint finds an error in is refused, with its message.
        bad = {"Resources": {"Topic": {"Properties": {}}}}
        message = self.refused(lambda: self.cf.validate_template(TemplateBody=json.dumps(bad)), "ValidationError", 400)
        self.assertEqual(message, "'Type' is a required property")
        self.refused(lambda: self.cf.validate_template(TemplateBody="Resources: [a"), "ValidationError", 400)

    # -- template size ------------------------------------------------------------------------

    @staticmethod
    def sized(length, pad="x"):
        """A JSON template (one SNS topic) of `length` characters, its Metadata padded with `pad`."""
        head = '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Metadata": {"Padding": "'
        tail = '"}}'
        return head + pad * (length - len(head) - len(tail)) + tail

    def test_template_body_size(self):
        """TemplateBody: 51,200 accepted, 51,201 refused by all four calls, nothing made; the same
        template by TemplateURL is accepted."""
        limit = "failed to satisfy constraint: Member must have length less than or equal to 51200"
        at_limit = self.sized(51200)
        self.assertEqual(len(at_limit.encode()), 51200)
        self.assertEqual(self.cf.validate_template(TemplateBody=at_limit)["Parameters"], [])
        over = self.sized(51201)
        message = self.refused(lambda: self.cf.validate_template(TemplateBody=over), "ValidationError", 400)
        self.assertEqual(message, f"1 validation error detected: Value '{over}' at 'templateBody' {limit}")
        name = f"cfn-test-{next(self.names)}"
        calls = {
            "CreateStack": lambda: self.cf.create_stack(StackName=name, TemplateBody=over),
            "UpdateStack": lambda: self.cf.update_stack(StackName=name, TemplateBody=over),
            "CreateChangeSet": lambda: self.cf.create_change_set(
                StackName=name, ChangeSetName="big", ChangeSetType="CREATE", TemplateBody=over),
        }
        for call, make in calls.items():
            with self.subTest(call=call):
                message = self.refused(make, "ValidationError", 400)
                self.assertEqual(message, f"1 validation error detected: Value '{over}' at 'templateBody' {limit}")
        self.refused(lambda: self.cf.describe_stacks(StackName=name), "ValidationError", 400)
        # Counted in characters, as a request-model length constraint counts: 51,200 of them in
        # more UTF-8 bytes pass, 51,201 do not.
        wide = self.sized(51200, "é")
        self.assertGreater(len(wide.encode()), 51200)
        self.cf.validate_template(TemplateBody=wide)
        self.refused(lambda: self.cf.validate_template(TemplateBody=self.sized(51201, "é")), "ValidationError", 400)
        # The same oversized template through TemplateURL (S3, up to 1 MB): validated and created.
        self.s3.put_object(Bucket="cfn-code", Key="big.json", Body=over.encode())
        url = "https://cfn-code.s3.amazonaws.com/big.json"
        self.assertEqual(self.cf.validate_template(TemplateURL=url)["Parameters"], [])
        stack_id = self.cf.create_stack(StackName=name, TemplateURL=url)["StackId"]
        stack = self.cf.describe_stacks(StackName=stack_id)["Stacks"][0]
        self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE", self.events(stack))
        self.assertEqual(self.delete(stack), "DELETE_COMPLETE")

    def test_template_url_size(self):
        """A TemplateURL object of 1,000,000 bytes is read; one of 1,000,001 is refused."""
        self.s3.put_object(Bucket="cfn-code", Key="1mb.json", Body=self.sized(1000000).encode())
        self.cf.validate_template(TemplateURL="https://cfn-code.s3.amazonaws.com/1mb.json")
        self.s3.put_object(Bucket="cfn-code", Key="over-1mb.json", Body=self.sized(1000001).encode())
        url = "https://cfn-code.s3.amazonaws.com/over-1mb.json"
        name = f"cfn-test-{next(self.names)}"
        for call, make in {"ValidateTemplate": lambda: self.cf.validate_template(TemplateURL=url),
                           "CreateStack": lambda: self.cf.create_stack(StackName=name, TemplateURL=url)}.items():
            with self.subTest(call=call):
                message = self.refused(make, "ValidationError", 400)
                self.assertEqual(message, "Template may not exceed 1000000 bytes in size.")
        self.refused(lambda: self.cf.describe_stacks(StackName=name), "ValidationError", 400)

    # -- helpers ------------------------------------------------------------------------------

    def physical(self, stack, logical_id):
        resource = self.cf.describe_stack_resource(StackName=stack["StackId"], LogicalResourceId=logical_id)
        return resource["StackResourceDetail"]["PhysicalResourceId"]


if __name__ == "__main__":
    unittest.main()
