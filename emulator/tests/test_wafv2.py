"""AWS WAF web ACLs on a running emulator (`ecomflow_emulator.wafv2`): the tool's definition
(a rate-based rule and two AWS managed rule groups) round-tripping, UpdateWebACL and
DeleteWebACL under their lock token, the association with an API Gateway stage that GetStage
reports, and each rule with the case AWS accepts and the one it refuses.
"""

import itertools
import unittest

from botocore.exceptions import ClientError

from support import ACCOUNT, EmulatorCase

ALLOW = {"Allow": {}}


def visibility(name):
    return {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}


def rate_rule(limit=2000, priority=0, action=None, **statement):
    return {
        "Name": "rate-limit",
        "Priority": priority,
        "Statement": {"RateBasedStatement": {"Limit": limit, "AggregateKeyType": "IP", **statement}},
        "Action": action or {"Block": {}},
        "VisibilityConfig": visibility("rate-limit"),
    }


def managed_rule(name, priority):
    return {
        "Name": name,
        "Priority": priority,
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}},
        "OverrideAction": {"None": {}},
        "VisibilityConfig": visibility(name),
    }


# The tool's web ACL for a REST API stage.
RULES = [
    rate_rule(),
    managed_rule("AWSManagedRulesCommonRuleSet", 1),
    managed_rule("AWSManagedRulesKnownBadInputsRuleSet", 2),
]


