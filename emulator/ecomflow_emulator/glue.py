"""Glue: the connection, crawler and job updates moto 5.2 lacks (it answers HTTP 500 "not
implemented"), so that a stack with the warehouse's JDBC connection can be destroyed, and its
crawler, job and connection updated in place. Each is added only where the installed moto does
not have it, so a newer moto that implements one wins.

Job runs really run: StartJobRun runs a Spark job's script under a local PySpark
(`add_job_runs`, `glue_run`).

Security configurations answer in API_SecurityConfiguration's shape and refuse what AWS
refuses (`add_security_configuration_rules`); the catalog reads an auditor makes (SearchTables,
GetResourcePolicy, GetMLTransforms) answer as AWS does (`add_catalog_reads`).
"""

import re


def add_connection_calls():
    """DeleteConnection and UpdateConnection.

    DeleteConnection removes the connection, EntityNotFoundException when there is none:
    https://docs.aws.amazon.com/glue/latest/webapi/API_DeleteConnection.html
    UpdateConnection's ConnectionInput "redefines the connection": the new input replaces the
    old one whole (tags belong to the ARN and stay):
    https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateConnection.html
    """
    from moto.core.responses import EmptyResult
    from moto.glue.exceptions import EntityNotFoundException
    from moto.glue.models import FakeConnection
    from moto.glue.responses import GlueResponse

    def delete_connection(self):
        name = self._get_param("ConnectionName")
        if self.glue_backend.connections.pop(name, None) is None:
            raise EntityNotFoundException(f"Connection {name} not found")
        return EmptyResult()

    def update_connection(self):
        name = self._get_param("Name")
        connection_input = self._get_param("ConnectionInput")
        backend = self.glue_backend
        old = backend.connections.pop(name, None)
        if old is None:
            raise EntityNotFoundException(f"Connection {name} not found")
        # Tags belong to the ARN and stay; the new input replaces the old one whole.
        new = FakeConnection(backend, old.catalog_id, connection_input, {})
        new.created_time = old.created_time
        backend.connections[new.name] = new
        return EmptyResult()

    if not hasattr(GlueResponse, "delete_connection"):
        GlueResponse.delete_connection = delete_connection
    if not hasattr(GlueResponse, "update_connection"):
        GlueResponse.update_connection = update_connection


def snake(name):
    """`NumberOfWorkers` -> `number_of_workers`: the attribute names of moto's models."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def add_update_calls():
    """UpdateCrawler and UpdateJob.

    UpdateCrawler changes the fields it is given (all but Name are optional) and leaves the
    others: https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateCrawler.html
    UpdateJob: "The previous job definition is completely overwritten by this information";
    what JobUpdate leaves out is removed or reset to its default:
    https://docs.aws.amazon.com/glue/latest/webapi/API_UpdateJob.html
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.glue.responses import GlueResponse

    def update_crawler(self):
        crawler = self.glue_backend.get_crawler(self._get_param("Name"))
        for key, value in self.parameters.items():
            if key != "Name" and hasattr(crawler, snake(key)):
                setattr(crawler, snake(key), value)
        crawler.version += 1
        return EmptyResult()

    def update_job(self):
        name = self._get_param("JobName")
        job = self.glue_backend.get_job(name)
        update = self._get_param("JobUpdate") or {}
        # The whole definition is replaced: what the update leaves out is reset.
        for key in (
            "Role", "Command", "Description", "LogUri", "ExecutionProperty",
            "DefaultArguments", "NonOverridableArguments", "Connections", "MaxRetries",
            "AllocatedCapacity", "Timeout", "MaxCapacity", "SecurityConfiguration",
            "NotificationProperty", "GlueVersion", "NumberOfWorkers", "WorkerType",
            "CodeGenConfigurationNodes", "ExecutionClass", "SourceControlDetails",
        ):
            if hasattr(job, snake(key)):
                setattr(job, snake(key), update.get(key))
        if job.execution_property is None:
            job.execution_property = {}
        if job.default_arguments is None:
            job.default_arguments = {}
        return ActionResult({"JobName": name})

    for name, method in (("update_crawler", update_crawler), ("update_job", update_job)):
        if not hasattr(GlueResponse, name):
            setattr(GlueResponse, name, method)


