"""AWS WAF (wafv2): regional web ACLs with the rules AWS keeps on their definitions, UpdateWebACL
replacing the whole definition, and their association with API Gateway REST API stages (which
GetStage and GetStages then report as `webAclArn`).

moto 5.2.1 stores web ACLs verbatim (rules, managed rule groups and rate-based statements come
back from GetWebACL) and checks the LockToken of UpdateWebACL and DeleteWebACL. What it got
wrong: its duplicate-name error was `WafV2DuplicateItem`; UpdateWebACL without Rules kept the
old ones; it deleted a web ACL still associated; AssociateWebACL took any string, kept every
web ACL a resource was ever associated with, and named the stage it reported only if the
stage's name was alphanumeric; tagging took ARNs naming nothing; and it had no
ListResourcesForWebACL.
"""

import json
import re

# The API reference's descriptions of its errors (each HTTP 400).
# https://docs.aws.amazon.com/waf/latest/APIReference/CommonErrors.html and the Errors section
# of each operation's page.
NONEXISTENT = (
    "AWS WAF couldn’t perform the operation because your resource doesn't exist. If you've just "
    "created a resource that you're using in this operation, you might just need to wait a few "
    "minutes. It can take from a few seconds to a number of minutes for changes to propagate."
)
DUPLICATE = (
    "AWS WAF couldn’t perform the operation because the resource that you tried to save is a "
    "duplicate of an existing one."
)
STALE = (
    "AWS WAF couldn’t save your changes because you tried to update or delete a resource that "
    "has changed since you last retrieved it. Get the resource again, make any changes you need "
    "to make to the new copy, and retry your operation."
)
ASSOCIATED = (
    "AWS WAF couldn’t perform the operation because your resource is being used by another "
    "resource or it’s associated with another resource."
)

# EntityName and MetricName as API_Rule, API_WebACL and API_VisibilityConfig give them.
NAME = re.compile(r"^[\w\-]{1,128}$")
METRIC_NAME = re.compile(r"^[\w#:.\-/]{1,255}$")
RESERVED_METRIC_NAMES = ("All", "Default_Action")
RATE_LIMITS = (10, 2_000_000_000)
EVALUATION_WINDOWS = (60, 120, 300, 600)
# Statements that reference a rule group take OverrideAction, the others Action (API_Rule).
GROUP_STATEMENTS = ("ManagedRuleGroupStatement", "RuleGroupReferenceStatement")
# Statements AWS allows only at the top of a rule, with their WAFInvalidParameterException field.
TOP_LEVEL_ONLY = {
    "ManagedRuleGroupStatement": "MANAGED_RULE_SET_STATEMENT",
    "RuleGroupReferenceStatement": "RULE_GROUP_REFERENCE_STATEMENT",
    "RateBasedStatement": "RATE_BASED_STATEMENT",
}
# What each aggregation key type needs beside it (API_RateBasedStatement, AggregateKeyType).
AGGREGATION_NEEDS = {
    "CONSTANT": ("ScopeDownStatement", "SCOPE_DOWN"),
    "CUSTOM_KEYS": ("CustomKeys", "CUSTOM_KEYS"),
    "FORWARDED_IP": ("ForwardedIPConfig", "FORWARDED_IP_CONFIG"),
}
# The resource ARNs AssociateWebACL takes, by ListResourcesForWebACL's ResourceType.
PARTITION_REGION = r"^arn:aws[a-z-]*:{service}:(?P<region>[a-z0-9-]+):"
RESOURCE_ARNS = {
    "API_GATEWAY": re.compile(
        PARTITION_REGION.format(service="apigateway")
        + r":/restapis/(?P<api>[^/]+)/stages/(?P<stage>[^/]+)$"
    ),
    "APPLICATION_LOAD_BALANCER": re.compile(
        PARTITION_REGION.format(service="elasticloadbalancing")
        + r"\d{12}:loadbalancer/app/[^/]+/[^/]+$"
    ),
    "APPSYNC": re.compile(PARTITION_REGION.format(service="appsync") + r"\d{12}:apis/[^/]+$"),
    "COGNITO_USER_POOL": re.compile(
        PARTITION_REGION.format(service="cognito-idp") + r"\d{12}:userpool/[^/]+$"
    ),
    "APP_RUNNER_SERVICE": re.compile(
        PARTITION_REGION.format(service="apprunner") + r"\d{12}:service/[^/]+/[^/]+$"
    ),
    "VERIFIED_ACCESS_INSTANCE": re.compile(
        PARTITION_REGION.format(service="ec2") + r"\d{12}:verified-access-instance/[^/]+$"
    ),
    "AMPLIFY": re.compile(PARTITION_REGION.format(service="amplify") + r"\d{12}:apps/[^/]+$"),
}


