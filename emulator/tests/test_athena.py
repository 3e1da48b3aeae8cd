"""Athena on a running emulator (`ecomflow_emulator.athena`): queries that run over the Parquet
of Glue tables (registered partitions and partition projection), Athena's result file and
result pages, the failures Athena reports, and the workgroup control plane. Each rule with the
case Athena allows and the one it refuses where it refuses something.
"""

import datetime
import decimal
import io
import time
import unittest

from support import ACCOUNT, COLUMNS, EmulatorCase

BUCKET = "lake"
RESULTS = f"s3://{BUCKET}/athena-results/"
PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
# The projection the project declares on `dt` (daily, yyyy-MM-dd, clean/dt=${dt}/).
PROJECTION = {
    "projection.enabled": "true",
    "projection.dt.type": "date",
    "projection.dt.format": "yyyy-MM-dd",
    "projection.dt.range": "2024-01-01,NOW",
    "projection.dt.interval": "1",
    "projection.dt.interval.unit": "DAYS",
    "storage.location.template": f"s3://{BUCKET}/clean/dt=${{dt}}/",
}


def parquet(rows):
    """Parquet bytes of invoice lines: (invoiceno, quantity, unitprice, customerid, country)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "invoiceno": [r[0] for r in rows],
            "stockcode": ["85123A"] * len(rows),
            "description": ['WHITE "HEART", T-LIGHT'] * len(rows),
            "quantity": pa.array([r[1] for r in rows], pa.int64()),
            "invoicedate": pa.array([datetime.datetime(2024, 1, 2, 8, 26, 0, 123456)] * len(rows), pa.timestamp("us")),
            "unitprice": pa.array([decimal.Decimal(r[2]) for r in rows], pa.decimal128(10, 3)),
            "customerid": pa.array([r[3] for r in rows], pa.int64()),
            "country": [r[4] for r in rows],
            "iscancellation": [False] * len(rows),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out, compression="snappy")
    return out.getvalue()


class AthenaCase(EmulatorCase):
    """A lake bucket, and helpers to declare tables and run queries to their end."""

    @classmethod
    def build(cls):
        cls.s3 = cls.client("s3")
        cls.glue = cls.client("glue")
        cls.athena = cls.client("athena")
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.glue.create_database(DatabaseInput={"Name": "shop"})

    @classmethod
    def table(cls, name, location, parameters=None, partitioned=True, columns=COLUMNS, storage=PARQUET):
        cls.glue.create_table(
            DatabaseName="shop",
            TableInput={
                "Name": name,
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": "dt", "Type": "string"}] if partitioned else [],
                "Parameters": {"classification": "parquet", **(parameters or {})},
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in columns],
                    "Location": location,
                    **storage,
                },
            },
        )

    def start(self, query, workgroup=None, location=RESULTS, database="shop", **extra):
        args = {"QueryString": query, "QueryExecutionContext": {"Database": database}, **extra}
        if location:
            args["ResultConfiguration"] = {"OutputLocation": location}
        if workgroup:
            args["WorkGroup"] = workgroup
        return self.athena.start_query_execution(**args)["QueryExecutionId"]

    def wait(self, query_id):
        """Polls GetQueryExecution to the end; the execution and the states seen, in order."""
        seen = []
        deadline = time.time() + 60
        while True:
            execution = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            state = execution["Status"]["State"]
            if not seen or seen[-1] != state:
                seen.append(state)
            if state in ("SUCCEEDED", "FAILED", "CANCELLED") or time.time() > deadline:
                return execution, seen
            time.sleep(0.02)

    def rows(self, query, **kwargs):
        """Runs a query to SUCCEEDED; its rows as lists of strings (None for NULL), header first."""
        execution, _ = self.wait(self.start(query, **kwargs))
        self.assertEqual(execution["Status"]["State"], "SUCCEEDED", execution["Status"].get("StateChangeReason"))
        result = self.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
        return [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]

    def failure(self, query, **kwargs):
        execution, _ = self.wait(self.start(query, **kwargs))
        self.assertEqual(execution["Status"]["State"], "FAILED")
        return execution["Status"]

    def body(self, location):
        bucket, key = location[len("s3://"):].split("/", 1)
        return self.s3.get_object(Bucket=bucket, Key=key)


class Queries(AthenaCase):
    @classmethod
    def build(cls):
        super().build()
        cls.table("lines", f"s3://{BUCKET}/clean/", PROJECTION)
        put = cls.s3.put_object
        put(Bucket=BUCKET, Key="clean/dt=2024-01-02/2024/01/02/08/part-0.parquet",
            Body=parquet([("536365", 2, "1.500", 17850, "France"), ("536366", 1, "2.250", None, "United Kingdom")]))
        put(Bucket=BUCKET, Key="clean/dt=2024-01-03/part-0.parquet",
            Body=parquet([("536367", 5, "0.100", 13047, "United Kingdom")]))
        put(Bucket=BUCKET, Key="clean/dt=2024-01-03/_SUCCESS", Body=b"")
        # Before the projected range: never read.
        put(Bucket=BUCKET, Key="clean/dt=2023-12-31/part-0.parquet",
            Body=parquet([("999999", 100, "100.000", 1, "Outside")]))

    # Rule: a query runs over the table's Parquet, as Athena reports it.

    def test_revenue_by_country_runs_over_the_projected_partitions(self):
        rows = self.rows(
            "SELECT country, sum(quantity * unitprice) AS revenue FROM shop.lines "
            "GROUP BY country ORDER BY 2 DESC"
        )
        self.assertEqual(rows, [["country", "revenue"], ["France", "3.000"], ["United Kingdom", "2.750"]])

    def test_states_are_athenas_queued_running_succeeded(self):
        execution, seen = self.wait(self.start("SELECT count(*) FROM lines"))
        self.assertEqual(seen[-1], "SUCCEEDED")
        self.assertTrue(set(seen) <= {"QUEUED", "RUNNING", "SUCCEEDED"}, seen)
        self.assertEqual(execution["WorkGroup"], "primary")
        self.assertEqual(execution["StatementType"], "DML")
        self.assertGreater(execution["Statistics"]["DataScannedInBytes"], 0)
        self.assertIn("CompletionDateTime", execution["Status"])

    # Rule: GetQueryResults' first row is the header; types are Athena's; pages up to 1000.

    def test_header_row_and_column_types(self):
        execution, _ = self.wait(self.start("SELECT * FROM \"shop\".\"lines\" WHERE dt = '2024-01-03'"))
        result = self.athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
        rows = [[d.get("VarCharValue") for d in row["Data"]] for row in result["ResultSet"]["Rows"]]
        names = [n for n, _ in COLUMNS] + ["dt"]
        self.assertEqual(rows[0], names)
        self.assertEqual(
            rows[1],
            ["536367", "85123A", 'WHITE "HEART", T-LIGHT', "5", "2024-01-02 08:26:00.123", "0.100",
             "13047", "United Kingdom", "false", "2024-01-03"],
        )
        info = {c["Name"]: c for c in result["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]}
        self.assertEqual(
            {n: (c["Type"], c["Precision"], c["Scale"]) for n, c in info.items()},
            {
                "invoiceno": ("varchar", 2147483647, 0), "stockcode": ("varchar", 2147483647, 0),
                "description": ("varchar", 2147483647, 0), "quantity": ("bigint", 19, 0),
                "invoicedate": ("timestamp", 3, 0), "unitprice": ("decimal", 10, 3),
                "customerid": ("bigint", 19, 0), "country": ("varchar", 2147483647, 0),
                "iscancellation": ("boolean", 0, 0), "dt": ("varchar", 2147483647, 0),
            },
        )
        self.assertEqual(info["country"]["CatalogName"], "hive")
        self.assertTrue(info["country"]["CaseSensitive"])

    def test_labels_as_written_and_unnamed_expressions_as_col_n(self):
        rows = self.rows("SELECT Country, count(*), avg(quantity) AS Mean FROM lines WHERE dt = '2024-01-02' GROUP BY 1 ORDER BY 1")
        self.assertEqual(rows[0], ["Country", "_col1", "Mean"])
        self.assertEqual(rows[1:], [["France", "1", "2.0"], ["United Kingdom", "1", "1.0"]])

    def test_pages_of_max_results_with_next_token(self):
        query_id = self.start("SELECT invoiceno FROM lines ORDER BY invoiceno")
        self.wait(query_id)
        first = self.athena.get_query_results(QueryExecutionId=query_id, MaxResults=2)
        self.assertEqual([r["Data"][0]["VarCharValue"] for r in first["ResultSet"]["Rows"]], ["invoiceno", "536365"])
        second = self.athena.get_query_results(QueryExecutionId=query_id, MaxResults=2, NextToken=first["NextToken"])
        self.assertEqual([r["Data"][0]["VarCharValue"] for r in second["ResultSet"]["Rows"]], ["536366", "536367"])
        self.assertNotIn("NextToken", second)

    def test_more_than_1000_results_a_page_is_refused(self):
        query_id = self.start("SELECT 1")
        self.wait(query_id)
        message = self.refused(
            lambda: self.athena.get_query_results(QueryExecutionId=query_id, MaxResults=1001),
            "InvalidRequestException", 400,
        )
        self.assertIn("1000", message)

    # Rule: the result file, as Athena writes it, at <location>/<id>.csv (+ .metadata).

    def test_result_csv_quotes_every_value_and_leaves_null_empty(self):
        query_id = self.start(
            "SELECT invoiceno, customerid, description, '' AS empty FROM lines "
            "WHERE dt = '2024-01-02' ORDER BY invoiceno"
        )
        execution, _ = self.wait(query_id)
        location = execution["ResultConfiguration"]["OutputLocation"]
        self.assertEqual(location, f"{RESULTS}{query_id}.csv")
        self.assertEqual(
            self.body(location)["Body"].read(),
            b'"invoiceno","customerid","description","empty"\n'
            b'"536365","17850","WHITE ""HEART"", T-LIGHT",""\n'
            b'"536366",,"WHITE ""HEART"", T-LIGHT",""\n',
        )
        metadata = self.body(location + ".metadata")["Body"].read()
        self.assertIn(query_id.encode(), metadata)
        self.assertIn(b"varchar", metadata)

    # Rule: partition projection reads the projected days only, and the WHERE clause prunes.

    def test_projection_reads_only_the_days_in_range(self):
        rows = self.rows("SELECT dt, count(*) FROM lines GROUP BY dt ORDER BY dt")
        self.assertEqual(rows, [["dt", "_col1"], ["2024-01-02", "2"], ["2024-01-03", "1"]])
        self.assertNotIn(["Outside"], self.rows("SELECT DISTINCT country FROM lines"))

    def test_where_on_the_partition_prunes_what_is_scanned(self):
        everything, _ = self.wait(self.start("SELECT count(*) FROM lines"))
        one_day, _ = self.wait(self.start("SELECT count(*) FROM lines WHERE dt = '2024-01-03'"))
        self.assertLess(
            one_day["Statistics"]["DataScannedInBytes"], everything["Statistics"]["DataScannedInBytes"]
        )

    def test_registered_partitions_without_projection(self):
        self.table("registered", f"s3://{BUCKET}/clean/")
        self.glue.create_partition(
            DatabaseName="shop", TableName="registered",
            PartitionInput={"Values": ["2024-01-03"], "StorageDescriptor": {"Location": f"s3://{BUCKET}/clean/dt=2024-01-03/"}},
        )
        # Only the registered day is read.
        self.assertEqual(self.rows("SELECT dt, count(*) FROM registered GROUP BY dt"), [["dt", "_col1"], ["2024-01-03", "1"]])

    def test_injected_projection_needs_a_value_in_the_where_clause(self):
        self.table("by_country", f"s3://{BUCKET}/clean/", {
            "projection.enabled": "true", "projection.dt.type": "injected",
        })
        self.assertEqual(self.rows("SELECT count(*) FROM by_country WHERE dt = '2024-01-02'"), [["_col0"], ["2"]])
        status = self.failure("SELECT count(*) FROM by_country")
        self.assertTrue(status["StateChangeReason"].startswith("CONSTRAINT_VIOLATION: Injected projected partition column dt"))

    def test_projection_relative_to_now_in_utc(self):
        today = datetime.datetime.now(datetime.timezone.utc).date()
        self.table("recent", f"s3://{BUCKET}/recent/", PROJECTION | {
            "projection.dt.range": "NOW-1DAYS,NOW",
            "storage.location.template": f"s3://{BUCKET}/recent/dt=${{dt}}/",
        })
        for age in (0, 3):
            day = (today - datetime.timedelta(days=age)).isoformat()
            self.s3.put_object(Bucket=BUCKET, Key=f"recent/dt={day}/part-0.parquet",
                               Body=parquet([(f"age{age}", 1, "1.000", 1, "UK")]))
        self.assertEqual(self.rows("SELECT invoiceno FROM recent"), [["invoiceno"], ["age0"]])

    def test_enum_and_integer_projection_with_a_location_template(self):
        self.table(
            "hourly", f"s3://{BUCKET}/hourly/",
            {
                "projection.enabled": "true",
                "projection.region.type": "enum", "projection.region.values": "eu,us",
                "projection.hour.type": "integer", "projection.hour.range": "0,23", "projection.hour.digits": "2",
                "storage.location.template": f"s3://{BUCKET}/hourly/${{region}}/h${{hour}}/",
            },
            partitioned=False,
        )
        self.glue.update_table(DatabaseName="shop", TableInput={
            **{k: v for k, v in self.glue.get_table(DatabaseName="shop", Name="hourly")["Table"].items()
               if k in ("Name", "StorageDescriptor", "Parameters", "TableType")},
            "PartitionKeys": [{"Name": "region", "Type": "string"}, {"Name": "hour", "Type": "int"}],
        })
        put = self.s3.put_object
        put(Bucket=BUCKET, Key="hourly/eu/h07/a.parquet", Body=parquet([("eu7", 1, "1.000", 1, "France")]))
        put(Bucket=BUCKET, Key="hourly/us/h23/a.parquet", Body=parquet([("us23", 1, "1.000", 1, "USA")]))
        put(Bucket=BUCKET, Key="hourly/ap/h01/a.parquet", Body=parquet([("ap1", 1, "1.000", 1, "Japan")]))  # not an enum value
        put(Bucket=BUCKET, Key="hourly/eu/h7/a.parquet", Body=parquet([("eu7bad", 1, "1.000", 1, "France")]))  # not 2 digits
        rows = self.rows("SELECT region, hour, invoiceno FROM hourly ORDER BY invoiceno")
        self.assertEqual(rows, [["region", "hour", "invoiceno"], ["eu", "7", "eu7"], ["us", "23", "us23"]])
        self.assertEqual(self.rows("SELECT invoiceno FROM hourly WHERE hour > 12"), [["invoiceno"], ["us23"]])

    def test_json_lines_tables_are_read_case_insensitively(self):
        self.table(
            "raw", f"s3://{BUCKET}/raw/",
            partitioned=False,
            columns=[("invoiceno", "string"), ("quantity", "int"), ("unitprice", "decimal(10,3)")],
            storage={"SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}},
        )
        self.s3.put_object(Bucket=BUCKET, Key="raw/a.json",
                           Body=b'{"InvoiceNo": "536365", "Quantity": 6, "UnitPrice": 2.55}\n{"invoiceno": "536366"}\n')
        self.assertEqual(
            self.rows("SELECT * FROM raw ORDER BY invoiceno"),
            [["invoiceno", "quantity", "unitprice"], ["536365", "6", "2.550"], ["536366", None, None]],
        )

    def test_projection_without_configuration_for_a_partition_column_fails(self):
        self.table("unconfigured", f"s3://{BUCKET}/clean/", {"projection.enabled": "true"})
        status = self.failure("SELECT count(*) FROM unconfigured")
        self.assertIn("missing projection configuration: [dt]", status["StateChangeReason"])

    # Rule: Athena's (Trino's) SQL, translated where DuckDB differs.

    def test_trino_semantics_where_duckdb_differs(self):
        rows = self.rows(
            "SELECT 7 / 2, 7.0 / 2, date_trunc('month', date(invoicedate)), "
            "format_datetime(invoicedate, 'yyyy-MM-dd HH:mm'), "
            "date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00'), "
            "avg(unitprice), day_of_week(DATE '2024-01-07'), CAST(unitprice AS decimal(10,1)) "
            "FROM lines WHERE dt = '2024-01-03' GROUP BY 3, 4, 8"
        )
        self.assertEqual(rows[1], ["3", "3.5", "2024-01-01", "2024-01-02 08:26", "0", "0.100", "7", "0.1"])

    def test_doubles_print_as_java_does(self):
        self.assertEqual(self.rows("SELECT 1e3, 12345678.9, 0.0001, 1.5")[1], ["1000.0", "1.23456789E7", "1.0E-4", "1.5"])

    # Rule: what Athena refuses.

    def test_a_syntax_error_is_refused_by_start_query_execution(self):
        message = self.refused(lambda: self.start("SELEC country FROM lines"), "InvalidRequestException", 400)
        self.assertTrue(message.startswith("line 1:1: mismatched input 'SELEC'. Expecting: "), message)

    def test_an_unknown_column_fails(self):
        status = self.failure("SELECT nope FROM lines")
        self.assertEqual(
            status["StateChangeReason"],
            "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved or requester is not "
            "authorized to access requested resources",
        )
        self.assertEqual(status["AthenaError"]["ErrorCategory"], 2)
        self.assertEqual(status["AthenaError"]["ErrorType"], 1006)
        self.assertFalse(status["AthenaError"]["Retryable"])

    def test_an_unknown_table_fails(self):
        status = self.failure("SELECT * FROM nosuch")
        self.assertEqual(status["StateChangeReason"], "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.shop.nosuch' does not exist")
        status = self.failure("SELECT * FROM nodb.lines")
        self.assertEqual(status["StateChangeReason"], "SCHEMA_NOT_FOUND: line 1:15: Schema 'nodb' does not exist")

    def test_results_of_a_failed_query_are_refused(self):
        query_id = self.start("SELECT nope FROM lines")
        self.wait(query_id)
        message = self.refused(lambda: self.athena.get_query_results(QueryExecutionId=query_id), "InvalidRequestException", 400)
        self.assertEqual(message, "Query did not finish successfully. Final query state: FAILED")

    def test_no_output_location_is_refused(self):
        message = self.refused(lambda: self.start("SELECT 1", location=None), "InvalidRequestException", 400)
        self.assertTrue(message.startswith("No output location provided."), message)

    # Rule: StopQueryExecution and ListQueryExecutions.

    def test_stop_and_list(self):
        query_id = self.start("SELECT count(*) FROM lines")
        self.athena.stop_query_execution(QueryExecutionId=query_id)
        execution, _ = self.wait(query_id)
        self.assertIn(execution["Status"]["State"], ("CANCELLED", "SUCCEEDED"))  # a race Athena has too
        self.assertIn(query_id, self.athena.list_query_executions()["QueryExecutionIds"])
        self.refused(lambda: self.athena.stop_query_execution(QueryExecutionId="nope"), "InvalidRequestException", 400)


class Workgroups(AthenaCase):
    def workgroup(self, name, **configuration):
        self.athena.create_work_group(Name=name, Configuration=configuration, Tags=[{"Key": "team", "Value": "data"}])
        return f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/{name}"

    # Rule: an enforcing workgroup's location and encryption override the client's.

    def test_enforced_output_location_and_encryption(self):
        self.workgroup(
            "enforced",
            ResultConfiguration={
                "OutputLocation": f"s3://{BUCKET}/enforced/",
                "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": "arn:aws:kms:us-east-1:123456789012:key/k1"},
            },
            EnforceWorkGroupConfiguration=True,
        )
        query_id = self.start("SELECT 1 AS one", workgroup="enforced", location=f"s3://{BUCKET}/client/")
        execution, _ = self.wait(query_id)
        location = execution["ResultConfiguration"]["OutputLocation"]
        self.assertEqual(location, f"s3://{BUCKET}/enforced/{query_id}.csv")
        obj = self.body(location)
        self.assertEqual(obj["Body"].read(), b'"one"\n"1"\n')
        self.assertEqual(obj["ServerSideEncryption"], "aws:kms")
        self.assertEqual(obj["SSEKMSKeyId"], "arn:aws:kms:us-east-1:123456789012:key/k1")

    def test_client_location_wins_when_not_enforced(self):
        self.workgroup("lenient", ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/lenient/"}, EnforceWorkGroupConfiguration=False)
        query_id = self.start("SELECT 1", workgroup="lenient", location=f"s3://{BUCKET}/client/")
        execution, _ = self.wait(query_id)
        self.assertEqual(execution["ResultConfiguration"]["OutputLocation"], f"s3://{BUCKET}/client/{query_id}.csv")
        # Without one of its own, the query takes the workgroup's.
        query_id = self.start("SELECT 1", workgroup="lenient", location=None)
        execution, _ = self.wait(query_id)
        self.assertEqual(execution["ResultConfiguration"]["OutputLocation"], f"s3://{BUCKET}/lenient/{query_id}.csv")

    def test_a_disabled_workgroup_runs_nothing(self):
        self.workgroup("paused", ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/paused/"})
        self.athena.update_work_group(WorkGroup="paused", State="DISABLED")
        message = self.refused(lambda: self.start("SELECT 1", workgroup="paused"), "InvalidRequestException", 400)
        self.assertEqual(message, "WorkGroup paused is disabled.")
        self.athena.update_work_group(WorkGroup="paused", State="ENABLED")
        self.wait(self.start("SELECT 1", workgroup="paused"))

    # Rule: UpdateWorkGroup changes what it is given, keeps the rest.

    def test_update_changes_only_what_is_given(self):
        self.workgroup(
            "tuned",
            ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/a/", "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}},
            EnforceWorkGroupConfiguration=True,
            PublishCloudWatchMetricsEnabled=False,
        )
        created = self.athena.get_work_group(WorkGroup="tuned")["WorkGroup"]
        self.athena.update_work_group(
            WorkGroup="tuned",
            Description="analytics",
            ConfigurationUpdates={
                "ResultConfigurationUpdates": {"OutputLocation": f"s3://{BUCKET}/b/"},
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": 10_000_000_000,
                "RequesterPaysEnabled": True,
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            },
        )
        wg = self.athena.get_work_group(WorkGroup="tuned")["WorkGroup"]
        config = wg["Configuration"]
        self.assertEqual(wg["Description"], "analytics")
        self.assertEqual(wg["CreationTime"], created["CreationTime"])
        self.assertEqual(config["ResultConfiguration"]["OutputLocation"], f"s3://{BUCKET}/b/")
        self.assertEqual(config["ResultConfiguration"]["EncryptionConfiguration"], {"EncryptionOption": "SSE_S3"})
        self.assertTrue(config["EnforceWorkGroupConfiguration"])
        self.assertTrue(config["PublishCloudWatchMetricsEnabled"])
        self.assertTrue(config["RequesterPaysEnabled"])
        self.assertEqual(config["BytesScannedCutoffPerQuery"], 10_000_000_000)
        self.assertEqual(config["EngineVersion"]["EffectiveEngineVersion"], "Athena engine version 3")
        self.athena.update_work_group(
            WorkGroup="tuned",
            ConfigurationUpdates={
                "ResultConfigurationUpdates": {"RemoveEncryptionConfiguration": True},
                "RemoveBytesScannedCutoffPerQuery": True,
            },
        )
        config = self.athena.get_work_group(WorkGroup="tuned")["WorkGroup"]["Configuration"]
        self.assertNotIn("EncryptionConfiguration", config["ResultConfiguration"])
        self.assertNotIn("BytesScannedCutoffPerQuery", config)

    def test_unknown_workgroups_are_refused(self):
        for call in (
            lambda: self.athena.get_work_group(WorkGroup="nope"),
            lambda: self.athena.update_work_group(WorkGroup="nope", Description="x"),
            lambda: self.athena.delete_work_group(WorkGroup="nope"),
            lambda: self.start("SELECT 1", workgroup="nope"),
        ):
            self.assertEqual(self.refused(call, "InvalidRequestException", 400), "WorkGroup nope is not found.")

    # Rule: DeleteWorkGroup: not primary; not a workgroup with queries unless recursive.

    def test_delete_needs_recursion_once_queries_ran(self):
        arn = self.workgroup("used", ResultConfiguration={"OutputLocation": f"s3://{BUCKET}/used/"})
        self.wait(self.start("SELECT 1", workgroup="used"))
        message = self.refused(lambda: self.athena.delete_work_group(WorkGroup="used"), "InvalidRequestException", 400)
        self.assertEqual(message, "WorkGroup used is not empty")
        self.athena.delete_work_group(WorkGroup="used", RecursiveDeleteOption=True)
        names = [w["Name"] for w in self.athena.list_work_groups()["WorkGroups"]]
        self.assertNotIn("used", names)
        self.refused(lambda: self.athena.list_tags_for_resource(ResourceARN=arn), "ResourceNotFoundException", 400)

    def test_an_empty_workgroup_is_deleted_and_primary_never(self):
        self.workgroup("empty")
        self.athena.delete_work_group(WorkGroup="empty")
        self.refused(lambda: self.athena.delete_work_group(WorkGroup="primary"), "InvalidRequestException", 400)

    # Rule: tags on a workgroup ARN.

    def test_tags_on_a_workgroup(self):
        arn = self.workgroup("tagged")
        self.athena.tag_resource(ResourceARN=arn, Tags=[{"Key": "owner", "Value": "bi"}])
        self.athena.untag_resource(ResourceARN=arn, TagKeys=["team"])
        self.assertEqual(self.athena.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "owner", "Value": "bi"}])
        self.athena.untag_resource(ResourceARN=arn, TagKeys=["owner"])
        self.assertEqual(self.athena.list_tags_for_resource(ResourceARN=arn)["Tags"], [])
        self.refused(
            lambda: self.athena.tag_resource(ResourceARN=arn + "-nope", Tags=[{"Key": "a", "Value": "b"}]),
            "ResourceNotFoundException", 400,
        )

    def test_list_work_groups_reports_engine_and_creation_time(self):
        self.workgroup("listed")
        summaries = {w["Name"]: w for w in self.athena.list_work_groups()["WorkGroups"]}
        self.assertEqual(summaries["listed"]["EngineVersion"]["EffectiveEngineVersion"], "Athena engine version 3")
        again = {w["Name"]: w for w in self.athena.list_work_groups()["WorkGroups"]}
        self.assertEqual(summaries["listed"]["CreationTime"], again["listed"]["CreationTime"])


class ManyObjects(AthenaCase):
    """Revenue by country over rows spread across a few dozen Parquet objects and days, exact.
    (Its time over the whole dataset is bench/lake_query_bench.py's figure.)"""

    ROWS = 20_000
    FILES = 36

    @classmethod
    def build(cls):
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        super().build()
        cls.table("retail", f"s3://{BUCKET}/retail/", PROJECTION | {"storage.location.template": f"s3://{BUCKET}/retail/dt=${{dt}}/"})
        countries = pa.array(["United Kingdom", "France", "Germany", "EIRE", "Spain", "Netherlands", "Belgium", "Switzerland"])
        per_file = cls.ROWS // cls.FILES + 1
        cls.expected = {}
        for i in range(cls.FILES):
            start = i * per_file
            n = min(per_file, cls.ROWS - start)
            index = pa.array(range(start, start + n), pa.int64())
            quantity = pc.add(pc.remainder(index, 13), 1)
            unitprice = pa.array(
                [decimal.Decimal(v).scaleb(-1) for v in pc.remainder(index, 997).to_pylist()], pa.decimal128(10, 3)
            )
            country = pc.take(countries, pc.remainder(index, len(countries)))
            table = pa.table({
                "invoiceno": pc.cast(index, pa.string()),
                "stockcode": pc.cast(pc.remainder(index, 4000), pa.string()),
                "description": pa.repeat("WHITE HANGING HEART T-LIGHT HOLDER", n),
                "quantity": quantity,
                "invoicedate": pa.repeat(pa.scalar(datetime.datetime(2011, 12, 9, 12, 50), pa.timestamp("us")), n),
                "unitprice": unitprice,
                "customerid": pc.add(pc.remainder(index, 4372), 12346),
                "country": country,
                "iscancellation": pc.equal(pc.remainder(index, 50), 0),
            })
            out = io.BytesIO()
            pq.write_table(table, out, compression="snappy")
            day = f"2024-01-{1 + i % 28:02d}"
            cls.s3.put_object(Bucket=BUCKET, Key=f"retail/dt={day}/part-{i:04d}.parquet", Body=out.getvalue())
            for c, q, p in zip(country.to_pylist(), quantity.to_pylist(), unitprice.to_pylist()):
                cls.expected[c] = cls.expected.get(c, 0) + q * p

    def test_revenue_by_country_over_many_objects(self):
        rows = self.rows(
            "SELECT country, sum(quantity * unitprice) AS revenue FROM shop.retail "
            "GROUP BY country ORDER BY 2 DESC"
        )
        self.assertEqual({r[0]: decimal.Decimal(r[1]) for r in rows[1:]}, self.expected)


if __name__ == "__main__":
    unittest.main()