def add_job_runs():
    """StartJobRun of a Spark ETL job (Command.Name `glueetl`) runs its script under a local
    PySpark and GetJobRun(s) report how that goes; a run beyond the job's
    ExecutionProperty.MaxConcurrentRuns (default 1) is refused with
    ConcurrentRunsExceededException. `glue_run` has the whole of it, each rule with its page:
    https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_ExecutionProperty.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html
    Other job kinds (pythonshell, gluestreaming, glueray) keep moto's record-only runs.
    """
    from moto.glue.models import FakeJob

    from . import glue_run

    moto_start = FakeJob.start_job_run

    def start_job_run(self, **request):
        if (self.command or {}).get("Name", "glueetl") != "glueetl":
            return moto_start(self, **request)
        # What the request leaves out comes from the job, as moto does.
        for field in (
            "allocated_capacity", "max_capacity", "timeout", "worker_type",
            "security_configuration", "number_of_workers", "notification_property",
        ):
            request[field] = request.get(field) or getattr(self, field, None)
        return glue_run.start_job_run(self, **request)

    FakeJob.start_job_run = start_job_run
    glue_run.sweep()


# "SSE-KMS" and "CSE-KMS" encrypt with a KMS key, which the console asks for ("To enable it,
# choose an AWS KMS key"); the other modes take none.
# https://docs.aws.amazon.com/glue/latest/dg/console-security-configurations.html
_KMS_MODES = ("SSE-KMS", "CSE-KMS")
_PARTS = (
    # (member, its mode field), as API_EncryptionConfiguration lists them.
    ("CloudWatchEncryption", "CloudWatchEncryptionMode"),
    ("JobBookmarksEncryption", "JobBookmarksEncryptionMode"),
)


def _encryption_configuration(configuration):
    """The configuration as Glue keeps it: each part present, an omitted part DISABLED (the
    page leaves every part optional and does not say how an omitted one reads back; DISABLED is
    what an omitted part means), or InvalidInputException. The pages do not word the refusal
    of a KMS mode without a key: the words are the emulator's.
    https://docs.aws.amazon.com/glue/latest/webapi/API_EncryptionConfiguration.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_S3Encryption.html
    """
    from moto.glue.exceptions import GlueClientError

    def invalid(message):
        return GlueClientError("InvalidInputException", message)

    def checked(part, mode_field, given):
        mode = given.get(mode_field) or "DISABLED"
        key = given.get("KmsKeyArn")
        if mode in _KMS_MODES and not key:
            raise invalid(f"KmsKeyArn is required in {part} when {mode_field} is {mode}.")
        out = {mode_field: mode}
        if key:
            out["KmsKeyArn"] = key
        return out

    configuration = configuration or {}
    s3 = configuration.get("S3Encryption") or [{}]
    # AWS's answer to a second element, as users report it.
    if len(s3) > 1:
        raise invalid("S3 EncryptionConfiguration list cannot be greater than one")
    out = {"S3Encryption": [checked("S3Encryption", "S3EncryptionMode", s3[0])]}
    for part, mode_field in _PARTS:
        out[part] = checked(part, mode_field, configuration.get(part) or {})
    if configuration.get("DataQualityEncryption"):
        out["DataQualityEncryption"] = checked("DataQualityEncryption", "DataQualityEncryptionMode",
                                               configuration["DataQualityEncryption"])
    return out


def add_security_configuration_rules():
    """CreateSecurityConfiguration keeps the configuration as AWS answers it and refuses a KMS
    mode without KmsKeyArn and more than one S3Encryption (InvalidInputException, HTTP 400);
    Get/GetSecurityConfigurations answer `CreatedTimeStamp` (moto answered `CreatedTime`, not in
    the API, so clients saw no creation time). A second create is AlreadyExistsException and an
    unknown name EntityNotFoundException, as moto answers already.
    https://docs.aws.amazon.com/glue/latest/webapi/API_CreateSecurityConfiguration.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_SecurityConfiguration.html
    https://docs.aws.amazon.com/glue/latest/webapi/API_EncryptionConfiguration.html
    """
    from moto.glue.models import FakeSecurityConfiguration, GlueBackend

    if getattr(GlueBackend.create_security_configuration, "_ecomflow", False):
        return
    create = GlueBackend.create_security_configuration

    def create_security_configuration(self, name, configuration):
        return create(self, name, _encryption_configuration(configuration))

    def as_dict(self):
        return {"Name": self.name, "CreatedTimeStamp": self.created_time, "EncryptionConfiguration": self.configuration}

    create_security_configuration._ecomflow = True
    GlueBackend.create_security_configuration = create_security_configuration
    FakeSecurityConfiguration.as_dict = as_dict


