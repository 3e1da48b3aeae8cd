"""IAM evaluation, in moto_server, of calls signed with a role's temporary credentials.

moto answers every signed call whatever the caller's permissions. Here a call signed with an
access key that moto's STS issued through AssumeRole (`ASIA...`) is evaluated against the
role's identity-based policies before the operation runs, and refused as AWS refuses it; any
other call (the tool's own keys, the dummy `testing` keys, unsigned calls) is served as before.
`install()` puts the check in place; `evaluate()` is the evaluator alone, usable without moto.

The rules, each as AWS documents it:

- Decision: an explicit Deny in any applicable statement wins over every Allow; without an
  applicable Allow the request is implicitly denied (denied by default).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html
- Policies of an assumed-role session: the role's inline policies and the default versions of
  its attached managed policies. (No session policy, permissions boundary or SCP is modelled:
  moto's AssumeRole keeps a session policy but this project passes none.)
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- Action / NotAction: `prefix:Name`, `*` and `?` wildcards, prefix and name case-insensitive;
  NotAction matches every action except those listed.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- Resource / NotResource: ARNs, case-sensitive; `*` and `?` match within one colon-separated
  segment, except that a `*` ending a segment may match beyond the colons.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
- Condition: operators AND-ed, keys of one operator AND-ed, values of one key OR-ed (NOR for
  a negated operator). Condition key names are case-insensitive.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
- Operators: StringEquals/NotEquals(IgnoreCase), StringLike/NotLike (case-sensitive, `*` `?`),
  Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals}, Bool,
  ArnEquals/ArnLike (identical: each of the six colon-separated parts matched on its own, case
  sensitive, with wildcards) and ArnNotEquals/ArnNotLike, Null, and the `...IfExists` suffix.
  A key absent from the request makes the condition false, except for a negated operator
  (StringNotLike, ArnNotLike...), which is then true; `...IfExists` is true when the key is
  absent; `Null` tests presence.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
- Set qualifiers: `ForAllValues:` is true when every request value matches one policy value,
  and when the key is absent (or empty); `ForAnyValue:` is true when one request value matches
  one policy value, and false when the key is absent.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
- Context keys given: aws:SecureTransport ("false": the emulator is served over plain HTTP;
  "true" for every request when it runs with `--tls-terminated`, see `secure_transport`),
  aws:RequestedRegion, aws:PrincipalArn (the role's ARN for a role session),
  aws:PrincipalAccount, and s3:prefix on ListBucket when the request has a prefix.
  aws:SourceArn / aws:SourceAccount are only in a request a service makes on a resource's
  behalf, so a role session's own call never has them (a condition on them is then false,
  or true when negated, as above).
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
- Request mapping (action `<prefix>:<Operation>`, resource ARN), per the Service
  Authorization Reference: Kinesis stream ARN from StreamARN / StreamName / the stream a shard
  iterator names; DynamoDB table ARN (`/index/<name>` for a Query or Scan on an index), every
  table of a BatchWriteItem / BatchGetItem evaluated; Firehose delivery stream ARN; SNS topic
  ARN; S3 `arn:aws:s3:::bucket/key` for object operations and `arn:aws:s3:::bucket` for
  ListBucket (HeadBucket needs s3:ListBucket); Cognito user pool ARN. An operation not mapped
  is evaluated on resource `*` (so a policy scoped to ARNs does not allow it), never skipped.
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisdatastreams.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-specific-table-indexes.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesisfirehose.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
- Never evaluated: sts:GetCallerIdentity ("No permissions are required to perform this
  operation", even under an explicit deny), and the Cognito user-pool operations that AWS
  does not authorize with IAM (SignUp, InitiateAuth... authorized by the app client or the
  user's token).
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html
- The refusal: "User: <arn:aws:sts::<account>:assumed-role/<role>/<session>> is not authorized
  to perform: <action> on resource: <arn> because no identity-based policy allows the <action>
  action", or "... with an explicit deny in an identity-based policy".
  https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
  In each protocol's error form:
  - JSON services (Kinesis, Firehose...): HTTP 400, `{"__type": "AccessDeniedException",
    "message": ...}`; Kinesis lists "AccessDeniedException ... HTTP Status Code: 400" for its
    operations, e.g.
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DeleteResourcePolicy.html
  - DynamoDB: HTTP 400 AccessDeniedException
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html);
    the page gives the code, not the spelling, so `__type` is
    `com.amazon.coral.service#AccessDeniedException` with a `Message` member, as real DynamoDB
    answers are seen to be (SDKs keep what follows `#` and read either member).
  - SNS (query protocol): HTTP 403 `AuthorizationError` in an `ErrorResponse`, the code and
    status of SNS's service model (AuthorizationErrorException: code AuthorizationError,
    httpStatusCode 403), https://docs.aws.amazon.com/botocore/latest/reference/services/sns/client/exceptions/AuthorizationErrorException.html
  - Other query services: HTTP 403 `AccessDenied`; REST-JSON services: HTTP 403
    `AccessDeniedException` (x-amzn-ErrorType).
  - S3: HTTP 403 `AccessDenied`, resource quoted as S3 quotes it
    (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html).
    DeleteObjects evaluates every key; a refused key makes moto answer each key AccessDenied
    (S3 would refuse only that key).

Not modelled: policy variables (`${aws:username}`), Date and IpAddress operators, session
policies, resource-based policies (but `s3` evaluates bucket policies with this evaluator,
where moto evaluates them; topic policies stay moto's business), and
credential expiry. Each denied call also prints one line to stderr: role session, action,
resource, kind of deny.
"""

