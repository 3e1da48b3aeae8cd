"""S3: what a new bucket is like on AWS, the event notification destinations S3 validates,
bucket policy conditions, and server access logging, where moto differs from AWS.

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
- Server access logging as AWS sets it up and delivers it. PutBucketLogging refuses only what
  AWS lists as set-up errors: a target that does not exist (InvalidTargetBucketForLogging, HTTP
  400, "The target bucket for logging does not exist"), of another account (the same code,
  "The owner for the bucket to be logged and the target bucket must be the same."), in another
  Region (CrossLocationLoggingProhibited, HTTP 403, "Cross S3 location logging not allowed."),
  and TargetGrants for a target with ACLs disabled (AccessControlListNotSupported, HTTP 400,
  "Target grants not allowed for bucket owner enforced buckets"). The log delivery permission
  is not checked then (moto refused a target unless its bucket policy held a statement of the
  one shape it recognised or its ACL granted the log delivery group; AWS lists a missing
  permission among delivery failures). GetBucketLogging answers what was put,
  TargetObjectKeyFormat included (moto dropped it); an empty
  BucketLoggingStatus turns logging off. Delivery (moto's: a log object per request to the
  source bucket) happens only as AWS would deliver: the target's bucket policy lets
  `logging.s3.amazonaws.com` s3:PutObject on the log object with aws:SourceArn the source
  bucket and aws:SourceAccount its owner (or, ACLs enabled, its ACL grants the log delivery
  group WRITE and READ_ACP), and the target has no Object Lock and default encryption SSE-S3
  (SSE-KMS is not supported); else nothing is delivered, as on AWS, and the emulator's stderr
  says why. AWS's third such rule, no Requester Pays on the target, is moot: moto ignores
  PutBucketRequestPayment. Keys follow TargetObjectKeyFormat (simple, or partitioned by
  account, Region, bucket and day); the records are moto's, not AWS's log format.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshooting-server-access-logging.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLogging.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetGrant.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html
"""

import sys
import threading
import time
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


def _allowed(policy, action, resource, context, principal=S3_PRINCIPAL):
    """What a resource policy decides for the service `principal` doing `action`."""
    if isinstance(policy, bytes):
        policy = policy.decode()
    statements = sns.statements_for(policy, principal)
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


class Refusal(Exception):
    """An S3 error answered in S3's XML form with the elements AWS adds to it (ArgumentName1,
    TargetBucket...), which moto's serializer drops (it writes only modeled members). Raised
    under a bucket request, answered by the bucket request's handler."""

    def __init__(self, status, code, message, **elements):
        super().__init__(message)
        self.status, self.code, self.message, self.elements = status, code, message, elements

    def answer(self):
        from moto.core.serialize import S3Serializer

        extra = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in self.elements.items())
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.code}</Code>'
            f"<Message>{escape(self.message)}</Message>{extra}"
            "<RequestId>ecomflow-emulator-check</RequestId>"
            f"<HostId>{S3Serializer.DEFAULT_HOST_ID}</HostId></Error>"
        )
        return self.status, {"Content-Type": "application/xml"}, body


def destinations_refused(refused):
    """S3's refusal of the destinations [(ARN, ArgumentValue)]: one ArgumentName<i> and
    ArgumentValue<i> pair per destination."""
    elements = {}
    for i, (arn, value) in enumerate(refused, 1):
        elements[f"ArgumentName{i}"] = arn
        elements[f"ArgumentValue{i}"] = value
    return Refusal(400, "InvalidArgument", UNABLE, **elements)


def validate_notification_destinations():
    """Check the topics of a parsed PutBucketNotificationConfiguration before moto stores it
    (after moto's own parsing, which refuses malformed ARNs first); the refusal is answered by
    the bucket request's handler (`answer_refusals`)."""
    from moto.s3.responses import S3Response

    parse = S3Response._notification_config_from_body
    if getattr(parse, "_ecomflow", False):
        return

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
                raise destinations_refused(refused)
        return config

    notification_config_from_body._ecomflow = True
    S3Response._notification_config_from_body = notification_config_from_body


def answer_refusals():
    """A `Refusal` raised under a bucket request is answered in S3's form."""
    from moto.s3.responses import S3Response

    handle = S3Response.bucket_response
    if getattr(handle, "_ecomflow", False):
        return

    def bucket_response(self, *args, **kwargs):
        try:
            return handle(self, *args, **kwargs)
        except Refusal as refusal:
            return refusal.answer()

    bucket_response._ecomflow = True
    S3Response.bucket_response = bucket_response


