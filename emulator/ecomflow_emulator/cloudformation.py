"""CloudFormation: CreateStack makes what the template says, as AWS does, for the resource types
the project's exported template uses (`ecomflow-infra export cloudformation`).

moto 5.2.1 creates a stack's resources through each model's `create_from_cloudformation_json`,
which often ignores properties (Tags above all; a bucket's public access block, ownership,
versioning, lifecycle and logging; a Kinesis stream's mode and encryption; a log group's key; a
Lambda function's architectures and tags; a Redshift cluster's identifier, logging and tags;
a KMS key's tags fail it), skips a resource type it has no model for with a warning, and leaves a
stack whose resource failed `CREATE_IN_PROGRESS` with half its resources, the CreateStack call
answered with an HTTP 500. Here:

Resource types
--------------
- CreateStack, UpdateStack and CreateChangeSet refuse a template naming a resource type
  CloudFormation does not know: ValidationError "Template format error: Unrecognized resource
  types: [AWS::X::Y]" (AWS's words). A type AWS knows (the registry's list for the stack's
  Region, as cfn-lint, a moto dependency, ships it) but moto cannot create is refused too,
  naming the types the emulator cannot create, instead of a stack silently without them.
  ValidateTemplate does not refuse them (it checks syntax, as AWS's does).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Warnings.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-template-resource-type-ref.html
- For the types below (`CREATORS`), a property the emulator does not apply is refused the same
  way ("... cannot apply these properties: [AWS::S3::Bucket.NotificationConfiguration (Lake)]"),
  never dropped.

ValidateTemplate
----------------
moto answered `Parameters: []` and `Capabilities: []` whatever the template said. It answers as
AWS does (`template_summary`), for JSON and YAML templates (short-form tags such as `!Ref`; a
YAML default as written, `Default: 10` is "10"): Parameters, a TemplateParameter per template
parameter in the template's order (ParameterKey, DefaultValue when the template gives one, NoEcho,
Description when given); Description (absent when the template has none); Capabilities:
CAPABILITY_NAMED_IAM when an IAM resource has a custom name (GroupName, InstanceProfileName,
ManagedPolicyName, RoleName or UserName set), else CAPABILITY_IAM when the template has one of the
IAM types CreateStack's Capabilities lists (AWS::IAM::AccessKey, Group, InstanceProfile,
ManagedPolicy, Policy, Role, User, UserToGroupAddition), else none; CapabilitiesReason with
them ("The following resource(s) require capabilities: [AWS::IAM::Role]"), absent without;
DeclaredTransforms, the template's Transform (macros are not run). moto's check stays: cfn-lint
on the body (or TemplateURL's object), a template it finds an error in refused with its message
(moto also refused warnings such as an unused parameter, with a garbled message).
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_TemplateParameter.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/control-access-with-iam.html#using-iam-capabilities

Template size
-------------
moto took a template of any size. AWS's quotas: "Template body size in a request" 51,200 (the
TemplateBody of CreateStack, UpdateStack, CreateChangeSet and ValidateTemplate; larger templates
go by TemplateURL), "Template body size in an Amazon S3 object" 1 MB. Here:
- A TemplateBody over 51,200 characters is refused before anything else is checked, with AWS's
  request-validation error: ValidationError "1 validation error detected: Value '<the body>' at
  'templateBody' failed to satisfy constraint: Member must have length less than or equal to
  51200". Counted in characters, not UTF-8 bytes (`TEMPLATE_BODY_MAX` says why); a template of
  ASCII text is the same number either way.
- A TemplateURL object over 1,000,000 bytes (what AWS's "1 MB" is) is refused in every call that
  reads one: ValidationError "Template may not exceed 1000000 bytes in size."
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html

Properties honoured on create (CloudFormation's names; each through the service's moto backend
and the emulator's rules for the matching API call)
------------------------------------------------------------------------------------------
- AWS::S3::Bucket: BucketName, BucketEncryption (SSE-S3 or aws:kms with KMSMasterKeyID,
  BucketKeyEnabled), PublicAccessBlockConfiguration, OwnershipControls, VersioningConfiguration,
  LifecycleConfiguration (Rules: Id, Prefix (as the rule's Filter prefix), Status,
  ExpirationInDays, NoncurrentVersionExpiration.NoncurrentDays,
  AbortIncompleteMultipartUpload.DaysAfterInitiation), LoggingConfiguration
  (DestinationBucketName, by default the bucket itself; LogFilePrefix; PutBucketLogging's
  refusals), Tags.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucket.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-s3-bucket-serversideencryptionrule.html
- AWS::S3::BucketPolicy (moto has none): Bucket, PolicyDocument; deleting it deletes the policy.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-s3-bucketpolicy.html
- AWS::KMS::Key: Description, KeyPolicy (AWS's default policy without one; CreateKey's policy
  checks, BypassPolicyLockoutSafetyCheck), EnableKeyRotation (RotationPeriodInDays), Enabled,
  KeyUsage, KeySpec, MultiRegion, PendingWindowInDays (7..30, default 30: deleting the resource
  schedules the key's deletion with it, the key stays PendingDeletion), Tags.
  AWS::KMS::Alias: AliasName, TargetKeyId (CreateAlias's refusals).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html
- AWS::IAM::Role: RoleName, Path, AssumeRolePolicyDocument, Policies (inline, validated as
  PutRolePolicy validates), ManagedPolicyArns, Description, MaxSessionDuration,
  PermissionsBoundary, Tags; deleting it removes its policies first.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html
- AWS::Kinesis::Stream: Name, StreamModeDetails, ShardCount, RetentionPeriodHours,
  StreamEncryption (KMS with KeyId), Tags.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kinesis-stream.html
- AWS::DynamoDB::Table: TableName, AttributeDefinitions, KeySchema, BillingMode,
  ProvisionedThroughput, GlobalSecondaryIndexes, LocalSecondaryIndexes, StreamSpecification,
  PointInTimeRecoverySpecification, SSESpecification (SSEEnabled, SSEType KMS,
  KMSMasterKeyId: moto read only the API's `Enabled`, so the table had no SSEDescription),
  TimeToLiveSpecification, DeletionProtectionEnabled, Tags.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
- AWS::SNS::Topic: TopicName, DisplayName, KmsMasterKeyId, Subscription, Tags.
  AWS::SNS::TopicPolicy (moto has none): Topics, PolicyDocument; deleting it restores the
  topic's default policy. AWS::SNS::Subscription (moto has none): TopicArn, Protocol, Endpoint,
  RawMessageDelivery, FilterPolicy, FilterPolicyScope.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sns-topic.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sns-policy.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-sns-topic-subscription.html
- AWS::Logs::LogGroup: LogGroupName, RetentionInDays (PutRetentionPolicy's periods), KmsKeyId,
  Tags.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html
- AWS::Lambda::Function: FunctionName, Role, Runtime, Handler, Architectures, MemorySize,
  Timeout, ReservedConcurrentExecutions, Environment (CreateFunction's 4 KB rule), Code
  (S3Bucket/S3Key/S3ObjectVersion read from the emulated S3, so CodeSha256 is the zip's; or
  ZipFile), Description, Layers, TracingConfig, EphemeralStorage, Tags.
  AWS::Lambda::EventSourceMapping: FunctionName, EventSourceArn, StartingPosition, BatchSize,
  MaximumBatchingWindowInSeconds, ParallelizationFactor, BisectBatchOnFunctionError,
  MaximumRetryAttempts, MaximumRecordAgeInSeconds, FunctionResponseTypes, DestinationConfig,
  Enabled, FilterCriteria, TumblingWindowInSeconds, Tags. AWS::Lambda::Permission:
  FunctionName, Action, Principal, SourceArn, SourceAccount (a statement named as
  CloudFormation names it; moto put the resource's properties, FunctionName included, in the
  function's policy).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-eventsourcemapping-destinationconfig.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-permission.html
- AWS::Redshift::ClusterParameterGroup: ParameterGroupName (moto ignored it), ParameterGroupFamily,
  Description, Parameters, Tags, with CreateClusterParameterGroup's and
  ModifyClusterParameterGroup's rules (`redshift_config`). AWS::Redshift::Cluster:
  ClusterIdentifier (moto ignored it), NodeType, ClusterType, NumberOfNodes, DBName,
  MasterUsername, MasterUserPassword or ManageMasterPassword (no password needed), Encrypted,
  KmsKeyId, PubliclyAccessible, IamRoles, DefaultIamRoleArn, ClusterParameterGroupName, Port,
  LoggingProperties (EnableLogging's rules), Tags and the rest CreateCluster takes: the cluster
  is what CreateCluster makes (its PostgreSQL server, managed secret, namespace, parameter
  group status: `redshift.start_cluster`), and deleting it is DeleteCluster
  (`redshift.stop_cluster`; moto never deleted a cluster or parameter group of a stack).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-redshift-cluster-loggingproperties.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-redshift-clusterparametergroup.html

Tags
----
Stack-level tags (CreateStack's Tags) propagate to every resource whose type is taggable, and
CloudFormation's own `aws:cloudformation:stack-name`, `aws:cloudformation:stack-id` and
`aws:cloudformation:logical-id` to those whose type supports CloudFormation system tags (the
resource type schema's `tagging.cloudFormationSystemTags`, as the registry publishes it and
cfn-lint ships it): S3 buckets, Kinesis streams, SNS topics, log groups, Lambda functions and
event source mappings, Redshift clusters and parameter groups; not KMS keys, IAM roles or
DynamoDB tables. A resource's own tag wins over a stack tag of the same key.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html
https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html

Stack operations
----------------
- A resource that fails to create fails the stack as AWS's does: CreateStack answers the stack
  ID, the resource's event is CREATE_FAILED with the service's message, and the stack rolls
  back (the resources made so far deleted) to ROLLBACK_COMPLETE, or ROLLBACK_FAILED when one
  cannot be deleted (a table with deletion protection); OnFailure DO_NOTHING (or
  DisableRollback) leaves it CREATE_FAILED with them, OnFailure DELETE deletes it. Resources
  get CREATE_IN_PROGRESS / CREATE_COMPLETE events.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-failure-options.md
- DeleteStack deletes resources in reverse dependency order (Ref, Fn::GetAtt, Fn::Sub,
  DependsOn; moto's order was arbitrary), keeps those with DeletionPolicy Retain (or
  RetainExceptOnCreate); a resource that cannot be deleted (a bucket not empty) leaves the
  stack DELETE_FAILED, kept, to be deleted again. A deleted or rolled-back stack no longer
  makes resources when described (moto re-created them lazily for its outputs).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html
"""

