"""Redshift on a running emulator (`ecomflow_emulator.redshift`, `redshift_engine`,
`redshift_sql`, `redshift_copy`, `redshift_config`): clusters backed by PostgreSQL, the Data
API running SQL, COPY from S3 and COPY JOB, parameter groups and audit logging. One emulator
(one test class, `Redshift`), with two clusters.
"""

import datetime
import decimal
import io
import json
import os
import re
import time
import unittest

from support import ROOT, EmulatorCase, allow, policy

ACCOUNT = "123456789012"
TRUST = policy({"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"})


def project_ddl():
    """INVOICE_LINES_DDL, as src/model/redshift.rs declares it."""
    with open(os.path.join(ROOT, "src", "model", "redshift.rs")) as f:
        source = f.read()
    return re.search(r'pub const INVOICE_LINES_DDL: &str = "(.*?)";', source, re.S).group(1)


class RedshiftCase(EmulatorCase):
    cluster = "wh"
    database = "ecomflow"

    @classmethod
    def make_cluster(cls, name, **extra):
        rs = cls.client("redshift")
        rs.create_cluster(
            ClusterIdentifier=name, NodeType="ra3.xlplus", ClusterType="single-node",
            MasterUsername="awsuser", DBName=cls.database, **extra,
        )
        return rs.describe_clusters(ClusterIdentifier=name)["Clusters"][0]

    def run_sql(self, sql, cluster=None, wait=True, **auth):
        data = self.client("redshift-data")
        if not auth:
            auth = {"SecretArn": self.secret}
        auth.setdefault("Database", self.database)
        started = data.execute_statement(ClusterIdentifier=cluster or self.cluster, Sql=sql, **auth)
        return self.wait(started["Id"]) if wait else started["Id"]

    def wait(self, statement_id, timeout=60):
        data = self.client("redshift-data")
        deadline = time.time() + timeout
        while True:
            d = data.describe_statement(Id=statement_id)
            if d["Status"] in ("FINISHED", "FAILED", "ABORTED"):
                return d
            if time.time() > deadline:
                self.fail(f"statement {statement_id} still {d['Status']}")
            time.sleep(0.05)

    def ok(self, sql, **kw):
        d = self.run_sql(sql, **kw)
        self.assertEqual(d["Status"], "FINISHED", d.get("Error"))
        return d

    def rows(self, sql):
        """The records of a SELECT, as plain Python values."""
        d = self.ok(sql)
        result = self.client("redshift-data").get_statement_result(Id=d["Id"])
        return [[None if f.get("isNull") else next(iter(f.values())) for f in r] for r in result["Records"]]