# The S3 request this thread serves (a request is served start to end on one thread), for
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


# -- Server access logging

LOGGING_PRINCIPAL = "logging.s3.amazonaws.com"
ACLS_DISABLED = "BucketOwnerEnforced"


def _bucket_anywhere(name):
    """A bucket of any account (bucket names are global), or None."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account = owner
    return s3_backends[account][partition].buckets.get(name)


def logging_refusal(source, config):
    """The `Refusal` of PutBucketLogging enabling `config` on `source`, or None: the errors
    AWS lists for setting logging up (target missing, of another account, in another Region;
    target grants on a target with ACLs disabled), checked in that order (AWS documents none).
    The log delivery permission, Object Lock, SSE-KMS and Requester Pays are delivery
    failures, not refusals (`delivery_refusal`).
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshooting-server-access-logging.html
    """
    name = config["TargetBucket"]
    target = _bucket_anywhere(name)
    if target is None:
        return Refusal(400, "InvalidTargetBucketForLogging",
                       "The target bucket for logging does not exist", TargetBucket=name)
    if target.account_id != source.account_id:
        return Refusal(400, "InvalidTargetBucketForLogging",
                       "The owner for the bucket to be logged and the target bucket must be the same.",
                       TargetBucket=name)
    if target.region_name != source.region_name:
        # The code as the error list spells it; AWS has been recorded answering
        # "CrossLocationLoggingProhibitted".
        # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
        return Refusal(403, "CrossLocationLoggingProhibited", "Cross S3 location logging not allowed.",
                       TargetBucketLocation=target.region_name)
    if config.get("TargetGrants") and target.ownership_rule == ACLS_DISABLED:
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_TargetGrant.html
        return Refusal(400, "AccessControlListNotSupported",
                       "Target grants not allowed for bucket owner enforced buckets")
    return None


def _default_algorithm(bucket):
    rules = (bucket.encryption or {}).get("Rule") or []
    for rule in rules if isinstance(rules, list) else [rules]:
        algorithm = (rule.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
        if algorithm:
            return algorithm
    return "AES256"  # SSE-S3, every bucket's base encryption


def log_prefix(source, config):
    """What a log object's key starts with: the TargetPrefix, then, with a PartitionedPrefix
    key format, `<account>/<region>/<bucket>/<YYYY>/<MM>/<DD>/`.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_PartitionedPrefix.html"""
    prefix = config.get("TargetPrefix") or ""
    key_format = config.get("TargetObjectKeyFormat")
    if isinstance(key_format, dict) and "PartitionedPrefix" in key_format:
        day = time.strftime("%Y/%m/%d", time.gmtime())
        prefix += f"{source.account_id}/{source.region_name}/{source.name}/{day}/"
    return prefix


class _Delivery:
    """What moto's delivery reads of its backend (`get_bucket(name).logging`, `put_object`),
    with the log prefix `log_prefix` gives."""

    def __init__(self, backend, target, prefix):
        self.backend, self.logging = backend, {"TargetBucket": target, "TargetPrefix": prefix}

    def get_bucket(self, name):
        return self

    def put_object(self, *args, **kwargs):
        return self.backend.put_object(*args, **kwargs)


def delivery_refusal(source, config):
    """Why S3 would not deliver `source`'s access logs as `config` says, or None: the
    delivery failures AWS lists but Requester Pays, which moto does not keep (it ignores
    PutBucketRequestPayment). The permission is checked as S3's write:
    `logging.s3.amazonaws.com` s3:PutObject on a log object (the prefix, then a name as S3
    gives it), aws:SourceArn the source bucket, aws:SourceAccount its owner, allowed by the
    target's bucket policy (an explicit Deny wins) or, ACLs enabled, by its ACL granting the
    log delivery group WRITE and READ_ACP. Over which transport S3 delivers is not documented:
    taken as TLS, so a TLS-only Deny does not stop it.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshooting-server-access-logging.html
    """
    from moto.s3.models import FakeBucket

    target = _bucket_anywhere(config["TargetBucket"])
    if target is None:
        return "the target bucket does not exist"
    if target.object_lock_enabled:
        return "the target bucket has Object Lock enabled"
    algorithm = _default_algorithm(target)
    if algorithm != "AES256":
        return f"the target bucket's default encryption is {algorithm}; only SSE-S3 is supported"
    key = f"{log_prefix(source, config)}{time.strftime('%Y-%m-%d-%H-%M-%S', time.gmtime())}-0123456789ABCDEF"
    context = {
        "aws:SourceArn": f"arn:{source.partition}:s3:::{source.name}",
        "aws:SourceAccount": source.account_id,
        "aws:SecureTransport": "true",
    }
    resource = f"arn:{target.partition}:s3:::{target.name}/{key}"
    decision = _allowed(target.policy, "s3:PutObject", resource, context, LOGGING_PRINCIPAL)
    if decision == iam_eval.EXPLICIT_DENY:
        return f"the target bucket's policy denies {LOGGING_PRINCIPAL} s3:PutObject"
    if decision == iam_eval.ALLOWED:
        return None
    if target.ownership_rule != ACLS_DISABLED and FakeBucket._log_permissions_enabled_acl(target):
        return None
    where = f"{target.name}/{log_prefix(source, config)}"
    return f"neither the target bucket's policy nor its ACL lets {LOGGING_PRINCIPAL} s3:PutObject in {where}"


def _grant(grant):
    grantee = grant.grantees[0]
    fields = {"Type": grantee.type, "URI": grantee.uri, "ID": grantee.id, "DisplayName": grantee.display_name}
    return {"Grantee": {k: v for k, v in fields.items() if v}, "Permission": grant.permissions[0]}


def _logging_answer(config):
    """GetBucketLogging's LoggingEnabled: the configuration as put."""
    enabled = {"TargetBucket": config["TargetBucket"], "TargetPrefix": config.get("TargetPrefix") or ""}
    if config.get("TargetGrants"):
        enabled["TargetGrants"] = [_grant(g) for g in config["TargetGrants"]]
    key_format = config.get("TargetObjectKeyFormat")
    if isinstance(key_format, dict):
        # xmltodict reads <SimplePrefix/> as None.
        enabled["TargetObjectKeyFormat"] = {k: v or {} for k, v in key_format.items() if not k.startswith("@")}
    return enabled


