"""KMS: the key operations the tool calls, answered as AWS's API reference says, and the key
look-up the S3 and Firehose rules use (`find_key`).

Where moto 5.2.1 differs from AWS, here:

- AWS managed keys: `alias/aws/sns` (and `aws/sqs`, `aws/kinesis`) name the account's AWS
  managed key, made on first use, KeyManager `AWS`, its rotation always on. moto knew no
  `aws/sns` (DescribeKey answered NotFoundException) and made the keys it knew CUSTOMER ones.
  https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key
  https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
- CreateKey without KeyUsage or MultiRegion: ENCRYPT_DECRYPT and false (moto left both out).
  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
- DisableKey, EnableKey, CancelKeyDeletion take a key ARN as well as a key ID (moto failed).
  https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKey.html
- GetKeyPolicy / PutKeyPolicy: PolicyName is optional (`default`); GetKeyPolicy answers it.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html
  https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
- CreateKey / PutKeyPolicy refuse a key policy (MalformedPolicyDocumentException, HTTP 400)
  whose principals do not exist ("Policy contains a statement with one or more invalid
  principals.": a role, user or role session ARN of this account that IAM does not know, a
  wildcard inside an ARN), or, unless BypassPolicyLockoutSafetyCheck, that does not allow the
  caller a later PutKeyPolicy ("The new key policy will not allow you to update the key
  policy in the future."). The caller is the role of a role session, else the account (the
  tool's own keys); a statement naming the account (`<id>` or its `:root` ARN) covers both.
  Principals of other accounts are not checked: the emulator cannot know them.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html (Policy)
  https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html (Policy)
  https://repost.aws/knowledge-center/kms-policy-error-invalid-principals
- ScheduleKeyDeletion: PendingWindowInDays 7..30, default 30 (moto answered 200 and did
  nothing outside it): ValidationException; a key already pending deletion:
  KMSInvalidStateException; the answer has KeyId (the key ARN), DeletionDate, KeyState and
  PendingWindowInDays.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
- CreateAlias refuses every `alias/aws/` name ("reserved for AWS managed keys"), not only
  those moto knew: NotAuthorizedException, moto's answer for those.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
- Key states, for the operations the tool calls: CreateAlias, TagResource, UntagResource,
  Enable/DisableKeyRotation and ScheduleKeyDeletion on a key pending deletion:
  KMSInvalidStateException "<key ARN> is pending deletion."; Enable/DisableKeyRotation on a
  disabled key: DisabledException "<key ARN> is disabled.".
  https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
- EnableKeyRotation keeps RotationPeriodInDays (90..2560, default 365); GetKeyRotationStatus
  answers KeyId, RotationPeriodInDays and NextRotationDate with KeyRotationEnabled.
  https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
  https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html
"""

import json
from datetime import timedelta

from . import iam_eval

# AWS managed keys of the services the stack uses, besides those moto already knows.
AWS_MANAGED_ALIASES = {
    "alias/aws/sns": "6c1c4d54-9d0c-4f51-8c0b-3b1f3c0e5a01",
    "alias/aws/sqs": "0b2f8a3e-7a41-4c3e-9b5e-1d6f2e4c8a02",
    "alias/aws/kinesis": "a4e3c2b1-5d6f-4e8a-9c0b-7f1e2d3c4b03",
}

INVALID_PRINCIPALS = "Policy contains a statement with one or more invalid principals."
LOCKOUT = "The new key policy will not allow you to update the key policy in the future."
DEFAULT_ROTATION_DAYS = 365


def _error(code, message):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _validation(value, member, constraint):
    # The form AWS's JSON services give a constraint's refusal; the KMS pages name the range,
    # not the message's wording.
    return _error(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}",
    )


def find_key(reference, account, region):
    """The key a KmsMasterKeyId / KeyARN names (key ID, key ARN, alias name or alias ARN), in
    the account and region its ARN names, else the given ones; None when there is none. An
    AWS managed alias makes its key, as AWS does on first use."""
    from moto.kms.models import kms_backends

    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        if len(parts) < 6:
            return None
        region, account = parts[3], parts[4]
    backend = kms_backends[account][region]
    try:
        return backend.keys.get(backend.any_id_to_key_id(reference))
    except (AttributeError, KeyError, TypeError):
        return None


def is_aws_managed(reference, key):
    alias = reference.rsplit(":", 1)[-1] if reference.startswith("arn:") else reference
    return alias.startswith("alias/aws/") or (key is not None and key.key_manager == "AWS")


# -- key policy checks (CreateKey, PutKeyPolicy) ---------------------------------------------


def _statements(policy):
    try:
        document = json.loads(policy)
    except (TypeError, ValueError):
        return None  # moto keeps what it cannot parse, as before
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return [s for s in statements or [] if isinstance(s, dict)]


