"""Glue job runs (ecomflow_emulator.glue_run): StartJobRun runs the job's script under a local
PySpark, with its S3 arguments staged, and GetJobRun reports how it went.

One emulator for all (Spark is slow to start): the project's ETL script on a small CSV
(SUCCEEDED, Parquet under clean/dt=<day>/, JSON rejects) and on a file without the header
(FAILED with the script's error, a second StartJobRun meanwhile refused); small plain-Python
scripts for staging, arguments and MaxConcurrentRuns, which start no Spark.
"""

import datetime
import io
import json
import os
import time
import unittest

from support import ROOT, EmulatorCase

SCRIPT = os.path.join(ROOT, "src", "model", "assets", "glue_etl.py")
ROLE = "arn:aws:iam::123456789012:role/glue"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
CSV = "\n".join(
    [
        HEADER,
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
        "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom",
        "C536379,22556,PLASTERS IN TIN CIRCUS PARADE,-1,12/1/2010 9:41,1.65,,France",
        "536366,22633,HAND WARMER UNION JACK,abc,12/1/2010 8:28,1.85,17850,United Kingdom",
    ]
) + "\n"

# Copies --src (a prefix) to --dst, changes one staged file, deletes another, and leaves what
# Spark's writers leave beside their output.
COPY_SCRIPT = """
import os, sys
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["src", "dst", "one", "JOB_NAME", "JOB_RUN_ID"])
assert args["src"].endswith("/") and not args["src"].startswith("s3://"), args
assert not args["one"].endswith("/") and os.path.isfile(args["one"]), args
for folder, _, names in os.walk(args["src"]):
    for name in names:
        rel = os.path.relpath(os.path.join(folder, name), args["src"])
        target = os.path.join(args["dst"], rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(os.path.join(folder, name), "rb") as f, open(target, "wb") as g:
            g.write(f.read().upper())
os.makedirs(os.path.join(args["dst"], "_temporary", "0"), exist_ok=True)
for name in ("_SUCCESS", ".part-0.crc", os.path.join("_temporary", "0", "part-0")):
    open(os.path.join(args["dst"], name), "w").close()
with open(os.path.join(args["dst"], "run.txt"), "w") as f:
    f.write(args["JOB_NAME"] + " " + args["JOB_RUN_ID"])
with open(os.path.join(args["dst"], "keep.txt"), "w") as f:
    f.write("same")
with open(os.path.join(args["dst"], "change.txt"), "w") as f:
    f.write("new")
if os.path.exists(os.path.join(args["dst"], "gone.txt")):
    os.remove(os.path.join(args["dst"], "gone.txt"))
with open(args["one"]) as f:
    print("one:", f.read())
"""

NEEDS_SCRIPT = """
import sys
from awsglue.utils import getResolvedOptions
getResolvedOptions(sys.argv, ["JOB_NAME", "needed"])
"""

SLEEP_SCRIPT = """
import time
import unittest
time.sleep(4)
"""


