"""Lambda functions on a running emulator (`ecomflow_emulator.lambda_`): the 4 KB limit on a
function's environment variables, with the case AWS allows (exactly 4 KB) and the one it
refuses; GetFunction's Code.Location, which serves the deployment package.
"""

import io
import itertools
import json
import time
import unittest
import urllib.error
import urllib.request
import zipfile

from support import EmulatorCase, policy

TRUST = policy(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
)
# {"BIG":"<value>"}: 10 bytes around the value.
OVERHEAD = len('{"BIG":""}')


def package():
    """A deployment package with one handler (never invoked here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


class LambdaEnvironment(EmulatorCase):
    names = itertools.count()

    @classmethod
    def build(cls):
        cls.lam = cls.client("lambda")
        cls.role = cls.client("iam").create_role(RoleName="process", AssumeRolePolicyDocument=TRUST)[
            "Role"
        ]["Arn"]
        cls.code = package()

    def create(self, variables):
        name = f"process-{next(self.names)}"
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="handler.handle",
            Code={"ZipFile": self.code},
            Environment={"Variables": variables},
        )
        return name

    def variables(self):
        return lambda name: self.lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]

    def test_exactly_4_kb_accepted(self):
        variables = {"BIG": "x" * (4096 - OVERHEAD)}
        self.assertEqual(len(json.dumps(variables, separators=(",", ":"))), 4096)
        name = self.create(variables)
        self.assertEqual(self.variables()(name), variables)

    def test_over_4_kb_refused(self):
        variables = {"BIG": "x" * (4097 - OVERHEAD)}
        message = self.refused(lambda: self.create(variables), "InvalidParameterValueException", 400)
        self.assertEqual(
            message,
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. String measured: "
            + json.dumps(variables, separators=(",", ":")),
        )

    def test_names_quotes_and_multibyte_characters_count(self):
        # Many short variables: 2500 bytes of values, but with their names and the JSON
        # punctuation (`"VAR_000":"<20>",` is 33 bytes) 4126.
        variables = {f"VAR_{i:03d}": "v" * 20 for i in range(125)}
        self.assertEqual(len(json.dumps(variables, separators=(",", ":"))), 4126)
        self.refused(lambda: self.create(variables), "InvalidParameterValueException", 400)
        # An escaped quote is two bytes, a `é` two in UTF-8.
        self.refused(lambda: self.create({"BIG": '"' * 2044}), "InvalidParameterValueException", 400)
        self.refused(lambda: self.create({"BIG": "é" * 2044}), "InvalidParameterValueException", 400)
        self.create({"BIG": "é" * 2043})

    def test_update_function_configuration_checked_too(self):
        name = self.create({"STAGE": "dev"})
        update = lambda variables: self.lam.update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )
        self.refused(lambda: update({"BIG": "x" * (4097 - OVERHEAD)}), "InvalidParameterValueException", 400)
        self.assertEqual(self.variables()(name), {"STAGE": "dev"})
        update({"BIG": "x" * (4096 - OVERHEAD)})
        self.assertEqual(len(self.variables()(name)["BIG"]), 4096 - OVERHEAD)

    # GetFunction's Code.Location.

    def download(self, url):
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()

    def test_code_location_serves_the_package(self):
        name = self.create({"STAGE": "dev"})
        location = self.lam.get_function(FunctionName=name)["Code"]["Location"]
        self.assertTrue(location.startswith(self.url + "/"), location)
        status, body = self.download(location)
        self.assertEqual(status, 200)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            self.assertEqual(archive.namelist(), ["handler.py"])
        # A published version's own package.
        version = self.lam.publish_version(FunctionName=name)["Version"]
        location = self.lam.get_function(FunctionName=name, Qualifier=version)["Code"]["Location"]
        self.assertEqual(self.download(location)[1], body)

    def test_code_location_expires_and_goes_with_the_function(self):
        name = self.create({"STAGE": "dev"})
        location = self.lam.get_function(FunctionName=name)["Code"]["Location"]
        issued = int(location.rsplit("X-Amz-Date=", 1)[1])
        for url, status in (
            (location.replace(f"X-Amz-Date={issued}", f"X-Amz-Date={int(time.time()) - 601}"), 403),
            (location.replace(f"/{name}/", "/missing/"), 404),
        ):
            with self.subTest(status=status):
                with self.assertRaises(urllib.error.HTTPError) as caught:
                    self.download(url)
                self.assertEqual(caught.exception.code, status)
        self.lam.delete_function(FunctionName=name)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.download(location)
        self.assertEqual(caught.exception.code, 404)


if __name__ == "__main__":
    unittest.main()
