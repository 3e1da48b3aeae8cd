"""Glue job runs: StartJobRun runs the job's script under a local PySpark.

moto 5.2.1 records a run and runs nothing (its state jumps to SUCCEEDED). Here a run of a Spark
ETL job (`Command.Name` `glueetl`) runs its script, as Glue does, and reports how it went:

1. The script is `Command.ScriptLocation`, read from the emulated S3. Its arguments are the
   job's DefaultArguments, the run's Arguments over them, the job's NonOverridableArguments
   over both, plus `--JOB_NAME` and `--JOB_RUN_ID`, passed as `--name value` pairs.
   https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
2. Staging (local Spark has no S3 filesystem for moto): every argument whose value is an
   `s3://bucket/key` URI is given to the script as `<run dir>/s3/bucket/key` instead (a
   trailing `/` kept). What exists there in S3 is downloaded first, with its key layout: the
   object `key` itself, or else every object under the prefix `key/`.
3. The script runs as `python <script> <args>` with the emulator's own python (its venv holds
   pyspark 3.5.4, Glue 5.0's Spark), the `awsglue` stand-in (emulator/awsglue_standin) on
   PYTHONPATH, and Spark in local mode: `local[2]`, UTC session time zone, 2 GB of driver
   memory, 2 shuffle partitions, no UI, bound to 127.0.0.1 (and, for speed only, the JVM's
   serial collector and client compiler, and a rarer Python collector: `glue_run_site`). One Spark driver per run, and at
   most `ECOMFLOW_GLUE_DRIVERS` (default 2) at once; a run waiting for one stays STARTING.
4. Exit 0: every file the script wrote or changed under a staged directory goes back to S3
   under the argument's URI (Spark's `_SUCCESS`, `.crc` checksums and `_temporary` folders
   excepted), staged files it deleted are deleted from S3 (Spark's overwrite mode), and the
   run is SUCCEEDED. Any other exit: FAILED, nothing written, with ErrorMessage the last line
   of the script's Python traceback (`ValueError: s3://b/raw/x.csv: unexpected header ...`;
   local paths are named by their S3 URIs again). Past the run's Timeout (minutes; the
   job's, else 2880), the script is killed and the run is TIMEOUT.
   https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html

GetJobRun and GetJobRuns report JobRunState (STARTING while staging, RUNNING while the
script runs and its output is copied, then SUCCEEDED, FAILED or TIMEOUT), StartedOn,
LastModifiedOn, CompletedOn (once ended), ExecutionTime (whole seconds, once ended),
ErrorMessage and the run's own Arguments.
https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html
https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html

StartJobRun refuses a run beyond the job's ExecutionProperty.MaxConcurrentRuns (default 1)
with ConcurrentRunsExceededException "Concurrent runs exceeded for <job>".
https://docs.aws.amazon.com/glue/latest/webapi/API_ExecutionProperty.html
https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html

The script's subprocesses (its python and Spark's JVM, one process group per run) are
stopped when the emulator exits (atexit, which the SIGTERM path of `server` reaches too); an
emulator killed outright (SIGKILL, as the Rust tests' harness stops it) takes them along by
a parent-death signal, and the next emulator to start removes the run folders it left.
S3 is read and written in-process, so IAM is not evaluated on what the script reads or
writes; the script's output goes to no CloudWatch log (a failed run prints its last lines on
the emulator's stderr).
"""

import atexit
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from moto.core.utils import utcnow
from moto.glue.models import FakeJobRun

_EMULATOR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the `awsglue` stand-in lives: emulator/awsglue_standin (next to this package).
STAND_IN = os.path.join(_EMULATOR, "awsglue_standin")
# The runs' sitecustomize (Python's collector made rarer in the script and Spark's workers).
RUN_SITE = os.path.join(_EMULATOR, "glue_run_site")
# States in which a run counts against MaxConcurrentRuns.
ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
# What Spark leaves next to its output that Glue's S3 committer never writes as objects.
SKIPPED_NAMES = ("_SUCCESS",)
DEFAULT_TIMEOUT_MINUTES = 2880

_START_LOCK = threading.Lock()  # a run's concurrency check and its registration, together
_DRIVERS = threading.BoundedSemaphore(max(1, int(os.environ.get("ECOMFLOW_GLUE_DRIVERS", "2"))))
_CHILDREN = {}  # pid -> Popen of every running script
_RUN_DIRS = set()
_CHILDREN_LOCK = threading.Lock()


def split_s3(uri):
    """(bucket, key) of an `s3://` URI (s3a/s3n too, as Glue accepts them), else (None, None)."""
    found = re.match(r"^s3[an]?://([^/]+)/?(.*)$", uri or "", re.S)
    if not found:
        return None, None
    return found.group(1), found.group(2)