import base64
import functools
import json
import os
import threading
import uuid

from . import kms as kms_rules
from . import redshift, redshift_config

_local = threading.local()

SYSTEM_TAGS = ("aws:cloudformation:stack-name", "aws:cloudformation:stack-id", "aws:cloudformation:logical-id")


# -- the registry's resource types and their tagging ---------------------------------------------


def _schemas_dir():
    import cfnlint

    return os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")


@functools.lru_cache(maxsize=None)
def registry_types(region):
    """{resource type: schema file} of the CloudFormation registry in `region` (cfn-lint's copy;
    us-east-1's for a Region it does not know)."""
    providers = os.path.join(_schemas_dir(), "providers")
    path = os.path.join(providers, f"{region}.json")
    if not os.path.exists(path):
        path = os.path.join(providers, "us-east-1.json")
    with open(path) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def tagging(resource_type, region="us-east-1"):
    """The type's `tagging` in its resource schema ({} when unknown)."""
    digest = registry_types(region).get(resource_type) or registry_types("us-east-1").get(resource_type)
    if not digest:
        return {}
    try:
        with open(os.path.join(_schemas_dir(), "resources", f"{digest}.json")) as f:
            schema = json.load(f)
    except OSError:
        return {}
    found = schema.get("tagging")
    if found is None:
        found = {"taggable": bool(schema.get("taggable", False))}
    return found


# -- errors ---------------------------------------------------------------------------------------


class ResourceFailed(Exception):
    """A resource CloudFormation could not create or delete, and the service's reason."""

    def __init__(self, logical_id, resource_type, reason):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


class PropertyError(Exception):
    """A property value CloudFormation (or the emulator) refuses; its message is the reason."""


def _reason(error):
    """What CloudFormation's event says of a failed call: the service's message and code."""
    if isinstance(error, ResourceFailed):
        return error.reason
    if isinstance(error, PropertyError):
        return str(error)
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    message = getattr(error, "message", None)
    if isinstance(error, ValueError) and len(error.args) == 2 and all(isinstance(a, str) for a in error.args):
        code, message = error.args
    if not isinstance(code, str):
        code = type(error).__name__
    if not message:
        message = str(error) or code
    return f"{message} (Service error code: {code})"


def _validation(message):
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


# -- what is being created ------------------------------------------------------------------------


class Creating:
    """The resource moto is creating: its logical ID and type, its stack, the stack's tags."""

    def __init__(self, logical_id, resource_type, stack_id, stack_name, stack_tags, account, region):
        self.logical_id, self.resource_type = logical_id, resource_type
        self.stack_id, self.stack_name, self.stack_tags = stack_id, stack_name, stack_tags
        self.account, self.region = account, region
        self.undo = []

    @property
    def partition(self):
        from moto.utilities.utils import get_partition

        return get_partition(self.region)

    def tags(self, declared):
        """The resource's tags as CloudFormation applies them: its own, then the stack's (by
        key, not over its own), then CloudFormation's system tags where the type takes them."""
        out, seen = [], set()
        for tag in declared or []:
            if isinstance(tag, dict) and "Key" in tag:
                out.append({"Key": str(tag["Key"]), "Value": str(tag.get("Value", ""))})
                seen.add(str(tag["Key"]))
        scheme = tagging(self.resource_type, self.region)
        if not scheme.get("taggable", True):
            return out
        for key, value in (self.stack_tags or {}).items():
            if key not in seen:
                out.append({"Key": key, "Value": str(value)})
        if scheme.get("cloudFormationSystemTags", True) and self.stack_id:
            out += [
                {"Key": "aws:cloudformation:stack-name", "Value": self.stack_name},
                {"Key": "aws:cloudformation:stack-id", "Value": self.stack_id},
                {"Key": "aws:cloudformation:logical-id", "Value": self.logical_id},
            ]
        return out

    def tag_dict(self, declared):
        return {t["Key"]: t["Value"] for t in self.tags(declared)}


def _contexts():
    if not hasattr(_local, "contexts"):
        _local.contexts = []
    return _local.contexts


def _context_for(kwargs, resource_type, account, region):
    contexts = _contexts()
    logical = kwargs.get("LogicalId")
    if contexts and contexts[-1].logical_id == logical:
        return contexts[-1]
    stack_id = kwargs.get("StackId")
    stack_name = stack_id.split("/")[1] if stack_id and stack_id.count("/") >= 2 else None
    return Creating(logical or "", resource_type, stack_id, stack_name, {}, account, region)


def _bool(value, default=False):
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _int(value, default=None):
    return default if value is None else int(value)


def _json_text(document):
    return document if isinstance(document, str) else json.dumps(document)


def _only(where, value, allowed):
    """Refuses (CREATE_FAILED) the keys of a nested property the emulator does not apply."""
    extra = sorted(set(value or {}) - set(allowed))
    if extra:
        raise PropertyError(f"the emulator does not apply {where}.{', '.join(extra)}")


# -- AWS::S3::Bucket, AWS::S3::BucketPolicy -------------------------------------------------------


def _s3(ctx):
    from moto.s3.models import s3_backends

    return s3_backends[ctx.account][ctx.partition]


def _bool_text(value):
    return "true" if _bool(value) else "false"


