"""The analytics notebook (examples/analytics.ipynb), executed headless against a local lake.

Run with the notebook venv's python, from the repository root (scripts/test does):

    PYTHONDONTWRITEBYTECODE=1 "$(scripts/ensure-notebook)" -m unittest discover -s examples/tests -v

The class starts its own emulator (`scripts/emulator --port 0`, with the emulator venv's python
from ECOMFLOW_EMULATOR_PYTHON or scripts/ensure-emulator; stopped by its PID) and lays out in
it what a stack's lake looks like to Athena, without the Rust tool: a bucket, the Glue database
and the table `invoice_lines` as src/blueprint/catalog.rs declares it (its columns, Parquet
SerDe, `dt` partition key and partition projection), Snappy Parquet under
`clean/dt=<day>/` (two delivery days, two files each) holding a slice of the real dataset
(data/online_retail.csv.gz, cleaned simply here), an Athena workgroup as
src/blueprint/analytics.rs declares it (results under `athena-results/`, SSE_S3, enforced),
and the outputs file `ecomflow-infra outputs --json` would print. Then it runs the notebook
exactly as a user would (`scripts/run_notebook.py` with ECOMFLOW_OUTPUTS and the AWS
variables) and checks its figures against the same slice computed here with pandas.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOK = os.path.join(ROOT, "examples", "analytics.ipynb")
RUNNER = os.path.join(ROOT, "scripts", "run_notebook.py")
DATASET = os.path.join(ROOT, "data", "online_retail.csv.gz")
WRITE_PARQUET = os.path.join(ROOT, "examples", "tests", "write_parquet.py")

# The slice: the dataset's first ROWS lines (more than 1,000 stock codes, so the notebook's
# products query is read in several GetQueryResults pages), plus the first POUND_ROWS lines
# after them with a pound sign in their description.
ROWS = 3000
POUND_ROWS = 2

STACK = "ecomflow-nbtest"
BUCKET = f"{STACK}-lake"
DATABASE = "ecomflow_nbtest_lake"
TABLE = "invoice_lines"
WORKGROUP = f"{STACK}-analytics"
REGION = "us-east-1"

# src/blueprint/catalog.rs clean_columns() and table_parameters().
COLUMNS = [
    ("invoiceno", "string"),
    ("stockcode", "string"),
    ("description", "string"),
    ("quantity", "bigint"),
    ("invoicedate", "timestamp"),
    ("unitprice", "decimal(10,3)"),
    ("customerid", "bigint"),
    ("country", "string"),
    ("iscancellation", "boolean"),
]
PARAMETERS = {
    "classification": "parquet",
    "EXTERNAL": "TRUE",
    "projection.enabled": "true",
    "projection.dt.type": "date",
    "projection.dt.format": "yyyy-MM-dd",
    "projection.dt.range": "2024-01-01,NOW",
    "projection.dt.interval": "1",
    "projection.dt.interval.unit": "DAYS",
    "storage.location.template": f"s3://{BUCKET}/clean/dt=${{dt}}/",
}


def emulator_python():
    python = os.environ.get("ECOMFLOW_EMULATOR_PYTHON")
    if python:
        return python
    return subprocess.run(
        [os.path.join(ROOT, "scripts", "ensure-emulator")], check=True, capture_output=True, text=True
    ).stdout.strip()


def slice_lines():
    """The slice as clean lines (dicts of the table's columns), cleaned simply: Latin-1
    decoded, exact duplicate rows dropped, a `C` invoice is a cancellation, an empty customer
    id or description is NULL. (Not the pipeline's rules: the notebook is only asked to report
    what the table holds.)"""
    import pandas as pd

    raw = pd.read_csv(DATASET, encoding="latin-1", dtype=str, keep_default_na=False, nrows=ROWS + 60000)
    pounds = raw.iloc[ROWS:][raw["Description"].iloc[ROWS:].str.contains("£", regex=False)]
    rows = pd.concat([raw.iloc[:ROWS], pounds.head(POUND_ROWS)])
    assert len(pounds) >= POUND_ROWS, "no £ rows"
    rows = rows[~rows.duplicated()]
    lines = []
    for r in rows.itertuples(index=False):
        invoice = r.InvoiceNo.strip()
        when = datetime.datetime.strptime(r.InvoiceDate.strip(), "%m/%d/%Y %H:%M")
        lines.append(
            {
                "invoiceno": invoice,
                "stockcode": r.StockCode.strip(),
                "description": r.Description.strip() or None,
                "quantity": int(r.Quantity),
                "invoicedate": when.strftime("%Y-%m-%d %H:%M:%S"),
                "unitprice": r.UnitPrice.strip(),
                "customerid": int(Decimal(r.CustomerID)) if r.CustomerID.strip() else None,
                "country": r.Country.strip(),
                "iscancellation": invoice.startswith("C"),
            }
        )
    return lines


def expected_figures(lines):
    """The notebook's figures, computed with pandas over the same lines."""
    import pandas as pd

    df = pd.DataFrame(lines)
    cancelled = df[df["iscancellation"]]
    revenue = sum((Decimal(q) * Decimal(p) for q, p in zip(df["quantity"], df["unitprice"])), Decimal(0))
    return {
        "rows": len(df),
        "distinct_invoices": df["invoiceno"].nunique(),
        "distinct_customers": df["customerid"].dropna().nunique(),
        "distinct_stock_codes": df["stockcode"].nunique(),
        "distinct_countries": df["country"].nunique(),
        "cancellation_lines": len(cancelled),
        "cancellation_invoices": cancelled["invoiceno"].nunique(),
        "total_quantity": int(df["quantity"].sum()),
        "total_revenue": revenue,
        "first_invoice_date": df["invoicedate"].min(),
        "last_invoice_date": df["invoicedate"].max(),
    }


def wait_for_endpoint(process, log_path, seconds=60):
    deadline = time.time() + seconds
    while True:
        with open(log_path) as f:
            text = f.read()
        found = re.search(r"^emulator listening on (\S+)$", text, re.M)
        if found:
            return found.group(1)
        if process.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"the emulator did not start:\n{text}")
        time.sleep(0.05)


