"""S3 on a running emulator (`ecomflow_emulator.s3`): a new bucket's Object Ownership, the
SNS topic destinations PutBucketNotificationConfiguration validates (the topic, its access
policy, its KMS key and that key's policy), and bucket policies evaluated with their
conditions (a TLS-only policy over the emulator's plain HTTP, and under `--tls-terminated`),
each refused case beside an accepted one.
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