def spark_submit_args(run_dir):
    """The Spark settings of a run's driver, as PYSPARK_SUBMIT_ARGS: they must reach the JVM
    before it starts (driver memory), and the script makes its SparkContext with none.

    Cost on 2 cores: the serial collector and the client compiler alone (no C2) halve the
    JVM's CPU time for a run of a few hundred thousand rows, which is mostly startup,
    unpickling Python's rows, a sort and Parquet; G1's and C2's background threads would take
    the cores from the Python workers, which do most of the work."""
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.local.dir": os.path.join(run_dir, "spark-local"),
        "spark.sql.warehouse.dir": os.path.join(run_dir, "spark-warehouse"),
        "spark.log.level": "WARN",
    }
    java = [
        "-Duser.timezone=UTC",
        "-Djava.io.tmpdir=" + os.path.join(run_dir, "tmp"),
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
    ]
    parts = ["--master", "local[2]", "--driver-memory", "2g", "--driver-java-options", " ".join(java)]
    for key, value in conf.items():
        parts += ["--conf", f"{key}={value}"]
    return shlex.join(parts + ["pyspark-shell"])


class Staging:
    """The S3 URIs of a run's arguments mapped onto `<run dir>/s3/<bucket>/<key>`."""

    def __init__(self, s3, run_dir):
        self.s3 = s3
        self.root = os.path.join(run_dir, "s3")
        self.roots = {}  # local path -> (bucket, key) of each staged argument
        self.snapshot = {}  # local file -> MD5 of what was downloaded there

    def local(self, bucket, key):
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts) or "/" in bucket or bucket in (".", ".."):
            raise ValueError(f"s3://{bucket}/{key}: a key with . or .. segments cannot be staged")
        return os.path.join(self.root, bucket, *parts)

    def stage(self, uri):
        """The local path standing for `uri`, with what S3 holds there downloaded."""
        bucket_name, key = split_s3(uri)
        path = self.local(bucket_name, key)
        # A bucket that does not exist holds nothing: the script fails if it reads there, the
        # run if the script writes there.
        objects = list_keys(self.s3.buckets[bucket_name]) if bucket_name in self.s3.buckets else {}
        if key and not key.endswith("/") and key in objects:
            self.download(objects[key], path)
            self.roots[path] = (bucket_name, key)
            return path
        prefix = key if key.endswith("/") or not key else key + "/"
        for name, fake_key in objects.items():
            if name.startswith(prefix) and not name.endswith("/"):
                self.download(fake_key, self.local(bucket_name, name))
        if key.endswith("/") or not key:
            os.makedirs(path, exist_ok=True)
            path_arg = path + "/"
        else:  # a file or a folder, whichever the script makes of it
            os.makedirs(os.path.dirname(path), exist_ok=True)
            path_arg = path
        self.roots[path] = (bucket_name, key)
        return path_arg

    def download(self, fake_key, path):
        data = fake_key.value
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.snapshot[path] = hashlib.md5(data).hexdigest()

    def changes(self):
        """(files to upload as [(local, bucket, key)], objects to delete as [(bucket, key)])."""
        files = set()
        for root in self.roots:
            if os.path.isfile(root):
                files.add(root)
            elif os.path.isdir(root):
                for folder, dirs, names in os.walk(root):
                    dirs[:] = [d for d in dirs if d != "_temporary"]
                    files.update(os.path.join(folder, n) for n in names)
        uploads = []
        for path in sorted(files):
            name = os.path.basename(path)
            if name in SKIPPED_NAMES or name.endswith(".crc"):
                continue
            if path in self.snapshot and md5_file(path) == self.snapshot[path]:
                continue
            uploads.append((path,) + self.s3_of(path))
        deletes = [self.s3_of(p) for p in sorted(self.snapshot) if not os.path.exists(p)]
        return uploads, deletes

    def s3_of(self, path):
        bucket, _, key = os.path.relpath(path, self.root).replace(os.sep, "/").partition("/")
        return bucket, key

    def to_uris(self, text):
        """`text` with the run's local paths named by their S3 URIs again."""
        for local in (f"file://{self.root}/", f"file:{self.root}/", f"{self.root}/"):
            text = text.replace(local, "s3://")
        return text


def list_keys(bucket):
    """{key: FakeKey} of a moto bucket (current versions; delete markers left out)."""
    found = {}
    for name in list(dict(bucket.keys)):
        try:
            value = bucket.keys[name]
        except KeyError:  # deleted meanwhile
            continue
        if hasattr(value, "value"):
            found[name] = value
    return found