import json
import os
import re
import sys
from functools import lru_cache
from urllib.parse import unquote

# ---------------------------------------------------------------------------------------------
# The evaluator: pure functions over policy documents and a request.

ALLOWED = "allowed"
IMPLICIT_DENY = "implicit"
EXPLICIT_DENY = "explicit"


def _glob(pattern, *, ignore_case=False, colon_bound=False):
    """A regex for an IAM wildcard pattern. `colon_bound`: the Resource element's rule."""
    return _compiled(pattern, ignore_case, colon_bound)


@lru_cache(maxsize=4096)
def _compiled(pattern, ignore_case, colon_bound):
    out = []
    last = len(pattern) - 1
    for i, c in enumerate(pattern):
        if c == "*":
            ends_segment = i == last or pattern[i + 1] == ":"
            out.append(".*" if not colon_bound or ends_segment else "[^:]*")
        elif c == "?":
            out.append("[^:]" if colon_bound else ".")
        else:
            out.append(re.escape(c))
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(out) + r"\Z", flags)


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _arn_like(value, pattern):
    parts, wanted = value.split(":", 5), pattern.split(":", 5)
    if len(parts) != 6 or len(wanted) != 6:
        return False
    return all(_glob(w).match(p) for p, w in zip(parts, wanted))


def _numbers(value, pattern):
    try:
        return float(value), float(pattern)
    except (TypeError, ValueError):
        return None


def _numeric(compare):
    def match(value, pattern):
        pair = _numbers(value, pattern)
        return pair is not None and compare(*pair)

    return match


# Operator name -> (negated, does one request value match one policy value).
_OPERATORS = {
    "StringEquals": (False, lambda v, p: v == p),
    "StringNotEquals": (True, lambda v, p: v == p),
    "StringEqualsIgnoreCase": (False, lambda v, p: v.lower() == p.lower()),
    "StringNotEqualsIgnoreCase": (True, lambda v, p: v.lower() == p.lower()),
    "StringLike": (False, lambda v, p: _glob(p).match(v) is not None),
    "StringNotLike": (True, lambda v, p: _glob(p).match(v) is not None),
    "ArnEquals": (False, _arn_like),
    "ArnLike": (False, _arn_like),
    "ArnNotEquals": (True, _arn_like),
    "ArnNotLike": (True, _arn_like),
    "Bool": (False, lambda v, p: v.lower() == p.lower()),
    "NumericEquals": (False, _numeric(lambda a, b: a == b)),
    "NumericNotEquals": (True, _numeric(lambda a, b: a == b)),
    "NumericLessThan": (False, _numeric(lambda a, b: a < b)),
    "NumericLessThanEquals": (False, _numeric(lambda a, b: a <= b)),
    "NumericGreaterThan": (False, _numeric(lambda a, b: a > b)),
    "NumericGreaterThanEquals": (False, _numeric(lambda a, b: a >= b)),
}