def error(code, message):
    from moto.wafv2.exceptions import WAFv2ClientError

    return WAFv2ClientError(code, message)


def invalid(field, parameter, reason):
    """WAFInvalidParameterException with the Field, Parameter and Reason members the API model
    gives it. The message is AWS's usual "Error reason: ..., field: ..., parameter: ..."; the
    reference documents the members, not the wording or the reasons, which are ours."""
    err = error(
        "WAFInvalidParameterException",
        f"Error reason: {reason}, field: {field}, parameter: {parameter}",
    )
    body = json.loads(err.description)
    body.update(Field=field, Parameter=str(parameter), Reason=reason)
    err.description = json.dumps(body)
    return err


def documented_errors():
    """moto's errors with the API reference's codes and descriptions: WAFDuplicateItemException
    (moto answered `WafV2DuplicateItem`, which no SDK knows), and the documented wording of
    WAFNonexistentItemException and WAFOptimisticLockException.
    https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html
    """
    from moto.wafv2 import exceptions

    for cls, code, message in (
        (exceptions.WAFV2DuplicateItemException, "WAFDuplicateItemException", DUPLICATE),
        (exceptions.WAFNonexistentItemException, "WAFNonexistentItemException", NONEXISTENT),
        (exceptions.WAFOptimisticLockException, "WAFOptimisticLockException", STALE),
    ):

        def __init__(self, *_, _code=code, _message=message):
            exceptions.WAFv2ClientError.__init__(self, _code, _message)

        cls.__init__ = __init__


def nested_statements(statement):
    """The statements inside `statement`, at any depth."""
    for kind, body in statement.items():
        if not isinstance(body, dict):
            continue
        children = list(body.get("Statements") or [])
        for key in ("Statement", "ScopeDownStatement"):
            if isinstance(body.get(key), dict):
                children.append(body[key])
        for child in children:
            yield child
            yield from nested_statements(child)


def check_metric_name(visibility, field):
    name = (visibility or {}).get("MetricName", "")
    if not METRIC_NAME.match(name) or name in RESERVED_METRIC_NAMES:
        raise invalid(field, name, "The metric name isn't valid.")


def check_rate_based(rate, action):
    """API_RateBasedStatement: Limit from 10 to 2,000,000,000; EvaluationWindowSec 60, 120, 300
    or 600; CONSTANT needs a ScopeDownStatement, CUSTOM_KEYS CustomKeys and FORWARDED_IP a
    ForwardedIPConfig. The developer guide: a rate-based rule takes any action but Allow.
    https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html
    https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
    """
    limit = rate.get("Limit")
    low, high = RATE_LIMITS
    if isinstance(limit, bool) or not isinstance(limit, int) or not low <= limit <= high:
        reason = f"The rate limit must be from {low} to {high}."
        raise invalid("RATE_BASED_STATEMENT", limit, reason)
    window = rate.get("EvaluationWindowSec")
    if window is not None and window not in EVALUATION_WINDOWS:
        reason = "The evaluation window must be 60, 120, 300 or 600."
        raise invalid("RATE_BASED_STATEMENT", window, reason)
    kind = rate.get("AggregateKeyType")
    if kind in AGGREGATION_NEEDS:
        member, field = AGGREGATION_NEEDS[kind]
        if not rate.get(member):
            raise invalid(field, kind, f"AggregateKeyType {kind} needs {member}.")
    if "Allow" in (action or {}):
        raise invalid("RULE_ACTION", "Allow", "A rate-based rule can't use the Allow action.")