def md5_file(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def error_message(stderr, staging=None):
    """The run's ErrorMessage from the script's stderr: the exception line that ends the last
    Python traceback (a Python worker's traceback inside a Spark error included), else the
    last line written."""
    lines = stderr.splitlines()
    start = max((i for i, line in enumerate(lines) if "Traceback (most recent call last):" in line), default=None)
    message = None
    if start is not None:
        for line in lines[start + 1 :]:
            if line.strip() and not line[:1].isspace():
                message = line.strip()
                break
    if message is None:
        rest = [line.strip() for line in lines if line.strip()]
        message = rest[-1] if rest else "the script exited without a message"
    return staging.to_uris(message) if staging else message


def _register(proc):
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc


def _unregister(proc):
    with _CHILDREN_LOCK:
        _CHILDREN.pop(proc.pid, None)


def _kill_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)  # the run's own group: its python and Spark's JVM
    except (ProcessLookupError, PermissionError):
        pass


def stop_all():
    """Stops every script still running (SIGTERM, then SIGKILL after 5 s) and removes the runs'
    folders: the emulator is exiting."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN.values())
        _CHILDREN.clear()
        dirs = list(_RUN_DIRS)
    for proc in children:
        _kill_group(proc, signal.SIGTERM)
    deadline = time.time() + 5
    for proc in children:
        try:
            proc.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGKILL)
            proc.wait()
    for folder in dirs:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(stop_all)

# Runs the script (argv[3:]) with a parent-death signal: an emulator killed without its atexit
# (the Rust tests' harness kills with SIGKILL) takes its scripts with it. Set in the child
# before exec (the signal outlives exec); Spark's JVM and Python workers exit when the
# script's python does (they watch its pipes).
_LAUNCHER = """import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(137)
os.execv(sys.argv[2], sys.argv[2:])
"""
RUN_DIR_PREFIX = "glue-run-"


def sweep():
    """At the emulator's start: the run folders of emulators that died without their atexit
    (named `glue-run-<pid>-...`, the pid no longer running) are removed."""
    parent = tempfile.gettempdir()
    for name in os.listdir(parent):
        found = re.match(re.escape(RUN_DIR_PREFIX) + r"(\d+)-", name)
        if not found or int(found.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(found.group(1)), 0)
            continue  # its emulator still runs
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        except PermissionError:
            continue


class EmulatedJobRun(FakeJobRun):
    """A run whose state is its script's: moto's FakeJobRun (its ID, capacity and worker
    fields) with the state, times, error and arguments of the run that really happens."""

    def __init__(self, job, arguments, timeout=None, **moto_fields):
        timeout = timeout or job.timeout or DEFAULT_TIMEOUT_MINUTES
        super().__init__(job_name=job.name, arguments=dict(arguments or {}), timeout=timeout, **moto_fields)
        self.job = job
        self.timeout_minutes = int(timeout)
        # NonOverridableArguments win over the run's Arguments, which win over DefaultArguments.
        merged = {**(job.default_arguments or {}), **(arguments or {}), **(job.non_overridable_arguments or {})}
        merged["--JOB_NAME"] = job.name
        merged["--JOB_RUN_ID"] = self.job_run_id
        self.script_arguments = merged
        self.state = "STARTING"
        self.error = None
        self.started_on = self.modified_on = utcnow()
        self.completed_on = None
        self.execution_time = 0
        self._clock = time.monotonic()

    # moto's ManagedState moves `status` along by itself; this one is the script's.
    @property
    def status(self):
        return self.state

    @status.setter
    def status(self, value):
        self.state = value

    def set_state(self, state):
        self.state = state
        self.modified_on = utcnow()

    def finish(self, state, error=None):
        self.error = error
        self.completed_on = utcnow()
        self.execution_time = int(round(time.monotonic() - self._clock))
        self.set_state(state)
        self.modified_on = self.completed_on

    def as_dict(self):
        out = super().as_dict()
        out.update(
            JobRunState=self.state,
            StartedOn=self.started_on,
            LastModifiedOn=self.modified_on,
            ExecutionTime=self.execution_time,
            Timeout=self.timeout_minutes,
            LogGroupName="/aws-glue/jobs",
            ExecutionClass=self.job.execution_class or "STANDARD",
        )
        out.pop("CompletedOn", None)
        if self.completed_on is not None:
            out["CompletedOn"] = self.completed_on
        if self.error:
            out["ErrorMessage"] = self.error
        if self.job.glue_version:
            out["GlueVersion"] = self.job.glue_version
        else:
            out.pop("GlueVersion", None)
        return out


def start_job_run(job, arguments=None, previous_run_id=None, **moto_fields):
    """StartJobRun of a Spark ETL job: refused beyond MaxConcurrentRuns (default 1), else a
    run whose worker starts at once; its ID.
    https://docs.aws.amazon.com/glue/latest/webapi/API_ExecutionProperty.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html"""
    from moto.glue.exceptions import ConcurrentRunsExceededException
    from moto.s3.models import s3_backends

    s3 = s3_backends[job.backend.account_id][job.backend.partition]
    with _START_LOCK:
        limit = (job.execution_property or {}).get("MaxConcurrentRuns") or 1
        if sum(1 for r in job.job_runs if r.status in ACTIVE) >= limit:
            raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {job.name}")
        run = EmulatedJobRun(job, arguments, job_run_id=previous_run_id, **moto_fields)
        job.job_runs.append(run)
    thread = threading.Thread(target=work, args=(job, run, s3), name=f"glue-{run.job_run_id[:11]}", daemon=True)
    thread.start()
    return run.job_run_id


