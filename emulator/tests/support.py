"""What the emulator's tests share: policy helpers, and `EmulatorCase`, a running emulator per
test class, started as everything else starts it (`scripts/emulator`).

Run the tests with the emulator venv's python, from the repository root:

    PYTHONDONTWRITEBYTECODE=1 "$(scripts/ensure-emulator)" -m unittest discover -s emulator/tests -v
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR = os.path.join(ROOT, "scripts", "emulator")

ACCOUNT = "123456789012"
STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders"
OTHER_STREAM = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/other"

# The project's table (src/blueprint/catalog.rs, clean_columns).
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


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


class EmulatorCase(unittest.TestCase):
    """An emulator for the test class: `scripts/emulator --port 0` (a free port, named in the
    line it prints), run with this test's python (the emulator venv's), its output in a log
    the tests can read. Stopped, by its PID, when the class is done. `emulator_args` are more
    options of `scripts/emulator` for the class's emulator."""

    emulator_args = ()

    @classmethod
    def setUpClass(cls):
        import boto3

        cls.boto3 = boto3
        cls.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        env = {
            **os.environ,
            "MOTO_ACCESS_LOG": "0",
            "ECOMFLOW_EMULATOR_PYTHON": os.environ.get("ECOMFLOW_EMULATOR_PYTHON", sys.executable),
        }
        env.pop("ECOMFLOW_EMULATOR_SECURE_TRANSPORT", None)  # only `emulator_args` set options
        cls.server = subprocess.Popen(
            [EMULATOR, "--host", "127.0.0.1", "--port", "0", *cls.emulator_args],
            stdin=subprocess.DEVNULL,
            stdout=cls.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.time() + 60
        while True:
            found = re.search(r"^emulator listening on (\S+)$", cls.server_log(), re.M)
            if found:
                cls.url = found.group(1)
                break
            if cls.server.poll() is not None or time.time() > deadline:
                output = cls.server_log()
                cls.tearDownClass()
                raise RuntimeError(f"the emulator did not start:\n{output}")
            time.sleep(0.05)
        cls.build()

    @classmethod
    def build(cls):
        """Resources the class's tests share (none by default)."""

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        try:
            cls.server.wait(10)
        except subprocess.TimeoutExpired:
            cls.server.kill()
            cls.server.wait()
        cls.log.close()
        os.unlink(cls.log.name)

    @classmethod
    def server_log(cls):
        cls.log.flush()
        with open(cls.log.name) as f:
            return f.read()

    @classmethod
    def client(cls, service, credentials=None, validate=True):
        """A boto3 client of the emulator. `validate=False` turns off botocore's own checks of
        the request (it refuses a number below its modeled minimum before sending it; the
        tool's Rust SDK sends it), so a test can see the emulator refuse it."""
        from botocore.config import Config

        keys = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return cls.boto3.client(
            service,
            endpoint_url=cls.url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, parameter_validation=validate),
            **keys,
        )

    def refused(self, call, code, status):
        """Runs `call`, which must fail with AWS error `code` and HTTP `status`; its message."""
        from botocore.exceptions import ClientError

        with self.assertRaises(ClientError) as caught:
            call()
        error = caught.exception.response
        self.assertEqual(error["Error"]["Code"], code)
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], status)
        return error["Error"]["Message"]