class _Condition:
    __slots__ = ("qualifier", "if_exists", "operator", "key", "values")

    def __init__(self, operator, key, values):
        qualifier = None
        for prefix in ("ForAllValues:", "ForAnyValue:"):
            if operator.lower().startswith(prefix.lower()):
                qualifier = prefix[3:6].lower()  # "all" / "any"
                operator = operator[len(prefix):]
        if_exists = operator.endswith("IfExists") and operator != "IfExists"
        if if_exists:
            operator = operator[: -len("IfExists")]
        self.qualifier = qualifier
        self.if_exists = if_exists
        self.operator = operator
        self.key = key.lower()
        self.values = [_as_text(v) for v in _as_list(values)]

    def holds(self, context):
        present = context.get(self.key)
        if present is not None and not isinstance(present, (list, tuple)):
            present = [present]
        present = [_as_text(v) for v in present] if present is not None else None
        if self.operator == "Null":
            absent = not present
            return any((p.lower() == "true") == absent for p in self.values)
        known = _OPERATORS.get(self.operator)
        if known is None:
            return False  # IAM refuses such a policy; here it simply never applies.
        negated, match = known
        if not present:
            if self.if_exists or self.qualifier == "all":
                return True
            if self.qualifier == "any":
                return False
            return negated

        def one(value):
            hit = any(match(value, p) for p in self.values)
            return not hit if negated else hit

        if self.qualifier == "all" or (self.qualifier is None and negated):
            return all(one(v) for v in present)
        return any(one(v) for v in present)


class _Statement:
    __slots__ = ("deny", "actions", "not_actions", "resources", "not_resources", "conditions")

    def __init__(self, raw):
        self.deny = str(raw.get("Effect", "")).lower() == "deny"
        self.actions = self._patterns(raw, "Action", ignore_case=True)
        self.not_actions = self._patterns(raw, "NotAction", ignore_case=True)
        self.resources = self._patterns(raw, "Resource", colon_bound=True)
        self.not_resources = self._patterns(raw, "NotResource", colon_bound=True)
        self.conditions = [
            _Condition(operator, key, values)
            for operator, block in (raw.get("Condition") or {}).items()
            for key, values in (block or {}).items()
        ]

    @staticmethod
    def _patterns(raw, name, **how):
        if name not in raw:
            return None
        return [_glob(str(p), **how) for p in _as_list(raw[name])]

    def applies(self, action, resource, context):
        if self.actions is not None:
            if not any(p.match(action) for p in self.actions):
                return False
        elif self.not_actions is not None:
            if any(p.match(action) for p in self.not_actions):
                return False
        else:
            return False
        if self.resources is not None:
            if not any(p.match(resource) for p in self.resources):
                return False
        elif self.not_resources is not None:
            if any(p.match(resource) for p in self.not_resources):
                return False
        else:
            return False
        return all(c.holds(context) for c in self.conditions)


def _document(policy):
    """A policy as moto may hold it (JSON text, URL-encoded or not, or a dict) as a dict."""
    for _ in range(3):
        if isinstance(policy, dict):
            return policy
        if isinstance(policy, bytes):
            policy = policy.decode("utf-8")
        if not isinstance(policy, str):
            return {}
        try:
            policy = json.loads(policy)
        except ValueError:
            decoded = unquote(policy)
            if decoded == policy:
                return {}
            policy = decoded
    return policy if isinstance(policy, dict) else {}


_parsed = {}


def parse_policy(policy):
    """A policy's statements, parsed once per distinct document text."""
    if isinstance(policy, str):
        statements = _parsed.get(policy)
        if statements is None:
            if len(_parsed) > 10_000:
                _parsed.clear()
            statements = _parsed[policy] = _statements(_document(policy))
        return statements
    return _statements(_document(policy))


def _statements(document):
    return tuple(
        _Statement(raw) for raw in _as_list(document.get("Statement")) if isinstance(raw, dict)
    )