def create_bucket(name, p, ctx):
    backend = _s3(ctx)
    backend.create_bucket(name, ctx.region)
    ctx.undo.append(lambda: backend.delete_bucket(name))
    ownership = p.get("OwnershipControls")
    if ownership:
        rules = ownership.get("Rules") or []
        if len(rules) != 1 or not rules[0].get("ObjectOwnership"):
            raise PropertyError("OwnershipControls needs one rule with ObjectOwnership")
        backend.put_bucket_ownership_controls(name, rules[0]["ObjectOwnership"])
    block = p.get("PublicAccessBlockConfiguration")
    if block is not None:
        keys = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        _only("PublicAccessBlockConfiguration", block, keys)
        backend.put_public_access_block(name, {k: _bool_text(block.get(k)) for k in keys})
    encryption = p.get("BucketEncryption")
    if encryption:
        rules = []
        for rule in encryption.get("ServerSideEncryptionConfiguration") or []:
            _only("ServerSideEncryptionRule", rule, ("ServerSideEncryptionByDefault", "BucketKeyEnabled"))
            default = dict(rule.get("ServerSideEncryptionByDefault") or {})
            _only("ServerSideEncryptionByDefault", default, ("SSEAlgorithm", "KMSMasterKeyID"))
            api = {"ApplyServerSideEncryptionByDefault": default}
            if "BucketKeyEnabled" in rule:
                api["BucketKeyEnabled"] = _bool_text(rule["BucketKeyEnabled"])
            rules.append(api)
        backend.put_bucket_encryption(name, {"Rule": rules[0] if len(rules) == 1 else rules})
    versioning = p.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(name, versioning.get("Status"))
    lifecycle = p.get("LifecycleConfiguration")
    if lifecycle:
        _only("LifecycleConfiguration", lifecycle, ("Rules",))
        rules = []
        for rule in lifecycle.get("Rules") or []:
            _only("LifecycleConfiguration.Rule", rule, (
                "Id", "Prefix", "Status", "ExpirationInDays", "NoncurrentVersionExpiration",
                "AbortIncompleteMultipartUpload"))
            api = {"Filter": {"Prefix": rule.get("Prefix") or ""}, "Status": rule.get("Status")}
            if rule.get("Id"):
                api["ID"] = rule["Id"]
            if rule.get("ExpirationInDays") is not None:
                api["Expiration"] = {"Days": str(int(rule["ExpirationInDays"]))}
            noncurrent = rule.get("NoncurrentVersionExpiration")
            if noncurrent:
                _only("NoncurrentVersionExpiration", noncurrent, ("NoncurrentDays",))
                api["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(int(noncurrent["NoncurrentDays"]))}
            abort = rule.get("AbortIncompleteMultipartUpload")
            if abort:
                _only("AbortIncompleteMultipartUpload", abort, ("DaysAfterInitiation",))
                api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(int(abort["DaysAfterInitiation"]))}
            rules.append(api)
        backend.put_bucket_lifecycle(name, rules)
    logging = p.get("LoggingConfiguration")
    if logging is not None:
        _only("LoggingConfiguration", logging, ("DestinationBucketName", "LogFilePrefix"))
        # "By default, logs are stored in the bucket where the LoggingConfiguration property
        # is defined."
        backend.put_bucket_logging(name, {
            "TargetBucket": logging.get("DestinationBucketName") or name,
            "TargetPrefix": logging.get("LogFilePrefix") or "",
        })
    tags = ctx.tag_dict(p.get("Tags"))
    if tags:
        backend.put_bucket_tagging(name, tags)
    return backend.get_bucket(name)


def delete_bucket(bucket, ctx):
    from moto.s3.exceptions import BucketNotEmpty

    backend = _s3(ctx)
    if bucket.name in backend.buckets and backend.delete_bucket(bucket.name) is None:
        raise BucketNotEmpty(bucket_name=bucket.name)  # as DeleteBucket answers


def _bucket_policy_model():
    from moto.core.common_models import CloudFormationModel

    class BucketPolicy(CloudFormationModel):
        """AWS::S3::BucketPolicy: PutBucketPolicy on the bucket."""

        def __init__(self, bucket):
            self.bucket = bucket

        @property
        def physical_resource_id(self):
            return self.bucket

        @staticmethod
        def cloudformation_type():
            return "AWS::S3::BucketPolicy"

        @staticmethod
        def cloudformation_name_type():
            return ""

        @classmethod
        def has_cfn_attr(cls, attr):
            return False

    return BucketPolicy


def create_bucket_policy(name, p, ctx):
    backend = _s3(ctx)
    bucket = p.get("Bucket")
    backend.get_bucket(bucket)  # NoSuchBucket
    backend.put_bucket_policy(bucket, _json_text(p.get("PolicyDocument")).encode())
    return MODELS["AWS::S3::BucketPolicy"](bucket)


def delete_bucket_policy(policy, ctx):
    backend = _s3(ctx)
    if policy.bucket in backend.buckets:
        backend.delete_bucket_policy(policy.bucket)


# -- AWS::KMS::Key, AWS::KMS::Alias ---------------------------------------------------------------


def _kms(ctx):
    from moto.kms.models import kms_backends

    return kms_backends[ctx.account][ctx.region]


def create_key(name, p, ctx):
    from datetime import timedelta

    from moto.core.utils import utcnow

    backend = _kms(ctx)
    policy = p.get("KeyPolicy")
    text = _json_text(policy) if policy is not None else None
    request = getattr(_local, "request", None)
    if text is not None and request is not None:
        # CreateKey's own checks, the stack's caller as the caller.
        arn = f"arn:{ctx.partition}:kms:{ctx.region}:{ctx.account}:key/*"
        kms_rules.check_key_policy(request, text, arn, _bool(p.get("BypassPolicyLockoutSafetyCheck")))
    window = _int(p.get("PendingWindowInDays"), 30)
    if not 7 <= window <= 30:
        raise PropertyError(f"PendingWindowInDays must be between 7 and 30 (was {window})")
    tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in ctx.tags(p.get("Tags"))]
    key = backend.create_key(text, p.get("KeyUsage") or "ENCRYPT_DECRYPT", p.get("KeySpec") or "SYMMETRIC_DEFAULT",
                             p.get("Description") or "", tags, _bool(p.get("MultiRegion")), p.get("Origin") or "AWS_KMS")
    ctx.undo.append(lambda: backend.keys.pop(key.id, None))
    key._ecomflow_pending_window = window
    if _bool(p.get("EnableKeyRotation")):
        days = _int(p.get("RotationPeriodInDays"), kms_rules.DEFAULT_ROTATION_DAYS)
        if not 90 <= days <= 2560:
            raise PropertyError(f"RotationPeriodInDays must be between 90 and 2560 (was {days})")
        key.key_rotation_status = True
        key.rotation_period_in_days = days
        key.next_rotation_date = utcnow() + timedelta(days=days)
    if not _bool(p.get("Enabled"), True):
        backend.disable_key(key.id)
    return key


def delete_key(key, ctx):
    """Deleting the key's resource schedules its deletion after PendingWindowInDays."""
    backend = _kms(ctx)
    if key.id in backend.keys and key.key_state != "PendingDeletion":
        backend.schedule_key_deletion(key.id, getattr(key, "_ecomflow_pending_window", 30))