def _aws_principals(statement):
    principal = statement.get("Principal")
    if not isinstance(principal, dict):
        return []
    values = principal.get("AWS")
    return values if isinstance(values, list) else [values] if values is not None else []


def _principal_exists(value, account, partition):
    """Whether an `AWS` principal names something IAM has: `*`, an account, its root, a role
    or user of the key's account (or a session of such a role); another account's principals
    are taken as they are."""
    from moto.iam.models import iam_backends

    if not isinstance(value, str):
        return False
    if value == "*" or (value.isdigit() and len(value) == 12):
        return True
    parts = value.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
        return False
    owner, resource = parts[4], parts[5]
    if "*" in resource or "?" in resource:
        return False  # no wildcard in the resource part of a principal's ARN
    if owner != account:
        return True
    iam = iam_backends[account][partition]
    if parts[2] == "iam" and resource == "root":
        return True
    if parts[2] == "iam" and resource.startswith("role/"):
        return any(role.arn == value for role in iam.roles.values())
    if parts[2] == "iam" and resource.startswith("user/"):
        return any(user.arn == value for user in iam.users.values())
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        name = resource.split("/")[1] if resource.count("/") >= 2 else ""
        return any(role.name == name for role in iam.roles.values())
    return False


def _caller(response):
    """(account, principal ARNs, aws:PrincipalArn) of the call: a role session's role and
    session, else the account's root (the tool's own keys)."""
    key_id = iam_eval.signing_key(response.headers, response.querystring)
    session = iam_eval.session_of(key_id, response.partition) if key_id else None
    if session is not None:
        return session.account, {session.role_arn, session.arn}, session.role_arn
    root = f"arn:{response.partition}:iam::{response.current_account}:root"
    return response.current_account, {root}, root


def _covers(statement, account, arns, partition):
    principal = statement.get("Principal")
    if principal == "*":
        return True
    root = f"arn:{partition}:iam::{account}:root"
    return any(v in ("*", account, root) or v in arns for v in _aws_principals(statement))


def check_key_policy(response, policy, key_arn, bypass_lockout):
    """Raise MalformedPolicyDocumentException as KMS does for CreateKey / PutKeyPolicy."""
    statements = _statements(policy) if policy is not None else None
    if statements is None:
        return
    account = response.current_account
    for statement in statements:
        for value in _aws_principals(statement):
            if not _principal_exists(value, account, response.partition):
                raise _error("MalformedPolicyDocumentException", INVALID_PRINCIPALS)
    if bypass_lockout:
        return
    caller_account, arns, principal_arn = _caller(response)
    covering = [s for s in statements if _covers(s, caller_account, arns, response.partition)]
    context = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": caller_account,
        "kms:CallerAccount": caller_account,
    }
    decision = iam_eval.evaluate([{"Statement": covering}], "kms:PutKeyPolicy", key_arn, context)
    if decision != iam_eval.ALLOWED:
        raise _error("MalformedPolicyDocumentException", LOCKOUT)


# -- moto hooks -----------------------------------------------------------------------------


def _key(response, key_id):
    """The key a request names by key ID or key ARN (moto's own check refuses the rest)."""
    response._validate_cmk_id(key_id)
    backend = response.kms_backend
    return backend.keys[backend.get_key_id(key_id)]


def _refuse_state(key, disabled_too=False):
    if key.key_state == "PendingDeletion":
        raise _error("KMSInvalidStateException", f"{key.arn} is pending deletion.")
    if disabled_too and key.key_state == "Disabled":
        raise _error("DisabledException", f"{key.arn} is disabled.")


def _aws_managed_keys():
    from moto.kms import utils
    from moto.kms.models import KmsBackend

    for alias, target in AWS_MANAGED_ALIASES.items():
        if alias not in utils.RESERVED_ALIASE_TARGET_KEY_IDS:
            utils.RESERVED_ALIASE_TARGET_KEY_IDS[alias] = target
            utils.RESERVED_ALIASES.append(alias)  # the list moto's modules imported
    generate = KmsBackend._generate_default_keys

    def generate_default_keys(self, alias_name):
        key_id = generate(self, alias_name)
        if key_id is not None:
            self.keys[key_id].key_manager = "AWS"
            self.keys[key_id].key_rotation_status = True
        return key_id

    KmsBackend._generate_default_keys = generate_default_keys

    create = KmsBackend.create_key

    def create_key(self, policy, key_usage, key_spec, description, tags, multi_region=False,
                   origin="AWS_KMS"):
        return create(self, policy, key_usage or "ENCRYPT_DECRYPT", key_spec, description, tags,
                      bool(multi_region), origin or "AWS_KMS")

    KmsBackend.create_key = create_key

    # These took only a bare key ID (a key ARN was a KeyError, HTTP 500); AWS takes either.
    for name in ("disable_key", "enable_key", "cancel_key_deletion", "schedule_key_deletion"):
        def by_id_or_arn(self, key_id, *args, _moto=getattr(KmsBackend, name)):
            return _moto(self, self.get_key_id(key_id), *args)

        setattr(KmsBackend, name, by_id_or_arn)