def evaluate(policies, action, resource, context=None):
    """ALLOWED, IMPLICIT_DENY or EXPLICIT_DENY for one action on one resource."""
    context = {k.lower(): v for k, v in (context or {}).items()}
    allowed = False
    for policy in policies:
        for statement in parse_policy(policy):
            if statement.applies(action, resource, context):
                if statement.deny:
                    return EXPLICIT_DENY
                allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


def denial_message(principal_arn, action, resource, decision, quote_resource=False):
    shown = f'"{resource}"' if quote_resource else resource
    why = (
        "with an explicit deny in an identity-based policy"
        if decision == EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal_arn} is not authorized to perform: {action} on resource: {shown} {why}"


# ---------------------------------------------------------------------------------------------
# Who signed the request: an assumed-role key of moto's STS, or nobody to evaluate.


def signing_key(headers, querystring):
    """The access key ID a request is signed with, when it is a temporary (`ASIA`) one.

    SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=<key>/...`, or a presigned URL's
    `X-Amz-Credential=<key>/...`; also S3's older forms (`Authorization: AWS <key>:<sig>`,
    `AWSAccessKeyId=<key>`), which boto3 still uses to presign S3 URLs.
    """
    auth = headers.get("Authorization")
    if auth:
        at = auth.find("Credential=")
        if at >= 0:
            if not auth.startswith("ASIA", at + 11):
                return None
            end = auth.find("/", at + 11)
            return auth[at + 11 : end] if end > 0 else None
        if auth.startswith("AWS ASIA"):
            end = auth.find(":", 4)
            return auth[4:end] if end > 0 else None
        return None
    if not querystring:
        return None
    for name, end in (("X-Amz-Credential", "/"), ("AWSAccessKeyId", None)):
        value = querystring.get(name)
        if value:
            value = value[0] if isinstance(value, list) else value
            if isinstance(value, str) and value.startswith("ASIA"):
                return value.split(end, 1)[0] if end else value
            return None
    return None


class Session:
    __slots__ = ("account", "partition", "key_id", "role_arn", "iam")

    def __init__(self, account, partition, key_id, role_arn, iam):
        self.account = account
        self.partition = partition
        self.key_id = key_id
        self.role_arn = role_arn
        self.iam = iam

    @property
    def arn(self):
        from moto.sts.models import sts_backends

        session = "unknown"
        for assumed in reversed(sts_backends[self.account][self.partition].assumed_roles):
            if assumed.access_key_id == self.key_id:
                session = assumed.session_name
                break
        role = self.role_arn.rsplit("/", 1)[-1]
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{role}/{session}"

    def policies(self):
        role = None
        for candidate in self.iam.roles.values():
            if candidate.arn == self.role_arn:
                role = candidate
                break
        if role is None:
            name = self.role_arn.rsplit("/", 1)[-1]
            role = next((r for r in self.iam.roles.values() if r.name == name), None)
        if role is None:
            return []
        documents = list(role.policies.values())
        for managed in role.managed_policies.values():
            for version in managed.versions:
                if version.version_id == managed.default_version_id:
                    documents.append(version.document)
        return documents


def session_of(key_id, partition):
    """The role session a temporary key belongs to, if moto's STS issued it by AssumeRole.

    moto keeps such a key among its IAM backend's access keys (with the role's ARN), in the
    account of the assumed role: one dictionary look-up per account.
    """
    from moto.iam.models import iam_backends

    for account, by_partition in list(iam_backends.items()):
        try:
            iam = by_partition[partition]
        except KeyError:
            continue
        key = iam.access_keys.get(key_id)
        if key is not None:
            role_arn = getattr(key, "role_arn", None)
            if not role_arn:
                return None
            return Session(account, partition, key_id, role_arn, iam)
    return None


# ---------------------------------------------------------------------------------------------
# What the request asks: IAM action and resources, per service.

