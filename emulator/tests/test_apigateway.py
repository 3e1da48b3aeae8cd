"""API Gateway REST APIs on a running emulator (`ecomflow_emulator.apigateway`): the account's
CloudWatch role and the stages' logging settings, each rule with the case AWS accepts and the
one it refuses.
"""

import itertools
import unittest

from support import ACCOUNT, EmulatorCase, allow, policy

APIGATEWAY_TRUST = policy(
    {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
)
LAMBDA_TRUST = policy(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
)
# AmazonAPIGatewayPushToCloudWatchLogs's document, inline (moto loads no AWS managed policy
# unless MOTO_IAM_LOAD_MANAGED_POLICIES is set).
PUSH_TO_LOGS = policy(
    allow(
        [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
        ]
    )
)
LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:api-access"
FIREHOSE = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/amazon-apigateway-access"
FORMAT = '{"requestId":"$context.requestId","status":"$context.status"}'
ROLE_REFUSED = (
    "The role ARN does not have required permissions configured. Please grant trust "
    "permission for API Gateway and add the required role policy."
)
NO_ROLE = "CloudWatch Logs role ARN must be set in account settings to enable logging"


def replace(path, value):
    return {"op": "replace", "path": path, "value": value}


class ApiGatewayLogging(EmulatorCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.api = cls.client("apigateway")
        cls.iam = cls.client("iam")

    def role(self, trust=APIGATEWAY_TRUST, inline=PUSH_TO_LOGS):
        name = f"apigw-logs-{next(self.names)}"
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        if inline:
            self.iam.put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=inline)
        return arn

    def set_role(self, arn):
        return self.api.update_account(patchOperations=[replace("/cloudwatchRoleArn", arn)])

    def stage(self, tracing=False):
        api = self.api.create_rest_api(name=f"api-{next(self.names)}")["id"]
        root = self.api.get_resources(restApiId=api)["items"][0]["id"]
        self.api.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        self.api.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        deployment = self.api.create_deployment(restApiId=api)["id"]
        self.api.create_stage(restApiId=api, stageName="dev", deploymentId=deployment, tracingEnabled=tracing)
        return api

    def update(self, api, *ops):
        return self.api.update_stage(restApiId=api, stageName="dev", patchOperations=list(ops))

    # The account's CloudWatch role.

    def test_role_refused_without_trust_or_permissions(self):
        before = self.api.get_account().get("cloudwatchRoleArn")
        for arn in (
            f"arn:aws:iam::{ACCOUNT}:role/missing",
            self.role(trust=LAMBDA_TRUST),
            self.role(inline=None),
            self.role(inline=policy(allow("logs:PutLogEvents"))),
        ):
            with self.subTest(arn=arn):
                message = self.refused(lambda: self.set_role(arn), "BadRequestException", 400)
                self.assertEqual(message, ROLE_REFUSED)
        self.assertEqual(self.api.get_account().get("cloudwatchRoleArn"), before)

    def test_stage_logging_refused_without_the_role(self):
        self.set_role("")  # an empty value clears it
        self.assertNotIn("cloudwatchRoleArn", self.api.get_account())
        api = self.stage()
        for op in (replace("/accessLogSettings/destinationArn", LOG_GROUP), replace("/*/*/logging/loglevel", "INFO")):
            with self.subTest(op=op):
                message = self.refused(lambda: self.update(api, op), "BadRequestException", 400)
                self.assertEqual(message, NO_ROLE)
        # A Firehose destination and loglevel OFF need no role.
        self.update(api, replace("/accessLogSettings/destinationArn", FIREHOSE), replace("/accessLogSettings/format", FORMAT))
        self.update(api, replace("/*/*/logging/loglevel", "OFF"))
        stage = self.api.get_stage(restApiId=api, stageName="dev")
        self.assertEqual(stage["accessLogSettings"], {"destinationArn": FIREHOSE, "format": FORMAT})

    def test_role_accepted_with_trust_and_permissions(self):
        for arn in (
            self.role(),
            self.role(inline=policy(allow("logs:*", "arn:aws:logs:us-east-1:*:*"))),
        ):
            with self.subTest(arn=arn):
                self.assertEqual(self.set_role(arn)["cloudwatchRoleArn"], arn)
                self.assertEqual(self.api.get_account()["cloudwatchRoleArn"], arn)

    # Stages, with the role set.

    def test_access_logging_round_trip(self):
        self.set_role(self.role())
        api = self.stage(tracing=True)
        self.assertTrue(self.api.get_stage(restApiId=api, stageName="dev")["tracingEnabled"])
        self.update(
            api,
            replace("/accessLogSettings/destinationArn", LOG_GROUP),
            replace("/accessLogSettings/format", FORMAT),
            replace("/tracingEnabled", "false"),
            replace("/*/*/logging/loglevel", "ERROR"),
            replace("/*/*/metrics/enabled", "true"),
        )
        stage = self.api.get_stages(restApiId=api)["item"][0]
        self.assertEqual(stage["accessLogSettings"], {"destinationArn": LOG_GROUP, "format": FORMAT})
        self.assertFalse(stage["tracingEnabled"])
        self.assertEqual(stage["methodSettings"]["*/*"]["loggingLevel"], "ERROR")
        self.assertTrue(stage["methodSettings"]["*/*"]["metricsEnabled"])
        self.api.update_stage(restApiId=api, stageName="dev", patchOperations=[{"op": "remove", "path": "/accessLogSettings"}])
        self.assertNotIn("accessLogSettings", self.api.get_stage(restApiId=api, stageName="dev"))

    def test_destination_must_be_a_log_group_or_an_apigateway_firehose(self):
        self.set_role(self.role())
        api = self.stage()
        for arn in (
            LOG_GROUP + ":*",
            "api-access",
            f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/access",
            f"arn:aws:s3:::access-logs",
        ):
            with self.subTest(arn=arn):
                message = self.refused(
                    lambda: self.update(api, replace("/accessLogSettings/destinationArn", arn)),
                    "BadRequestException",
                    400,
                )
                self.assertTrue(message.startswith("Invalid ARN specified in the request."), message)
        for arn in (LOG_GROUP, f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/api/dev", FIREHOSE):
            self.update(api, replace("/accessLogSettings/destinationArn", arn))

    def test_format_needs_a_request_id_on_one_line(self):
        self.set_role(self.role())
        api = self.stage()
        for text in ("$context.status $context.httpMethod", "$context.requestId\n$context.status"):
            with self.subTest(format=text):
                self.refused(
                    lambda: self.update(api, replace("/accessLogSettings/format", text)),
                    "BadRequestException",
                    400,
                )
        for text in ("$context.extendedRequestId", "${context.requestId} $context.status\n", FORMAT):
            self.update(api, replace("/accessLogSettings/format", text))

    def test_method_settings_paths_and_log_levels(self):
        self.set_role(self.role())
        api = self.stage()
        message = self.refused(
            lambda: self.update(api, replace("/*/*/accessLogSettings/format", FORMAT)), "BadRequestException", 400
        )
        self.assertTrue(message.startswith("Invalid method setting path: accessLogSettings/format."), message)
        self.refused(lambda: self.update(api, replace("/*/*/logging/loglevel", "DEBUG")), "BadRequestException", 400)
        for level in ("INFO", "ERROR", "OFF"):
            self.update(api, replace("/*/*/logging/loglevel", level))
            settings = self.api.get_stage(restApiId=api, stageName="dev")["methodSettings"]["*/*"]
            self.assertEqual(settings["loggingLevel"], level)


if __name__ == "__main__":
    unittest.main()
