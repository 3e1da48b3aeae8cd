"""CloudWatch Logs: the retention periods AWS accepts, which moto does not check.

- PutRetentionPolicy refuses a retentionInDays that is not one of the documented periods
  (InvalidParameterException).
  https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
"""

# "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
# 1827, 2192, 2557, 2922, 3288, and 3653."
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)


def refuse_other_retention_periods():
    """PutRetentionPolicy takes only the documented retention periods. moto stored any number
    (a 10-day retention, say, which AWS refuses). The page lists the possible values of
    retentionInDays and InvalidParameterException (HTTP 400) "A parameter is specified
    incorrectly"; the message is CloudWatch Logs' constraint form, "1 validation error
    detected: Value '10' at 'retentionInDays' failed to satisfy constraint: Member must satisfy
    enum value set: [1, 3, ...]". The value is checked before the log group is looked up.
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
    """
    from moto.logs.exceptions import InvalidParameterException
    from moto.logs.models import LogsBackend

    put = LogsBackend.put_retention_policy
    allowed = "[" + ", ".join(str(d) for d in RETENTION_DAYS) + "]"

    def put_retention_policy(self, log_group_name, retention_in_days):
        if retention_in_days not in RETENTION_DAYS:
            raise InvalidParameterException(
                f"1 validation error detected: Value '{retention_in_days}' at 'retentionInDays' "
                f"failed to satisfy constraint: Member must satisfy enum value set: {allowed}"
            )
        return put(self, log_group_name, retention_in_days)

    LogsBackend.put_retention_policy = put_retention_policy


def install():
    refuse_other_retention_periods()