class DataApiTests:
    """Clusters and the Data API (mixed into `Redshift`, which builds the clusters)."""

    def connect(self, cluster, user, password, database=None):
        import psycopg

        endpoint = cluster["Endpoint"]
        return psycopg.connect(host=endpoint["Address"], port=endpoint["Port"], user=user, password=password,
                               dbname=database or cluster["DBName"], connect_timeout=5)

    def managed_password(self):
        value = self.client("secretsmanager").get_secret_value(SecretId=self.secret)
        return json.loads(value["SecretString"])

    def test_managed_secret_logs_in_at_the_reported_endpoint(self):
        import psycopg

        cluster = self.client("redshift").describe_clusters(ClusterIdentifier=self.cluster)["Clusters"][0]
        self.assertEqual(cluster["Endpoint"]["Address"], "127.0.0.1")
        self.assertRegex(cluster["ClusterNamespaceArn"], rf"^arn:aws:redshift:us-east-1:{ACCOUNT}:namespace:[0-9a-f-]{{36}}$")
        self.assertRegex(self.secret, rf"^arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:redshift!wh-awsuser-\w{{6}}$")
        secret = self.managed_password()
        self.assertEqual(secret["username"], "awsuser")
        with self.connect(cluster, secret["username"], secret["password"]) as conn:
            self.assertEqual(conn.execute("select current_user, current_database()").fetchone(), ("awsuser", "ecomflow"))
        with self.assertRaises(psycopg.OperationalError):
            self.connect(cluster, "awsuser", "not-the-password")
        # A cluster with its own password has no secret, and that password logs in.
        self.assertNotIn("MasterPasswordSecretArn", self.plain)
        with self.connect(self.plain, "awsuser", "Plain-Passw0rd") as conn:
            self.assertEqual(conn.execute("select 1").fetchone(), (1,))

    def test_managed_and_own_password_together_refused(self):
        rs = self.client("redshift")
        message = self.refused(lambda: rs.create_cluster(
            ClusterIdentifier="both", NodeType="ra3.xlplus", MasterUsername="awsuser",
            MasterUserPassword="Passw0rd!", ManageMasterPassword=True), "InvalidParameterCombination", 400)
        self.assertIn("ManageMasterPassword", message)

    def test_project_ddl_runs(self):
        ddl = project_ddl()
        self.assertIn("DISTSTYLE AUTO", ddl)
        d = self.ok(ddl)
        self.assertFalse(d["HasResultSet"])
        self.ok(ddl)  # IF NOT EXISTS: a second apply is a no-op
        columns = self.rows(
            "select column_name, data_type, character_maximum_length, is_nullable from information_schema.columns "
            "where table_name = 'invoice_lines' order by ordinal_position")
        self.assertEqual(columns[0], ["invoice_no", "character varying", 16, "NO"])
        self.assertEqual([c[0] for c in columns], ["invoice_no", "stock_code", "description", "quantity", "invoice_date",
                                                   "unit_price", "customer_id", "country", "is_cancellation"])
        # What PostgreSQL refuses still fails, with its message.
        d = self.run_sql("CREATE TABLE broken (a VARCHAR(16) NOT NUL) DISTSTYLE EVEN")
        self.assertEqual(d["Status"], "FAILED")
        self.assertEqual(d["Error"], 'ERROR: syntax error at or near "NUL"')

    def test_redshift_syntax_is_mapped(self):
        self.ok("create table mapped (id bigint identity(100, 5), name varchar(max) encode zstd, "
                "added timestamp default getdate(), flag boolean encode raw) "
                "diststyle key distkey(id) compound sortkey(id, added) backup no")
        self.ok("insert into mapped (name, flag) values ('a', true), ('b', false)")
        rows = self.rows("select id, name, nvl(null, len(name)), added <= sysdate + interval '1 minute' from mapped order by id")
        self.assertEqual([r[:3] for r in rows], [[100, "a", 1], [105, "b", 1]])
        self.assertTrue(rows[0][3])

    def test_select_returns_typed_records_in_pages(self):
        data = self.client("redshift-data")
        d = self.ok("select 1::bigint as n, 2.5::float8 as f, true as b, null::varchar as v, "
                    "12.340::decimal(10,3) as d, '2010-12-01 08:26:00'::timestamp as t, 'x'::varchar(4) as s")
        self.assertTrue(d["HasResultSet"])
        self.assertEqual(d["ResultRows"], 1)
        self.assertGreater(d["Duration"], 0)
        self.assertIsInstance(d["CreatedAt"], datetime.datetime)
        result = data.get_statement_result(Id=d["Id"])
        self.assertEqual(result["Records"], [[
            {"longValue": 1}, {"doubleValue": 2.5}, {"booleanValue": True}, {"isNull": True},
            {"stringValue": "12.340"}, {"stringValue": "2010-12-01 08:26:00"}, {"stringValue": "x"},
        ]])
        self.assertEqual([c["typeName"] for c in result["ColumnMetadata"]],
                         ["int8", "float8", "bool", "varchar", "numeric", "timestamp", "varchar"])
        self.assertEqual(result["TotalNumRows"], 1)
        # A large result comes in pages, each with the column metadata, all rows once.
        d = self.ok("select g, repeat('x', 200) from generate_series(1, 10000) g")
        pages = list(data.get_paginator("get_statement_result").paginate(Id=d["Id"]))
        self.assertGreater(len(pages), 1)
        numbers = [r[0]["longValue"] for p in pages for r in p["Records"]]
        self.assertEqual(numbers, list(range(1, 10001)))
        self.assertEqual(pages[0]["TotalNumRows"], 10000)

    def test_sql_error_fails_the_statement_with_its_message(self):
        data = self.client("redshift-data")
        d = self.run_sql("select * from no_such_table")
        self.assertEqual(d["Status"], "FAILED")
        self.assertEqual(d["Error"], 'ERROR: relation "no_such_table" does not exist')
        self.assertEqual(d["QueryString"], "select * from no_such_table")
        self.refused(lambda: data.get_statement_result(Id=d["Id"]), "ValidationException", 400)
        listed = data.list_statements(Status="FAILED")["Statements"]
        self.assertIn(d["Id"], [s["Id"] for s in listed])

    def test_batch_runs_in_one_transaction(self):
        data = self.client("redshift-data")
        self.ok("create table batch_t (n int)")
        failing = data.batch_execute_statement(
            ClusterIdentifier=self.cluster, Database=self.database, SecretArn=self.secret,
            Sqls=["insert into batch_t values (1)", "insert into nowhere values (2)", "insert into batch_t values (3)"],
        )
        d = self.wait(failing["Id"])
        self.assertEqual(d["Status"], "FAILED")
        self.assertEqual(d["Error"], 'ERROR: relation "nowhere" does not exist')
        self.assertEqual([s["Status"] for s in d["SubStatements"]], ["FINISHED", "FAILED", "ABORTED"])
        self.assertEqual(d["SubStatements"][1]["Id"], failing["Id"] + ":2")
        self.assertEqual(self.rows("select count(*) from batch_t"), [[0]])  # all rolled back
        passing = data.batch_execute_statement(
            ClusterIdentifier=self.cluster, Database=self.database, SecretArn=self.secret,
            Sqls=["insert into batch_t values (1)", "insert into batch_t values (2)", "select sum(n) from batch_t"],
        )
        d = self.wait(passing["Id"])
        self.assertEqual(d["Status"], "FINISHED")
        result = data.get_statement_result(Id=passing["Id"] + ":3")
        self.assertEqual(result["Records"], [[{"longValue": 3}]])

    def test_authentication_as_the_data_api_does_it(self):
        data = self.client("redshift-data")
        # DbUser: the master user's temporary credentials.
        self.assertEqual(self.rows_as("select current_user", DbUser="awsuser"), "awsuser")
        d = self.run_sql("select 1", DbUser="nobody")
        self.assertEqual((d["Status"], d["Error"]), ("FAILED", 'FATAL: user "nobody" does not exist'))
        # A secret whose password is wrong fails to log in; one without credentials is refused.
        sm = self.client("secretsmanager")
        wrong = sm.create_secret(Name="wrong", SecretString=json.dumps({"username": "awsuser", "password": "nope"}))["ARN"]
        d = self.run_sql("select 1", SecretArn=wrong)
        self.assertEqual((d["Status"], d["Error"]), ("FAILED", 'FATAL: password authentication failed for user "awsuser"'))
        empty = sm.create_secret(Name="empty", SecretString="{}")["ARN"]
        self.refused(lambda: self.run_sql("select 1", SecretArn=empty), "ValidationException", 400)
        missing = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:missing-abcdef"
        self.refused(lambda: self.run_sql("select 1", SecretArn=missing), "ValidationException", 400)
        # A wrong cluster is refused at once; a wrong database fails the statement.
        message = self.refused(lambda: data.execute_statement(
            ClusterIdentifier="nope", Database=self.database, SecretArn=self.secret, Sql="select 1"),
            "ValidationException", 400)
        self.assertEqual(message, "Redshift endpoint doesn't exist in this region.")
        d = self.run_sql("select 1", SecretArn=self.secret, Database="nodb")
        self.assertEqual((d["Status"], d["Error"]), ("FAILED", 'FATAL: database "nodb" does not exist'))

    def rows_as(self, sql, **auth):
        d = self.run_sql(sql, **auth)
        self.assertEqual(d["Status"], "FINISHED", d.get("Error"))
        return self.client("redshift-data").get_statement_result(Id=d["Id"])["Records"][0][0]["stringValue"]

    def test_cluster_is_creating_until_it_is_usable(self):
        """A describe racing CreateCluster (a rerun after an interrupted apply) never sees an
        `available` cluster without its namespace, managed secret or database."""
        import concurrent.futures

        from botocore.exceptions import ClientError

        rs = self.client("redshift")
        seen = []
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            creating = pool.submit(
                rs.create_cluster, ClusterIdentifier="racing", NodeType="ra3.xlplus", ClusterType="single-node",
                MasterUsername="awsuser", DBName=self.database, ManageMasterPassword=True,
            )
            while not creating.done():
                try:
                    seen.append(rs.describe_clusters(ClusterIdentifier="racing")["Clusters"][0])
                except ClientError as e:
                    self.assertEqual(e.response["Error"]["Code"], "ClusterNotFound")
            answer = creating.result()["Cluster"]
        self.addCleanup(rs.delete_cluster, ClusterIdentifier="racing", SkipFinalClusterSnapshot=True)
        self.assertEqual(answer["ClusterStatus"], "creating")
        final = rs.describe_clusters(ClusterIdentifier="racing")["Clusters"][0]
        self.assertEqual(final["ClusterStatus"], "available")
        for c in seen + [final]:
            if c["ClusterStatus"] == "available":
                self.assertTrue(c.get("ClusterNamespaceArn"), c)
                self.assertTrue(c.get("MasterPasswordSecretArn"), c)
                self.assertEqual(c["Endpoint"]["Port"], final["Endpoint"]["Port"])
            else:
                self.assertEqual(c["ClusterStatus"], "creating")

    def test_delete_cluster_stops_its_server_and_secret(self):
        import psycopg

        rs = self.client("redshift")
        cluster = self.make_cluster("gone", ManageMasterPassword=True)
        secret_arn = cluster["MasterPasswordSecretArn"]
        secret = json.loads(self.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
        self.connect(cluster, secret["username"], secret["password"]).close()
        rs.delete_cluster(ClusterIdentifier="gone", SkipFinalClusterSnapshot=True)
        with self.assertRaises(psycopg.OperationalError):
            self.connect(cluster, secret["username"], secret["password"])
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            self.client("secretsmanager").get_secret_value(SecretId=secret_arn)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")


def parquet(rows, schema):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=pa.schema(schema))
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def clean_schema():
    import pyarrow as pa

    return [("invoiceno", pa.string()), ("stockcode", pa.string()), ("description", pa.string()),
            ("quantity", pa.int64()), ("invoicedate", pa.timestamp("us")), ("unitprice", pa.decimal128(10, 3)),
            ("customerid", pa.int64()), ("country", pa.string()), ("iscancellation", pa.bool_())]