# Operations AWS does not authorize with IAM policies.
_NOT_EVALUATED = {
    "sts": {"GetCallerIdentity", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"},
    "cognito-idp": {
        "SignUp", "ConfirmSignUp", "InitiateAuth", "RespondToAuthChallenge", "ForgotPassword",
        "ConfirmForgotPassword", "ResendConfirmationCode", "GetUser", "ChangePassword",
        "GlobalSignOut", "RevokeToken", "UpdateUserAttributes", "DeleteUser",
        "DeleteUserAttributes", "VerifyUserAttribute", "GetUserAttributeVerificationCode",
        "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference",
        "SetUserSettings", "ListDevices", "GetDevice", "ConfirmDevice", "ForgetDevice",
        "UpdateDeviceStatus", "GetUserAuthFactors", "StartWebAuthnRegistration",
        "CompleteWebAuthnRegistration", "ListWebAuthnCredentials", "DeleteWebAuthnCredential",
        "UpdateAuthEventFeedback",
    },
    "cognito-identity": {"GetId", "GetOpenIdToken", "GetCredentialsForIdentity"},
}

# IAM action names that differ from the operation's.
_ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
}

# IAM service prefixes that differ from the endpoint prefix.
_PREFIXES = {"monitoring": "cloudwatch", "tagging": "tag"}

_models = {}


class _NoModel:
    """For a moto service botocore has no model of: JSON errors, prefix = moto's name."""

    protocol = "json"

    def __init__(self, name):
        self.service_name = name
        self.metadata = {"endpointPrefix": name}


def _model(response):
    name = response.boto3_service_name
    model = _models.get(name)
    if model is None:
        try:
            from moto.core.utils import get_service_model

            model = get_service_model(name)
        except Exception:
            model = _NoModel(name or "unknown")
        _models[name] = model
    return model


def _prefix(model):
    name = model.metadata.get("signingName") or model.metadata.get("endpointPrefix")
    return _PREFIXES.get(name, name)


def _params(response):
    if getattr(response, "automated_parameter_parsing", False):
        return getattr(response, "params", None) or {}
    body = response.body
    if isinstance(body, dict):
        return body
    params = {}
    if body:
        try:
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                params = loaded
        except (ValueError, TypeError, UnicodeDecodeError):
            pass
    if not params:
        params = {k: v[0] for k, v in response.querystring.items() if isinstance(v, list) and v}
    return params


def _arn(partition, service, region, account, rest):
    return f"arn:{partition}:{service}:{region}:{account}:{rest}"


def _kinesis(r, op, p):
    for name in ("ConsumerARN", "StreamARN"):
        if p.get(name):
            return [p[name]]
    stream = p.get("StreamName")
    if not stream and p.get("ShardIterator"):
        try:
            from moto.kinesis.utils import decompose_shard_iterator

            stream = decompose_shard_iterator(p["ShardIterator"])[0]
        except Exception:
            stream = None
    if stream and stream != "None":
        return [_arn(r.partition, "kinesis", r.region, r.current_account, f"stream/{stream}")]
    return ["*"]


def _table(r, name, index=None):
    if name.startswith("arn:"):
        arn = name
    else:
        arn = _arn(r.partition, "dynamodb", r.region, r.current_account, f"table/{name}")
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(r, op, p):
    if p.get("RequestItems"):
        return [_table(r, name) for name in p["RequestItems"]]
    if p.get("TableName"):
        index = p.get("IndexName") if op in ("Query", "Scan") else None
        return [_table(r, p["TableName"], index)]
    return ["*"]


def _firehose(r, op, p):
    name = p.get("DeliveryStreamName")
    if name:
        return [_arn(r.partition, "firehose", r.region, r.current_account, f"deliverystream/{name}")]
    return ["*"]


def _sns(r, op, p):
    for name in ("TopicArn", "TargetArn"):
        if p.get(name):
            return [p[name]]
    return ["*"]


def _sts(r, op, p):
    return [p["RoleArn"]] if op == "AssumeRole" and p.get("RoleArn") else ["*"]


def _cognito(r, op, p):
    pool = p.get("UserPoolId")
    if pool:
        return [_arn(r.partition, "cognito-idp", r.region, r.current_account, f"userpool/{pool}")]
    return ["*"]


def _lambda(r, op, p):
    name = p.get("FunctionName") or (r.uri_match and r.uri_match.groupdict().get("function_name"))
    if name:
        name = unquote(name)
        if name.startswith("arn:"):
            return [name]
        return [_arn(r.partition, "lambda", r.region, r.current_account, f"function:{name}")]
    return ["*"]