class WafWebAcls(EmulatorCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.waf = cls.client("wafv2")
        # botocore refuses a rate limit below its modeled minimum before sending it.
        cls.unchecked = cls.client("wafv2", validate=False)
        cls.api = cls.client("apigateway")

    def create(self, rules=RULES, client=None, name=None, **extra):
        """A web ACL: its summary (Name, Id, ARN, LockToken)."""
        name = name or f"stack{next(self.names)}-api"
        return (client or self.waf).create_web_acl(
            Name=name,
            Scope="REGIONAL",
            DefaultAction=extra.pop("DefaultAction", ALLOW),
            VisibilityConfig=extra.pop("VisibilityConfig", visibility(name)),
            Rules=rules,
            **extra,
        )["Summary"]

    def get(self, acl):
        return self.waf.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])

    def stage(self, name="v1"):
        """A deployed REST API stage: (api id, stage ARN)."""
        api = self.api.create_rest_api(name=f"api-{next(self.names)}")["id"]
        root = self.api.get_resources(restApiId=api)["items"][0]["id"]
        self.api.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        self.api.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        deployment = self.api.create_deployment(restApiId=api)["id"]
        self.api.create_stage(restApiId=api, stageName=name, deploymentId=deployment)
        return api, f"arn:aws:apigateway:us-east-1::/restapis/{api}/stages/{name}"

    def invalid(self, call, field):
        """`call` must fail with WAFInvalidParameterException (400) naming `field`."""
        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], "WAFInvalidParameterException")
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(error.get("Field"), field)

    def test_round_trip_with_stage(self):
        acl = self.create(Tags=[{"Key": "stack", "Value": "dev"}])
        got = self.get(acl)
        self.assertEqual(got["WebACL"]["Rules"], RULES)
        self.assertEqual(got["WebACL"]["DefaultAction"], ALLOW)
        self.assertEqual(got["WebACL"]["VisibilityConfig"], visibility(acl["Name"]))
        self.assertNotIn("LockToken", got["WebACL"])

        rules = [rate_rule(limit=500), *RULES[1:]]
        token = self.waf.update_web_acl(
            Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], DefaultAction=ALLOW,
            VisibilityConfig=visibility(acl["Name"]), Rules=rules, LockToken=got["LockToken"],
        )["NextLockToken"]
        got = self.get(acl)
        self.assertEqual(got["LockToken"], token)
        self.assertEqual(got["WebACL"]["Rules"], rules)

        arns, marker = [], {}
        while True:
            page = self.waf.list_web_acls(Scope="REGIONAL", Limit=1, **marker)
            arns += [a["ARN"] for a in page["WebACLs"]]
            if not page.get("NextMarker"):
                break
            marker = {"NextMarker": page["NextMarker"]}
        self.assertIn(acl["ARN"], arns)

        self.waf.tag_resource(ResourceARN=acl["ARN"], Tags=[{"Key": "owner", "Value": "data"}])
        self.waf.untag_resource(ResourceARN=acl["ARN"], TagKeys=["stack"])
        tags = self.waf.list_tags_for_resource(ResourceARN=acl["ARN"])["TagInfoForResource"]
        self.assertEqual(tags["TagList"], [{"Key": "owner", "Value": "data"}])

        api, stage = self.stage()
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
        self.assertEqual(self.waf.get_web_acl_for_resource(ResourceArn=stage)["WebACL"]["ARN"], acl["ARN"])
        self.assertEqual(self.api.get_stage(restApiId=api, stageName="v1")["webAclArn"], acl["ARN"])
        self.assertEqual(self.api.get_stages(restApiId=api)["item"][0]["webAclArn"], acl["ARN"])
        listed = self.waf.list_resources_for_web_acl(WebACLArn=acl["ARN"], ResourceType="API_GATEWAY")
        self.assertEqual(listed["ResourceArns"], [stage])
        self.assertEqual(self.waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"], [])

        self.waf.disassociate_web_acl(ResourceArn=stage)
        self.assertNotIn("webAclArn", self.api.get_stage(restApiId=api, stageName="v1"))
        self.assertIsNone(self.waf.get_web_acl_for_resource(ResourceArn=stage).get("WebACL"))
        self.waf.delete_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=token)
        self.refused(lambda: self.get(acl), "WAFNonexistentItemException", 400)

    def test_stale_lock_token(self):
        acl = self.create()
        stale = self.get(acl)["LockToken"]
        update = dict(
            Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], DefaultAction=ALLOW,
            VisibilityConfig=visibility(acl["Name"]), Rules=RULES,
        )
        fresh = self.waf.update_web_acl(**update, LockToken=stale)["NextLockToken"]
        self.refused(lambda: self.waf.update_web_acl(**update, LockToken=stale), "WAFOptimisticLockException", 400)
        delete = dict(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])
        self.refused(lambda: self.waf.delete_web_acl(**delete, LockToken=stale), "WAFOptimisticLockException", 400)
        self.waf.delete_web_acl(**delete, LockToken=fresh)

    def test_update_replaces_the_definition(self):
        acl = self.create(Description="before")
        self.waf.update_web_acl(
            Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], DefaultAction={"Block": {}},
            VisibilityConfig=visibility(acl["Name"]), LockToken=self.get(acl)["LockToken"],
        )
        got = self.get(acl)["WebACL"]
        self.assertEqual(got.get("Rules", []), [])
        self.assertEqual(got.get("Description", ""), "")
        self.assertEqual(got["DefaultAction"], {"Block": {}})

    def test_name_unique_per_scope(self):
        acl = self.create()
        message = self.refused(lambda: self.create(name=acl["Name"]), "WAFDuplicateItemException", 400)
        self.assertIn("duplicate", message)
        self.create(name=acl["Name"] + "-2")

    def test_rate_limit_range(self):
        for limit in (9, 2_000_000_001):
            self.invalid(lambda: self.create([rate_rule(limit)], client=self.unchecked), "RATE_BASED_STATEMENT")
        for limit in (10, 2_000_000_000):
            self.create([rate_rule(limit)], client=self.unchecked)

    def test_evaluation_window(self):
        self.invalid(lambda: self.create([rate_rule(EvaluationWindowSec=90)]), "RATE_BASED_STATEMENT")
        self.create([rate_rule(EvaluationWindowSec=120)])

    def test_aggregate_key_type_needs_its_setting(self):
        forwarded = rate_rule()
        forwarded["Statement"]["RateBasedStatement"]["AggregateKeyType"] = "FORWARDED_IP"
        self.invalid(lambda: self.create([forwarded]), "FORWARDED_IP_CONFIG")
        forwarded["Statement"]["RateBasedStatement"]["ForwardedIPConfig"] = {
            "HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"
        }
        self.create([forwarded])

    def test_rate_based_rule_cannot_allow(self):
        self.invalid(lambda: self.create([rate_rule(action=ALLOW)]), "RULE_ACTION")
        self.create([rate_rule(action={"Count": {}})])

    def test_action_or_override_action(self):
        with_action = {**managed_rule("AWSManagedRulesCommonRuleSet", 0), "Action": {"Block": {}}}
        self.invalid(lambda: self.create([with_action]), "RULE_ACTION")
        without = managed_rule("AWSManagedRulesCommonRuleSet", 0)
        del without["OverrideAction"]
        self.invalid(lambda: self.create([without]), "OVERRIDE_ACTION")
        overridden = {**rate_rule(), "OverrideAction": {"None": {}}}
        self.invalid(lambda: self.create([overridden]), "OVERRIDE_ACTION")
        no_action = rate_rule()
        del no_action["Action"]
        self.invalid(lambda: self.create([no_action]), "RULE_ACTION")
        self.create([rate_rule(), managed_rule("AWSManagedRulesCommonRuleSet", 1)])

    def test_group_and_rate_statements_only_at_top(self):
        managed = managed_rule("AWSManagedRulesCommonRuleSet", 0)
        nested = {**rate_rule(), "Statement": {"NotStatement": {"Statement": managed["Statement"]}}}
        self.invalid(lambda: self.create([nested]), "MANAGED_RULE_SET_STATEMENT")
        inner = rate_rule()["Statement"]
        nested = {**rate_rule(), "Statement": {"NotStatement": {"Statement": inner}}}
        self.invalid(lambda: self.create([nested]), "RATE_BASED_STATEMENT")
        self.create([managed])

    def test_priorities_differ(self):
        same = [rate_rule(priority=1), managed_rule("AWSManagedRulesCommonRuleSet", 1)]
        self.invalid(lambda: self.create(same), "RULE")
        self.create([rate_rule(priority=0), managed_rule("AWSManagedRulesCommonRuleSet", 1)])

    def test_default_action_is_allow_or_block(self):
        both = {"Allow": {}, "Block": {}}
        self.invalid(lambda: self.create(DefaultAction=both), "DEFAULT_ACTION")
        self.invalid(lambda: self.create(DefaultAction={}), "DEFAULT_ACTION")
        self.create(DefaultAction={"Block": {}})

    def test_names_and_metric_names(self):
        self.invalid(lambda: self.create(name="stack api"), "WEB_ACL")
        self.invalid(lambda: self.create(VisibilityConfig=visibility("All")), "METRIC_NAME")
        self.invalid(lambda: self.create([{**rate_rule(), "Name": "rate limit"}]), "RULE")
        self.create(name="stack_api-x", VisibilityConfig=visibility("stack_api-x/metric"))

    def test_delete_associated_web_acl(self):
        acl = self.create()
        _, stage = self.stage()
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
        delete = dict(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=self.get(acl)["LockToken"])
        self.refused(lambda: self.waf.delete_web_acl(**delete), "WAFAssociatedItemException", 400)
        self.waf.disassociate_web_acl(ResourceArn=stage)
        self.waf.delete_web_acl(**delete)

    def test_stage_arn_form(self):
        acl = self.create()
        api, stage = self.stage("prod_v-1")
        for arn in (
            f"arn:aws:apigateway:us-east-1::/restapis/{api}",
            f"arn:aws:apigateway:us-east-1:{ACCOUNT}:/restapis/{api}/stages/prod_v-1",
            f"arn:aws:apigateway:us-west-2::/restapis/{api}/stages/prod_v-1",
            f"/restapis/{api}/stages/prod_v-1",
        ):
            self.invalid(lambda: self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=arn), "RESOURCE_ARN")
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
        self.assertEqual(self.api.get_stage(restApiId=api, stageName="prod_v-1")["webAclArn"], acl["ARN"])

    def test_stage_must_exist(self):
        acl = self.create()
        api, stage = self.stage()
        missing = stage.replace("/stages/v1", "/stages/v2")
        self.refused(
            lambda: self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=missing),
            "WAFNonexistentItemException", 400,
        )
        self.refused(lambda: self.waf.get_web_acl_for_resource(ResourceArn=missing), "WAFNonexistentItemException", 400)
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)

    def test_one_web_acl_per_resource(self):
        first, second = self.create(), self.create()
        api, stage = self.stage()
        self.waf.associate_web_acl(WebACLArn=first["ARN"], ResourceArn=stage)
        self.waf.associate_web_acl(WebACLArn=second["ARN"], ResourceArn=stage)
        self.assertEqual(self.waf.get_web_acl_for_resource(ResourceArn=stage)["WebACL"]["ARN"], second["ARN"])
        self.assertEqual(self.api.get_stage(restApiId=api, stageName="v1")["webAclArn"], second["ARN"])
        listed = self.waf.list_resources_for_web_acl(WebACLArn=first["ARN"], ResourceType="API_GATEWAY")
        self.assertEqual(listed["ResourceArns"], [])

    def test_deleted_stage_keeps_no_association(self):
        acl = self.create()
        api, stage = self.stage()
        self.waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
        self.api.delete_stage(restApiId=api, stageName="v1")
        listed = self.waf.list_resources_for_web_acl(WebACLArn=acl["ARN"], ResourceType="API_GATEWAY")
        self.assertEqual(listed["ResourceArns"], [])
        self.waf.delete_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"], LockToken=self.get(acl)["LockToken"])

    def test_tags_need_a_resource(self):
        acl = self.create()
        missing = acl["ARN"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        tags = [{"Key": "k", "Value": "v"}]
        self.refused(lambda: self.waf.tag_resource(ResourceARN=missing, Tags=tags), "WAFNonexistentItemException", 400)
        self.refused(lambda: self.waf.list_tags_for_resource(ResourceARN=missing), "WAFNonexistentItemException", 400)
        self.waf.tag_resource(ResourceARN=acl["ARN"], Tags=tags)

    def test_list_resources_of_missing_web_acl(self):
        acl = self.create()
        missing = acl["ARN"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        self.refused(lambda: self.waf.list_resources_for_web_acl(WebACLArn=missing), "WAFNonexistentItemException", 400)
        self.assertEqual(self.waf.list_resources_for_web_acl(WebACLArn=acl["ARN"])["ResourceArns"], [])


if __name__ == "__main__":
    unittest.main()
