"""S3 on a running emulator (`ecomflow_emulator.s3`): a new bucket's Object Ownership."""

import unittest

from support import EmulatorCase


class ObjectOwnership(EmulatorCase):
    def ownership(self, bucket):
        controls = self.client("s3").get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        return [r["ObjectOwnership"] for r in controls["Rules"]]

    def test_new_buckets_have_acls_disabled(self):
        self.client("s3").create_bucket(Bucket="owner-default")
        self.assertEqual(self.ownership("owner-default"), ["BucketOwnerEnforced"])

    def test_the_create_header_and_later_changes_win(self):
        s3 = self.client("s3")
        s3.create_bucket(Bucket="owner-chosen", ObjectOwnership="ObjectWriter")
        self.assertEqual(self.ownership("owner-chosen"), ["ObjectWriter"])
        s3.put_bucket_ownership_controls(
            Bucket="owner-chosen", OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
        self.assertEqual(self.ownership("owner-chosen"), ["BucketOwnerEnforced"])
        s3.delete_bucket_ownership_controls(Bucket="owner-chosen")
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            self.ownership("owner-chosen")
        self.assertEqual(caught.exception.response["Error"]["Code"], "OwnershipControlsNotFoundError")


if __name__ == "__main__":
    unittest.main()
