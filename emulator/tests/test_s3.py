"""S3 on a running emulator (`ecomflow_emulator.s3`): a new bucket's Object Ownership, the
SNS topic destinations PutBucketNotificationConfiguration validates (the topic, its access
policy, its KMS key and that key's policy), and bucket policies evaluated with their
conditions (a TLS-only policy over the emulator's plain HTTP, and under `--tls-terminated`),
and server access logging (what PutBucketLogging refuses, what GetBucketLogging answers, and
when logs are delivered), each refused case beside an accepted one.
"""

import itertools
import json
import unittest

from botocore.exceptions import ClientError

from support import ACCOUNT, EmulatorCase, allow, deny, policy

BUCKET = "lake"
S3 = {"Service": "s3.amazonaws.com"}
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
UNABLE = "Unable to validate the following destination configurations"
NOT_PERMITTED = "Permissions on the destination topic do not allow S3 to publish notifications from this bucket"


def topic_policy(topic, bucket=BUCKET, effect=allow):
    """The topic policy AWS documents (grant-destinations-permissions-to-s3)."""
    return policy(
        effect(
            "SNS:Publish",
            topic,
            Principal=S3,
            Condition={
                "ArnLike": {"aws:SourceArn": f"arn:aws:s3:*:*:{bucket}"},
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
            },
        )
    )


def key_policy(*statements):
    return policy(allow("kms:*", Principal={"AWS": ROOT}), *statements)


S3_USES_KEY = allow(["kms:GenerateDataKey*", "kms:Decrypt"], Principal=S3)


def tls_only(bucket):
    """The lake's TLS-only statement (src/blueprint/storage.rs)."""
    arn = f"arn:aws:s3:::{bucket}"
    return deny("s3:*", [arn, f"{arn}/*"], Principal="*",
                Condition={"Bool": {"aws:SecureTransport": "false"}})


OTHER_ACCOUNT = "210987654321"
LOGGING = {"Service": "logging.s3.amazonaws.com"}
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"


def delivery_policy(target, source, prefix="lake/"):
    """The target bucket's policy AWS documents (enable-server-access-logging), and the
    project's (src/blueprint/storage.rs): log delivery for one source bucket, under a prefix."""
    return allow(
        "s3:PutObject",
        f"arn:aws:s3:::{target}/{prefix}*",
        Principal=LOGGING,
        Condition={
            "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source}"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        },
    )