def check_rule(rule):
    """One rule of a web ACL, as API_Rule and the statements' pages define it."""
    name = rule.get("Name", "")
    if not NAME.match(name):
        raise invalid("RULE", name, "The rule name isn't valid.")
    statement = rule.get("Statement") or {}
    for child in nested_statements(statement):
        for kind, field in TOP_LEVEL_ONLY.items():
            if kind in child:
                raise invalid(field, name, f"A {kind} can't be nested inside another statement.")
    # "You must specify either this Action setting or the rule OverrideAction setting, but
    # not both": OverrideAction for a statement referencing a rule group, Action otherwise.
    if any(kind in statement for kind in GROUP_STATEMENTS):
        if "Action" in rule:
            raise invalid("RULE_ACTION", name, "A rule group rule takes OverrideAction.")
        if "OverrideAction" not in rule:
            raise invalid("OVERRIDE_ACTION", name, "A rule group rule needs an OverrideAction.")
    else:
        if "OverrideAction" in rule:
            raise invalid("OVERRIDE_ACTION", name, "Only a rule group rule takes OverrideAction.")
        if "Action" not in rule:
            raise invalid("RULE_ACTION", name, "The rule needs an Action.")
    if "RateBasedStatement" in statement:
        check_rate_based(statement["RateBasedStatement"], rule.get("Action"))
    check_metric_name(rule.get("VisibilityConfig"), "METRIC_NAME")


def check_definition(name, default_action, rules, visibility):
    """Refuses (WAFInvalidParameterException, HTTP 400) a web ACL definition AWS refuses: a
    name or metric name outside its documented pattern (a metric name also not All or
    Default_Action), a DefaultAction other than exactly one of Allow and Block, two rules with
    one priority ("they must all be different"), a rule whose Action/OverrideAction does not
    fit its statement, a ManagedRuleGroupStatement, RuleGroupReferenceStatement or
    RateBasedStatement nested in another statement, and the rate-based rules of
    `check_rate_based`.
    https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_Rule.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_DefaultAction.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_ManagedRuleGroupStatement.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_RuleGroupReferenceStatement.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_WAFInvalidParameterException.html
    """
    if name is not None and not NAME.match(name or ""):
        raise invalid("WEB_ACL", name, "The web ACL name isn't valid.")
    if len([k for k in ("Allow", "Block") if k in (default_action or {})]) != 1:
        reason = "The default action must be Allow or Block."
        raise invalid("DEFAULT_ACTION", json.dumps(default_action), reason)
    check_metric_name(visibility, "METRIC_NAME")
    seen = set()
    for rule in rules:
        priority = rule.get("Priority")
        if priority in seen:
            raise invalid("RULE", priority, "Two rules have the same priority.")
        seen.add(priority)
        check_rule(rule)


def check_definitions():
    """CreateWebACL and UpdateWebACL refuse what `check_definition` refuses, and UpdateWebACL
    "completely replaces the mutable specifications that you already have for the web ACL with
    the ones that you provide": what it leaves out (Rules, Description, CustomResponseBodies,
    CaptchaConfig, ...) is gone (moto kept the old value of whatever was not sent).
    https://docs.aws.amazon.com/waf/latest/APIReference/API_UpdateWebACL.html
    """
    from moto.core.utils import camelcase_to_underscores
    from moto.wafv2.exceptions import WAFOptimisticLockException
    from moto.wafv2.models import FakeRule, WAFV2Backend

    original_create = WAFV2Backend.create_web_acl

    def create_web_acl(self, name, visibility, action, scope, description, tags, rules, *rest):
        rules = rules or []
        check_definition(name, action, rules, visibility)
        return original_create(
            self, name, visibility, action, scope, description, tags, rules, *rest
        )

    def update_web_acl(
        self, name, _id, default_action, rules, description, visibility_config, lock_token,
        custom_response_bodies, captcha_config, challenge_config, token_domains, association_config,
    ):
        acl = self.get_web_acl(None, name, _id)
        if acl.lock_token != lock_token:
            raise WAFOptimisticLockException()
        check_definition(None, default_action, rules or [], visibility_config)
        acl.default_action = default_action
        acl.rules = [
            FakeRule(**{camelcase_to_underscores(k): v for k, v in rule.items()})
            for rule in rules or []
        ]
        acl.description = description or ""
        acl.visibility_config = visibility_config
        acl.custom_response_bodies = custom_response_bodies
        acl.captcha_config = captcha_config
        acl.challenge_config = challenge_config
        acl.token_domains = token_domains
        acl.association_config = association_config
        acl.lock_token = acl._generate_lock_token()
        return acl.lock_token

    WAFV2Backend.create_web_acl = create_web_acl
    WAFV2Backend.update_web_acl = update_web_acl