_reported = set()


def server_access_logging():
    """PutBucketLogging refused as AWS refuses it (`logging_refusal`) and only so: moto also
    refused a target unless its bucket policy held a statement of the one shape it recognised
    or its ACL granted the log delivery group (a delivery matter on AWS), and accepted
    TargetGrants on a target with ACLs disabled. GetBucketLogging answers what was put (moto
    dropped TargetObjectKeyFormat). moto's delivery (a log object per request to the source bucket)
    happens only where `delivery_refusal` finds nothing, under the key format configured
    (moto knew only the simple one); the emulator's stderr says why not, once per source,
    target and reason.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    """
    from moto.core.responses import ActionResult
    from moto.s3.models import FakeBucket, S3Backend
    from moto.s3.responses import S3Response

    if getattr(FakeBucket.set_logging, "_ecomflow", False):
        return
    deliver = S3Backend.log_incoming_request

    def set_logging(self, config, backend):
        refusal = logging_refusal(self, config) if config else None
        if refusal is not None:
            raise refusal
        self.logging = config or {}

    def log_incoming_request(self, request, bucket_name):
        source = self.buckets.get(bucket_name)
        config = source.logging if source is not None else None
        if not config:
            return
        try:
            why = delivery_refusal(source, config)
        except Exception as error:  # delivery is best effort; the request is served all the same
            why = f"the delivery check failed: {error!r}"
        if why is None:
            deliver(_Delivery(self, config["TargetBucket"], log_prefix(source, config)), request, bucket_name)
        elif (bucket_name, config["TargetBucket"], why) not in _reported:
            _reported.add((bucket_name, config["TargetBucket"], why))
            sys.stderr.write(f"s3: access logs of {bucket_name} not delivered: {why}\n")
            sys.stderr.flush()

    def get_bucket_logging(self):
        config = self.backend.get_bucket_logging(self.bucket_name)
        self.data["Action"] = "GetBucketLogging"
        return self.serialized(ActionResult({"LoggingEnabled": _logging_answer(config)} if config else {}))

    set_logging._ecomflow = True
    FakeBucket.set_logging = set_logging
    S3Backend.log_incoming_request = log_incoming_request
    S3Response.get_bucket_logging = get_bucket_logging


def install():
    default_object_ownership()
    answer_refusals()
    validate_notification_destinations()
    bucket_policy_conditions()
    server_access_logging()