def _responses():
    from moto.kms import responses
    from moto.core.utils import unix_time, utcnow
    from moto.kms.responses import KmsResponse

    def assert_default_policy(policy_name):
        if policy_name not in (None, "default"):
            raise responses.NotFoundException("No such policy exists")

    responses._assert_default_policy = assert_default_policy
    moto = {name: getattr(KmsResponse, name) for name in (
        "create_key", "put_key_policy", "get_key_policy", "create_alias", "tag_resource",
        "untag_resource", "enable_key_rotation", "disable_key_rotation",
        "get_key_rotation_status",
    )}

    def create_key(self):
        arn = f"arn:{self.partition}:kms:{self.region}:{self.current_account}:key/*"
        check_key_policy(self, self._get_param("Policy"), arn,
                         self._get_param("BypassPolicyLockoutSafetyCheck"))
        return moto["create_key"](self)

    def put_key_policy(self):
        key = _key(self, self._get_param("KeyId"))
        check_key_policy(self, self._get_param("Policy"), key.arn,
                         self._get_param("BypassPolicyLockoutSafetyCheck"))
        return moto["put_key_policy"](self)

    def get_key_policy(self):
        answer = json.loads(moto["get_key_policy"](self))
        answer["PolicyName"] = "default"
        return json.dumps(answer)

    def pending_deletion_refused(name, param):
        def operation(self):
            key_id = self._get_param(param)
            backend = self.kms_backend
            key = backend.keys.get(backend.get_key_id(key_id)) if key_id else None
            if key is not None:
                _refuse_state(key)
            return moto[name](self)

        return operation

    def enable_key_rotation(self):
        key = _key(self, self._get_param("KeyId"))
        _refuse_state(key, disabled_too=True)
        days = self._get_param("RotationPeriodInDays")
        if days is not None and not 90 <= days <= 2560:
            raise _validation(days, "rotationPeriodInDays",
                              "Member must have value between 90 and 2560")
        key.rotation_period_in_days = days or DEFAULT_ROTATION_DAYS
        key.next_rotation_date = utcnow() + timedelta(days=key.rotation_period_in_days)
        return moto["enable_key_rotation"](self)

    def disable_key_rotation(self):
        _refuse_state(_key(self, self._get_param("KeyId")), disabled_too=True)
        return moto["disable_key_rotation"](self)

    def get_key_rotation_status(self):
        key = _key(self, self._get_param("KeyId"))
        answer = json.loads(moto["get_key_rotation_status"](self))
        answer["KeyId"] = key.id
        if answer.get("KeyRotationEnabled"):
            days = getattr(key, "rotation_period_in_days", DEFAULT_ROTATION_DAYS)
            answer["RotationPeriodInDays"] = days
            nxt = getattr(key, "next_rotation_date", None) or utcnow() + timedelta(days=days)
            answer["NextRotationDate"] = unix_time(nxt)
        return json.dumps(answer)

    def schedule_key_deletion(self):
        key = _key(self, self._get_param("KeyId"))
        days = self._get_param("PendingWindowInDays")
        days = 30 if days is None else days
        if not 7 <= days <= 30:
            raise _validation(days, "pendingWindowInDays",
                              "Member must have value between 7 and 30")
        _refuse_state(key)
        deletion = self.kms_backend.schedule_key_deletion(key.id, days)
        return json.dumps({"KeyId": key.arn, "DeletionDate": deletion,
                           "KeyState": "PendingDeletion", "PendingWindowInDays": days})

    KmsResponse.create_key = create_key
    KmsResponse.put_key_policy = put_key_policy
    KmsResponse.get_key_policy = get_key_policy
    create_alias_checked = pending_deletion_refused("create_alias", "TargetKeyId")

    def create_alias(self):
        if str(self._get_param("AliasName") or "").startswith("alias/aws/"):
            raise responses.NotAuthorizedException()  # moto's answer for its reserved names
        return create_alias_checked(self)

    KmsResponse.create_alias = create_alias
    KmsResponse.tag_resource = pending_deletion_refused("tag_resource", "KeyId")
    KmsResponse.untag_resource = pending_deletion_refused("untag_resource", "KeyId")
    KmsResponse.enable_key_rotation = enable_key_rotation
    KmsResponse.disable_key_rotation = disable_key_rotation
    KmsResponse.get_key_rotation_status = get_key_rotation_status
    KmsResponse.schedule_key_deletion = schedule_key_deletion


_installed = []


def install():
    if _installed:
        return
    _installed.append(True)
    _aws_managed_keys()
    _responses()
