"""S3: what a new bucket is like on AWS, which moto does not copy.

- A bucket created without `x-amz-object-ownership` has Object Ownership `BucketOwnerEnforced`
  (ACLs disabled), AWS's default for new buckets; moto left it unset, so
  GetBucketOwnershipControls answered OwnershipControlsNotFoundError and auditors saw ACLs on.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-new-bucket.html
"""

DEFAULT_OBJECT_OWNERSHIP = "BucketOwnerEnforced"


def default_object_ownership():
    """New buckets get AWS's default Object Ownership; CreateBucket's own header (which moto
    reads after making the bucket) still wins, and Put/DeleteBucketOwnershipControls change it
    as before."""
    from moto.s3.models import S3Backend

    create = S3Backend.create_bucket
    if getattr(create, "_ecomflow", False):
        return

    def create_bucket(self, *args, **kwargs):
        bucket = create(self, *args, **kwargs)
        if bucket.ownership_rule is None:
            bucket.ownership_rule = DEFAULT_OBJECT_OWNERSHIP
        return bucket

    create_bucket._ecomflow = True
    S3Backend.create_bucket = create_bucket


def install():
    default_object_ownership()
