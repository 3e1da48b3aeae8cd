"""S3: what a new bucket is like on AWS, the event notification destinations S3 validates,
and bucket policy conditions, which moto does not copy.

- A bucket created without `x-amz-object-ownership` has Object Ownership `BucketOwnerEnforced`
  (ACLs disabled), AWS's default for new buckets; moto left it unset, so
  GetBucketOwnershipControls answered OwnershipControlsNotFoundError and auditors saw ACLs on.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-new-bucket.html
- PutBucketNotificationConfiguration validates each SNS topic destination as S3 would publish
  to it (moto accepted any ARN): the topic must exist; its access policy must allow
  `s3.amazonaws.com` sns:Publish with aws:SourceArn the bucket's ARN and aws:SourceAccount
  its owner; and a topic encrypted with SSE-KMS needs a customer managed key (an AWS managed
  key's policy cannot grant S3), enabled, whose key policy allows `s3.amazonaws.com`
  kms:GenerateDataKey and kms:Decrypt (same context, plus SNS's encryption context). Policies
  are evaluated with `iam_eval`; an explicit Deny wins. A refusal is HTTP 400 InvalidArgument
  "Unable to validate the following destination configurations" with ArgumentName<i> (the
  topic ARN) and ArgumentValue<i> (why) per refused destination, S3's recorded form; a KMS
  refusal reads as a permission one (S3's test message is what fails) and the emulator's
  stderr names the reason. `x-amz-skip-destination-validation: true` skips it, as on AWS.
  SQS and Lambda destinations stay moto's.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html
  https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
  https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html
- A bucket policy is evaluated with its conditions (`iam_eval`), where moto evaluates bucket
  policies: object requests (GET, HEAD, PUT, POST, DELETE, and each key of DeleteObjects).
  moto ignored conditions, so a TLS-only Deny (aws:SecureTransport false) refused every
  object request, and a Deny conditioned on anything else applied unconditionally. The
  context: aws:SecureTransport (`iam_eval.secure_transport`: false over the emulator's plain
  HTTP, true for every request under `--tls-terminated`), aws:RequestedRegion, and a role
  session's principal keys. An explicit Deny is answered AccessDenied "Access Denied" (HTTP
  403; moto answered an empty 403). Principals are not matched (as in moto): a statement
  applies to every caller.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
"""

import sys
import threading
from xml.sax.saxutils import escape

from . import iam_eval, kms, sns

DEFAULT_OBJECT_OWNERSHIP = "BucketOwnerEnforced"
S3_PRINCIPAL = "s3.amazonaws.com"
UNABLE = "Unable to validate the following destination configurations"
# ArgumentValue texts: S3's recorded answers for queues ("The destination queue does not
# exist", "Permissions on the destination queue do not allow S3 to publish notifications from
# this bucket"), said of a topic. The S3 pages do not list them.
NO_TOPIC = "The destination topic does not exist"
NOT_PERMITTED = (
    "Permissions on the destination topic do not allow S3 to publish notifications from this "
    "bucket"
)


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


def _allowed(policy, action, resource, context):
    statements = sns.statements_for(policy, S3_PRINCIPAL)
    return iam_eval.evaluate([{"Statement": statements}], action, resource, context)


def topic_refusal(topic_arn, bucket):
    """(ArgumentValue, reason) when S3 could not publish the bucket's events to the topic,
    else None."""
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    if len(parts) < 6:
        return NO_TOPIC, "not a topic ARN"
    region, account = parts[3], parts[4]
    topic = sns_backends[account][region].topics.get(topic_arn)
    if topic is None:
        return NO_TOPIC, "no such topic"
    context = {
        "aws:SourceArn": f"arn:{parts[1]}:s3:::{bucket.name}",
        "aws:SourceAccount": bucket.account_id,
    }
    if _allowed(topic.policy, "sns:Publish", topic_arn, context) != iam_eval.ALLOWED:
        return NOT_PERMITTED, f"the topic policy does not allow {S3_PRINCIPAL} sns:Publish"
    reference = topic.kms_master_key_id
    if not reference:
        return None
    key = kms.find_key(reference, account, region)
    if kms.is_aws_managed(reference, key):
        return NOT_PERMITTED, f"the topic's key {reference} is AWS managed; S3 cannot use it"
    if key is None:
        return NOT_PERMITTED, f"the topic's key {reference} does not exist"
    if key.key_state != "Enabled":
        return NOT_PERMITTED, f"the topic's key {key.arn} is {key.key_state}"
    context["kms:EncryptionContext:aws:sns:topicArn"] = topic_arn
    context["kms:ViaService"] = f"sns.{region}.amazonaws.com"
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        if _allowed(key.policy, action, key.arn, context) != iam_eval.ALLOWED:
            return NOT_PERMITTED, f"the key policy of {key.arn} does not allow {S3_PRINCIPAL} {action}"
    return None


