"""API Gateway (REST APIs): tagging a REST API after its creation; the account's CloudWatch
role and the stages' logging settings, with the rules AWS keeps on them.
"""

import json

# The messages AWS answers; the documentation gives the rules, not their wording.
ROLE_REFUSED = (
    "The role ARN does not have required permissions configured. Please grant trust "
    "permission for API Gateway and add the required role policy."
)
NO_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"
APIGATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
# The actions of the AmazonAPIGatewayPushToCloudWatchLogs managed policy, which the
# developer guide names as having "all the required permissions".
LOGGING_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
)
LOG_LEVELS = ("OFF", "ERROR", "INFO")
# The method setting paths UpdateStage takes after `/{resource_path}/{http_method}/`.
METHOD_SETTINGS = (
    "metrics/enabled",
    "logging/dataTrace",
    "logging/loglevel",
    "throttling/burstLimit",
    "throttling/rateLimit",
    "caching/ttlInSeconds",
    "caching/enabled",
    "caching/dataEncrypted",
    "caching/requireAuthorizationForCacheControl",
    "caching/unauthorizedCacheControlHeaderStrategy",
)
# AWS's refusal of another path, as it answers it (aws/aws-sdk-java#1823).
SETTING_PATHS = (
    "Must be one of: [.../metrics/enabled, .../logging/dataTrace, .../logging/loglevel,"
    ".../throttling/burstLimit, .../throttling/rateLimit, .../caching/ttlInSeconds, "
    ".../caching/enabled, .../caching/dataEncrypted, "
    ".../caching/requireAuthorizationForCacheControl, "
    ".../caching/unauthorizedCacheControlHeaderStrategy]"
)
# Stage members whose patch paths have as many parts as a method setting's.
STAGE_MEMBERS = ("variables", "accessLogSettings", "canarySettings")


def add_rest_api_tagging():
    """TagResource and UntagResource on a REST API. moto's only handle a stage's ARN and fail
    on `arn:aws:apigateway:<region>::/restapis/<id>`; on AWS a REST API is a taggable resource
    whose tags can change after its creation. Stage ARNs still go to moto's own.
    https://docs.aws.amazon.com/apigateway/latest/api/API_TagResource.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_UntagResource.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-tagging.html
    """
    from urllib.parse import unquote

    from moto.apigateway.responses import APIGatewayResponse
    from moto.apigateway.urls import url_paths

    # The server decodes the ARN's `/`s, and moto routes only a stage's ARN under /tags/.
    url_paths[
        "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/"
        "(?P<function_id>[^/]+)$"
    ] = APIGatewayResponse.dispatch
    moto_tag, moto_untag = APIGatewayResponse.tag_resource, APIGatewayResponse.untag_resource

    def rest_api_of(self):
        """The REST API a tagging call's ARN names, or None when it names something else."""
        arn = unquote(self.path.split("/tags/")[1])
        parts = arn.split("::", 1)[-1].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "restapis":
            return self.backend.get_rest_api(parts[1])
        return None

    def tag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_tag(self)
        tags = self._get_param("tags") or {}
        api.tags = {**(api.tags or {}), **tags}
        return json.dumps({})

    def untag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_untag(self)
        for key in self.querystring.get("tagKeys") or []:
            (api.tags or {}).pop(key, None)
        return json.dumps({})

    APIGatewayResponse.tag_resource = tag_resource
    APIGatewayResponse.untag_resource = untag_resource


def bad_request(message):
    from moto.apigateway.exceptions import BadRequestException

    return BadRequestException(message)


def _names_apigateway(principal):
    """Whether a trust statement's Principal covers the API Gateway service."""
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for key, wanted in (("Service", APIGATEWAY_PRINCIPAL), ("AWS", "*")):
        values = principal.get(key)
        if wanted in (values if isinstance(values, list) else [values]):
            return True
    return False


def role_policies(role):
    """A role's permission policies: its inline ones and its managed ones' default versions."""
    documents = list(role.policies.values())
    for managed in role.managed_policies.values():
        for version in managed.versions:
            if version.version_id == managed.default_version_id:
                documents.append(version.document)
    return documents


