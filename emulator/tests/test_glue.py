"""Glue on a running emulator (`ecomflow_emulator.glue`): security configurations, jobs naming
them, and the catalog reads an auditor makes. One emulator (one test class, `Glue`); job runs
are in test_glue_run.
"""

import json
import unittest

from support import ACCOUNT, COLUMNS, EmulatorCase, allow, policy

KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class Glue(EmulatorCase):
    def test_security_configuration_kms_modes_need_a_key(self):
        glue = self.client("glue")
        for configuration in (
            {"S3Encryption": [{"S3EncryptionMode": "SSE-KMS"}]},
            {"CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS"}},
            {"JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS"}},
        ):
            message = self.refused(lambda: glue.create_security_configuration(
                Name="keyless", EncryptionConfiguration=configuration), "InvalidInputException", 400)
            self.assertIn("KmsKeyArn", message)
        message = self.refused(lambda: glue.create_security_configuration(Name="two-s3", EncryptionConfiguration={
            "S3Encryption": [{"S3EncryptionMode": "SSE-S3"}, {"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}]}),
            "InvalidInputException", 400)
        self.assertEqual(message, "S3 EncryptionConfiguration list cannot be greater than one")
        self.refused(lambda: glue.get_security_configuration(Name="keyless"), "EntityNotFoundException", 400)

        full = {
            "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}],
            "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": KEY},
            "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": KEY},
        }
        created = glue.create_security_configuration(Name="lake-kms", EncryptionConfiguration=full)
        self.assertEqual(created["Name"], "lake-kms")
        found = glue.get_security_configuration(Name="lake-kms")["SecurityConfiguration"]
        self.assertEqual(found["EncryptionConfiguration"], full)
        self.assertIn("CreatedTimeStamp", found)
        self.refused(lambda: glue.create_security_configuration(Name="lake-kms", EncryptionConfiguration=full),
                     "AlreadyExistsException", 400)
        listed = glue.get_security_configurations()["SecurityConfigurations"]
        self.assertIn("lake-kms", [c["Name"] for c in listed])
        glue.delete_security_configuration(Name="lake-kms")
        self.refused(lambda: glue.delete_security_configuration(Name="lake-kms"), "EntityNotFoundException", 400)
        self.refused(lambda: glue.get_security_configuration(Name="lake-kms"), "EntityNotFoundException", 400)

    def test_security_configuration_parts_left_out_read_as_disabled(self):
        glue = self.client("glue")
        glue.create_security_configuration(Name="sse-s3", EncryptionConfiguration={
            "S3Encryption": [{"S3EncryptionMode": "SSE-S3"}]})
        found = glue.get_security_configuration(Name="sse-s3")["SecurityConfiguration"]["EncryptionConfiguration"]
        self.assertEqual(found, {
            "S3Encryption": [{"S3EncryptionMode": "SSE-S3"}],
            "CloudWatchEncryption": {"CloudWatchEncryptionMode": "DISABLED"},
            "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "DISABLED"},
        })
        glue.delete_security_configuration(Name="sse-s3")

    def test_job_keeps_its_security_configuration_and_arguments(self):
        glue = self.client("glue")
        glue.create_security_configuration(Name="job-kms", EncryptionConfiguration={
            "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}],
            "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}})
        arguments = {"--enable-continuous-cloudwatch-log": "true", "--enable-job-insights": "true",
                     "--job-language": "python"}
        command = {"Name": "glueetl", "ScriptLocation": "s3://scripts/etl.py", "PythonVersion": "3"}
        role = f"arn:aws:iam::{ACCOUNT}:role/glue"
        glue.create_job(Name="etl", Role=role, Command=command, DefaultArguments=arguments,
                        SecurityConfiguration="job-kms", GlueVersion="5.0")
        job = glue.get_job(JobName="etl")["Job"]
        self.assertEqual((job["SecurityConfiguration"], job["DefaultArguments"]), ("job-kms", arguments))
        listed = {j["Name"]: j for j in glue.get_jobs()["Jobs"]}
        self.assertEqual(listed["etl"]["SecurityConfiguration"], "job-kms")
        # UpdateJob replaces the definition: a job update without them drops both.
        glue.update_job(JobName="etl", JobUpdate={"Role": role, "Command": command,
                                                  "DefaultArguments": {"--enable-job-insights": "false"}})
        job = glue.get_job(JobName="etl")["Job"]
        self.assertNotIn("SecurityConfiguration", job)
        self.assertEqual(job["DefaultArguments"], {"--enable-job-insights": "false"})
        glue.update_job(JobName="etl", JobUpdate={"Role": role, "Command": command, "DefaultArguments": arguments,
                                                  "SecurityConfiguration": "job-kms"})
        self.assertEqual(glue.get_job(JobName="etl")["Job"]["SecurityConfiguration"], "job-kms")
        glue.delete_job(JobName="etl")

    def test_catalog_reads_an_auditor_makes(self):
        glue = self.client("glue")
        # An account without such resources: an empty search, no transforms, no catalog policy,
        # the encryption settings' defaults.
        self.assertEqual(glue.search_tables(SearchText="invoice")["TableList"], [])
        self.assertEqual(glue.get_ml_transforms()["Transforms"], [])
        self.assertEqual(self.refused(lambda: glue.get_resource_policy(), "EntityNotFoundException", 400),
                         "Policy not found")
        settings = glue.get_data_catalog_encryption_settings()["DataCatalogEncryptionSettings"]
        self.assertEqual(settings["EncryptionAtRest"]["CatalogEncryptionMode"], "DISABLED")
        self.assertFalse(settings["ConnectionPasswordEncryption"]["ReturnConnectionPasswordEncrypted"])

        glue.create_database(DatabaseInput={"Name": "lake"})
        columns = [{"Name": n, "Type": t} for n, t in COLUMNS]
        for name in ("clean-invoice-lines", "raw_events"):
            glue.create_table(DatabaseName="lake", TableInput={
                "Name": name, "Description": "invoice lines" if "invoice" in name else "events",
                "StorageDescriptor": {"Columns": columns, "Location": f"s3://lake/{name}/"}})
        found = glue.search_tables()["TableList"]
        self.assertEqual(sorted(t["Name"] for t in found), ["clean-invoice-lines", "raw_events"])
        self.assertEqual(found[0]["DatabaseName"], "lake")
        self.assertEqual(found[0]["CatalogId"], ACCOUNT)
        self.assertEqual([t["Name"] for t in glue.search_tables(SearchText="LINES")["TableList"]], ["clean-invoice-lines"])
        self.assertEqual([t["Name"] for t in glue.search_tables(SearchText='"raw_events"')["TableList"]], ["raw_events"])
        by_token = glue.search_tables(Filters=[{"Key": "Name", "Value": "invoice"}])["TableList"]
        self.assertEqual([t["Name"] for t in by_token], ["clean-invoice-lines"])  # "-" splits tokens
        self.assertEqual(glue.search_tables(Filters=[{"Key": "Name", "Value": "invo"}])["TableList"], [])
        first = glue.search_tables(MaxResults=1)
        self.assertEqual(len(first["TableList"]), 1)
        rest = glue.search_tables(MaxResults=1, NextToken=first["NextToken"])
        self.assertNotIn("NextToken", rest)

        document = policy(allow("glue:GetTable", f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog",
                                Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
        glue.put_resource_policy(PolicyInJson=document)
        self.assertEqual(json.loads(glue.get_resource_policy()["PolicyInJson"]), json.loads(document))
        glue.delete_resource_policy()
        self.refused(lambda: glue.get_resource_policy(), "EntityNotFoundException", 400)
        for name in ("clean-invoice-lines", "raw_events"):
            glue.delete_table(DatabaseName="lake", Name=name)
        glue.delete_database(Name="lake")


if __name__ == "__main__":
    unittest.main()
