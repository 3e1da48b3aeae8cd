"""KMS on a running emulator (`ecomflow_emulator.kms`): the calls the tool makes for its
customer managed keys, answered as AWS's API reference says, and the key policy, key state and
range rules AWS enforces, each with a case AWS accepts and one it refuses.
"""

import itertools
import json
import unittest

from support import ACCOUNT, EmulatorCase, allow, deny, policy

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
S3 = {"Service": "s3.amazonaws.com"}


def admin(principal=ROOT):
    return allow("kms:*", Principal={"AWS": principal})


class Kms(EmulatorCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.kms = cls.client("kms")
        # botocore refuses values below its model's minimums before sending; the Rust SDK sends.
        cls.raw = cls.client("kms", validate=False)

    def key(self, key_policy=None, **extra):
        key_policy = key_policy or policy(admin())
        return self.kms.create_key(Policy=key_policy, **extra)["KeyMetadata"]

    def test_the_tools_round_trip(self):
        """CreateKey with Policy and Tags, CreateAlias, ListAliases, DescribeKey, Get/PutKeyPolicy,
        key rotation, tags, DeleteAlias, ScheduleKeyDeletion: the answers AWS documents."""
        key_policy = policy(
            admin(), allow(["kms:GenerateDataKey*", "kms:Decrypt"], Principal=S3)
        )
        created = self.key(key_policy, Description="alerts", Tags=[{"TagKey": "stack", "TagValue": "dev"}])
        key_id, arn = created["KeyId"], created["Arn"]
        self.assertEqual(
            (created["KeyManager"], created["KeyUsage"], created["KeyState"], created["MultiRegion"]),
            ("CUSTOMER", "ENCRYPT_DECRYPT", "Enabled", False),
        )
        self.kms.create_alias(AliasName="alias/ecomflow-alerts", TargetKeyId=key_id)
        aliases = self.kms.list_aliases(KeyId=key_id)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], ["alias/ecomflow-alerts"])
        self.assertEqual(self.kms.describe_key(KeyId="alias/ecomflow-alerts")["KeyMetadata"]["Arn"], arn)

        got = self.kms.get_key_policy(KeyId=key_id)  # PolicyName is optional
        self.assertEqual((json.loads(got["Policy"]), got["PolicyName"]), (json.loads(key_policy), "default"))
        self.kms.put_key_policy(KeyId=arn, Policy=policy(admin()))
        self.assertEqual(json.loads(self.kms.get_key_policy(KeyId=key_id)["Policy"]), json.loads(policy(admin())))

        self.assertFalse(self.kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])
        self.kms.enable_key_rotation(KeyId=key_id)
        status = self.kms.get_key_rotation_status(KeyId=arn)
        self.assertEqual((status["KeyRotationEnabled"], status["KeyId"], status["RotationPeriodInDays"]), (True, key_id, 365))
        self.assertIn("NextRotationDate", status)

        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "owner", "TagValue": "data"}])
        self.kms.untag_resource(KeyId=key_id, TagKeys=["stack"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=key_id)["Tags"], [{"TagKey": "owner", "TagValue": "data"}])

        self.kms.delete_alias(AliasName="alias/ecomflow-alerts")
        self.assertEqual(self.kms.list_aliases(KeyId=key_id)["Aliases"], [])
        scheduled = self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(
            (scheduled["KeyId"], scheduled["KeyState"], scheduled["PendingWindowInDays"]), (arn, "PendingDeletion", 7)
        )
        described = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual((described["KeyState"], described["DeletionDate"]), ("PendingDeletion", scheduled["DeletionDate"]))

    def test_aws_managed_sns_key(self):
        described = self.kms.describe_key(KeyId="alias/aws/sns")["KeyMetadata"]
        self.assertEqual((described["KeyManager"], described["KeyState"]), ("AWS", "Enabled"))
        self.assertTrue(self.kms.get_key_rotation_status(KeyId=described["KeyId"])["KeyRotationEnabled"])
        key_id = self.key()["KeyId"]
        for reserved in ("alias/aws/sns", "alias/aws/ecomflow"):
            self.refused(
                lambda: self.kms.create_alias(AliasName=reserved, TargetKeyId=key_id), "NotAuthorizedException", 400
            )
        self.kms.create_alias(AliasName="alias/awsome", TargetKeyId=key_id)

    def test_pending_window_is_7_to_30_days(self):
        for days in (6, 31):
            message = self.refused(
                lambda: self.raw.schedule_key_deletion(KeyId=self.key()["KeyId"], PendingWindowInDays=days),
                "ValidationException", 400,
            )
            self.assertIn(f"Value '{days}' at 'pendingWindowInDays'", message)
        for days in (7, 30):
            self.assertEqual(
                self.kms.schedule_key_deletion(KeyId=self.key()["KeyId"], PendingWindowInDays=days)["PendingWindowInDays"], days
            )
        self.assertEqual(self.kms.schedule_key_deletion(KeyId=self.key()["KeyId"])["PendingWindowInDays"], 30)

    def test_a_key_pending_deletion_refuses_changes(self):
        key = self.key()
        key_id, arn = key["KeyId"], key["Arn"]
        self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        for call in (
            lambda: self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7),
            lambda: self.kms.enable_key_rotation(KeyId=key_id),
            lambda: self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}]),
            lambda: self.kms.untag_resource(KeyId=key_id, TagKeys=["a"]),
            lambda: self.kms.create_alias(AliasName=f"alias/late-{next(self.names)}", TargetKeyId=key_id),
        ):
            self.assertEqual(self.refused(call, "KMSInvalidStateException", 400), f"{arn} is pending deletion.")
        # What the key state table lets through.
        self.kms.get_key_policy(KeyId=key_id)
        self.kms.list_resource_tags(KeyId=key_id)
        self.kms.cancel_key_deletion(KeyId=key_id)
        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])

    def test_rotation_of_a_disabled_key_and_its_period(self):
        key = self.key()
        key_id = key["KeyId"]
        self.kms.disable_key(KeyId=key["Arn"])  # a key ARN as well as a key ID
        message = self.refused(lambda: self.kms.enable_key_rotation(KeyId=key_id), "DisabledException", 400)
        self.assertTrue(message.endswith("is disabled."))
        self.kms.enable_key(KeyId=key_id)
        self.refused(
            lambda: self.raw.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=89), "ValidationException", 400
        )
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        self.assertEqual(self.kms.get_key_rotation_status(KeyId=key_id)["RotationPeriodInDays"], 90)

    def test_key_policy_principals_must_exist(self):
        role = f"arn:aws:iam::{ACCOUNT}:role/kms-user-{next(self.names)}"
        for principal in (role, f"arn:aws:iam::{ACCOUNT}:role/*", "not-a-principal"):
            message = self.refused(
                lambda: self.key(policy(admin(), allow("kms:Decrypt", Principal={"AWS": principal}))),
                "MalformedPolicyDocumentException", 400,
            )
            self.assertEqual(message, "Policy contains a statement with one or more invalid principals.")
        key_id = self.key()["KeyId"]
        self.refused(
            lambda: self.kms.put_key_policy(KeyId=key_id, Policy=policy(admin(), allow("kms:Decrypt", Principal={"AWS": role}))),
            "MalformedPolicyDocumentException", 400,
        )
        self.client("iam").create_role(
            RoleName=role.rsplit("/", 1)[1],
            AssumeRolePolicyDocument=policy(allow("sts:AssumeRole", Principal={"Service": "lambda.amazonaws.com"})),
        )
        self.kms.put_key_policy(KeyId=key_id, Policy=policy(admin(), allow("kms:Decrypt", Principal={"AWS": role})))
        # Service principals and other accounts' principals are not looked up.
        self.key(policy(admin(), allow("kms:Decrypt", Principal=S3)))
        self.key(policy(admin(), allow("kms:Decrypt", Principal={"AWS": "arn:aws:iam::210987654321:role/x"})))

    def test_the_policy_must_let_the_caller_manage_the_key(self):
        locked = policy(allow("kms:*", Principal=S3))
        message = self.refused(lambda: self.key(locked), "MalformedPolicyDocumentException", 400)
        self.assertEqual(message, "The new key policy will not allow you to update the key policy in the future.")
        key_id = self.key()["KeyId"]
        self.refused(
            lambda: self.kms.put_key_policy(KeyId=key_id, Policy=policy(allow("kms:Describe*", Principal={"AWS": ACCOUNT}))),
            "MalformedPolicyDocumentException", 400,
        )
        self.refused(
            lambda: self.key(policy(admin(), deny("kms:PutKeyPolicy", Principal="*"))),
            "MalformedPolicyDocumentException", 400,
        )
        # The account by ID, BypassPolicyLockoutSafetyCheck.
        self.kms.put_key_policy(KeyId=key_id, Policy=policy(allow("kms:PutKeyPolicy", Principal={"AWS": ACCOUNT})))
        self.key(locked, BypassPolicyLockoutSafetyCheck=True)
        self.kms.put_key_policy(KeyId=key_id, Policy=locked, BypassPolicyLockoutSafetyCheck=True)

    def test_a_role_session_must_be_let_manage_the_key_it_creates(self):
        iam = self.client("iam")
        name = f"key-admin-{next(self.names)}"
        role = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=policy(allow("sts:AssumeRole", Principal={"AWS": ACCOUNT}))
        )["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="kms", PolicyDocument=policy(allow("kms:*")))
        other = iam.create_role(
            RoleName=f"other-{name}", AssumeRolePolicyDocument=policy(allow("sts:AssumeRole", Principal={"AWS": ACCOUNT}))
        )["Role"]["Arn"]
        credentials = self.client("sts").assume_role(RoleArn=role, RoleSessionName="tool")["Credentials"]
        session = self.client("kms", credentials={
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        })
        self.refused(
            lambda: session.create_key(Policy=policy(admin(other))), "MalformedPolicyDocumentException", 400
        )
        session.create_key(Policy=policy(admin(role)))
        session.create_key(Policy=policy(admin()))  # the account: IAM policies decide


if __name__ == "__main__":
    unittest.main()