def create_alias(name, p, ctx):
    from moto.core.exceptions import JsonRESTError

    backend = _kms(ctx)
    alias = p.get("AliasName") or ""
    if not alias.startswith("alias/"):
        raise PropertyError(f"AliasName must begin with alias/ (was {alias})")
    if alias.startswith("alias/aws/"):
        raise JsonRESTError("NotAuthorizedException", f"{alias} is reserved for AWS managed keys.")
    if backend.alias_exists(alias):
        raise JsonRESTError("AlreadyExistsException", f"An alias with the name {alias} already exists")
    key = kms_rules.find_key(p.get("TargetKeyId") or "", ctx.account, ctx.region)
    if key is None:
        raise JsonRESTError("NotFoundException", f"Key '{p.get('TargetKeyId')}' does not exist")
    if key.key_state == "PendingDeletion":
        raise JsonRESTError("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    return backend.create_alias(key.id, alias)


def delete_alias(alias, ctx):
    _kms(ctx).delete_alias(alias.alias_name)


# -- AWS::IAM::Role -------------------------------------------------------------------------------


def _iam(ctx):
    from moto.iam.models import iam_backends

    return iam_backends[ctx.account][ctx.partition]


def create_role(name, p, ctx):
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator

    backend = _iam(ctx)
    trust = _json_text(p.get("AssumeRolePolicyDocument"))
    IAMTrustPolicyDocumentValidator(trust).validate()
    role = backend.create_role(
        role_name=name, assume_role_policy_document=trust, path=p.get("Path") or "/",
        permissions_boundary=p.get("PermissionsBoundary"), description=p.get("Description") or "",
        tags=ctx.tags(p.get("Tags")), max_session_duration=_int(p.get("MaxSessionDuration"), 3600),
    )
    ctx.undo.append(lambda: delete_role(role, ctx))
    for policy in p.get("Policies") or []:
        _only("Policies", policy, ("PolicyName", "PolicyDocument"))
        backend.put_role_policy(name, policy["PolicyName"], _json_text(policy["PolicyDocument"]))
    for arn in p.get("ManagedPolicyArns") or []:
        backend.attach_role_policy(arn, name)
    return role


def delete_role(role, ctx):
    backend = _iam(ctx)
    if role.id not in backend.roles:
        return
    for arn in list(role.managed_policies):
        backend.detach_role_policy(arn, role.name)
    for policy_name in list(role.policies):
        backend.delete_role_policy(role.name, policy_name)
    for profile in backend.instance_profiles.values():
        profile.roles = [r for r in profile.roles if r.name != role.name]
    backend.delete_role(role.name)


# -- AWS::Kinesis::Stream -------------------------------------------------------------------------


def _kinesis(ctx):
    from moto.kinesis.models import kinesis_backends

    return kinesis_backends[ctx.account][ctx.region]


def create_stream(name, p, ctx):
    backend = _kinesis(ctx)
    mode = (p.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED"
    if mode == "ON_DEMAND" and p.get("ShardCount") is not None:
        raise PropertyError("ShardCount is not allowed with StreamMode ON_DEMAND")
    stream = backend.create_stream(name, _int(p.get("ShardCount"), 1), stream_mode={"StreamMode": mode})
    ctx.undo.append(lambda: backend.streams.pop(name, None))
    hours = _int(p.get("RetentionPeriodHours"), 24)
    if hours != 24:
        backend.increase_stream_retention_period(None, name, hours)
    encryption = p.get("StreamEncryption")
    if encryption:
        _only("StreamEncryption", encryption, ("EncryptionType", "KeyId"))
        if encryption.get("EncryptionType") != "KMS" or not encryption.get("KeyId"):
            raise PropertyError("StreamEncryption needs EncryptionType KMS and a KeyId")
        backend.start_stream_encryption(None, name, "KMS", encryption["KeyId"])
    tags = ctx.tag_dict(p.get("Tags"))
    if tags:
        backend.add_tags_to_stream(None, name, tags)
    return stream


def delete_stream(stream, ctx):
    backend = _kinesis(ctx)
    if stream.stream_name in backend.streams:
        backend.delete_stream(None, stream.stream_name)


# -- AWS::DynamoDB::Table -------------------------------------------------------------------------


def _dynamodb(ctx):
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ctx.account][ctx.region]


def create_table(name, p, ctx):
    from moto.dynamodb.exceptions import MockValidationException

    backend = _dynamodb(ctx)
    billing = p.get("BillingMode") or "PROVISIONED"
    throughput = p.get("ProvisionedThroughput")
    # CreateTable's refusals (moto's DynamoDB handler answers them, its backend does not).
    if billing == "PAY_PER_REQUEST" and throughput:
        raise MockValidationException("ProvisionedThroughput cannot be specified when BillingMode is PAY_PER_REQUEST")
    if billing == "PROVISIONED" and throughput is None:
        raise MockValidationException("One or more parameter values were invalid: ReadCapacityUnits and "
                                      "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
    sse = None
    spec = p.get("SSESpecification")
    if spec:
        _only("SSESpecification", spec, ("SSEEnabled", "SSEType", "KMSMasterKeyId"))
        if _bool(spec.get("SSEEnabled")):
            sse = {"Enabled": True, "SSEType": spec.get("SSEType") or "KMS"}
            if spec.get("KMSMasterKeyId"):
                key = kms_rules.find_key(spec["KMSMasterKeyId"], ctx.account, ctx.region)
                if key is None:
                    raise MockValidationException(f"KMSMasterKeyId {spec['KMSMasterKeyId']} does not name a KMS key")
                sse["KMSMasterKeyId"] = key.arn
    streams = p.get("StreamSpecification")
    if streams:
        streams = {"StreamEnabled": True, **streams}
    table = backend.create_table(
        name=name, schema=p.get("KeySchema"), throughput=throughput, attr=p.get("AttributeDefinitions") or [],
        global_indexes=p.get("GlobalSecondaryIndexes") or [], indexes=p.get("LocalSecondaryIndexes") or [],
        streams=streams, billing_mode=billing, sse_specification=sse, tags=ctx.tags(p.get("Tags")),
        deletion_protection_enabled=_bool(p.get("DeletionProtectionEnabled")), warm_throughput=None,
    )
    ctx.undo.append(lambda: backend.tables.pop(name, None))
    pitr = p.get("PointInTimeRecoverySpecification")
    if pitr and _bool(pitr.get("PointInTimeRecoveryEnabled")):
        backend.update_continuous_backups(name, {"PointInTimeRecoveryEnabled": True, **(
            {"RecoveryPeriodInDays": int(pitr["RecoveryPeriodInDays"])} if pitr.get("RecoveryPeriodInDays") else {})})
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        backend.update_time_to_live(name, {"Enabled": _bool(ttl.get("Enabled")), "AttributeName": ttl.get("AttributeName")})
    return table


def delete_table(table, ctx):
    backend = _dynamodb(ctx)
    if table.name in backend.tables:
        backend.delete_table(table.name)  # DeletionProtectedException, as DeleteTable answers


# -- AWS::SNS::Topic, AWS::SNS::TopicPolicy, AWS::SNS::Subscription -------------------------------


def _sns(ctx):
    from moto.sns.models import sns_backends

    return sns_backends[ctx.account][ctx.region]


def create_topic(name, p, ctx):
    backend = _sns(ctx)
    attributes = {}
    for key in ("DisplayName", "KmsMasterKeyId"):
        if p.get(key) is not None:
            attributes[key] = str(p[key])
    if _bool(p.get("FifoTopic")):
        attributes["FifoTopic"] = "true"
    topic = backend.create_topic(name, attributes, ctx.tag_dict(p.get("Tags")))
    ctx.undo.append(lambda: backend.delete_topic(topic.arn))
    for subscription in p.get("Subscription") or []:
        backend.subscribe(topic.arn, subscription["Endpoint"], subscription["Protocol"])
    return topic


def delete_topic(topic, ctx):
    _sns(ctx).delete_topic(topic.arn)


def _topic_policy_model():
    from moto.core.common_models import CloudFormationModel

    class TopicPolicy(CloudFormationModel):
        """AWS::SNS::TopicPolicy: the topics' Policy attribute."""

        def __init__(self, name, topics):
            self.name, self.topics = name, topics

        @property
        def physical_resource_id(self):
            return self.name

        @staticmethod
        def cloudformation_type():
            return "AWS::SNS::TopicPolicy"

        @staticmethod
        def cloudformation_name_type():
            return ""

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == "Id"

        def get_cfn_attribute(self, attribute_name):
            return self.name

    return TopicPolicy


def create_topic_policy(name, p, ctx):
    backend = _sns(ctx)
    topics = list(p.get("Topics") or [])
    text = _json_text(p.get("PolicyDocument"))
    for arn in topics:
        backend.get_topic(arn)  # NotFound
    for arn in topics:
        backend.set_topic_attribute(arn, "policy", text)
    return MODELS["AWS::SNS::TopicPolicy"](name, topics)


def delete_topic_policy(policy, ctx):
    """The topics get their default policy back."""
    backend = _sns(ctx)
    for arn in policy.topics:
        topic = backend.topics.get(arn)
        if topic is not None:
            topic._policy_json = topic._create_default_topic_policy(ctx.region, ctx.account, topic.name)


def _subscription_model():
    from moto.core.common_models import CloudFormationModel

    class Subscription(CloudFormationModel):
        """AWS::SNS::Subscription: Subscribe, its Ref the subscription ARN."""

        def __init__(self, arn):
            self.arn = arn

        @property
        def physical_resource_id(self):
            return self.arn

        @staticmethod
        def cloudformation_type():
            return "AWS::SNS::Subscription"

        @staticmethod
        def cloudformation_name_type():
            return ""

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name):
            return self.arn

    return Subscription


def create_subscription(name, p, ctx):
    backend = _sns(ctx)
    subscription = backend.subscribe(p.get("TopicArn"), p.get("Endpoint"), p.get("Protocol"))
    ctx.undo.append(lambda: backend.unsubscribe(subscription.arn))
    for key in ("FilterPolicyScope", "FilterPolicy", "RawMessageDelivery"):
        if p.get(key) is None:
            continue
        value = p[key]
        value = _json_text(value) if key == "FilterPolicy" else (_bool_text(value) if key == "RawMessageDelivery" else value)
        backend.set_subscription_attributes(subscription.arn, key, value)
    return MODELS["AWS::SNS::Subscription"](subscription.arn)


def delete_subscription(subscription, ctx):
    _sns(ctx).unsubscribe(subscription.arn)


# -- AWS::Logs::LogGroup --------------------------------------------------------------------------


def _logs(ctx):
    from moto.logs.models import logs_backends

    return logs_backends[ctx.account][ctx.region]


def create_log_group(name, p, ctx):
    backend = _logs(ctx)
    group = backend.create_log_group(name, ctx.tag_dict(p.get("Tags")), kmsKeyId=p.get("KmsKeyId"))
    ctx.undo.append(lambda: backend.groups.pop(name, None))
    if p.get("RetentionInDays") is not None:
        backend.put_retention_policy(name, int(p["RetentionInDays"]))  # the documented periods only
    return group


def delete_log_group(group, ctx):
    backend = _logs(ctx)
    if group.name in backend.groups:
        backend.delete_log_group(group.name)


# -- AWS::Lambda::Function, ::EventSourceMapping, ::Permission -------------------------------------


def _lambda(ctx):
    from moto.awslambda.models import lambda_backends

    return lambda_backends[ctx.account][ctx.region]


def _code_object(code, ctx):
    """The function's zip in S3, or CreateFunction's refusal (moto's backend took a missing
    object as empty code)."""
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.s3.exceptions import MissingBucket

    try:
        found = _s3(ctx).get_object(code["S3Bucket"], code["S3Key"], code.get("S3ObjectVersion"))
    except MissingBucket:
        raise InvalidParameterValueException(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket "
            "does not exist")
    if found is None:
        raise InvalidParameterValueException(
            "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does "
            "not exist.")


def create_function(name, p, ctx):
    from moto.awslambda.models import LambdaFunction

    backend = _lambda(ctx)
    code = dict(p.get("Code") or {})
    _only("Code", code, ("S3Bucket", "S3Key", "S3ObjectVersion", "ZipFile"))
    if "ZipFile" in code:
        code["ZipFile"] = base64.b64encode(LambdaFunction._create_zipfile_from_plaintext_code(code["ZipFile"]))
    elif not (code.get("S3Bucket") and code.get("S3Key")):
        raise PropertyError("Code needs S3Bucket and S3Key, or ZipFile")
    else:
        _code_object(code, ctx)
    spec = {"FunctionName": name, "Role": p.get("Role"), "Code": code, "Tags": ctx.tag_dict(p.get("Tags"))}
    for key in ("Runtime", "Handler", "Architectures", "MemorySize", "Timeout", "Environment", "Description",
                "Layers", "TracingConfig", "EphemeralStorage", "ReservedConcurrentExecutions"):
        if p.get(key) is not None:
            spec[key] = p[key]
    for key in ("MemorySize", "Timeout", "ReservedConcurrentExecutions"):
        if key in spec:
            spec[key] = int(spec[key])
    # CreateFunction's rules (environment size; the code's object must exist, read from S3).
    return backend.create_function(spec)


def delete_function(fn, ctx):
    backend = _lambda(ctx)
    try:
        backend.get_function(fn.function_name)
    except Exception:
        return
    backend.delete_function(fn.function_name)


ESM_PROPERTIES = (
    "FunctionName", "EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "BatchSize",
    "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "BisectBatchOnFunctionError",
    "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "FunctionResponseTypes", "DestinationConfig",
    "Enabled", "FilterCriteria", "TumblingWindowInSeconds",
)


def create_event_source_mapping(name, p, ctx):
    backend = _lambda(ctx)
    spec = {k: p[k] for k in ESM_PROPERTIES if p.get(k) is not None}
    for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
                "MaximumRecordAgeInSeconds", "TumblingWindowInSeconds"):
        if key in spec:
            spec[key] = int(spec[key])
    for key in ("Enabled", "BisectBatchOnFunctionError"):
        if key in spec:
            spec[key] = _bool(spec[key])
    esm = backend.create_event_source_mapping(spec)
    esm.tags = ctx.tag_dict(p.get("Tags"))
    return esm