class GlueJobRunTest(EmulatorCase):
    @classmethod
    def build(cls):
        cls.s3 = cls.client("s3")
        cls.glue = cls.client("glue")
        cls.s3.create_bucket(Bucket="lake")
        with open(SCRIPT, "rb") as f:
            cls.s3.put_object(Bucket="lake", Key="scripts/glue_etl.py", Body=f.read())
        cls.s3.put_object(Bucket="lake", Key="raw/small.csv", Body=CSV.encode())
        cls.s3.put_object(Bucket="lake", Key="bad/x.csv", Body=b"a,b\n1,2\n")
        # As src/blueprint/catalog.rs defines the job.
        cls.glue.create_job(
            Name="clean",
            Role=ROLE,
            GlueVersion="5.0",
            Command={"Name": "glueetl", "ScriptLocation": "s3://lake/scripts/glue_etl.py", "PythonVersion": "3"},
            DefaultArguments={
                "--input": "s3://lake/raw/",
                "--output": "s3://lake/clean/",
                "--rejects": "s3://lake/rejects/",
                "--TempDir": "s3://lake/tmp/glue/",
                "--job-language": "python",
                "--enable-metrics": "true",
                "--keep_cancellations": "true",
                "--keep_missing_customer": "true",
                "--keep_non_product_codes": "false",
                "--drop_duplicates": "true",
            },
            Timeout=30,
        )
        for name, body in (("copy.py", COPY_SCRIPT), ("needs.py", NEEDS_SCRIPT), ("sleep.py", SLEEP_SCRIPT)):
            cls.s3.put_object(Bucket="lake", Key=f"scripts/{name}", Body=body.encode())

    def job(self, name, script, max_concurrent=None, **extra):
        if max_concurrent:
            extra["ExecutionProperty"] = {"MaxConcurrentRuns": max_concurrent}
        self.glue.create_job(
            Name=name,
            Role=ROLE,
            GlueVersion="5.0",
            Command={"Name": "glueetl", "ScriptLocation": f"s3://lake/scripts/{script}"},
            **extra,
        )

    def wait(self, job, run_id, limit=600):
        """The run once ended, and every state it was seen in."""
        seen = []
        deadline = time.time() + limit
        while True:
            run = self.glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]
            if not seen or seen[-1] != run["JobRunState"]:
                seen.append(run["JobRunState"])
            if run["JobRunState"] not in ("STARTING", "RUNNING"):
                return run, seen
            self.assertLess(time.time(), deadline, f"run {run_id} still {run['JobRunState']}")
            time.sleep(0.5)

    def keys(self, prefix):
        found = self.s3.list_objects_v2(Bucket="lake", Prefix=prefix).get("Contents", [])
        return {o["Key"]: o for o in found}

    def body(self, key):
        return self.s3.get_object(Bucket="lake", Key=key)["Body"].read()

    def test_project_script_cleans_a_csv_into_parquet_and_rejects(self):
        import pyarrow.parquet as pq

        day_before = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        run_id = self.glue.start_job_run(JobName="clean", Arguments={"--input": "s3://lake/raw/small.csv"})["JobRunId"]
        run, seen = self.wait("clean", run_id)
        day_after = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertEqual(run["JobRunState"], "SUCCEEDED", run.get("ErrorMessage"))
        self.assertEqual(seen[-1], "SUCCEEDED")
        self.assertTrue(set(seen) <= {"STARTING", "RUNNING", "SUCCEEDED"}, seen)
        self.assertNotIn("ErrorMessage", run)
        self.assertGreaterEqual(run["CompletedOn"], run["StartedOn"])
        self.assertGreaterEqual(run["ExecutionTime"], 0)
        self.assertEqual(run["Arguments"], {"--input": "s3://lake/raw/small.csv"})  # the run's own
        self.assertEqual(run["GlueVersion"], "5.0")
        self.assertEqual([r["Id"] for r in self.glue.get_job_runs(JobName="clean")["JobRuns"] if r["Id"] == run_id], [run_id])

        clean = self.keys("clean/")
        days = {k.split("/")[1] for k in clean}
        self.assertEqual(len(days), 1, clean)
        day = days.pop()
        self.assertIn(day, {f"dt={day_before}", f"dt={day_after}"})
        self.assertTrue(clean and all(k.endswith(".parquet") for k in clean), list(clean))
        rows = []
        for key in sorted(clean):
            rows += pq.read_table(io.BytesIO(self.body(key))).to_pylist()
        rows.sort(key=lambda r: (r["invoiceno"], r["stockcode"]))
        self.assertEqual(
            [(r["invoiceno"], r["stockcode"], r["quantity"], str(r["unitprice"]), r["customerid"], r["country"]) for r in rows],
            [
                ("536365", "71053", 6, "3.390", 17850, "United Kingdom"),
                ("536365", "85123A", 6, "2.550", 17850, "United Kingdom"),
                ("C536379", "22556", -1, "1.650", None, "France"),
            ],
        )
        self.assertEqual(rows[0]["invoicedate"], datetime.datetime(2010, 12, 1, 8, 26))
        self.assertEqual([r["iscancellation"] for r in rows], [False, False, True])

        rejects = self.keys("rejects/")
        self.assertTrue(rejects and all(k.startswith(f"rejects/{day}/") and k.endswith(".json") for k in rejects), list(rejects))
        lines = [json.loads(line) for key in rejects for line in self.body(key).decode().splitlines() if line]
        self.assertEqual([r["reason"] for r in lines], ["bad_quantity"])
        self.assertTrue(lines[0]["input"].startswith("536366,22633,"), lines)
        # Nothing of Spark's bookkeeping, nothing of the staged input written back.
        self.assertFalse([k for k in self.keys("") if k.endswith((".crc", "_SUCCESS")) or "_temporary" in k])
        self.assertEqual(self.keys("tmp/"), {})

    def test_script_error_fails_the_run_and_a_second_run_meanwhile_is_refused(self):
        before = self.keys("")
        run_id = self.glue.start_job_run(JobName="clean", Arguments={"--input": "s3://lake/bad/x.csv"})["JobRunId"]
        # MaxConcurrentRuns defaults to 1: the job is busy until this run ends.
        message = self.refused(lambda: self.glue.start_job_run(JobName="clean"), "ConcurrentRunsExceededException", 400)
        self.assertEqual(message, "Concurrent runs exceeded for clean")
        run, seen = self.wait("clean", run_id)
        self.assertEqual(run["JobRunState"], "FAILED", run)
        self.assertEqual(
            run["ErrorMessage"],
            "ValueError: s3://lake/bad/x.csv: unexpected header 'a,b': expected " + HEADER,
        )
        self.assertIn("CompletedOn", run)
        self.assertEqual(set(self.keys("")), set(before), "a failed run writes nothing")

    def test_staging_downloads_then_uploads_new_and_changed_files_only(self):
        self.s3.put_object(Bucket="lake", Key="in/a.txt", Body=b"alpha")
        self.s3.put_object(Bucket="lake", Key="in/sub/b.txt", Body=b"beta")
        self.s3.put_object(Bucket="lake", Key="one/file.txt", Body=b"single")
        for name, body in (("keep.txt", b"same"), ("change.txt", b"old"), ("gone.txt", b"x")):
            self.s3.put_object(Bucket="lake", Key=f"out/{name}", Body=body)
        kept = self.keys("out/")["out/keep.txt"]["LastModified"]
        time.sleep(1.1)  # LastModified has whole seconds
        self.job(
            "copy",
            "copy.py",
            # A bucket that does not exist is no error while nothing is written there.
            DefaultArguments={"--src": "s3://lake/in/", "--dst": "s3://lake/out", "--TempDir": "s3://nowhere/tmp/"},
        )
        run_id = self.glue.start_job_run(JobName="copy", Arguments={"--one": "s3://lake/one/file.txt"})["JobRunId"]
        run, _ = self.wait("copy", run_id)
        self.assertEqual(run["JobRunState"], "SUCCEEDED", run.get("ErrorMessage"))
        out = self.keys("out/")
        self.assertEqual(sorted(out), ["out/a.txt", "out/change.txt", "out/keep.txt", "out/run.txt", "out/sub/b.txt"])
        self.assertEqual(self.body("out/a.txt"), b"ALPHA")
        self.assertEqual(self.body("out/sub/b.txt"), b"BETA")
        self.assertEqual(self.body("out/change.txt"), b"new")
        self.assertEqual(self.body("out/run.txt").decode(), f"copy {run_id}")
        self.assertEqual(out["out/keep.txt"]["LastModified"], kept, "an unchanged file is not written again")
        self.assertEqual(self.body("one/file.txt"), b"single")
        self.assertEqual(sorted(self.keys("in/")), ["in/a.txt", "in/sub/b.txt"])
        # Writing to it is: the run fails with S3's error, and writes nothing elsewhere either.
        before = self.keys("")
        run_id = self.glue.start_job_run(
            JobName="copy", Arguments={"--one": "s3://lake/one/file.txt", "--dst": "s3://nowhere/out/"}
        )["JobRunId"]
        run, _ = self.wait("copy", run_id)
        self.assertEqual(run["JobRunState"], "FAILED")
        self.assertEqual(run["ErrorMessage"], "NoSuchBucket: The specified bucket does not exist")
        self.assertEqual(self.keys(""), before)

    def test_missing_argument_fails_with_glue_argument_error(self):
        self.job("needs", "needs.py")
        run, _ = self.wait("needs", self.glue.start_job_run(JobName="needs")["JobRunId"])
        self.assertEqual(run["JobRunState"], "FAILED")
        self.assertEqual(run["ErrorMessage"], "awsglue.utils.GlueArgumentError: the following arguments are required: --needed")
        run, _ = self.wait("needs", self.glue.start_job_run(JobName="needs", Arguments={"--needed": "yes"})["JobRunId"])
        self.assertEqual(run["JobRunState"], "SUCCEEDED", run.get("ErrorMessage"))

    def test_max_concurrent_runs_allows_that_many_runs(self):
        self.job("two", "sleep.py", max_concurrent=2)
        first = self.glue.start_job_run(JobName="two")["JobRunId"]
        second = self.glue.start_job_run(JobName="two")["JobRunId"]
        message = self.refused(lambda: self.glue.start_job_run(JobName="two"), "ConcurrentRunsExceededException", 400)
        self.assertEqual(message, "Concurrent runs exceeded for two")
        for run_id in (first, second):
            run, _ = self.wait("two", run_id)
            self.assertEqual(run["JobRunState"], "SUCCEEDED", run.get("ErrorMessage"))
            self.assertGreaterEqual(run["ExecutionTime"], 4)
        third = self.glue.start_job_run(JobName="two")["JobRunId"]  # room again
        self.assertEqual(self.wait("two", third)[0]["JobRunState"], "SUCCEEDED")