class DestinationsRefused(Exception):
    """The refused destinations, [(ARN, ArgumentValue)], answered in S3's error form."""

    def __init__(self, refused):
        super().__init__(UNABLE)
        self.refused = refused

    def answer(self):
        from moto.core.serialize import S3Serializer

        arguments = "".join(
            f"<ArgumentName{i}>{escape(arn)}</ArgumentName{i}>"
            f"<ArgumentValue{i}>{escape(value)}</ArgumentValue{i}>"
            for i, (arn, value) in enumerate(self.refused, 1)
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code>'
            f"<Message>{UNABLE}</Message>{arguments}"
            "<RequestId>ecomflow-destination-check</RequestId>"
            f"<HostId>{S3Serializer.DEFAULT_HOST_ID}</HostId></Error>"
        )
        return 400, {"Content-Type": "application/xml"}, body


def validate_notification_destinations():
    """Check the topics of a parsed PutBucketNotificationConfiguration before moto stores it
    (after moto's own parsing, which refuses malformed ARNs first); the refusal is answered by
    the bucket request's handler."""
    from moto.s3.responses import S3Response

    parse = S3Response._notification_config_from_body
    if getattr(parse, "_ecomflow", False):
        return
    handle = S3Response.bucket_response

    def notification_config_from_body(self):
        config = parse(self)
        skip = str(self.headers.get("x-amz-skip-destination-validation", "")).lower() == "true"
        topics = (config or {}).get("TopicConfiguration") or []
        if topics and not skip:
            bucket = self.backend.get_bucket(self.bucket_name)  # NoSuchBucket first
            refused = []
            for topic in topics:
                arn = topic["Topic"]
                why = topic_refusal(arn, bucket)
                if why is not None:
                    refused.append((arn, why[0]))
                    sys.stderr.write(f"s3: destination refused for {bucket.name}: {arn}: {why[1]}\n")
            if refused:
                sys.stderr.flush()
                raise DestinationsRefused(refused)
        return config

    def bucket_response(self, *args, **kwargs):
        try:
            return handle(self, *args, **kwargs)
        except DestinationsRefused as refused:
            return refused.answer()

    notification_config_from_body._ecomflow = True
    S3Response._notification_config_from_body = notification_config_from_body
    S3Response.bucket_response = bucket_response


# The S3 request this thread serves (werkzeug serves each in a thread of its own), for
# `FakeBucket.get_permission`, which moto calls without the request.
_request = threading.local()


def bucket_policy_conditions():
    """Bucket policies decided by `iam_eval` with the request's context, in moto's own check
    (`FakeBucket.get_permission`); the request handlers that reach it name the request first.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
    https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
    """
    from moto.iam.access_control import PermissionResult
    from moto.s3.exceptions import S3ClientError
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    if getattr(FakeBucket.get_permission, "_ecomflow", False):
        return
    key_response = S3Response._key_response
    bucket_response = S3Response._bucket_response

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        text = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        response = getattr(_request, "response", None)
        context = iam_eval.request_context(response) if response is not None else {}
        decision = iam_eval.evaluate([text], action, resource, context)
        if decision == iam_eval.EXPLICIT_DENY:
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED if decision == iam_eval.ALLOWED else PermissionResult.NEUTRAL

    def with_context(handle):
        def handler(self, request, full_url):
            _request.response = self
            try:
                return handle(self, request, full_url)
            finally:
                _request.response = None

        return handler

    def object_response(self, request, full_url):
        answer = with_context(key_response)(self, request, full_url)
        # moto's refusal of an object request by the bucket policy (or a key's ACL): an
        # empty 403, where S3 answers its AccessDenied error.
        if answer == (403, {}, ""):
            raise S3ClientError("AccessDenied", "Access Denied")
        return answer

    get_permission._ecomflow = True
    FakeBucket.get_permission = get_permission
    S3Response._key_response = object_response
    S3Response._bucket_response = with_context(bucket_response)


def install():
    default_object_ownership()
    validate_notification_destinations()
    bucket_policy_conditions()