class NotebookOnLocalLake(unittest.TestCase):
    """One emulator, one lake, one run of the notebook for the class; the tests read it."""

    @classmethod
    def setUpClass(cls):
        import boto3

        cls.work = tempfile.mkdtemp(prefix="notebook-test-")
        cls.emulator_log = os.path.join(cls.work, "emulator.log")
        with open(cls.emulator_log, "w") as log:
            cls.emulator = subprocess.Popen(
                [os.path.join(ROOT, "scripts", "emulator"), "--host", "127.0.0.1", "--port", "0"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MOTO_ACCESS_LOG": "0", "ECOMFLOW_EMULATOR_PYTHON": emulator_python()},
            )
        try:
            cls.endpoint = wait_for_endpoint(cls.emulator, cls.emulator_log)
            cls.env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
                "AWS_ENDPOINT_URL": cls.endpoint,
                "AWS_ACCESS_KEY_ID": "notebook",
                "AWS_SECRET_ACCESS_KEY": "notebook",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
            session = boto3.session.Session(
                aws_access_key_id="notebook", aws_secret_access_key="notebook", region_name=REGION
            )
            cls.s3 = session.client("s3", endpoint_url=cls.endpoint)
            cls.glue = session.client("glue", endpoint_url=cls.endpoint)
            cls.athena = session.client("athena", endpoint_url=cls.endpoint)
            cls.lines = slice_lines()
            cls.expected = expected_figures(cls.lines)
            cls.build_lake()
            cls.executed = cls.run_notebook(cls.outputs_path, "analytics")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.emulator.terminate()
        try:
            cls.emulator.wait(10)
        except subprocess.TimeoutExpired:
            cls.emulator.kill()
            cls.emulator.wait()
        shutil.rmtree(cls.work, ignore_errors=True)

    @classmethod
    def build_lake(cls):
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.glue.create_database(DatabaseInput={"Name": DATABASE})
        cls.glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": TABLE,
                "TableType": "EXTERNAL_TABLE",
                "Parameters": PARAMETERS,
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                "StorageDescriptor": {
                    "Location": f"s3://{BUCKET}/clean/",
                    "Columns": [{"Name": n, "Type": t} for n, t in COLUMNS],
                    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                    "SerdeInfo": {
                        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                        "Parameters": {"serialization.format": "1"},
                    },
                },
            },
        )
        # Two delivery days (yesterday and today, UTC: inside the projection's range up to
        # NOW), two objects each, as Firehose flushes would leave them.
        today = datetime.datetime.now(datetime.timezone.utc).date()
        days = [today - datetime.timedelta(days=1), today]
        quarter = -(-len(cls.lines) // 4)
        python = emulator_python()
        for part in range(4):
            chunk = cls.lines[part * quarter : (part + 1) * quarter]
            local = os.path.join(cls.work, f"part-{part}.parquet")
            subprocess.run(
                [python, WRITE_PARQUET, local],
                input="".join(json.dumps(line) + "\n" for line in chunk),
                text=True,
                check=True,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
            day = days[part // 2].isoformat()
            with open(local, "rb") as f:
                cls.s3.put_object(
                    Bucket=BUCKET,
                    Key=f"clean/dt={day}/{STACK}-clean-1-{day}-00-0{part}-00-{part:08d}.parquet",
                    Body=f.read(),
                )
        cls.athena.create_work_group(
            Name=WORKGROUP,
            Configuration={
                "ResultConfiguration": {
                    "OutputLocation": f"s3://{BUCKET}/athena-results/",
                    "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                },
                "EnforceWorkGroupConfiguration": True,
            },
        )
        # What `ecomflow-infra outputs --json` prints (src/outputs.rs), for this lake.
        outputs = {
            "stack": STACK,
            "api_url": None,
            "user_pool_id": None,
            "app_client_id": None,
            "stream": None,
            "invoices_table": None,
            "customers_table": None,
            "bucket": BUCKET,
            "athena_database": DATABASE,
            "athena_table": TABLE,
            "athena_workgroup": WORKGROUP,
            "warehouse": None,
        }
        cls.outputs_path = os.path.join(cls.work, "outputs.json")
        with open(cls.outputs_path, "w") as f:
            json.dump(outputs, f, indent=2)

    @classmethod
    def run_notebook(cls, outputs_path, name, notebook=NOTEBOOK, env=None, command=None):
        """Runs the runner as a user would (with this python, or `command`: scripts/notebook);
        its result, timing and file paths."""
        out = os.path.join(cls.work, f"{name}.out.ipynb")
        figures = os.path.join(cls.work, f"{name}.figures.json")
        env = env or {**cls.env, "ECOMFLOW_OUTPUTS": outputs_path}
        began = time.monotonic()
        done = subprocess.run(
            [*(command or [sys.executable, RUNNER]), notebook, "--out", out, "--figures", figures, "--timeout", "120"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        took = time.monotonic() - began
        print(f"\n{name}: scripts/run_notebook.py took {took:.1f} s (exit {done.returncode})", file=sys.stderr)
        return {"done": done, "out": out, "figures": figures, "seconds": took}

    def ran(self):
        done = self.executed["done"]
        self.assertEqual(done.returncode, 0, f"the notebook failed:\n{done.stderr}\n{done.stdout}")
        return done

    def test_figures_equal_the_slice(self):
        self.ran()
        with open(self.executed["figures"]) as f:
            figures = json.load(f)
        expected = dict(self.expected)
        # Exact: compared as decimals (Athena's sum has the column's scale, 3).
        self.assertEqual(Decimal(figures.pop("total_revenue")), expected.pop("total_revenue"))
        self.assertEqual(figures, expected)
        # The slice has cancellations and lines without a customer.
        self.assertGreater(figures["cancellation_lines"], 0)
        self.assertLess(figures["distinct_customers"], figures["distinct_invoices"])

    def test_the_runner_prints_the_figures_line(self):
        done = self.ran()
        lines = [l for l in done.stdout.splitlines() if l.startswith("FIGURES ")]
        self.assertEqual(len(lines), 1, done.stdout)
        with open(self.executed["figures"]) as f:
            self.assertEqual(json.loads(lines[0][len("FIGURES "):]), json.load(f))

    def test_every_cell_ran_and_the_charts_were_drawn(self):
        import nbformat

        self.ran()
        nb = nbformat.read(self.executed["out"], as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        self.assertTrue(all(c.execution_count for c in code), "a cell did not run")
        outputs = [o for c in code for o in c.outputs]
        self.assertFalse([o for o in outputs if o.output_type == "error"])
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        self.assertGreaterEqual(len(images), 4, "the month, country, products, cancellations and customers charts")
        # The tables a reader sees: the top country is shown.
        html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
        self.assertIn("United Kingdom", html)

    def test_queries_ran_in_the_stacks_workgroup_with_results_in_the_lake(self):
        self.ran()
        ids = self.athena.list_query_executions(WorkGroup=WORKGROUP, MaxResults=50)["QueryExecutionIds"]
        self.assertGreaterEqual(len(ids), 9)
        self.assertEqual(self.athena.list_query_executions()["QueryExecutionIds"], [], "primary workgroup")
        for query_id in ids[:3]:
            execution = self.athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
            self.assertEqual(execution["Status"]["State"], "SUCCEEDED")
            self.assertEqual(execution["QueryExecutionContext"]["Database"], DATABASE)
            location = execution["ResultConfiguration"]["OutputLocation"]
            self.assertTrue(location.startswith(f"s3://{BUCKET}/athena-results/"), location)
            key = location.split(f"s3://{BUCKET}/", 1)[1]
            head = self.s3.head_object(Bucket=BUCKET, Key=key)
            self.assertEqual(head["ServerSideEncryption"], "AES256")

    def test_outputs_from_the_tool_when_no_file_is_given(self):
        # ECOMFLOW_TOOL, a command with flags, asked for `outputs --json`: a stand-in here
        # that answers with the outputs file (and refuses anything else).
        fake = os.path.join(self.work, "fake-tool")
        with open(fake, "w") as f:
            f.write(
                "#!/bin/sh\n"
                '[ "$1 $2 $3 $4" = "-s stacks/local.yaml outputs --json" ] || '
                '{ echo "unexpected arguments: $*" >&2; exit 64; }\n'
                f"cat '{self.outputs_path}'\n"
            )
        os.chmod(fake, 0o755)
        setup = os.path.join(self.work, "setup-only.ipynb")
        import nbformat

        nb = nbformat.read(NOTEBOOK, as_version=4)
        nb.cells = [c for c in nb.cells if c.get("id") in ("setup", "helper", "overview")]
        nbformat.write(nb, setup)
        env = {k: v for k, v in self.env.items() if k != "ECOMFLOW_OUTPUTS"}
        env["ECOMFLOW_TOOL"] = f"{fake} -s stacks/local.yaml"
        run = self.run_notebook(None, "tool", notebook=setup, env=env)
        self.assertEqual(run["done"].returncode, 2, run["done"].stderr)  # ran, but no figures cell
        out = nbformat.read(run["out"], as_version=4)
        text = "".join(o.get("text", "") for c in out.cells if c.cell_type == "code" for o in c.outputs)
        self.assertIn(f"table {DATABASE}.{TABLE}, workgroup {WORKGROUP}", text)

    def test_a_failing_cell_fails_the_run_and_is_shown(self):
        import nbformat
        from nbformat.v4 import new_code_cell, new_notebook

        bad = os.path.join(self.work, "bad.ipynb")
        nbformat.write(
            new_notebook(cells=[new_code_cell("x = 1"), new_code_cell("ratio = x / 0"), new_code_cell("never = 1")]),
            bad,
        )
        # Through the one-command wrapper, as the Rust end-to-end test runs it.
        run = self.run_notebook(None, "bad", notebook=bad, env=self.env, command=[os.path.join(ROOT, "scripts", "notebook")])
        done = run["done"]
        self.assertEqual(done.returncode, 1)
        self.assertIn("ratio = x / 0", done.stderr)
        self.assertIn("ZeroDivisionError", done.stderr)
        out = nbformat.read(run["out"], as_version=4)
        self.assertIsNone(out.cells[2].execution_count, "cells after the failure do not run")

    def test_the_committed_notebook_has_no_outputs(self):
        import nbformat

        nb = nbformat.read(NOTEBOOK, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                self.assertEqual(cell.outputs, [], cell.source[:60])
                self.assertIsNone(cell.execution_count, cell.source[:60])


if __name__ == "__main__":
    unittest.main()