class GlueRunPartsTest(unittest.TestCase):
    """Parts of `glue_run` a whole run hardly reaches, in-process (no emulator, no Spark)."""

    def test_error_message_is_the_last_tracebacks_exception_line_with_s3_names(self):
        from ecomflow_emulator import glue_run

        staging = glue_run.Staging(None, "/tmp/glue-run-1-x")
        stderr = "\n".join(
            [
                "26/12/07 00:26:05 WARN TaskSetManager: Lost task 0.0",
                "Traceback (most recent call last):",
                '  File "/tmp/glue-run-1-x/script/s.py", line 3, in <module>',
                "    main()",
                "py4j.protocol.Py4JJavaError: An error occurred while calling o42.parquet.",
                ": org.apache.spark.SparkException: Job aborted due to stage failure: "
                "org.apache.spark.api.python.PythonException: Traceback (most recent call last):",
                '  File "/venv/pyspark/worker.py", line 1247, in main',
                "    process()",
                "ValueError: file:/tmp/glue-run-1-x/s3/lake/raw/x.csv: bad header",
                "",
                "\tat org.apache.spark.api.python.BasePythonRunner.handlePythonException",
            ]
        )
        self.assertEqual(glue_run.error_message(stderr, staging), "ValueError: s3://lake/raw/x.csv: bad header")
        self.assertEqual(glue_run.error_message("starting\nKilled\n"), "Killed")

    def test_a_run_past_its_timeout_is_killed_and_timed_out(self):
        import tempfile
        import types

        from ecomflow_emulator import glue_run
        from moto.s3.models import s3_backends

        s3 = s3_backends["123456789012"]["aws"]
        s3.create_bucket("scripts", "us-east-1")
        s3.put_object("scripts", "sleep.py", b"import time\ntime.sleep(60)\n")
        job = types.SimpleNamespace(name="j", command={"Name": "glueetl", "ScriptLocation": "s3://scripts/sleep.py"})
        run = types.SimpleNamespace(
            job_run_id="jr_1", script_arguments={"--JOB_NAME": "j"}, timeout_minutes=0.02, set_state=lambda state: None
        )
        started = time.time()
        with tempfile.TemporaryDirectory() as run_dir:
            state, error = glue_run.execute(job, run, s3, run_dir)
        self.assertEqual((state, error), ("TIMEOUT", "Job run timed out after 0.02 minutes"))
        self.assertLess(time.time() - started, 20)
        self.assertEqual(glue_run._CHILDREN, {})