def _tokens(text):
    """SearchTables' string predicates split a value "on certain punctuation characters, for
    example, -, :, #" and compare each token exactly."""
    return set(re.split(r"[-:#_./ ]+", (text or "").lower())) - {""}


def add_catalog_reads():
    """Catalog reads moto lacks, answered as AWS answers an account without such resources.

    - SearchTables (moto: "not implemented"): every table of the catalog, narrowed by
      SearchText (a case-insensitive match on the table's and its database's names,
      description and columns; in quotes, the exact table name) and Filters (string keys by
      token, as the page describes), MaxResults and NextToken.
      https://docs.aws.amazon.com/glue/latest/webapi/API_SearchTables.html
      https://docs.aws.amazon.com/glue/latest/webapi/API_PropertyPredicate.html
    - GetResourcePolicy without a policy: EntityNotFoundException "Policy not found", AWS's
      answer (moto answered an empty success, which auditors misread).
      https://docs.aws.amazon.com/glue/latest/webapi/API_GetResourcePolicy.html
    - GetMLTransforms (moto: "not implemented"): no transforms are emulated, so an empty list.
      https://docs.aws.amazon.com/glue/latest/webapi/API_GetMLTransforms.html
    """
    from moto.core.responses import ActionResult
    from moto.glue.exceptions import EntityNotFoundException, GlueClientError
    from moto.glue.responses import GlueResponse

    def search_tables(self):
        text = (self._get_param("SearchText") or "").strip()
        filters = self._get_param("Filters") or []
        found = []
        for database in self.glue_backend.databases.values():
            for table in database.tables.values():
                entry = table.as_dict()
                if text and not _text_matches(entry, text):
                    continue
                if all(_predicate(entry, f) for f in filters):
                    found.append(entry)
        size = self._get_int_param("MaxResults") or 1000
        start = int(self._get_param("NextToken") or 0)
        answer = {"TableList": found[start:start + size]}
        if start + size < len(found):
            answer["NextToken"] = str(start + size)
        return ActionResult(answer)

    def _text_matches(entry, text):
        if len(text) > 1 and text[0] == text[-1] == '"':
            return entry["Name"] == text[1:-1]
        columns = [c.get("Name", "") for c in (entry.get("StorageDescriptor") or {}).get("Columns", [])]
        haystack = " ".join([entry["Name"], entry["DatabaseName"], entry.get("Description") or "", *columns]).lower()
        return text.lower() in haystack

    def _predicate(entry, predicate):
        key, value = predicate.get("Key"), predicate.get("Value")
        if key not in ("Name", "DatabaseName", "Description", "Owner", "TableType"):
            raise GlueClientError("InvalidInputException", f"Unsupported search key: {key}")
        return (value or "").lower() in _tokens(entry.get(key))

    def get_ml_transforms(self):
        return ActionResult({"Transforms": []})

    original_policy = GlueResponse.get_resource_policy

    def get_resource_policy(self):
        result = original_policy(self)
        if not getattr(result, "result", None):
            raise EntityNotFoundException("Policy not found")
        return result

    if not hasattr(GlueResponse, "search_tables"):
        GlueResponse.search_tables = search_tables
    if not hasattr(GlueResponse, "get_ml_transforms"):
        GlueResponse.get_ml_transforms = get_ml_transforms
    if not getattr(original_policy, "_ecomflow", False):
        get_resource_policy._ecomflow = True
        GlueResponse.get_resource_policy = get_resource_policy


def install():
    add_connection_calls()
    add_update_calls()
    add_job_runs()
    add_security_configuration_rules()
    add_catalog_reads()