def delete_event_source_mapping(esm, ctx):
    backend = _lambda(ctx)
    if esm.uuid in backend._event_source_mappings:
        backend.delete_event_source_mapping(esm.uuid)


def create_permission(name, p, ctx):
    from moto.awslambda.models import Permission

    backend = _lambda(ctx)
    function = p.get("FunctionName")
    statement = {"StatementId": name, "Action": p.get("Action"), "Principal": p.get("Principal")}
    for key in ("SourceArn", "SourceAccount"):
        if p.get(key) is not None:
            statement[key] = p[key]
    backend.add_permission(function, None, json.dumps(statement))
    permission = Permission(region=ctx.region)
    permission.function_name, permission.statement_id = function, name
    permission.physical_resource_id = name
    return permission


def delete_permission(permission, ctx):
    backend = _lambda(ctx)
    try:
        backend.remove_permission(permission.function_name, permission.statement_id)
    except Exception:
        pass  # the function (and its policy) is gone already


# -- AWS::Redshift::ClusterParameterGroup, AWS::Redshift::Cluster ---------------------------------


def _redshift(ctx):
    from moto.redshift.models import redshift_backends

    return redshift_backends[ctx.account][ctx.region]


def create_parameter_group(name, p, ctx):
    backend = _redshift(ctx)
    group = redshift_config.new_parameter_group(
        backend, p.get("ParameterGroupName") or name.lower(), p.get("ParameterGroupFamily"), p.get("Description"),
        ctx.tags(p.get("Tags")), ctx.account, ctx.region)
    ctx.undo.append(lambda: backend.parameter_groups.pop(group.name, None))
    parameters = list(p.get("Parameters") or [])
    if parameters:
        redshift_config.set_parameters(group, redshift_config.check_parameter_names(parameters, need_values=True))
    return group


def delete_parameter_group(group, ctx):
    backend = _redshift(ctx)
    if group.name in backend.parameter_groups:
        redshift_config.delete_parameter_group(backend, group.name)


def create_cluster(name, p, ctx):
    backend = _redshift(ctx)
    identifier = (p.get("ClusterIdentifier") or name).lower()
    managed = _bool(p.get("ManageMasterPassword"))
    password = p.get("MasterUserPassword")
    redshift.check_master_password(managed, password)
    subnet_group = p.get("ClusterSubnetGroupName")
    cluster = backend.create_cluster(
        cluster_identifier=identifier, node_type=p.get("NodeType"), master_username=p.get("MasterUsername"),
        master_user_password=password, db_name=p.get("DBName"), cluster_type=p.get("ClusterType"),
        cluster_security_groups=p.get("ClusterSecurityGroups") or [],
        vpc_security_group_ids=p.get("VpcSecurityGroupIds") or [],
        cluster_subnet_group_name=getattr(subnet_group, "cluster_subnet_group_name", subnet_group),
        availability_zone=p.get("AvailabilityZone"), preferred_maintenance_window=p.get("PreferredMaintenanceWindow"),
        cluster_parameter_group_name=p.get("ClusterParameterGroupName"),
        automated_snapshot_retention_period=_int(p.get("AutomatedSnapshotRetentionPeriod")),
        port=_int(p.get("Port")), cluster_version=p.get("ClusterVersion"),
        allow_version_upgrade=_bool(p.get("AllowVersionUpgrade"), True), number_of_nodes=_int(p.get("NumberOfNodes")),
        publicly_accessible=_bool(p.get("PubliclyAccessible")), encrypted=_bool(p.get("Encrypted")),
        region_name=ctx.region, tags=ctx.tags(p.get("Tags")), iam_roles_arn=list(p.get("IamRoles") or []),
        enhanced_vpc_routing=_bool(p.get("EnhancedVpcRouting")), kms_key_id=p.get("KmsKeyId"),
    )
    ctx.undo.append(lambda: _drop_cluster(backend, cluster, ctx))
    redshift.start_cluster(backend, cluster, managed, password, p.get("DefaultIamRoleArn"), ctx.account, ctx.region)
    logging = p.get("LoggingProperties")
    if logging:
        _only("LoggingProperties", logging, ("LogDestinationType", "LogExports", "BucketName", "S3KeyPrefix"))
        redshift_config.enable_cluster_logging(
            backend, cluster, ctx.account, logging.get("LogDestinationType"), logging.get("BucketName"),
            logging.get("S3KeyPrefix"), logging.get("LogExports"))
    return cluster