def role_refusal(backend, role_arn):
    """Why API Gateway could not use `role_arn` to write CloudWatch logs, or None.

    The developer guide's requirements: a role of the account "with apigateway.amazonaws.com as
    its trusted entity", with the permissions of AmazonAPIGatewayPushToCloudWatchLogs attached.
    Its permissions are taken as the managed policy grants them, every action on every log
    group of the region (API Gateway names its execution log groups itself), from the role's
    inline and managed policies (iam_eval; an explicit Deny wins).
    """
    from moto.iam.models import iam_backends
    from moto.utilities.utils import get_partition

    from . import iam_eval

    partition = get_partition(backend.region_name)
    iam = iam_backends[backend.account_id][partition]
    role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
    if role is None:
        return "no such role"
    try:
        trust = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        trust = {}
    statements = trust.get("Statement") if isinstance(trust, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    # A trust policy names no Resource: the role itself is the resource.
    trusting = [
        {**s, "Resource": "*"}
        for s in statements or []
        if isinstance(s, dict) and _names_apigateway(s.get("Principal"))
    ]
    decision = iam_eval.evaluate([{"Statement": trusting}], "sts:AssumeRole", role_arn)
    if decision != iam_eval.ALLOWED:
        return "its trust policy does not let apigateway.amazonaws.com assume it"
    log_groups = f"arn:{partition}:logs:{backend.region_name}:{backend.account_id}:log-group:*"
    policies = role_policies(role)
    for action in LOGGING_ACTIONS:
        if iam_eval.evaluate(policies, action, log_groups) != iam_eval.ALLOWED:
            return f"its policies do not allow {action}"
    return None


def check_account_role():
    """UpdateAccount's `replace /cloudwatchRoleArn` is refused unless API Gateway can use the
    role, and GetAccount leaves out what is not set. moto stored any string, a missing role
    included, and answered `"cloudwatchRoleArn": null`. The developer guide's requirements
    are in `role_refusal`; AWS answers BadRequestException (HTTP 400) "The role ARN does not
    have required permissions configured. Please grant trust permission for API Gateway and
    add the required role policy." (the guide gives no wording). An empty value clears the
    setting, as AWS takes it.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateAccount.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_GetAccount.html
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonAPIGatewayPushToCloudWatchLogs.html
    """
    from moto.apigateway.models import Account, APIGatewayBackend

    original_update = APIGatewayBackend.update_account
    original_json = Account.to_json

    def update_account(self, patch_operations):
        for op in patch_operations or []:
            if op.get("path") == "/cloudwatchRoleArn" and op.get("op") == "replace":
                value = op.get("value")
                if value and role_refusal(self, value) is not None:
                    raise bad_request(ROLE_REFUSED)
        account = original_update(self, patch_operations)
        if not account.cloudwatch_role_arn:
            account.cloudwatch_role_arn = None
        return account

    def to_json(self):
        return {k: v for k, v in original_json(self).items() if v is not None}

    APIGatewayBackend.update_account = update_account
    Account.to_json = to_json


def destination_refusal(arn):
    """Why `arn` cannot receive a stage's access logs, or None.

    API_AccessLogSettings: "the CloudWatch Logs log group or Kinesis Data Firehose delivery
    stream ... If you specify a Kinesis Data Firehose delivery stream, the stream name must
    begin with amazon-apigateway-"; the developer guide gives the log group ARN's format,
    `arn:aws:logs:{region}:{account-id}:log-group:log-group-name` (DescribeLogGroups' `arn`,
    which ends in `:*`, is not one).
    """
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return f"Invalid ARN specified in the request. ARNs must start with 'arn:': {arn}"
    service, resource = parts[2], parts[5]
    if service == "logs" and resource.startswith("log-group:"):
        name = resource[len("log-group:"):]
        if name and ":" not in name:
            return None
    if service == "firehose" and resource.startswith("deliverystream/"):
        if resource[len("deliverystream/"):].startswith("amazon-apigateway-"):
            return None
        return (
            "Invalid ARN specified in the request. The name of a Firehose stream receiving "
            f"access logs must begin with amazon-apigateway-: {arn}"
        )
    return (
        "Invalid ARN specified in the request. The access log destination must be a "
        "CloudWatch Logs log group ARN (arn:aws:logs:{region}:{account-id}:log-group:{name}) "
        f"or a Firehose stream ARN: {arn}"
    )


def format_refusal(text):
    """Why `text` is not an access log format, or None: the developer guide's "The access log
    format must include at least $context.requestId or $context.extendedRequestId" and "The
    log format must be a single line" (a newline may only end it)."""
    import re

    if "\n" in text.rstrip("\n") or "\r" in text.rstrip("\r\n"):
        return f"Access Log format must be single line: '{text}'"
    if not re.search(r"\$(context\.|\{context\.)(requestId|extendedRequestId)\b", text):
        return (
            "Access Log format must include either $context.requestId or "
            f"$context.extendedRequestId: '{text}'"
        )
    return None


def check_stage_logging():
    """UpdateStage keeps AWS's rules on a stage's logging settings; moto stored anything.

    - Access logging to CloudWatch Logs, and execution logging (`/*/*/logging/loglevel` ERROR
      or INFO), need the account's CloudWatch role: without one, BadRequestException "CloudWatch
      Logs role ARN must be set in account settings to enable logging". A Firehose destination
      does not (API Gateway uses its service-linked role).
    - The destination is a log group ARN or an `amazon-apigateway-` Firehose stream's ARN
      (`destination_refusal`); the format holds `$context.requestId` or
      `$context.extendedRequestId` on a single line (`format_refusal`).
    - A method setting path is one of MethodSetting's, and a log level OFF, ERROR or INFO.
    Each refusal is BadRequestException (HTTP 400); the pages give the rules, not the wording.
    A destination without a format (or the reverse) is accepted: the pages say both are
    needed "to enable access logging", not that either alone is refused.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-logging-to-kinesis.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_AccessLogSettings.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_MethodSetting.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_UpdateStage.html
    """
    from moto.apigateway.models import APIGatewayBackend, Stage

    original_update = APIGatewayBackend.update_stage
    original_json = Stage.to_json

    def check(backend, op):
        if op.get("op") != "replace":
            return
        path, value = op.get("path") or "", op.get("value") or ""
        has_role = bool(backend.account.cloudwatch_role_arn)
        parts = path.split("/")
        if path == "/accessLogSettings/destinationArn":
            why = destination_refusal(value)
            if why:
                raise bad_request(why)
            if value.split(":")[2] == "logs" and not has_role:
                raise bad_request(NO_ROLE)
        elif path == "/accessLogSettings/format":
            why = format_refusal(value)
            if why:
                raise bad_request(why)
        elif len(parts) == 5 and parts[1] not in STAGE_MEMBERS:
            # `/{resource path, "/" as "~1"}/{http method}/{setting}`
            setting = "/".join(parts[3:])
            if setting not in METHOD_SETTINGS:
                raise bad_request(f"Invalid method setting path: {setting}. {SETTING_PATHS}")
            if setting == "logging/loglevel":
                if value not in LOG_LEVELS:
                    raise bad_request(
                        f"Invalid logging level: {value}. Must be one of: [OFF, ERROR, INFO]"
                    )
                if value != "OFF" and not has_role:
                    raise bad_request(NO_ROLE)

    def update_stage(self, function_id, stage_name, patch_operations):
        for op in patch_operations or []:
            check(self, op)
        return original_update(self, function_id, stage_name, patch_operations)

    def to_json(self):
        out = original_json(self)
        if not out.get("accessLogSettings"):
            out.pop("accessLogSettings", None)
        return out

    APIGatewayBackend.update_stage = update_stage
    Stage.to_json = to_json


def install():
    add_rest_api_tagging()
    check_account_role()
    check_stage_logging()
