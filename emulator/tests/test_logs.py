"""CloudWatch Logs on a running emulator (`ecomflow_emulator.logs`): PutRetentionPolicy takes
the documented retention periods and refuses any other.
"""

import unittest

from support import EmulatorCase

from ecomflow_emulator.logs import RETENTION_DAYS

GROUP = "/aws/apigateway/access"


class RetentionPolicy(EmulatorCase):
    @classmethod
    def build(cls):
        cls.logs = cls.client("logs", validate=False)
        cls.logs.create_log_group(logGroupName=GROUP)

    def retention(self):
        [group] = self.logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
        return group.get("retentionInDays")

    def test_documented_periods_accepted(self):
        for days in (1, 30, 1096, 3653):
            with self.subTest(days=days):
                self.logs.put_retention_policy(logGroupName=GROUP, retentionInDays=days)
                self.assertEqual(self.retention(), days)

    def test_other_periods_refused(self):
        self.logs.put_retention_policy(logGroupName=GROUP, retentionInDays=7)
        for days in (0, 2, 10, 3654, -1):
            with self.subTest(days=days):
                message = self.refused(
                    lambda: self.logs.put_retention_policy(logGroupName=GROUP, retentionInDays=days),
                    "InvalidParameterException",
                    400,
                )
                self.assertEqual(
                    message,
                    f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                    "satisfy constraint: Member must satisfy enum value set: "
                    + "[" + ", ".join(map(str, RETENTION_DAYS)) + "]",
                )
        self.assertEqual(self.retention(), 7)

    def test_the_value_is_checked_before_the_group(self):
        self.refused(
            lambda: self.logs.put_retention_policy(logGroupName="/nope", retentionInDays=10),
            "InvalidParameterException",
            400,
        )
        self.refused(
            lambda: self.logs.put_retention_policy(logGroupName="/nope", retentionInDays=30),
            "ResourceNotFoundException",
            400,
        )


if __name__ == "__main__":
    unittest.main()
