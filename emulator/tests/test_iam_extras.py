"""IAM calls moto lacks, on a running emulator (`ecomflow_emulator.iam_extras`): the
access-advisor report of a role and ListOrganizationsFeatures, each with the case AWS answers
and the one it refuses.
"""

import unittest

from support import ACCOUNT, EmulatorCase, allow, policy

TRUST = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})


class IamExtras(EmulatorCase):
    @classmethod
    def build(cls):
        cls.iam = cls.client("iam")

    def test_service_last_accessed_lists_the_allowed_services(self):
        role = self.iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        self.iam.put_role_policy(
            RoleName="reader",
            PolicyName="read",
            PolicyDocument=policy(allow(["s3:GetObject", "S3:ListBucket", "dynamodb:Query"]), allow("*")),
        )
        job = self.iam.generate_service_last_accessed_details(Arn=role)["JobId"]
        report = self.iam.get_service_last_accessed_details(JobId=job)
        self.assertEqual(report["JobStatus"], "COMPLETED")
        self.assertEqual(report["JobType"], "SERVICE_LEVEL")
        self.assertIn("JobCompletionDate", report)
        services = {s["ServiceNamespace"]: s for s in report["ServicesLastAccessed"]}
        self.assertEqual(sorted(services), ["dynamodb", "s3"])
        self.assertEqual(services["s3"]["ServiceName"], "Amazon Simple Storage Service")
        self.assertEqual(services["s3"]["TotalAuthenticatedEntities"], 0)
        self.assertNotIn("LastAuthenticated", services["s3"])
        first = self.iam.get_service_last_accessed_details(JobId=job, MaxItems=1)
        self.assertTrue(first["IsTruncated"])
        rest = self.iam.get_service_last_accessed_details(JobId=job, Marker=first["Marker"])
        self.assertEqual(
            [s["ServiceNamespace"] for s in first["ServicesLastAccessed"] + rest["ServicesLastAccessed"]],
            ["dynamodb", "s3"],
        )

    def test_service_last_accessed_refuses_unknown_entities_and_jobs(self):
        for call in (
            lambda: self.iam.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{ACCOUNT}:role/missing"),
            lambda: self.iam.get_service_last_accessed_details(JobId="8d9e2c1a-0000-4000-8000-000000000000"),
        ):
            self.refused(call, "NoSuchEntity", 404)

    def test_list_organizations_features(self):
        message = self.refused(self.iam.list_organizations_features, "OrganizationNotFoundException", 400)
        self.assertEqual(message, "The request was rejected because no organization is associated with your account.")
        # In an organization, IAM needs trusted access (which moto's Organizations cannot enable
        # for iam.amazonaws.com: it does not know the principal).
        self.client("organizations").create_organization(FeatureSet="ALL")
        message = self.refused(self.iam.list_organizations_features, "ServiceAccessNotEnabledException", 400)
        self.assertEqual(
            message, "The request was rejected because trusted access is not enabled for IAM in AWS Organizations."
        )


if __name__ == "__main__":
    unittest.main()