def _drop_cluster(backend, cluster, ctx):
    if cluster.cluster_identifier in backend.clusters:
        backend.delete_cluster(cluster_identifier=cluster.cluster_identifier, skip_final_snapshot=True,
                               final_cluster_snapshot_identifier=None)
    redshift.stop_cluster(cluster, ctx.account, ctx.region)


def delete_cluster(cluster, ctx):
    """DeleteCluster (no final snapshot: the type's default DeletionPolicy is Delete)."""
    _drop_cluster(_redshift(ctx), cluster, ctx)


# -- the types, their properties, their creators and deleters -------------------------------------

# type: (creator, deleter, the properties the creator applies)
CREATORS = {
    "AWS::S3::Bucket": (create_bucket, delete_bucket, (
        "BucketName", "BucketEncryption", "PublicAccessBlockConfiguration", "OwnershipControls",
        "VersioningConfiguration", "LifecycleConfiguration", "LoggingConfiguration", "Tags")),
    "AWS::S3::BucketPolicy": (create_bucket_policy, delete_bucket_policy, ("Bucket", "PolicyDocument")),
    "AWS::KMS::Key": (create_key, delete_key, (
        "Description", "KeyPolicy", "EnableKeyRotation", "RotationPeriodInDays", "Enabled", "KeyUsage", "KeySpec",
        "MultiRegion", "PendingWindowInDays", "BypassPolicyLockoutSafetyCheck", "Tags")),
    "AWS::KMS::Alias": (create_alias, delete_alias, ("AliasName", "TargetKeyId")),
    "AWS::IAM::Role": (create_role, delete_role, (
        "RoleName", "Path", "AssumeRolePolicyDocument", "Policies", "ManagedPolicyArns", "Description",
        "MaxSessionDuration", "PermissionsBoundary", "Tags")),
    "AWS::Kinesis::Stream": (create_stream, delete_stream, (
        "Name", "StreamModeDetails", "ShardCount", "RetentionPeriodHours", "StreamEncryption", "Tags")),
    "AWS::DynamoDB::Table": (create_table, delete_table, (
        "TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
        "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
        "PointInTimeRecoverySpecification", "SSESpecification", "TimeToLiveSpecification",
        "DeletionProtectionEnabled", "Tags")),
    "AWS::SNS::Topic": (create_topic, delete_topic, (
        "TopicName", "DisplayName", "KmsMasterKeyId", "FifoTopic", "Subscription", "Tags")),
    "AWS::SNS::TopicPolicy": (create_topic_policy, delete_topic_policy, ("Topics", "PolicyDocument")),
    "AWS::SNS::Subscription": (create_subscription, delete_subscription, (
        "TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope")),
    "AWS::Logs::LogGroup": (create_log_group, delete_log_group, ("LogGroupName", "RetentionInDays", "KmsKeyId", "Tags")),
    "AWS::Lambda::Function": (create_function, delete_function, (
        "FunctionName", "Role", "Runtime", "Handler", "Architectures", "MemorySize", "Timeout",
        "ReservedConcurrentExecutions", "Environment", "Code", "Description", "Layers", "TracingConfig",
        "EphemeralStorage", "Tags")),
    "AWS::Lambda::EventSourceMapping": (create_event_source_mapping, delete_event_source_mapping,
                                        ESM_PROPERTIES + ("Tags",)),
    "AWS::Lambda::Permission": (create_permission, delete_permission, (
        "FunctionName", "Action", "Principal", "SourceArn", "SourceAccount")),
    "AWS::Redshift::ClusterParameterGroup": (create_parameter_group, delete_parameter_group, (
        "ParameterGroupName", "ParameterGroupFamily", "Description", "Parameters", "Tags")),
    "AWS::Redshift::Cluster": (create_cluster, delete_cluster, (
        "ClusterIdentifier", "NodeType", "ClusterType", "NumberOfNodes", "DBName", "MasterUsername",
        "MasterUserPassword", "ManageMasterPassword", "Encrypted", "KmsKeyId", "PubliclyAccessible", "IamRoles",
        "DefaultIamRoleArn", "ClusterParameterGroupName", "Port", "LoggingProperties", "Tags",
        "AllowVersionUpgrade", "AutomatedSnapshotRetentionPeriod", "AvailabilityZone", "ClusterVersion",
        "ClusterSubnetGroupName", "ClusterSecurityGroups", "VpcSecurityGroupIds", "EnhancedVpcRouting",
        "PreferredMaintenanceWindow")),
}

# The types moto has no model for, made here.
MODELS = {}


def _refusal(template, region):
    """Why CreateStack refuses the template's resources, or None: unknown types (AWS's
    answer), types moto cannot create, properties the emulator does not apply."""
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict):
        return None
    known, models = registry_types(region), get_model_map()
    unknown, unemulated, properties = [], [], []
    for logical, resource in resources.items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            continue
        if kind in models or kind in NULL_MODELS or kind.startswith("Custom::"):
            handled = CREATORS.get(kind)
            props = resource.get("Properties")
            if handled and isinstance(props, dict):
                properties += [f"{kind}.{p} ({logical})" for p in props if p not in handled[2]]
            continue
        bucket = unemulated if kind in known or kind.startswith("AWS::Serverless::") else unknown
        if kind not in bucket:
            bucket.append(kind)
    if unknown:
        return f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]"
    if unemulated:
        return ("The emulator cannot create these resource types (moto has no CloudFormation support for "
                f"them): [{', '.join(unemulated)}]")
    if properties:
        return f"The emulator cannot apply these properties: [{', '.join(properties)}]"
    return None


# -- installing -----------------------------------------------------------------------------------


def _creator(resource_type, create):
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        ctx = _context_for(kwargs, resource_type, account_id, region_name)
        properties = cloudformation_json.get("Properties") or {}
        ctx.undo = []
        try:
            return create(resource_name, properties, ctx)
        except Exception:
            for undo in reversed(ctx.undo):
                try:
                    undo()
                except Exception:
                    pass
            raise

    return classmethod(create_from_cloudformation_json)


def install_types():
    """Each type's creator in its moto model (a new model where moto has none)."""
    from moto.cloudformation import parsing

    if MODELS:
        return
    for make in (_bucket_policy_model, _topic_policy_model, _subscription_model):
        model = make()
        MODELS[model.cloudformation_type()] = model
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    models = parsing.get_model_map()
    for resource_type, (create, _, _) in CREATORS.items():
        model = models[resource_type]
        model.create_from_cloudformation_json = _creator(resource_type, create)
    # A Ref to a Redshift parameter group or cluster answers its name (moto's models have none).
    models["AWS::Redshift::ClusterParameterGroup"].physical_resource_id = property(lambda self: self.name)
    models["AWS::Redshift::Cluster"].physical_resource_id = property(lambda self: self.cluster_identifier)