def answer_as_documented():
    """GetWebACL's WebACL as API_WebACL lists it: no members set to null (moto sent a rule's
    unused Action or OverrideAction as null), ManagedByFirewallManager false, and the lock
    token beside the web ACL, not in it.
    https://docs.aws.amazon.com/waf/latest/APIReference/API_WebACL.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_GetWebACL.html
    """
    from moto.wafv2.models import FakeRule, FakeWebACL

    rule_to_dict, acl_to_dict = FakeRule.to_dict, FakeWebACL.to_dict

    def rule_json(self):
        return {k: v for k, v in rule_to_dict(self).items() if v is not None}

    def acl_json(self):
        out = {k: v for k, v in acl_to_dict(self).items() if v is not None and k != "LockToken"}
        out.setdefault("ManagedByFirewallManager", False)
        return out

    FakeRule.to_dict = rule_json
    FakeWebACL.to_dict = acl_json


def resource_type(arn):
    return next((kind for kind, form in RESOURCE_ARNS.items() if form.match(arn or "")), None)


def resolve(backend, arn, must_exist=True):
    """The API Gateway stage `arn` names (None for other resource types, or a missing stage
    when not `must_exist`). WAFInvalidParameterException (field RESOURCE_ARN) for an ARN not of
    a documented form or in another Region than the call's; WAFNonexistentItemException for a
    stage that does not exist."""
    kind = resource_type(arn)
    if kind is None:
        reason = "The ARN isn't of a resource a web ACL can be associated with."
        raise invalid("RESOURCE_ARN", arn, reason)
    found = RESOURCE_ARNS[kind].match(arn)
    if found.group("region") != backend.region_name:
        reason = "The web ACL and the resource must be in the same Region."
        raise invalid("RESOURCE_ARN", arn, reason)
    if kind != "API_GATEWAY":
        return None
    from moto.apigateway.models import apigateway_backends
    from moto.core.exceptions import JsonRESTError

    apigateway = apigateway_backends[backend.account_id][backend.region_name]
    try:
        return apigateway.get_stage(found.group("api"), found.group("stage"))
    except JsonRESTError:
        if must_exist:
            raise error("WAFNonexistentItemException", NONEXISTENT)
        return None


def check_associations():
    """AssociateWebACL, DisassociateWebACL, GetWebACLForResource and the new
    ListResourcesForWebACL as the API reference and developer guide describe them:

    - The resource ARN is one of AssociateWebACL's documented forms, for a REST API stage
      `arn:partition:apigateway:region::/restapis/api-id/stages/stage-name`, and in the web
      ACL's Region ("the web ACL must be in the same region as your resource"); otherwise
      WAFInvalidParameterException ("Your request references an ARN that is malformed, or
      corresponds to a resource with which a web ACL can't be associated").
    - A stage that does not exist is WAFNonexistentItemException (other resource types are not
      looked up, as before).
    - "A resource can have at most one web ACL association": associating another web ACL
      moves the resource to it (the pages refuse nothing there), and GetStage's webAclArn
      follows. DisassociateWebACL removes the association "if it has one".
    - DeleteWebACL of a web ACL still associated is WAFAssociatedItemException: "Before
      deleting any web ACL, first disassociate it from all resources."
    https://docs.aws.amazon.com/waf/latest/APIReference/API_AssociateWebACL.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_DisassociateWebACL.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_GetWebACLForResource.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_ListResourcesForWebACL.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_DeleteWebACL.html
    https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-associating-aws-resource.html
    https://docs.aws.amazon.com/apigateway/latest/api/API_Stage.html
    """
    from moto.wafv2.models import WAFV2Backend
    from moto.wafv2.responses import WAFV2Response
    from moto.wafv2.utils import make_arn_for_wacl

    def detach(backend, arn):
        for acl in backend.wacls.values():
            if arn in acl.associated_resources:
                acl.associated_resources.remove(arn)

    def associate_web_acl(self, web_acl_arn, resource_arn):
        acl = self.wacls.get(web_acl_arn)
        if acl is None:
            raise error("WAFNonexistentItemException", NONEXISTENT)
        stage = resolve(self, resource_arn)
        detach(self, resource_arn)
        acl.associated_resources.append(resource_arn)
        if stage is not None:
            stage.web_acl_arn = acl.arn

    def disassociate_web_acl(self, resource_arn):
        stage = resolve(self, resource_arn, must_exist=False)
        detach(self, resource_arn)
        if stage is not None:
            stage.web_acl_arn = None

    def get_web_acl_for_resource(self, resource_arn):
        resolve(self, resource_arn)
        acls = self.wacls.values()
        return next((a for a in acls if resource_arn in a.associated_resources), None)

    def list_resources_for_web_acl(self, web_acl_arn, kind):
        acl = self.wacls.get(web_acl_arn)
        if acl is None:
            raise error("WAFNonexistentItemException", NONEXISTENT)
        if kind not in RESOURCE_ARNS:
            raise invalid("RESOURCE_TYPE", kind, "The resource type isn't valid.")
        return [arn for arn in acl.associated_resources if resource_type(arn) == kind]

    original_delete = WAFV2Backend.delete_web_acl

    def delete_web_acl(self, name, scope, _id, lock_token):
        arn = make_arn_for_wacl(
            name=name, account_id=self.account_id, region_name=self.region_name, _id=_id,
            scope=scope,
        )
        acl = self.wacls.get(arn)
        if acl is not None and acl.lock_token == lock_token and acl.associated_resources:
            raise error("WAFAssociatedItemException", ASSOCIATED)
        original_delete(self, name, scope, _id, lock_token)
        self.tagging_service.delete_all_tags_for_resource(arn)

    def respond_list_resources(self):
        # Default ResourceType: APPLICATION_LOAD_BALANCER (API_ListResourcesForWebACL).
        body = json.loads(self.body)
        arns = self.wafv2_backend.list_resources_for_web_acl(
            body.get("WebACLArn"), body.get("ResourceType") or "APPLICATION_LOAD_BALANCER"
        )
        return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": arns})

    WAFV2Backend.associate_web_acl = associate_web_acl
    WAFV2Backend.disassociate_web_acl = disassociate_web_acl
    WAFV2Backend.get_web_acl_for_resource = get_web_acl_for_resource
    WAFV2Backend.list_resources_for_web_acl = list_resources_for_web_acl
    WAFV2Backend.delete_web_acl = delete_web_acl
    if not hasattr(WAFV2Response, "list_resources_for_web_acl"):
        WAFV2Response.list_resources_for_web_acl = respond_list_resources


