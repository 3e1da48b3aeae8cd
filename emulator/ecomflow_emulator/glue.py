"""Glue: the connection, crawler and job updates moto 5.2 lacks (it answers HTTP 500 "not
implemented"), so that a stack with the warehouse's JDBC connection can be destroyed, and its
crawler, job and connection updated in place. Each is added only where the installed moto does
not have it, so a newer moto that implements one wins.

Job runs really run: StartJobRun runs a Spark job's script under a local PySpark
(`add_job_runs`, `glue_run`).
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


def install():
    add_connection_calls()
    add_update_calls()
    add_job_runs()