def _references(node, into=None):
    """The logical IDs a resource's JSON names (Ref, Fn::GetAtt, Fn::Sub, DependsOn)."""
    import re

    into = set() if into is None else into
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                into.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) and value else value
                if isinstance(target, str):
                    into.add(target.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    into.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
                _references(value, into)
            elif key == "DependsOn":
                into.update([value] if isinstance(value, str) else value or [])
            else:
                _references(value, into)
    elif isinstance(node, list):
        for item in node:
            _references(item, into)
    return into


def _stack(resources_map, account, region):
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[account][region].stacks.get(resources_map.stack_id)


def _event(stack, logical_id, physical_id, resource_type, status, reason=None):
    from moto.cloudformation.models import Event

    stack.events.append(Event(stack.stack_id, stack.name, logical_id, physical_id or "", resource_type, status,
                              reason, None))


def install_resource_map():
    """Creation with its context, failures, events; ordered deletion; closed maps."""
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import CloudFormationError

    if getattr(parsing.parse_and_create_resource, "_ecomflow", False):
        return
    create = parsing.parse_and_create_resource

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        resource_type = resource_json.get("Type")
        stack_tags = {k: v for k, v in (resources_map.tags or {}).items() if not str(k).lower().startswith("aws:")}
        ctx = Creating(logical_id, resource_type, resources_map.stack_id, resources_map["AWS::StackName"],
                       stack_tags, account_id, region_name)
        stack = _stack(resources_map, account_id, region_name)
        contexts = _contexts()
        contexts.append(ctx)
        try:
            resource = create(logical_id, resource_json, resources_map, account_id, region_name)
        except (ResourceFailed, CloudFormationError):
            raise
        except Exception as error:
            raise ResourceFailed(logical_id, resource_type, _reason(error)) from error
        finally:
            contexts.pop()
        if resource is not None and stack is not None:
            physical = getattr(resource, "physical_resource_id", None)
            _event(stack, logical_id, None, resource_type, "CREATE_IN_PROGRESS")
            _event(stack, logical_id, physical, resource_type, "CREATE_COMPLETE")
        return resource

    parse_and_create_resource._ecomflow = True
    parsing.parse_and_create_resource = parse_and_create_resource

    ResourceMap = parsing.ResourceMap
    delete_one = ResourceMap._delete_resource

    def _delete_resource(self, parsed_resource, resource_json):
        resource_type = getattr(parsed_resource, "cf_resource_type", None) or resource_json.get("Type")
        handled = CREATORS.get(resource_type)
        if handled is None:
            return delete_one(self, parsed_resource, resource_json)
        ctx = Creating(getattr(parsed_resource, "logical_resource_id", ""), resource_type, self.stack_id,
                       None, {}, self._account_id, self._region_name)
        handled[1](parsed_resource, ctx)

    def delete(self, rollback=False):
        """Resources deleted in reverse dependency order; the first that fails stops it."""
        resources = self._resource_json_map
        kept = ("Retain",) if rollback else ("Retain", "RetainExceptOnCreate")
        remaining = [k for k, v in resources.items() if not (isinstance(v, dict) and v.get("DeletionPolicy") in kept)]
        names = set(resources)
        needs = {k: (_references(v) & names) - {k} for k, v in resources.items()}
        while remaining:
            ready = [k for k in remaining if not any(k in needs[o] for o in remaining if o != k)] or list(remaining)
            for logical in ready:
                parsed = self._parsed_resources.get(logical)
                if parsed is not None and hasattr(parsed, "cf_resource_type"):
                    try:
                        self._delete_resource(parsed, resources[logical])
                    except Exception as error:
                        raise ResourceFailed(logical, resources[logical].get("Type"), _reason(error)) from error
                    self._parsed_resources.pop(logical, None)
                remaining.remove(logical)

    getitem, iterate = ResourceMap.__getitem__, ResourceMap.__iter__

    def __getitem__(self, key):
        if getattr(self, "_ecomflow_closed", False) and key in self._resource_json_map \
                and key not in self._parsed_resources:
            raise KeyError(key)  # deleted: never made again
        return getitem(self, key)

    def __iter__(self):
        if getattr(self, "_ecomflow_closed", False):
            return iter([k for k in self._resource_json_map if k in self._parsed_resources])
        return iterate(self)

    ResourceMap._delete_resource = _delete_resource
    ResourceMap.delete = delete
    ResourceMap.__getitem__ = __getitem__
    ResourceMap.__iter__ = __iter__


def _close(stack):
    """A stack whose resources are gone: nothing is made again for its outputs."""
    from moto.cloudformation.parsing import OutputMap

    stack.resource_map._ecomflow_closed = True
    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)


def _failed_create(backend, stack, failed):
    """CREATE_FAILED, then the failure option: ROLLBACK (default), DO_NOTHING or DELETE."""
    _event(stack, failed.logical_id, None, failed.resource_type, "CREATE_FAILED", failed.reason)
    _close(stack)  # what was made stays until deleted; nothing more is made
    reason = f"The following resource(s) failed to create: [{failed.logical_id}]. "
    mode = getattr(_local, "on_failure", None) or "ROLLBACK"
    if mode == "DO_NOTHING":
        stack.status, stack.status_reason = "CREATE_FAILED", reason
        stack._add_stack_event("CREATE_FAILED", reason)
        return
    stack.status = "ROLLBACK_IN_PROGRESS"
    stack.status_reason = reason + "Rollback requested by user."
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", stack.status_reason)
    for name in [e.name for e in backend.exports.values() if e.exporting_stack_id == stack.stack_id]:
        backend.exports.pop(name, None)
    try:
        stack.resource_map.delete(rollback=True)
    except ResourceFailed as error:
        _event(stack, error.logical_id, None, error.resource_type, "DELETE_FAILED", error.reason)
        stack.status = "ROLLBACK_FAILED"
        stack.status_reason = f"The following resource(s) failed to delete: [{error.logical_id}]. "
        stack._add_stack_event("ROLLBACK_FAILED", stack.status_reason)
        return
    stack.status, stack.status_reason = "ROLLBACK_COMPLETE", None
    stack._add_stack_event("ROLLBACK_COMPLETE")
    if mode == "DELETE":
        stack._add_stack_event("DELETE_IN_PROGRESS")
        stack.status = "DELETE_COMPLETE"
        stack._add_stack_event("DELETE_COMPLETE")
        backend.stacks.pop(stack.stack_id, None)
        backend.deleted_stacks[stack.stack_id] = stack


def install_stack_operations():
    """The checks and failure handling of CreateStack, UpdateStack, CreateChangeSet, DeleteStack."""
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse

    if getattr(CloudFormationBackend.create_stack, "_ecomflow", False):
        return

    def check(backend, template):
        if template is None:
            return
        try:
            parsed = Stack.parse_template(template) if isinstance(template, str) else template
        except Exception:
            return  # moto answers what it cannot parse
        refusal = _refusal(parsed, backend.region_name)
        if refusal:
            raise _validation(refusal)

    create, update, change_set = (CloudFormationBackend.create_stack, CloudFormationBackend.update_stack,
                                  CloudFormationBackend.create_change_set)

    def create_stack(self, *args, **kwargs):
        name = kwargs.get("name", args[0] if args else None)
        check(self, kwargs.get("template", args[1] if len(args) > 1 else None))

        def this_stack():
            return next((s for s in self.stacks.values() if s.name == name and s.status in (
                "CREATE_PENDING", "CREATE_IN_PROGRESS")), None)

        try:
            return create(self, *args, **kwargs)
        except ResourceFailed as failed:
            stack = this_stack()
            if stack is None:
                raise _validation(failed.reason)
            _failed_create(self, stack, failed)
            return stack
        except Exception:
            # A template error (a Fn::GetAtt of nothing...): answered as an error, as AWS
            # answers it, with nothing made.
            stack = this_stack()
            if stack is not None:
                try:
                    stack.resource_map.delete(rollback=True)
                except Exception:
                    pass
                self.stacks.pop(stack.stack_id, None)
                for export in [e.name for e in self.exports.values() if e.exporting_stack_id == stack.stack_id]:
                    self.exports.pop(export, None)
            raise

    def update_stack(self, *args, **kwargs):
        check(self, kwargs.get("template", args[1] if len(args) > 1 else None))
        return update(self, *args, **kwargs)

    def create_change_set(self, *args, **kwargs):
        check(self, kwargs.get("template", args[2] if len(args) > 2 else None))
        return change_set(self, *args, **kwargs)

    create_stack._ecomflow = True
    CloudFormationBackend.create_stack = create_stack
    CloudFormationBackend.update_stack = update_stack
    CloudFormationBackend.create_change_set = create_change_set

    def stack_delete(self):
        self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        try:
            self.resource_map.delete()
        except ResourceFailed as failed:
            _event(self, failed.logical_id, None, failed.resource_type, "DELETE_FAILED", failed.reason)
            self.status = "DELETE_FAILED"
            self.status_reason = f"The following resource(s) failed to delete: [{failed.logical_id}]. "
            self._add_stack_event("DELETE_FAILED", self.status_reason)
            self._ecomflow_delete_failed = True
            return
        _close(self)
        self._add_stack_event("DELETE_COMPLETE")
        self.status, self.status_reason = "DELETE_COMPLETE", None

    Stack.delete = stack_delete
    delete = CloudFormationBackend.delete_stack

    def delete_stack(self, name_or_stack_id):
        delete(self, name_or_stack_id)
        for stack_id, stack in list(self.deleted_stacks.items()):
            if getattr(stack, "_ecomflow_delete_failed", False):
                # DELETE_FAILED: the stack stays, to be deleted again.
                stack._ecomflow_delete_failed = False
                self.deleted_stacks.pop(stack_id)
                self.stacks[stack_id] = stack

    CloudFormationBackend.delete_stack = delete_stack

    # The request's failure option and caller, for the resources it creates.
    respond = CloudFormationResponse.create_stack

    def respond_create_stack(self):
        on_failure = self._get_param("OnFailure")
        if on_failure is None and self._get_bool_param("DisableRollback", False):
            on_failure = "DO_NOTHING"
        _local.on_failure, _local.request = on_failure, self
        try:
            return respond(self)
        finally:
            _local.on_failure = _local.request = None

    CloudFormationResponse.create_stack = respond_create_stack