def work(job, run, s3):
    """Runs `run` to its end: staging, the script, the copy back to S3."""
    run_dir = tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-")
    with _CHILDREN_LOCK:
        _RUN_DIRS.add(run_dir)
    try:
        with _DRIVERS:
            state, error = execute(job, run, s3, run_dir)
        run.finish(state, error)
    except Exception as e:  # noqa: BLE001 - any failure of the emulator's side fails the run
        # moto's S3 errors read as AWS's code and message ("NoSuchBucket: The specified ...").
        aws = isinstance(getattr(e, "code", None), str)
        run.finish("FAILED", str(e) if aws else f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        with _CHILDREN_LOCK:
            _RUN_DIRS.discard(run_dir)
    if run.state != "SUCCEEDED":
        print(f"glue: run {run.job_run_id} of job {job.name}: {run.state}: {run.error}", file=sys.stderr, flush=True)


def execute(job, run, s3, run_dir):
    """(final state, error message or None)."""
    command = job.command or {}
    location = command.get("ScriptLocation") or ""
    bucket, key = split_s3(location)
    if bucket is None:
        return "FAILED", f"ScriptLocation {location!r} is not an S3 URI"
    fake_key = s3.get_object(bucket, key) if bucket in s3.buckets else None
    if fake_key is None:
        return "FAILED", f"Script {location} not found: NoSuchKey"
    script = os.path.join(run_dir, "script", os.path.basename(key) or "script.py")
    os.makedirs(os.path.dirname(script))
    with open(script, "wb") as f:
        f.write(fake_key.value)

    staging = Staging(s3, run_dir)
    argv = [sys.executable, "-c", _LAUNCHER, str(os.getpid()), sys.executable, script]
    for name, value in run.script_arguments.items():
        if split_s3(value)[0] is not None:
            value = staging.stage(value)
        argv += [name, value]

    for sub in ("tmp", "spark-local"):
        os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (RUN_SITE, STAND_IN, os.environ.get("PYTHONPATH")) if p),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "PYSPARK_SUBMIT_ARGS": spark_submit_args(run_dir),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "TZ": "UTC",
        "TMPDIR": os.path.join(run_dir, "tmp"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SPARK_HOME", None)  # pyspark's own Spark, never another one
    out_path, err_path = os.path.join(run_dir, "stdout.log"), os.path.join(run_dir, "stderr.log")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        run.set_state("RUNNING")
        proc = subprocess.Popen(
            argv, cwd=run_dir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        _register(proc)
        timed_out = threading.Event()

        def time_out():
            timed_out.set()
            _kill_group(proc, signal.SIGKILL)

        timer = threading.Timer(run.timeout_minutes * 60, time_out)
        timer.daemon = True
        timer.start()
        try:
            # Waits without reaping: until the script is reaped its PID keeps its group's ID
            # from being reused, so the group can be killed safely.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:  # reaped by stop_all: the emulator is exiting
            pass
        finally:
            timer.cancel()
            _kill_group(proc, signal.SIGKILL)  # what the script left behind (a JVM)
            _unregister(proc)
            proc.wait()
        if timed_out.is_set():
            return "TIMEOUT", f"Job run timed out after {run.timeout_minutes} minutes"
    if proc.returncode != 0:
        with open(err_path, encoding="utf-8", errors="replace") as f:
            stderr = f.read()
        tail = "\n".join(stderr.splitlines()[-40:])
        print(f"glue: run {run.job_run_id}: the script exited with {proc.returncode}:\n{tail}", file=sys.stderr, flush=True)
        return "FAILED", error_message(stderr, staging)
    uploads, deletes = staging.changes()
    if any(bucket not in s3.buckets for _, bucket, _ in uploads):
        return "FAILED", "NoSuchBucket: The specified bucket does not exist"  # and nothing written
    for path, bucket, key in uploads:
        with open(path, "rb") as f:
            s3.put_object(bucket, key, f.read())
    for bucket, key in deletes:
        s3.delete_object(bucket, key)
    return "SUCCEEDED", None