def forget_deleted_stages():
    """A deleted stage (or REST API) keeps no web ACL association. The pages do not say what
    becomes of the association; a deleted resource is protected by nothing, and moto kept it,
    so that DeleteWebACL refused the web ACL of a stack whose API was already gone."""
    from moto.apigateway.models import APIGatewayBackend
    from moto.wafv2.models import wafv2_backends

    def forget(backend, api_id, stage_name=None):
        waf = wafv2_backends[backend.account_id][backend.region_name]
        for acl in waf.wacls.values():
            kept = []
            for arn in acl.associated_resources:
                found = RESOURCE_ARNS["API_GATEWAY"].match(arn)
                stages = (None, found and found.group("stage"))
                if found and found.group("api") == api_id and stage_name in stages:
                    continue
                kept.append(arn)
            acl.associated_resources = kept

    original_stage, original_api = APIGatewayBackend.delete_stage, APIGatewayBackend.delete_rest_api

    def delete_stage(self, function_id, stage_name):
        original_stage(self, function_id, stage_name)
        forget(self, function_id, stage_name)

    def delete_rest_api(self, function_id):
        api = original_api(self, function_id)
        forget(self, function_id)
        return api

    APIGatewayBackend.delete_stage = delete_stage
    APIGatewayBackend.delete_rest_api = delete_rest_api


def check_tagged_resources():
    """TagResource, UntagResource and ListTagsForResource on an ARN naming no AWS WAF resource
    are WAFNonexistentItemException (moto kept tags for any string).
    https://docs.aws.amazon.com/waf/latest/APIReference/API_TagResource.html
    https://docs.aws.amazon.com/waf/latest/APIReference/API_ListTagsForResource.html
    """
    from moto.wafv2.models import WAFV2Backend

    def exists(backend, arn):
        stores = (backend.wacls, backend.ip_sets, backend.rule_groups, backend.regex_pattern_sets)
        return any(arn in store for store in stores)

    for name in ("tag_resource", "untag_resource", "list_tags_for_resource"):

        def checked(self, arn, *args, _original=getattr(WAFV2Backend, name), **kwargs):
            if not exists(self, arn):
                raise error("WAFNonexistentItemException", NONEXISTENT)
            return _original(self, arn, *args, **kwargs)

        setattr(WAFV2Backend, name, checked)


def install():
    documented_errors()
    check_definitions()
    answer_as_documented()
    check_associations()
    forget_deleted_stages()
    check_tagged_resources()