# -- ValidateTemplate -----------------------------------------------------------------------------

# The resource types CreateStack's Capabilities parameter names as needing CAPABILITY_IAM or
# CAPABILITY_NAMED_IAM (API_CreateStack), and the property that gives each a custom name, which
# makes CAPABILITY_NAMED_IAM the one required (AWS::IAM::AccessKey, Policy and
# UserToGroupAddition have no name of their own).
IAM_TYPES = ("AWS::IAM::AccessKey", "AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy",
             "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::UserToGroupAddition")
IAM_NAMES = {"AWS::IAM::Group": "GroupName", "AWS::IAM::InstanceProfile": "InstanceProfileName",
             "AWS::IAM::ManagedPolicy": "ManagedPolicyName", "AWS::IAM::Role": "RoleName",
             "AWS::IAM::User": "UserName"}


@functools.lru_cache(maxsize=None)
def _text_loader():
    """A YAML loader that keeps every plain scalar as written (a parameter's `Default: 10` is the
    string "10", as CloudFormation reads it) and reads the short-form tags (`!Ref`, `!Sub` ...)
    as moto does."""
    import yaml
    from moto.cloudformation.utils import yaml_tag_constructor

    class TextLoader(yaml.SafeLoader):
        pass

    TextLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:merge"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    TextLoader.add_multi_constructor("!", yaml_tag_constructor)
    return TextLoader


def _template_dict(body):
    """The template as a dict: JSON first, then YAML, as CloudFormation reads it; None otherwise."""
    import yaml

    try:
        parsed = json.loads(body)
    except ValueError:
        try:
            parsed = yaml.load(body, Loader=_text_loader())
        except yaml.YAMLError:
            return None
    return parsed if isinstance(parsed, dict) else None


def _as_text(value):
    """A template value as CloudFormation's API reports it (a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_text(v) for v in value)
    return str(value)


def template_summary(template):
    """What ValidateTemplate answers of a parsed template: Parameters (TemplateParameter:
    ParameterKey, DefaultValue when given, NoEcho, Description when given), Description,
    Capabilities and CapabilitiesReason (IAM resources), DeclaredTransforms.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_TemplateParameter.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/control-access-with-iam.html#using-iam-capabilities
    """
    template = template if isinstance(template, dict) else {}
    parameters = []
    declared = template.get("Parameters")
    for key, spec in (declared.items() if isinstance(declared, dict) else []):
        spec = spec if isinstance(spec, dict) else {}
        parameter = {"ParameterKey": key}
        if spec.get("Default") is not None:
            parameter["DefaultValue"] = _as_text(spec["Default"])
        parameter["NoEcho"] = _as_text(spec.get("NoEcho", False)).lower() == "true"
        if spec.get("Description") is not None:
            parameter["Description"] = _as_text(spec["Description"])
        parameters.append(parameter)
    result = {"Parameters": parameters}
    if isinstance(template.get("Description"), str):
        result["Description"] = template["Description"]
    iam, named = set(), False
    resources = template.get("Resources")
    for resource in (resources.values() if isinstance(resources, dict) else []):
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind in IAM_TYPES:
            iam.add(kind)
            properties = resource.get("Properties")
            if kind in IAM_NAMES and isinstance(properties, dict) and properties.get(IAM_NAMES[kind]) is not None:
                named = True
    result["Capabilities"] = ["CAPABILITY_NAMED_IAM"] if named else ["CAPABILITY_IAM"] if iam else []
    if iam:
        result["CapabilitiesReason"] = f"The following resource(s) require capabilities: [{', '.join(sorted(iam))}]"
    transforms = template.get("Transform")
    transforms = transforms if isinstance(transforms, list) else [transforms]
    result["DeclaredTransforms"] = [t for t in transforms if isinstance(t, str)]
    return result


def install_validate_template():
    """ValidateTemplate: moto's check (the body, or TemplateURL's object, through cfn-lint; an
    error refuses it with cfn-lint's message, where moto also refused a warning such as an unused
    parameter, its message garbled as "Stack with id ... does not exist"), then AWS's answer of the
    template (`template_summary`), where moto answered no parameters and no capabilities whatever
    the template said."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    if getattr(CloudFormationResponse.validate_template, "_ecomflow", False):
        return

    def validate_template(self):
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        if url:
            body = self._get_stack_from_s3_url(url)
        errors = [m for m in self.cloudformation_backend.validate_template(body)
                  if str(getattr(getattr(m, "rule", None), "id", "E")).startswith("E")]
        if errors:
            raise ValidationError(message=errors[0].message)
        return ActionResult(template_summary(_template_dict(body)))

    validate_template._ecomflow = True
    CloudFormationResponse.validate_template = validate_template


# -- template size --------------------------------------------------------------------------------

# The largest TemplateBody a request may carry. The quotas page says "51,200 bytes", but AWS
# refuses a larger one in its request validation, with the message of a length constraint on the
# request model's `templateBody` string ("Member must have length less than or equal to 51200"),
# and such a constraint on a string counts characters (Unicode scalar values, as Smithy's length
# trait defines it), not UTF-8 bytes. No AWS page or public report measures a non-ASCII body, so
# this follows the mechanism the error shows: `len()` of the decoded text. For an ASCII template
# (JSON or YAML as the tool writes them) bytes and characters are the same number.
TEMPLATE_BODY_MAX = 51200
# The largest template a TemplateURL object may hold: "1 MB" on the quotas page, which AWS counts
# as 1,000,000 bytes of the object; its refusal says so ("Template may not exceed 1000000 bytes in
# size.", the form reported when the limit was 460,800; cfn-lint, AWS's linter, uses 1,000,000 too).
TEMPLATE_URL_MAX = 1000000
# The calls whose TemplateBody AWS limits to TEMPLATE_BODY_MAX (each API reference page).
TEMPLATE_BODY_CALLS = ("create_stack", "update_stack", "create_change_set", "validate_template")


def template_body_refusal(body):
    """AWS's refusal of an oversized TemplateBody, or None.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
    """
    if not isinstance(body, str) or len(body) <= TEMPLATE_BODY_MAX:
        return None
    return (f"1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy constraint: "
            f"Member must have length less than or equal to {TEMPLATE_BODY_MAX}")


def install_template_size():
    """CreateStack, UpdateStack, CreateChangeSet and ValidateTemplate refuse a TemplateBody over
    51,200 characters before anything else (AWS's request validation); a TemplateURL object over
    1,000,000 bytes is refused wherever one is read. moto took any size.

    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_UpdateStack.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ValidateTemplate.html
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse

    if getattr(CloudFormationResponse._get_stack_from_s3_url, "_ecomflow", False):
        return

    def limited(respond):
        def call(self):
            refusal = template_body_refusal(self._get_param("TemplateBody"))
            if refusal:
                raise ValidationError(message=refusal)
            return respond(self)

        return call

    for name in TEMPLATE_BODY_CALLS:
        setattr(CloudFormationResponse, name, limited(getattr(CloudFormationResponse, name)))

    fetch = CloudFormationResponse._get_stack_from_s3_url

    def get_stack_from_s3_url(self, template_url):
        body = fetch(self, template_url)
        if len(body.encode("utf-8")) > TEMPLATE_URL_MAX:
            raise ValidationError(message=f"Template may not exceed {TEMPLATE_URL_MAX} bytes in size.")
        return body

    get_stack_from_s3_url._ecomflow = True
    CloudFormationResponse._get_stack_from_s3_url = get_stack_from_s3_url


def install():
    install_types()
    install_resource_map()
    install_stack_operations()
    install_validate_template()
    install_template_size()