_RESOURCES = {
    "kinesis": _kinesis,
    "dynamodb": _dynamodb,
    "firehose": _firehose,
    "sns": _sns,
    "sts": _sts,
    "cognito-idp": _cognito,
    "lambda": _lambda,
}


# Set (to "1") by `scripts/emulator --tls-terminated`, or by the caller's environment.
SECURE_TRANSPORT_ENV = "ECOMFLOW_EMULATOR_SECURE_TRANSPORT"


def secure_transport(response):
    """aws:SecureTransport of a request: whether it was sent over TLS.

    AWS's endpoints are HTTPS (SDKs use nothing else by default), while the emulator is
    reached over plain loopback HTTP, so a TLS-only policy (a Deny when aws:SecureTransport is
    false) refuses every call made to it. Under SECURE_TRANSPORT_ENV=1 the emulator stands
    for those HTTPS endpoints, as if TLS ended in front of it, and takes every request as made
    over TLS; without it, only an https URL is.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
    """
    if os.environ.get(SECURE_TRANSPORT_ENV) == "1":
        return True
    return getattr(getattr(response, "parsed_url", None), "scheme", "http") == "https"


def request_context(response):
    """The context keys of any request: a role session's with its principal (`_context`),
    another caller's with aws:SecureTransport and aws:RequestedRegion only."""
    key_id = signing_key(response.headers, response.querystring)
    session = session_of(key_id, response.partition) if key_id else None
    if session is not None:
        return _context(response, session)
    return {
        "aws:securetransport": "true" if secure_transport(response) else "false",
        "aws:requestedregion": response.region,
    }


def _context(response, session, extra=None):
    context = {
        "aws:securetransport": "true" if secure_transport(response) else "false",
        "aws:requestedregion": response.region,
        "aws:principalarn": session.role_arn,
        "aws:principalaccount": session.account,
    }
    context.update(extra or {})
    return context


def _decide(session, pairs, context):
    """The first refused (action, resource) pair, an explicit deny first, or None."""
    policies = session.policies()
    refused = None
    for action, resource in pairs:
        decision = evaluate(policies, action, resource, context)
        if decision == EXPLICIT_DENY:
            return action, resource, decision
        if decision == IMPLICIT_DENY and refused is None:
            refused = (action, resource, decision)
    return refused


def _log(principal, action, resource, decision):
    sys.stderr.write(
        f"iam_eval: DENIED {principal} {action} on {resource} ({decision} deny)\n"
    )
    sys.stderr.flush()


def _xml_escape(text):
    from xml.sax.saxutils import escape

    return escape(text)