def clean_rows(n, start=0, description="WHITE HANGING HEART T-LIGHT HOLDER"):
    return [{"invoiceno": str(536365 + i), "stockcode": "85123A", "description": description, "quantity": i,
             "invoicedate": datetime.datetime(2010, 12, 1, 8, 26), "unitprice": decimal.Decimal("2.550"),
             "customerid": 17850, "country": "United Kingdom", "iscancellation": False}
            for i in range(start, start + n)]


class CopyTests:
    """COPY and COPY JOB into the project's table, from the lake bucket (mixed into
    `Redshift`)."""

    @classmethod
    def build_copy(cls):
        iam = cls.client("iam")
        cls.role = iam.create_role(RoleName="warehouse-copy", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.put_role_policy(RoleName="warehouse-copy", PolicyName="read-lake", PolicyDocument=policy(
            allow(["s3:GetObject", "s3:ListBucket"], [f"arn:aws:s3:::{cls.bucket}", f"arn:aws:s3:::{cls.bucket}/*"])))
        cls.blind = iam.create_role(RoleName="no-s3", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        cls.stranger = iam.create_role(RoleName="not-attached", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        cls.s3 = cls.client("s3")
        cls.s3.create_bucket(Bucket=cls.bucket)

    def put(self, key, body):
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def table(self, name):
        self.ok(project_ddl().replace("invoice_lines", name))
        return name

    def count(self, table):
        return self.rows(f"select count(*) from {table}")[0][0]

    def copy(self, table, source, options, role=None):
        return self.run_sql(f"COPY {table} FROM 's3://{self.bucket}/{source}' IAM_ROLE '{role or self.role}' {options}")

    # -- Parquet --------------------------------------------------------------------------------

    def test_parquet_loads_by_position(self):
        table = self.table("pq_lines")
        self.put("pq/dt=2010-12-01/a.parquet", parquet(clean_rows(20000), clean_schema()))
        self.put("pq/dt=2010-12-02/b.parquet", parquet(clean_rows(10000, 20000), clean_schema()))
        self.put("pqx/other.parquet", parquet(clean_rows(5), clean_schema()))  # another prefix
        # Spark's marker and temporary files: hidden from Spectrum, which reads Parquet.
        self.put("pq/_SUCCESS", b"")
        self.put("pq/_temporary/0/part-0.parquet", parquet(clean_rows(7), clean_schema()))
        d = self.copy(table, "pq/", "FORMAT AS PARQUET")
        self.assertEqual(d["Status"], "FINISHED", d.get("Error"))
        self.assertEqual(d["ResultRows"], 30000)
        self.assertEqual(self.count(table), 30000)
        self.assertEqual(self.rows(f"select invoice_no, unit_price, invoice_date from {table} where quantity = 7"),
                         [["536372", "2.550", "2010-12-01 08:26:00"]])
        # A prefix, not a folder: "pq" reads pq/ and pqx/.
        d = self.copy(table, "pq", "FORMAT PARQUET")
        self.assertEqual(d["ResultRows"], 30005)
        files = self.rows("select trim(filename), lines_scanned from stl_load_commits order by 1")
        self.assertIn([f"s3://{self.bucket}/pqx/other.parquet", 5], files)

    def test_parquet_refusals(self):
        import pyarrow as pa

        table = self.table("pq_refused")
        self.put("pq-wide/a.parquet", parquet([dict(r, extra=1) for r in clean_rows(3)], clean_schema() + [("extra", pa.int64())]))
        d = self.copy(table, "pq-wide/", "FORMAT AS PARQUET")
        self.assertEqual(d["Status"], "FAILED")
        self.assertIn("Unmatched number of columns between table and file. Table columns: 9, Data columns: 10", d["Error"])
        self.put("pq-ok/a.parquet", parquet(clean_rows(3), clean_schema()))
        for option in ("MAXERROR 10", "TRUNCATECOLUMNS"):
            d = self.copy(table, "pq-ok/", f"FORMAT AS PARQUET {option}")
            self.assertEqual((d["Status"], d["Error"]),
                             ("FAILED", f"ERROR: {option.split()[0]} argument is not supported for PARQUET based COPY"))
        self.put("pq-long/a.parquet", parquet(clean_rows(2) + clean_rows(1, description="é" * 300), clean_schema()))
        d = self.copy(table, "pq-long/", "FORMAT AS PARQUET")
        self.assertEqual(d["Status"], "FAILED")
        self.assertIn("The length of the data column description is longer than the length defined in the table. "
                      "Table: 512, Data: 600", d["Error"])
        self.assertEqual(self.count(table), 0)  # any error fails the whole COPY
        d = self.copy(table, "nothing-here/", "FORMAT AS PARQUET")
        self.assertEqual(d["Error"], "ERROR: S3ServiceException:The specified S3 prefix 'nothing-here/' does not exist")

    def test_role_must_be_attached_and_allowed(self):
        table = self.table("pq_roles")
        self.put("roles/a.parquet", parquet(clean_rows(3), clean_schema()))
        d = self.copy(table, "roles/", "FORMAT AS PARQUET", role=self.stranger)
        self.assertEqual(d["Error"], f"ERROR: User arn:aws:redshift:us-east-1:{ACCOUNT}:dbuser:{self.cluster}/awsuser "
                                     f"is not authorized to assume IAM Role {self.stranger}")
        d = self.copy(table, "roles/", "FORMAT AS PARQUET", role=self.blind)
        self.assertEqual(d["Error"], "ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied")
        self.assertEqual(self.copy(table, "roles/", "FORMAT AS PARQUET")["Status"], "FINISHED")

    # -- JSON -----------------------------------------------------------------------------------

    def json_lines(self, key, records):
        self.put(key, "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode())

    def jsonpaths(self):
        paths = ["$.InvoiceNo", "$.StockCode", "$.Description", "$.Quantity", "$.InvoiceDate", "$.UnitPrice",
                 "$.CustomerID", "$.Country", "$.IsCancellation"]
        self.put("scripts/jsonpaths.json", json.dumps({"jsonpaths": paths}).encode())
        return f"s3://{self.bucket}/scripts/jsonpaths.json"

    @staticmethod
    def line(n, description="CREAM CUPID HEARTS COAT HANGER"):
        return {"InvoiceNo": str(536365 + n), "StockCode": "84406B", "Description": description, "Quantity": 8,
                "InvoiceDate": "2010-12-01 08:26:00", "UnitPrice": 2.75, "CustomerID": 17850,
                "Country": "United Kingdom", "IsCancellation": False}

    def test_json_value_too_long_for_its_varchar(self):
        paths = self.jsonpaths()
        # 200 two-byte characters: 400 bytes fit VARCHAR(512); 300 (600 bytes) do not.
        self.json_lines("json/part-0.json", [self.line(0), self.line(1, "é" * 300), self.line(2, "é" * 200)])
        options = f"FORMAT AS JSON '{paths}' TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'"
        failing = self.table("json_fail")
        d = self.copy(failing, "json/", options)
        self.assertEqual(d["Status"], "FAILED")
        self.assertEqual(d["Error"], "ERROR: Load into table 'json_fail' failed. Check 'sys_load_error_detail' system table for details.")
        self.assertEqual(self.count(failing), 0)
        errors = self.rows(
            f"select trim(filename), line_number, trim(colname), trim(type), trim(col_length), err_code, trim(err_reason) "
            f"from stl_load_errors where query = {d['RedshiftQueryId']}")
        self.assertEqual(errors, [[f"s3://{self.bucket}/json/part-0.json", 2, "description", "varchar", "512", 1204,
                                   "String length exceeds DDL length"]])
        detail = self.rows(f"select error_code, trim(column_name) from sys_load_error_detail where query_id = {d['RedshiftQueryId']}")
        self.assertEqual(detail, [[1204, "description"]])

        truncating = self.table("json_truncate")
        d = self.copy(truncating, "json/", options + " TRUNCATECOLUMNS")
        self.assertEqual((d["Status"], d["ResultRows"]), ("FINISHED", 3))
        self.assertEqual(self.rows(f"select octet_length(description), length(description) from {truncating} "
                                   f"where invoice_no = '536366'"), [[512, 256]])

        skipping = self.table("json_skip")
        d = self.copy(skipping, "json/", options + " MAXERROR 1")
        self.assertEqual((d["Status"], d["ResultRows"]), ("FINISHED", 2))
        self.assertEqual(self.rows(f"select invoice_no, unit_price, invoice_date from {skipping} order by 1"),
                         [["536365", "2.750", "2010-12-01 08:26:00"], ["536367", "2.750", "2010-12-01 08:26:00"]])
        self.assertEqual(self.rows(f"select err_code from stl_load_errors where query = {d['RedshiftQueryId']}"), [[1204]])

    def test_json_auto_and_bad_values(self):
        table = self.table("json_auto")
        good = {"invoice_no": "1", "stock_code": "A", "quantity": 1, "invoice_date": "2011-01-02T03:04:05",
                "unit_price": "1.2345", "country": "France", "is_cancellation": True}
        self.json_lines("auto/a.json", [good, dict(good, quantity="many"), dict(good, invoice_no=None)])
        d = self.copy(table, "auto/a.json", "FORMAT AS JSON 'auto' MAXERROR 2")
        self.assertEqual(d["Status"], "FINISHED", d.get("Error"))
        self.assertEqual(self.rows(f"select unit_price, invoice_date, description from {table}"),
                         [["1.234", "2011-01-02 03:04:05", None]])
        codes = self.rows(f"select err_code, line_number from stl_load_errors where query = {d['RedshiftQueryId']} order by 2")
        self.assertEqual(codes, [[1207, 2], [1213, 3]])

    # -- COPY JOB -------------------------------------------------------------------------------

    def integrate(self):
        """The bucket policy and resource policy S3 event integrations need, and the integration."""
        rs = self.client("redshift")
        existing = rs.describe_integrations()["Integrations"]
        if existing:
            return existing[0]
        self.s3.put_bucket_policy(Bucket=self.bucket, Policy=policy(allow(
            ["s3:GetBucketNotification", "s3:PutBucketNotification", "s3:GetBucketLocation"],
            f"arn:aws:s3:::{self.bucket}", Principal={"Service": "redshift.amazonaws.com"},
            Condition={"StringLike": {"aws:SourceArn": f"arn:aws:redshift:us-east-1:{ACCOUNT}:integration:*"},
                       "StringEquals": {"aws:SourceAccount": ACCOUNT}})))
        rs.put_resource_policy(ResourceArn=self.namespace, Policy=policy(allow(
            "redshift:AuthorizeInboundIntegration", self.namespace, Principal={"Service": "redshift.amazonaws.com"},
            Condition={"StringEquals": {"aws:SourceArn": f"arn:aws:s3:::{self.bucket}"}})))
        return rs.create_integration(SourceArn=f"arn:aws:s3:::{self.bucket}", TargetArn=self.namespace,
                                     IntegrationName="lake-to-warehouse")

    def test_a_integration_needs_the_policies(self):
        rs = self.client("redshift")
        self.s3.create_bucket(Bucket="unprepared")
        message = self.refused(lambda: rs.create_integration(
            SourceArn="arn:aws:s3:::unprepared", TargetArn=self.namespace, IntegrationName="unprepared"),
            "InvalidPolicyFault", 400)
        self.assertIn("s3:GetBucketNotification", message)
        self.refused(lambda: rs.create_integration(
            SourceArn="arn:aws:s3:::no-such-bucket", TargetArn=self.namespace, IntegrationName="nobucket"),
            "IntegrationSourceNotFoundFault", 404)
        # COPY JOB CREATE without an integration for the bucket is refused.
        table = self.table("job_refused")
        d = self.run_sql(f"COPY {table} FROM 's3://unprepared/clean/' IAM_ROLE '{self.role}' FORMAT AS PARQUET "
                         "JOB CREATE nointegration AUTO ON")
        self.assertEqual(d["Status"], "FAILED")
        self.assertIn("S3 event integration not found for bucket unprepared", d["Error"])
        integration = self.integrate()
        self.assertEqual(integration["Status"], "active")
        self.assertEqual(integration["TargetArn"], self.namespace)
        found = rs.describe_integrations(IntegrationArn=integration["IntegrationArn"])["Integrations"]
        self.assertEqual([i["IntegrationName"] for i in found], ["lake-to-warehouse"])
        rs.create_tags(ResourceName=integration["IntegrationArn"], Tags=[{"Key": "owner", "Value": "data"}])
        found = rs.describe_integrations(IntegrationArn=integration["IntegrationArn"])["Integrations"][0]
        self.assertIn({"Key": "owner", "Value": "data"}, found["Tags"])
        rs.delete_tags(ResourceName=integration["IntegrationArn"], TagKeys=["owner"])
        self.refused(lambda: rs.describe_integrations(
            IntegrationArn=integration["IntegrationArn"].replace(integration["IntegrationArn"][-4:], "0000")),
            "IntegrationNotFoundFault", 404)

    def test_copy_job_loads_each_new_file_once(self):
        self.integrate()
        table = self.table("streamed")
        self.put("stream/dt=2010-12-01/before.parquet", parquet(clean_rows(4), clean_schema()))  # before the job
        data = self.client("redshift-data")
        create = (f"COPY {table} FROM 's3://{self.bucket}/stream/' IAM_ROLE '{self.role}' FORMAT AS PARQUET "
                  "JOB CREATE stream_job AUTO ON")
        batch = data.batch_execute_statement(ClusterIdentifier=self.cluster, Database=self.database,
                                             SecretArn=self.secret, Sqls=[create])
        d = self.wait(batch["Id"])
        self.assertEqual(d["Status"], "FAILED")
        self.assertIn("cannot run inside a transaction block", d["Error"])
        bad = self.run_sql(create.replace("FORMAT AS PARQUET", "FORMAT AS PARQUET MAXERROR 3"))
        self.assertEqual(bad["Status"], "FAILED")
        self.ok(create)
        self.put("stream/dt=2010-12-01/new.parquet", parquet(clean_rows(10, 100), clean_schema()))
        deadline = time.time() + 15
        while self.count(table) < 10 and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.count(table), 10)  # the new file, not the one already there
        d = self.ok("COPY JOB RUN stream_job")
        self.assertEqual(d["ResultRows"], 0)  # nothing pending: never loaded twice
        self.assertEqual(self.count(table), 10)
        self.assertEqual(self.rows("select trim(file_name), status from sys_copy_job_detail "
                                   "where job_name = 'stream_job' order by 1"),
                         [["stream/dt=2010-12-01/new.parquet", "I"]])
        listed = self.rows("COPY JOB LIST")
        self.assertIn("stream_job", [r[1] for r in listed])
        self.ok("COPY JOB DROP stream_job")
        self.assertEqual(self.run_sql("COPY JOB RUN stream_job")["Error"], 'ERROR: Copy job "stream_job" does not exist')

    def test_copy_job_run_loads_pending_files(self):
        self.integrate()
        table = self.table("batched")
        self.ok(f"COPY {table} FROM 's3://{self.bucket}/batch/' IAM_ROLE '{self.role}' FORMAT AS PARQUET "
                "JOB CREATE batch_job AUTO OFF")
        self.put("batch/dt=2010-12-01/a.parquet", parquet(clean_rows(3), clean_schema()))
        self.put("batch/dt=2010-12-02/b.parquet", parquet(clean_rows(5), clean_schema()))
        time.sleep(0.6)
        self.assertEqual(self.count(table), 0)  # AUTO OFF: nothing until RUN
        d = self.ok("COPY JOB RUN batch_job")
        self.assertEqual(d["ResultRows"], 8)
        self.put("batch/dt=2010-12-03/c.parquet", parquet(clean_rows(2), clean_schema()))
        self.assertEqual(self.ok("COPY JOB RUN batch_job")["ResultRows"], 2)
        self.assertEqual(self.ok("COPY JOB RUN batch_job")["ResultRows"], 0)
        self.assertEqual(self.count(table), 10)
        shown = self.rows("COPY JOB SHOW batch_job")
        self.assertEqual(shown[0][1], "batch_job")


class ConfigTests:
    """Parameter groups, where they apply, audit logging and enhanced VPC routing (mixed into
    `Redshift`; `plain` is created with the group `warehouse-params` and enhanced VPC routing)."""

    def group_status(self, cluster):
        described = self.client("redshift").describe_clusters(ClusterIdentifier=cluster)["Clusters"][0]
        return described, described["ClusterParameterGroups"][0]

    def params(self, group, **kw):
        listed = self.client("redshift").describe_cluster_parameters(ParameterGroupName=group, **kw)["Parameters"]
        return {p["ParameterName"]: (p["ParameterValue"], p["Source"]) for p in listed}

    def test_parameter_groups(self):
        rs = self.client("redshift")
        message = self.refused(lambda: rs.create_cluster_parameter_group(
            ParameterGroupName="old-params", ParameterGroupFamily="redshift-3.0", Description="d"),
            "InvalidParameterValue", 400)
        self.assertIn("redshift-3.0", message)
        for bad in ("1params", "two--hyphens", "trailing-", "with.dot"):
            self.refused(lambda: rs.create_cluster_parameter_group(
                ParameterGroupName=bad, ParameterGroupFamily="redshift-2.0", Description="d"), "InvalidParameterValue", 400)
        created = rs.create_cluster_parameter_group(
            ParameterGroupName="Audit-Params", ParameterGroupFamily="redshift-2.0", Description="audit",
            Tags=[{"Key": "stack", "Value": "test"}])["ClusterParameterGroup"]
        self.assertEqual((created["ParameterGroupName"], created["ParameterGroupFamily"]), ("audit-params", "redshift-2.0"))
        self.refused(lambda: rs.create_cluster_parameter_group(
            ParameterGroupName="audit-params", ParameterGroupFamily="redshift-2.0", Description="again"),
            "ClusterParameterGroupAlreadyExists", 400)
        names = {g["ParameterGroupName"]: g["ParameterGroupFamily"] for g in rs.describe_cluster_parameter_groups()["ParameterGroups"]}
        self.assertEqual(names["default.redshift-2.0"], "redshift-2.0")
        self.assertEqual(names["default.redshift-1.0"], "redshift-1.0")

        # Every parameter of the family with its default; none modified yet.
        everything = self.params("audit-params")
        self.assertEqual(everything["require_ssl"], ("true", "engine-default"))  # redshift-2.0's default
        self.assertEqual(everything["enable_user_activity_logging"], ("false", "engine-default"))
        self.assertEqual(everything["wlm_json_configuration"], ('[{"auto_wlm":true}]', "engine-default"))
        self.assertEqual(len(everything), 13)
        self.assertEqual(self.params("audit-params", Source="user"), {})
        defaults_1 = rs.describe_default_cluster_parameters(ParameterGroupFamily="redshift-1.0")["DefaultClusterParameters"]
        self.assertIn({"ParameterName": "require_ssl", "ParameterValue": "false"},
                      [{k: p[k] for k in ("ParameterName", "ParameterValue")} for p in defaults_1["Parameters"]])

        # ModifyClusterParameterGroup: unknown names and default groups refused.
        message = self.refused(lambda: rs.modify_cluster_parameter_group(ParameterGroupName="audit-params", Parameters=[
            {"ParameterName": "max_connections", "ParameterValue": "10"}]), "InvalidParameterValue", 400)
        self.assertEqual(message, "Could not find parameter with name: max_connections")
        self.refused(lambda: rs.modify_cluster_parameter_group(ParameterGroupName="default.redshift-2.0", Parameters=[
            {"ParameterName": "require_ssl", "ParameterValue": "false"}]), "InvalidParameterValue", 400)
        self.refused(lambda: rs.modify_cluster_parameter_group(ParameterGroupName="no-such-params", Parameters=[
            {"ParameterName": "require_ssl", "ParameterValue": "true"}]), "ClusterParameterGroupNotFound", 404)
        answer = rs.modify_cluster_parameter_group(ParameterGroupName="audit-params", Parameters=[
            {"ParameterName": "require_ssl", "ParameterValue": "true"},
            {"ParameterName": "enable_user_activity_logging", "ParameterValue": "true"}])
        self.assertIn("will be applied when you reboot the associated clusters", answer["ParameterGroupStatus"])
        self.assertEqual(self.params("audit-params", Source="user"),
                         {"require_ssl": ("true", "user"), "enable_user_activity_logging": ("true", "user")})
        everything = self.params("audit-params")
        self.assertEqual(everything["enable_user_activity_logging"], ("true", "user"))
        self.assertEqual(everything["datestyle"], ("ISO, MDY", "engine-default"))
        self.assertNotIn("enable_user_activity_logging", self.params("audit-params", Source="engine-default"))

        # ResetClusterParameterGroup: named parameters, then all.
        rs.reset_cluster_parameter_group(ParameterGroupName="audit-params", ResetAllParameters=False,
                                         Parameters=[{"ParameterName": "enable_user_activity_logging"}])
        self.assertEqual(self.params("audit-params", Source="user"), {"require_ssl": ("true", "user")})
        rs.reset_cluster_parameter_group(ParameterGroupName="audit-params", ResetAllParameters=True)
        self.assertEqual(self.params("audit-params", Source="user"), {})

        # DeleteClusterParameterGroup: not a default group, not an unknown one.
        self.refused(lambda: rs.delete_cluster_parameter_group(ParameterGroupName="default.redshift-2.0"),
                     "InvalidClusterParameterGroupState", 400)
        self.refused(lambda: rs.delete_cluster_parameter_group(ParameterGroupName="no-such-params"),
                     "ClusterParameterGroupNotFound", 404)
        rs.delete_cluster_parameter_group(ParameterGroupName="audit-params")
        self.refused(lambda: rs.describe_cluster_parameters(ParameterGroupName="audit-params"),
                     "ClusterParameterGroupNotFound", 404)

    def test_parameter_group_applies_at_reboot(self):
        rs = self.client("redshift")
        # A cluster without a group gets default.redshift-2.0; one naming a missing group is refused.
        _, wh = self.group_status(self.cluster)
        self.assertEqual((wh["ParameterGroupName"], wh["ParameterApplyStatus"]), ("default.redshift-2.0", "in-sync"))
        self.refused(lambda: rs.create_cluster(
            ClusterIdentifier="ungrouped", NodeType="ra3.xlplus", ClusterType="single-node", MasterUsername="awsuser",
            MasterUserPassword="Plain-Passw0rd", ClusterParameterGroupName="no-such-params"),
            "ClusterParameterGroupNotFound", 404)
        self.refused(lambda: rs.describe_clusters(ClusterIdentifier="ungrouped"), "ClusterNotFound", 404)
        plain, group = self.group_status("plain")
        self.assertEqual((group["ParameterGroupName"], group["ParameterApplyStatus"]), ("warehouse-params", "in-sync"))
        self.assertTrue(plain["EnhancedVpcRouting"])

        rs.create_cluster_parameter_group(ParameterGroupName="secure-params", ParameterGroupFamily="redshift-2.0",
                                          Description="TLS and user activity logging")
        rs.modify_cluster_parameter_group(ParameterGroupName="secure-params", Parameters=[
            {"ParameterName": "require_ssl", "ParameterValue": "true"},
            {"ParameterName": "enable_user_activity_logging", "ParameterValue": "true"}])
        self.refused(lambda: rs.modify_cluster(ClusterIdentifier="plain", ClusterParameterGroupName="no-such-params"),
                     "ClusterParameterGroupNotFound", 404)
        rs.modify_cluster(ClusterIdentifier="plain", ClusterParameterGroupName="secure-params", EnhancedVpcRouting=False)
        plain, group = self.group_status("plain")
        self.assertEqual((group["ParameterGroupName"], group["ParameterApplyStatus"]), ("secure-params", "pending-reboot"))
        self.assertFalse(plain["EnhancedVpcRouting"])
        pending = {p["ParameterName"] for p in group["ClusterParameterStatusList"] if p["ParameterApplyStatus"] == "pending-reboot"}
        self.assertEqual(pending, {"enable_user_activity_logging"})  # require_ssl was true already
        self.refused(lambda: rs.delete_cluster_parameter_group(ParameterGroupName="secure-params"),
                     "InvalidClusterParameterGroupState", 400)

        self.assertEqual(rs.reboot_cluster(ClusterIdentifier="plain")["Cluster"]["ClusterStatus"], "rebooting")
        plain, group = self.group_status("plain")
        self.assertEqual((plain["ClusterStatus"], group["ParameterApplyStatus"]), ("available", "in-sync"))
        # A change to the group a cluster uses waits for the next reboot too.
        rs.modify_cluster_parameter_group(ParameterGroupName="secure-params", Parameters=[
            {"ParameterName": "statement_timeout", "ParameterValue": "60000"}])
        _, group = self.group_status("plain")
        self.assertEqual(group["ParameterApplyStatus"], "pending-reboot")
        rs.reboot_cluster(ClusterIdentifier="plain")
        self.assertEqual(self.group_status("plain")[1]["ParameterApplyStatus"], "in-sync")
        self.refused(lambda: rs.reboot_cluster(ClusterIdentifier="no-such-cluster"), "ClusterNotFound", 404)
        # The group it left is free to go.
        rs.modify_cluster(ClusterIdentifier="plain", ClusterParameterGroupName="warehouse-params", EnhancedVpcRouting=True)
        rs.reboot_cluster(ClusterIdentifier="plain")
        rs.delete_cluster_parameter_group(ParameterGroupName="secure-params")

    def test_audit_logging(self):
        rs, s3 = self.client("redshift"), self.client("s3")
        status = rs.describe_logging_status(ClusterIdentifier="plain")
        self.assertFalse(status["LoggingEnabled"])
        self.assertNotIn("BucketName", status)
        self.assertNotIn("LastSuccessfulDeliveryTime", status)

        # CloudWatch Logs: the documented log types only.
        self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", LogDestinationType="cloudwatch",
                                               LogExports=["connectionlog", "querylog"]), "InvalidParameterValue", 400)
        rs.enable_logging(ClusterIdentifier="plain", LogDestinationType="cloudwatch",
                          LogExports=["connectionlog", "userlog", "useractivitylog"])
        status = rs.describe_logging_status(ClusterIdentifier="plain")
        self.assertEqual((status["LoggingEnabled"], status["LogDestinationType"], status["LogExports"]),
                         (True, "cloudwatch", ["connectionlog", "userlog", "useractivitylog"]))
        self.assertNotIn("BucketName", status)
        self.assertFalse(rs.disable_logging(ClusterIdentifier="plain")["LoggingEnabled"])
        self.assertFalse(rs.describe_logging_status(ClusterIdentifier="plain")["LoggingEnabled"])

        # S3: a valid, existing bucket whose policy lets Redshift deliver, and a valid prefix.
        self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", BucketName="Bad_Bucket"),
                     "InvalidS3BucketNameFault", 400)
        self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", BucketName="no-such-audit-bucket"),
                     "BucketNotFoundFault", 400)
        s3.create_bucket(Bucket="audit-logs")
        message = self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", BucketName="audit-logs"),
                               "InsufficientS3BucketPolicyFault", 400)
        self.assertIn("s3:PutObject", message)
        redshift = {"Service": "redshift.amazonaws.com"}
        s3.put_bucket_policy(Bucket="audit-logs", Policy=policy(
            allow("s3:PutObject", "arn:aws:s3:::audit-logs/*", Principal=redshift)))
        message = self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", BucketName="audit-logs"),
                               "InsufficientS3BucketPolicyFault", 400)
        self.assertIn("s3:GetBucketAcl", message)
        s3.put_bucket_policy(Bucket="audit-logs", Policy=policy(
            allow(["s3:PutObject", "s3:GetBucketAcl"], ["arn:aws:s3:::audit-logs", "arn:aws:s3:::audit-logs/*"],
                  Principal=redshift, Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})))
        self.refused(lambda: rs.enable_logging(ClusterIdentifier="plain", BucketName="audit-logs", S3KeyPrefix="bad prefix/"),
                     "InvalidS3KeyPrefixFault", 400)
        answer = rs.enable_logging(ClusterIdentifier="plain", BucketName="audit-logs", S3KeyPrefix="redshift/")
        self.assertEqual((answer["LoggingEnabled"], answer["LogDestinationType"]), (True, "s3"))
        status = rs.describe_logging_status(ClusterIdentifier="plain")
        self.assertEqual((status["BucketName"], status["S3KeyPrefix"], status["LogDestinationType"]),
                         ("audit-logs", "redshift/", "s3"))
        rs.disable_logging(ClusterIdentifier="plain")
        self.refused(lambda: rs.describe_logging_status(ClusterIdentifier="no-such-cluster"), "ClusterNotFound", 404)


class Redshift(DataApiTests, CopyTests, ConfigTests, RedshiftCase):
    """One emulator for all (each class starts one): the cluster `wh` (managed password, the
    copy roles attached, the default parameter group) and `plain` (a password of its own, the
    parameter group `warehouse-params`, enhanced VPC routing)."""

    bucket = "lake"

    @classmethod
    def build(cls):
        cls.build_copy()
        cluster = cls.make_cluster(cls.cluster, ManageMasterPassword=True, IamRoles=[cls.role, cls.blind])
        cls.secret = cluster["MasterPasswordSecretArn"]
        cls.namespace = cluster["ClusterNamespaceArn"]
        cls.client("redshift").create_cluster_parameter_group(
            ParameterGroupName="warehouse-params", ParameterGroupFamily="redshift-2.0", Description="the warehouse's")
        cls.plain = cls.make_cluster("plain", MasterUserPassword="Plain-Passw0rd",
                                     ClusterParameterGroupName="warehouse-params", EnhancedVpcRouting=True)


if __name__ == "__main__":
    unittest.main()