class PolicyCase(EmulatorCase):
    """A bucket with a policy, and what its object requests get."""

    def bucket(self, name, *statements):
        self.s3.create_bucket(Bucket=name)
        self.s3.put_bucket_policy(Bucket=name, Policy=policy(*statements))
        return name

    def assert_refused(self, bucket):
        """Object writes, reads and deletes refused as S3 refuses them."""
        s3 = self.s3
        self.assertEqual(self.refused(lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x"),
                                      "AccessDenied", 403), "Access Denied")
        self.refused(lambda: s3.get_object(Bucket=bucket, Key="k"), "AccessDenied", 403)
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})["Errors"]
        self.assertEqual([(e["Key"], e["Code"]) for e in errors], [("k", "AccessDenied")])

    def assert_served(self, bucket):
        s3 = self.s3
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertEqual(s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x")
        deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
        self.assertEqual([d["Key"] for d in deleted["Deleted"]], ["k"])


class Buckets(PolicyCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.s3 = cls.client("s3")
        cls.sns = cls.client("sns")
        cls.kms = cls.client("kms")
        cls.s3.create_bucket(Bucket=BUCKET)

    # -- Object Ownership

    def ownership(self, bucket):
        controls = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        return [r["ObjectOwnership"] for r in controls["Rules"]]

    def test_new_buckets_have_acls_disabled(self):
        self.s3.create_bucket(Bucket="owner-default")
        self.assertEqual(self.ownership("owner-default"), ["BucketOwnerEnforced"])

    def test_the_create_header_and_later_changes_win(self):
        s3 = self.s3
        s3.create_bucket(Bucket="owner-chosen", ObjectOwnership="ObjectWriter")
        self.assertEqual(self.ownership("owner-chosen"), ["ObjectWriter"])
        s3.put_bucket_ownership_controls(
            Bucket="owner-chosen", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
        self.assertEqual(self.ownership("owner-chosen"), ["BucketOwnerEnforced"])
        s3.delete_bucket_ownership_controls(Bucket="owner-chosen")
        with self.assertRaises(ClientError) as caught:
            self.ownership("owner-chosen")
        self.assertEqual(caught.exception.response["Error"]["Code"], "OwnershipControlsNotFoundError")

    # -- Event notification destinations

    def topic(self, key=None, grant=True):
        """A new topic, with the documented policy unless `grant` is false, encrypted with `key`."""
        arn = self.sns.create_topic(Name=f"alerts-{next(self.names)}")["TopicArn"]
        if grant:
            self.sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=topic_policy(arn))
        if key:
            self.sns.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue=key)
        return arn

    def key(self, *statements):
        return self.kms.create_key(Policy=key_policy(*statements))["KeyMetadata"]

    def notify(self, *topics, **extra):
        self.s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={
                "TopicConfigurations": [{"TopicArn": t, "Events": ["s3:ObjectCreated:*"]} for t in topics]
            },
            **extra,
        )

    def refused_destinations(self, *topics):
        """The (ArgumentName, ArgumentValue) pairs of S3's refusal of `topics`."""
        with self.assertRaises(ClientError) as caught:
            self.notify(*topics)
        error = caught.exception.response
        self.assertEqual(
            (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]),
            ("InvalidArgument", UNABLE, 400),
        )
        pairs, i = [], 1
        while f"ArgumentName{i}" in error["Error"]:
            pairs.append((error["Error"][f"ArgumentName{i}"], error["Error"][f"ArgumentValue{i}"]))
            i += 1
        return pairs

    def assert_not_permitted(self, topic):
        self.assertEqual(self.refused_destinations(topic), [(topic, NOT_PERMITTED)])

    def test_the_topic_must_exist(self):
        missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic"
        self.assertEqual(self.refused_destinations(missing), [(missing, "The destination topic does not exist")])
        self.notify(missing, SkipDestinationValidation=True)  # as on AWS
        self.notify(self.topic())

    def test_the_topic_policy_must_let_s3_publish_for_this_bucket(self):
        self.assert_not_permitted(self.topic(grant=False))  # SNS's default policy
        other_bucket = self.topic(grant=False)
        self.sns.set_topic_attributes(
            TopicArn=other_bucket, AttributeName="Policy", AttributeValue=topic_policy(other_bucket, bucket="other")
        )
        self.assert_not_permitted(other_bucket)
        denied = self.topic()
        self.sns.set_topic_attributes(
            TopicArn=denied,
            AttributeName="Policy",
            AttributeValue=policy(
                allow("SNS:Publish", denied, Principal=S3), deny("SNS:Publish", denied, Principal="*")
            ),
        )
        self.assert_not_permitted(denied)
        good = self.topic()
        self.notify(good)
        listed = self.s3.get_bucket_notification_configuration(Bucket=BUCKET)["TopicConfigurations"]
        self.assertEqual([c["TopicArn"] for c in listed], [good])

    def test_an_aws_managed_topic_key_is_refused(self):
        self.assert_not_permitted(self.topic(key="alias/aws/sns"))
        managed = self.kms.describe_key(KeyId="alias/aws/sns")["KeyMetadata"]
        self.assert_not_permitted(self.topic(key=managed["Arn"]))
        self.assert_not_permitted(self.topic(key=managed["KeyId"]))

    def test_the_key_policy_must_let_s3_use_the_key(self):
        self.assert_not_permitted(self.topic(key=self.key()["Arn"]))
        decrypt_only = self.key(allow("kms:Decrypt", Principal=S3))["Arn"]
        self.assert_not_permitted(self.topic(key=decrypt_only))
        other_bucket = self.key(
            allow(
                ["kms:GenerateDataKey*", "kms:Decrypt"],
                Principal=S3,
                Condition={"ArnLike": {"aws:SourceArn": "arn:aws:s3:::other"}},
            )
        )["Arn"]
        self.assert_not_permitted(self.topic(key=other_bucket))
        denied = self.key(S3_USES_KEY, deny("kms:Decrypt", Principal="*"))["Arn"]
        self.assert_not_permitted(self.topic(key=denied))
        # The documented grant, by key ARN, key ID or alias; and one scoped to this bucket.
        good = self.key(S3_USES_KEY)
        alias = f"alias/alerts-{next(self.names)}"
        self.kms.create_alias(AliasName=alias, TargetKeyId=good["KeyId"])
        scoped = self.key(
            allow(
                ["kms:GenerateDataKey", "kms:Decrypt"],
                Principal=S3,
                Condition={"ArnEquals": {"aws:SourceArn": f"arn:aws:s3:::{BUCKET}"},
                           "StringEquals": {"aws:SourceAccount": ACCOUNT}},
            )
        )["Arn"]
        self.notify(
            self.topic(key=good["Arn"]), self.topic(key=good["KeyId"]), self.topic(key=alias), self.topic(key=scoped)
        )

    def test_a_missing_disabled_or_deleted_key_is_refused(self):
        self.assert_not_permitted(self.topic(key="alias/no-such-key"))
        self.assert_not_permitted(self.topic(key=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"))
        key = self.key(S3_USES_KEY)
        topic = self.topic(key=key["Arn"])
        self.kms.disable_key(KeyId=key["KeyId"])
        self.assert_not_permitted(topic)
        self.kms.enable_key(KeyId=key["KeyId"])
        self.notify(topic)
        self.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        self.assert_not_permitted(topic)

    def test_every_refused_destination_is_named(self):
        good, bare, missing = self.topic(), self.topic(grant=False), f"arn:aws:sns:us-east-1:{ACCOUNT}:gone"
        self.assertEqual(
            self.refused_destinations(good, bare, missing),
            [(bare, NOT_PERMITTED), (missing, "The destination topic does not exist")],
        )

    # -- Server access logging

    def source(self):
        name = f"logged-{next(self.names)}"
        self.s3.create_bucket(Bucket=name)
        return name

    def target(self, source, *statements, grant=True, **create):
        """A log bucket (ACLs disabled unless `create` says otherwise) with SSE-S3 and, unless
        `grant` is false, the documented delivery policy for `source`, plus `statements`."""
        name = f"access-logs-{next(self.names)}"
        self.s3.create_bucket(Bucket=name, **create)
        self.s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        )
        statements = ((delivery_policy(name, source),) if grant else ()) + statements
        if statements:
            self.s3.put_bucket_policy(Bucket=name, Policy=policy(*statements))
        return name

    def log_to(self, source, target, prefix="lake/", **extra):
        enabled = {"TargetBucket": target, "TargetPrefix": prefix, **extra}
        self.s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": enabled})
        return enabled

    def logging_of(self, source):
        return self.s3.get_bucket_logging(Bucket=source).get("LoggingEnabled")

    def delivered(self, source, target, prefix="lake/"):
        """The log objects in `target` after a request to `source`."""
        self.s3.put_object(Bucket=source, Key="k", Body=b"x")
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=target, Prefix=prefix).get("Contents", [])]

    def logging_refused(self, source, target, code, status, **extra):
        message = self.refused(lambda: self.log_to(source, target, **extra), code, status)
        self.assertIsNone(self.logging_of(source))
        return message

    def test_logging_is_set_read_back_and_turned_off(self):
        source = self.source()
        target = self.target(source)
        partitioned = {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}
        for key_format in ({}, {"TargetObjectKeyFormat": partitioned}, {"TargetObjectKeyFormat": {"SimplePrefix": {}}}):
            put = self.log_to(source, target, **key_format)
            self.assertEqual(self.logging_of(source), put)
        self.s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
        self.assertIsNone(self.logging_of(source))

    def test_the_target_must_exist_and_be_the_callers(self):
        source = self.source()
        with self.assertRaises(ClientError) as caught:
            self.log_to(source, "no-such-log-bucket")
        error = caught.exception.response["Error"]
        self.assertEqual(
            (error["Code"], error["Message"], error["TargetBucket"]),
            ("InvalidTargetBucketForLogging", "The target bucket for logging does not exist", "no-such-log-bucket"),
        )
        other = self.client("s3")

        def as_other_account(request, **_):
            request.headers["x-moto-account-id"] = OTHER_ACCOUNT  # moto's way to pick the account

        other.meta.events.register("before-sign.s3.*", as_other_account)
        theirs = f"their-logs-{next(self.names)}"
        other.create_bucket(Bucket=theirs)
        self.assertEqual(
            self.logging_refused(source, theirs, "InvalidTargetBucketForLogging", 400),
            "The owner for the bucket to be logged and the target bucket must be the same.",
        )
        self.log_to(source, self.target(source))

    def test_the_target_must_be_in_the_same_region(self):
        source = self.source()
        elsewhere = self.target(source, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(
            self.logging_refused(source, elsewhere, "CrossLocationLoggingProhibited", 403),
            "Cross S3 location logging not allowed.",
        )
        self.log_to(source, self.target(source))

    def test_target_grants_need_a_target_with_acls_enabled(self):
        source = self.source()
        grants = [{"Grantee": {"Type": "Group", "URI": LOG_DELIVERY}, "Permission": "READ"}]
        self.assertEqual(
            self.logging_refused(source, self.target(source), "AccessControlListNotSupported", 400, TargetGrants=grants),
            "Target grants not allowed for bucket owner enforced buckets",
        )
        with_acls = self.target(source, ObjectOwnership="ObjectWriter")
        self.log_to(source, with_acls, TargetGrants=grants)
        self.assertEqual(self.logging_of(source)["TargetGrants"], grants)

    def test_the_delivery_permission_is_not_checked_when_logging_is_set(self):
        # Where moto refused: no policy yet, or one whose Resource it did not recognise.
        source = self.source()
        self.log_to(source, self.target(source, grant=False))
        broad = allow("s3:PutObject", "arn:aws:s3:::*", Principal=LOGGING)
        self.log_to(source, self.target(source, broad, grant=False))

    def test_logs_are_delivered_only_as_the_target_policy_allows(self):
        source = self.source()
        bare = self.target(source, grant=False)
        self.log_to(source, bare)
        self.assertEqual(self.delivered(source, bare), [])
        self.s3.put_bucket_policy(Bucket=bare, Policy=policy(delivery_policy(bare, "another-source")))
        self.assertEqual(self.delivered(source, bare), [])
        denied = self.target(source, deny("s3:PutObject", "*", Principal="*"))
        self.log_to(source, denied)
        self.assertEqual(self.delivered(source, denied), [])
        # The documented grant, beside the lake's TLS-only Deny (S3 delivers over TLS).
        granted = self.target(source, grant=False)
        self.s3.put_bucket_policy(Bucket=granted, Policy=policy(delivery_policy(granted, source), tls_only(granted)))
        self.log_to(source, granted)
        self.assertRegex(self.delivered(source, granted)[0], r"^lake/\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9A-F]{16}$")
        self.log_to(source, granted, TargetObjectKeyFormat={"PartitionedPrefix": {"PartitionDateSource": "DeliveryTime"}})
        partitioned = self.delivered(source, granted, prefix=f"lake/{ACCOUNT}/us-east-1/{source}/")
        self.assertRegex(partitioned[0], r"/\d{4}/\d\d/\d\d/\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9A-F]{16}$")

    def test_an_acl_grant_delivers_only_where_acls_are_enabled(self):
        source = self.source()
        acl = {"GrantWrite": f"uri={LOG_DELIVERY}", "GrantReadACP": f"uri={LOG_DELIVERY}"}
        with_acls = self.target(source, grant=False, ObjectOwnership="ObjectWriter")
        self.s3.put_bucket_acl(Bucket=with_acls, **acl)
        self.log_to(source, with_acls)
        self.assertEqual(len(self.delivered(source, with_acls)), 1)
        enforced = self.target(source, grant=False, ObjectOwnership="ObjectWriter")
        self.s3.put_bucket_acl(Bucket=enforced, **acl)
        self.s3.put_bucket_ownership_controls(
            Bucket=enforced, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
        self.log_to(source, enforced)
        self.assertEqual(self.delivered(source, enforced), [])

    def test_object_lock_and_sse_kms_targets_are_accepted_but_get_nothing(self):
        source = self.source()
        locked = self.target(source, ObjectLockEnabledForBucket=True)
        kms = self.target(source)
        sse_kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}
        self.s3.put_bucket_encryption(Bucket=kms, ServerSideEncryptionConfiguration=sse_kms)
        for target in (locked, kms):
            self.log_to(source, target)
            self.assertEqual(self.delivered(source, target), [], target)
        self.assertIn(f"s3: access logs of {source} not delivered: the target bucket has Object Lock enabled",
                      self.server_log())
        sse_s3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
        self.s3.put_bucket_encryption(Bucket=kms, ServerSideEncryptionConfiguration=sse_s3)
        self.assertEqual(len(self.delivered(source, kms)), 1)

    # -- Bucket policies, over the emulator's plain HTTP

    def test_a_tls_only_policy_refuses_plain_http(self):
        self.assert_refused(self.bucket("tls-only-plain", tls_only("tls-only-plain")))

    def test_a_deny_whose_condition_does_not_hold_refuses_nothing(self):
        elsewhere = deny("s3:*", "*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
        self.assert_served(self.bucket("deny-elsewhere", elsewhere))
        here = deny("s3:*", "*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
        self.assert_refused(self.bucket("deny-here", here))


class TlsTerminated(PolicyCase):
    """`scripts/emulator --tls-terminated`: every request taken as made over TLS."""

    emulator_args = ("--tls-terminated",)

    @classmethod
    def build(cls):
        cls.s3 = cls.client("s3")

    def test_a_tls_only_policy_serves_every_request(self):
        self.assert_served(self.bucket("tls-only", tls_only("tls-only")))

    def test_aws_secure_transport_is_true(self):
        https_denied = deny("s3:*", "*", Condition={"Bool": {"aws:SecureTransport": "true"}})
        self.assert_refused(self.bucket("deny-tls", https_denied))


if __name__ == "__main__":
    unittest.main()