def _refusal(response, model, message):
    """The (status, headers, body) AWS answers a refused call with, in the service's protocol."""
    protocol = model.protocol
    request_id = "iam-eval-denied"
    if protocol == "json":
        version = model.metadata.get("jsonVersion", "1.1")
        headers = {"Content-Type": f"application/x-amz-json-{version}", "x-amzn-RequestId": request_id}
        if model.service_name == "dynamodb":
            body = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
        else:
            body = {"__type": "AccessDeniedException", "message": message}
        return 400, headers, json.dumps(body)
    if protocol == "rest-json":
        headers = {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "AccessDeniedException",
            "x-amzn-RequestId": request_id,
        }
        return 403, headers, json.dumps({"Message": message, "message": message})
    code = "AuthorizationError" if model.service_name == "sns" else "AccessDenied"
    namespace = model.metadata.get("xmlNamespace")
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    body = (
        f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code>"
        f"<Message>{_xml_escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body


def check_request(response):
    """None to serve the call as moto does, or the refusal to answer instead.

    Called for every request of every service that dispatches through `call_action`: the
    first line decides, from one header, that a call not signed with a temporary key is none
    of this module's business.
    """
    key_id = signing_key(response.headers, response.querystring)
    if key_id is None:
        return None
    session = session_of(key_id, response.partition)
    if session is None or response.service_name == "s3":  # S3: `check_s3`.
        return None
    operation = response._get_action()
    model = _model(response)
    service = model.metadata.get("endpointPrefix")
    if not operation or operation in _NOT_EVALUATED.get(service, ()):
        return None
    prefix = _prefix(model)
    action = f"{prefix}:{_ACTION_NAMES.get((prefix, operation), operation)}"
    mapper = _RESOURCES.get(prefix)
    try:
        resources = mapper(response, operation, _params(response)) if mapper else ["*"]
    except Exception:  # an unexpected request shape: evaluated on `*`, never let through
        resources = ["*"]
    refused = _decide(session, [(action, r) for r in resources], _context(response, session))
    if refused is None:
        return None
    action, resource, decision = refused
    principal = session.arn
    _log(principal, action, resource, decision)
    return _refusal(response, model, denial_message(principal, action, resource, decision))


# ---------------------------------------------------------------------------------------------
# S3: its own dispatch, which checks access at `_authenticate_and_authorize_s3_action` after
# naming the operation's IAM action (`self.data["Action"]`).

# moto's names that are not the IAM action's.
_S3_ACTIONS = {"HeadBucket": "ListBucket"}


def _s3_keys_to_delete(body):
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, TypeError):
        return []
    return [e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Key"]


def check_s3(response, bucket_name, key_name):
    """Raise S3's AccessDenied when the call's role session may not do it."""
    key_id = signing_key(response.headers, response.querystring)
    if key_id is None:
        return
    session = session_of(key_id, response.partition)
    if session is None:
        return
    from moto.s3.exceptions import BucketAccessDeniedError, S3ClientError

    named = response.data.get("Action") or "*"
    action = f"s3:{_S3_ACTIONS.get(named, named)}"
    partition = response.partition
    extra = {}
    if bucket_name is None:
        resources = ["*"]
    elif key_name:
        resources = [f"arn:{partition}:s3:::{bucket_name}/{key_name}"]
    elif action == "s3:DeleteObject":  # DeleteObjects: every key it names.
        keys = _s3_keys_to_delete(response.body)
        resources = [f"arn:{partition}:s3:::{bucket_name}/{k}" for k in keys] or [
            f"arn:{partition}:s3:::{bucket_name}"
        ]
    elif action == "s3:PutObject" and response.querystring.get("key"):  # browser POST upload
        resources = [f"arn:{partition}:s3:::{bucket_name}/{response.querystring['key'][0]}"]
    else:
        resources = [f"arn:{partition}:s3:::{bucket_name}"]
        if action == "s3:ListBucket" and "prefix" in response.querystring:
            extra["s3:prefix"] = response.querystring["prefix"][0]
    context = _context(response, session, extra)
    refused = _decide(session, [(action, r) for r in resources], context)
    if refused is None:
        return
    action, resource, decision = refused
    principal = session.arn
    _log(principal, action, resource, decision)
    if named == "DeleteObject" and not key_name:
        # moto answers DeleteObjects with an AccessDenied entry per key, as S3 does.
        raise BucketAccessDeniedError(bucket_name)
    message = denial_message(principal, action, resource, decision, quote_resource=True)
    raise S3ClientError("AccessDenied", message)


# ---------------------------------------------------------------------------------------------


def install():
    """Evaluate IAM for assumed-role calls, in moto's own authorization hooks.

    Why there: `BaseResponse.call_action` is where every service but S3 goes from a parsed
    request to its operation (DynamoDB's override calls it too), with the operation's name and
    parameters known and nothing run yet; S3 routes on its own and calls
    `_authenticate_and_authorize_s3_action` once it has named the IAM action, before running
    the operation. Both hooks first look at the signing key, so other calls cost a header
    look-up.
    """
    from moto.core.responses import BaseResponse
    from moto.s3.responses import S3Response

    if getattr(BaseResponse.call_action, "_iam_eval", False):
        return
    original_call_action = BaseResponse.call_action

    def call_action(self):
        refusal = check_request(self)
        if refusal is not None:
            return refusal
        return original_call_action(self)

    call_action._iam_eval = True
    BaseResponse.call_action = call_action

    original_s3 = S3Response._authenticate_and_authorize_s3_action

    def authorize_s3(self, bucket_name=None, key_name=None):
        check_s3(self, bucket_name, key_name)
        return original_s3(self, bucket_name=bucket_name, key_name=key_name)

    S3Response._authenticate_and_authorize_s3_action = authorize_s3
