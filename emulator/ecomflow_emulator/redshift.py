"""Redshift and the Redshift Data API over a real PostgreSQL server per cluster.

moto 5.2.1 keeps a cluster as a record and runs no SQL: the Data API leaves every statement
STARTED. Here each cluster is backed by a PostgreSQL server (redshift_engine), Data API
statements run there (Redshift's syntax mapped by redshift_sql), COPY and COPY JOB read
moto's S3 (redshift_copy), and the calls moto lacks are added. Each rule names its page.

Clusters
--------
- CreateCluster starts the cluster's server (127.0.0.1, a free port) with the cluster's
  DBName (default `dev`) created; `Endpoint.Address` is `127.0.0.1` and `Endpoint.Port` the
  server's port, so clients connect where DescribeClusters says. The master user is
  MasterUsername with MasterUserPassword, or, with ManageMasterPassword, a random password
  kept in a Secrets Manager secret Redshift creates: `redshift!<cluster>-<master user>` (plus
  Secrets Manager's random suffix), its SecretString `{"username", "password", "engine":
  "redshift", "host", "port", "dbClusterIdentifier", "dbname"}`; its real ARN is the
  cluster's `MasterPasswordSecretArn`. Both at once is InvalidParameterCombination.
  DeleteCluster stops the server, removes its data and deletes the managed secret (without a
  recovery window: the secret belongs to the cluster). ModifyCluster's MasterUserPassword
  changes the master user's password.
  https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
- `ClusterNamespaceArn` (`arn:aws:redshift:<region>:<account>:namespace:<uuid>`), which moto
  does not report, and `DefaultIamRoleArn` as given.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_Cluster.html
- ModifyClusterIamRoles (moto answers "not implemented"): RemoveIamRoles taken off,
  AddIamRoles added.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterIamRoles.html

S3 event integrations (the prerequisite of COPY JOB)
---------------------------------------------------
https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html
https://docs.aws.amazon.com/redshift/latest/mgmt/zero-etl-using.redshift-iam.html
- CreateIntegration with an S3 bucket ARN (`arn:aws:s3:::<bucket>`) as SourceArn and a
  cluster's namespace ARN as TargetArn; DescribeIntegrations (IntegrationArn, Filters
  integration-arn / source-arn / source-types / status, MaxRecords and Marker),
  ModifyIntegration (name, description), DeleteIntegration; an integration is `active` at
  once; its tags (TagList, then CreateTags/DeleteTags/DescribeTags on its ARN) are kept. moto
  has none of them.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateIntegration.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_DescribeIntegrations.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyIntegration.html
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeleteIntegration.html
- What CreateIntegration checks, as the prerequisites say: the bucket exists
  (IntegrationSourceNotFoundFault) and the target is an existing cluster's namespace
  (IntegrationTargetNotFoundFault); the bucket policy allows the service principal
  `redshift.amazonaws.com` s3:GetBucketNotification, s3:PutBucketNotification and
  s3:GetBucketLocation on the bucket, evaluated with aws:SourceArn the integration's ARN and
  aws:SourceAccount the account; the cluster's resource policy (PutResourcePolicy on the
  namespace ARN) allows `redshift.amazonaws.com` redshift:AuthorizeInboundIntegration with
  aws:SourceArn the bucket's ARN. A refusal is InvalidPolicyFault naming what is missing (the
  code and words are the emulator's: the pages say what must be granted, not how a refusal
  reads). The "authorized principal" statement is not required: the source and the cluster
  are in one account, where the pages let the caller's identity policy stand for it. A name
  or source+target already used is IntegrationAlreadyExistsFault.
- PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy on a namespace (or cluster)
  ARN; an unknown resource is ResourceNotFoundFault, a policy that is not JSON
  InvalidPolicyFault.
  https://docs.aws.amazon.com/redshift/latest/APIReference/API_PutResourcePolicy.html

Data API
--------
- ExecuteStatement and BatchExecuteStatement answer at once (Id, CreatedAt in epoch seconds:
  moto's ISO strings are not the API's timestamps and the Rust SDK cannot parse them); a
  worker thread runs the SQL: SUBMITTED, then STARTED, then FINISHED or FAILED (or ABORTED by
  CancelStatement). Several statements in one Sql run one after the other, each committed.
  BatchExecuteStatement runs its Sqls in one transaction: one failure rolls all back; the
  failed sub-statement is FAILED, those after it ABORTED, and the batch FAILED with its
  error; `SubStatements` (Id `<id>:<n>`) report each.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/data-api.html
- Authentication as the Data API does it: SecretArn names an existing Secrets Manager secret
  whose `username` and `password` are what connects (a missing secret is
  ValidationException; one without them "username and password in secret cannot be empty");
  or DbUser, the temporary credentials of that database user (the emulator connects as the
  master user and switches to it, so it must exist); with neither, the master user stands for
  the caller's IAM identity (no `IAM:` users here). No ClusterIdentifier (and no
  WorkgroupName) is "Either ClusterIdentifier or WorkgroupName needs to be specified."; an
  unknown cluster "Redshift endpoint doesn't exist in this region." (both ValidationException,
  as users report them); a wrong database or password FAILS the statement with PostgreSQL's
  words (`FATAL: database "x" does not exist`). Serverless workgroups are not emulated.
  https://docs.aws.amazon.com/redshift/latest/mgmt/data-api-access.html
- `Error` carries PostgreSQL's message in Redshift's form: `ERROR: relation "x" does not
  exist`. DescribeStatement reports Duration (nanoseconds), HasResultSet, ResultRows (rows of
  the result, rows a DML changed, rows a COPY loaded), ResultSize, RedshiftQueryId,
  RedshiftPid, QueryString, QueryParameters, SubStatements.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html
- GetStatementResult: ColumnMetadata (name, label, typeName as Redshift names types: int8,
  varchar, numeric, timestamp..., precision, scale, nullable, isSigned, isCaseSensitive,
  schemaName, tableName), Records as lists of Field unions: longValue (int2/4/8), doubleValue
  (float4/8), booleanValue, isNull, stringValue for everything else (numeric, dates and
  timestamps as Redshift prints them), TotalNumRows, pages of at most 1 MB (NextToken). A
  statement without a result set, or not FINISHED, is ValidationException.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_Field.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ColumnMetadata.html
- Parameters (`:name` in the SQL, values as strings the database casts), ClientToken (the same
  token answers the same statement), StatementName, ListStatements (newest first; Status,
  StatementName, ClusterIdentifier, Database filters; MaxResults, NextToken), CancelStatement.
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ListStatements.html
  https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_CancelStatement.html
- COPY and COPY JOB statements are run by the emulator (redshift_copy documents them);
  Redshift's other syntax is mapped to PostgreSQL's (redshift_sql lists each mapping).

Cluster configuration
---------------------
Parameter groups and where they apply (RebootCluster), audit logging and enhanced VPC routing
are in `redshift_config`, installed from `install()` here; its documentation has each rule.
"""

import base64
import concurrent.futures
import copy
import datetime
import json
import re
import secrets
import string
import threading
import time
import uuid

from . import redshift_config, redshift_copy, redshift_engine, redshift_sql

_LOCK = threading.Lock()
_WORKERS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="redshift-data")
_JOB_WORKERS = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="redshift-copy-job")
PAGE_BYTES = 1_000_000
JOB_DEBOUNCE_SECONDS = 0.3


class ClusterState:
    """What the emulator keeps for a cluster beside moto's record."""

    def __init__(self, cluster, master_user, master_password):
        self.cluster = cluster
        self.master_user = master_user
        self.master_password = master_password
        self.server = None
        self.namespace_arn = None
        self.secret_arn = None
        self.lock = threading.RLock()
        self.system_ready = set()
        self.user_ids = {}
        self.next_query = 1000
        self.jobs = {}  # (database, name) -> redshift_copy.Job
        self.next_job = 100

    def query_id(self):
        with self.lock:
            self.next_query += 1
            return self.next_query

    def job_id(self):
        with self.lock:
            self.next_job += 1
            return self.next_job


def state_of(cluster):
    return getattr(cluster, "_ecomflow", None)


def _redshift_error(code, message):
    """A Redshift (query protocol) error; its HTTP status comes from the API model."""
    from moto.redshift.exceptions import RedshiftClientError

    return RedshiftClientError(code, message)


def _random_password():
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(28))
    return "A" + core + "a1"


# ---------------------------------------------------------------------------------------------
# Clusters


def add_cluster_iam_roles_call():
    """ModifyClusterIamRoles (moto answers "not implemented"), so a cluster's roles can change
    in place: the roles in RemoveIamRoles are taken off, those in AddIamRoles added, and the
    cluster is answered.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_ModifyClusterIamRoles.html
    """
    from moto.core.responses import ActionResult
    from moto.redshift.responses import RedshiftResponse

    def modify_cluster_iam_roles(self):
        cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        remove = set(self._get_param("RemoveIamRoles", []) or [])
        add = self._get_param("AddIamRoles", []) or []
        roles = [r for r in cluster.iam_roles_arn if r not in remove]
        roles += [r for r in add if r not in roles]
        cluster.iam_roles_arn = roles
        return ActionResult({"Cluster": cluster})

    if not hasattr(RedshiftResponse, "modify_cluster_iam_roles"):
        RedshiftResponse.modify_cluster_iam_roles = modify_cluster_iam_roles


def _secrets_backend(account, region):
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[account][region]


def _create_managed_secret(cluster, password, account, region):
    """The secret Redshift keeps a managed admin password in; its ARN.
    https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html"""
    backend = _secrets_backend(account, region)
    name = f"redshift!{cluster.cluster_identifier}-{cluster.master_username}"
    value = {
        "username": cluster.master_username,
        "password": password,
        "engine": "redshift",
        "host": "127.0.0.1",
        "port": cluster.port,
        "dbClusterIdentifier": cluster.cluster_identifier,
        "dbname": cluster.db_name,
    }
    created = backend.create_secret(
        name=name, secret_string=json.dumps(value), secret_binary=None,
        description=f"Admin user password for Redshift cluster {cluster.cluster_identifier}",
        tags=[{"Key": "aws:redshift:cluster", "Value": cluster.cluster_identifier}], kms_key_id=None,
        client_request_token=None, replica_regions=[], force_overwrite=False,
    )
    return json.loads(created)["ARN"]


def check_master_password(managed, password):
    """ManageMasterPassword and MasterUserPassword together are refused (CreateCluster, and
    CloudFormation's AWS::Redshift::Cluster).
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html"""
    if managed and password:
        raise _redshift_error(
            "InvalidParameterCombination",
            "You can't use MasterUserPassword if ManageMasterPassword is true.",
        )


def start_cluster(backend, cluster, managed, password, default_iam_role_arn, account, region):
    """What CreateCluster does once moto has the cluster's record (the API's CreateCluster and
    CloudFormation's AWS::Redshift::Cluster alike): the cluster's PostgreSQL server, its
    endpoint, the managed secret, the namespace ARN. The cluster as CreateCluster answers it
    (`creating`); the record is `available` afterwards.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
    https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
    """
    name = cluster.cluster_identifier
    # Until its database is up the cluster is `creating`, as on AWS, where the endpoint,
    # the managed secret and the namespace are there only once it is `available`
    # (ClusterStatus in https://docs.aws.amazon.com/redshift/latest/APIReference/API_Cluster.html):
    # a client that reads it meanwhile (a rerun after an interrupted apply) waits.
    cluster.status = "creating"
    if managed or not password:
        password = _random_password()
    state = ClusterState(cluster, cluster.master_username, password)
    try:
        state.server = redshift_engine.start(name, cluster.master_username, password, cluster.db_name)
    except Exception as e:
        backend.clusters.pop(name, None)
        raise _redshift_error("InternalFailure", f"the emulator could not start the cluster's database: {e}")
    cluster.port = state.server.port
    redshift_copy.ensure_system_tables(state, cluster.db_name)  # queryable from the start
    state.namespace_arn = f"arn:aws:redshift:{region}:{account}:namespace:{uuid.uuid4()}"
    cluster.cluster_namespace_arn = state.namespace_arn
    cluster.default_iam_role_arn = default_iam_role_arn
    if managed:
        state.secret_arn = _create_managed_secret(cluster, password, account, region)
        cluster.master_password_secret_arn = state.secret_arn
    cluster._ecomflow = state
    # CreateCluster answers with the cluster as it starts (`creating`); the record the
    # describes see is `available` from here on.
    answered = copy.copy(cluster)
    cluster.status = "available"
    return answered


def stop_cluster(cluster, account, region):
    """What DeleteCluster does once moto has dropped the cluster's record: its COPY jobs, its
    server and its data go, and the managed secret is deleted (without a recovery window: it
    belongs to the cluster)."""
    state = state_of(cluster)
    if state is None:
        return
    _drop_cluster_jobs(state)
    if state.server is not None:
        state.server.stop()
    if state.secret_arn:
        try:
            _secrets_backend(account, region).delete_secret(
                state.secret_arn, recovery_window_in_days=None, force_delete_without_recovery=True
            )
        except Exception:
            pass


def back_clusters_with_postgres():
    """CreateCluster starts the cluster's PostgreSQL server; DescribeClusters reports its
    endpoint, the managed secret's ARN and the namespace ARN; DeleteCluster stops it and
    deletes the managed secret; ModifyCluster's MasterUserPassword reaches the server.
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_DeleteCluster.html
    https://docs.aws.amazon.com/redshift/latest/mgmt/redshift-secrets-manager-integration.html
    """
    from moto.core.responses import ActionResult
    from moto.redshift.models import Cluster
    from moto.redshift.responses import RedshiftResponse

    if getattr(RedshiftResponse.create_cluster, "_ecomflow", False):
        return
    original_address = Cluster.address

    def address(self):
        return "127.0.0.1" if state_of(self) is not None else original_address.fget(self)

    Cluster.address = property(address)

    original_create = RedshiftResponse.create_cluster

    def create_cluster(self):
        managed = self._get_bool_param("ManageMasterPassword", False)
        password = self._get_param("MasterUserPassword")
        check_master_password(managed, password)
        original_create(self)
        cluster = self.redshift_backend.describe_clusters(self._get_param("ClusterIdentifier"))[0]
        answered = start_cluster(self.redshift_backend, cluster, managed, password,
                                 self._get_param("DefaultIamRoleArn"), self.current_account, self.region)
        return ActionResult({"Cluster": answered})

    create_cluster._ecomflow = True
    RedshiftResponse.create_cluster = create_cluster

    original_delete = RedshiftResponse.delete_cluster

    def delete_cluster(self):
        name = self._get_param("ClusterIdentifier")
        cluster = self.redshift_backend.clusters.get(name)
        result = original_delete(self)
        if cluster is not None:
            stop_cluster(cluster, self.current_account, self.region)
        return result

    RedshiftResponse.delete_cluster = delete_cluster

    original_modify = RedshiftResponse.modify_cluster

    def modify_cluster(self):
        name = self._get_param("ClusterIdentifier")
        password = self._get_param("MasterUserPassword")
        result = original_modify(self)
        cluster = self.redshift_backend.clusters.get(self._get_param("NewClusterIdentifier") or name)
        state = state_of(cluster) if cluster is not None else None
        if state is not None and password:
            from psycopg import sql

            with state.server.connect("postgres") as conn:
                conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(state.master_user), sql.Literal(password)))
            state.master_password = password
            state.server.password = password
        return result

    RedshiftResponse.modify_cluster = modify_cluster


def _clusters(account=None):
    """Every emulated cluster (moto's record) of every account and region."""
    from moto.redshift.models import redshift_backends

    out = []
    for acct, regions in list(redshift_backends.items()):
        if account is not None and acct != account:
            continue
        for backend in list(regions.values()):
            for cluster in list(backend.clusters.values()):
                if state_of(cluster) is not None:
                    out.append((backend, cluster))
    return out


# ---------------------------------------------------------------------------------------------
# Integrations and resource policies


class Integration:
    def __init__(self, arn, name, source, target, description, kms_key_id, tags, context):
        self.integration_arn = arn
        self.integration_name = name
        self.source_arn = source
        self.target_arn = target
        self.status = "active"
        self.errors = []
        self.create_time = datetime.datetime.now(datetime.timezone.utc)
        self.description = description
        self.kms_key_id = kms_key_id or "AWS_OWNED_KMS_KEY"
        self.additional_encryption_context = context or {}
        self.tags = tags or []

    resource_type = "integration"

    @property
    def arn(self):
        return self.integration_arn

    def create_tags(self, tags):
        """CreateTags on the integration's ARN (moto's tagging, through RESOURCE_TYPE_MAP)."""
        keys = {t["Key"] for t in tags}
        self.tags = [t for t in self.tags if t["Key"] not in keys] + [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
        return self.tags

    def delete_tags(self, keys):
        self.tags = [t for t in self.tags if t["Key"] not in keys]
        return self.tags

    def answer(self):
        return {
            "IntegrationArn": self.integration_arn, "IntegrationName": self.integration_name,
            "SourceArn": self.source_arn, "TargetArn": self.target_arn, "Status": self.status,
            "Errors": self.errors, "CreateTime": self.create_time, "Description": self.description,
            "KMSKeyId": self.kms_key_id, "AdditionalEncryptionContext": self.additional_encryption_context,
            "Tags": self.tags,
        }


class _ByArn:
    """The integrations of a backend, kept where moto's CreateTags, DeleteTags and
    DescribeTags look a resource up (`RESOURCE_TYPE_MAP["integration"]`, by the ARN's last
    part), and reached here by ARN."""

    def __init__(self, by_id):
        self.by_id = by_id

    def get(self, arn):
        found = self.by_id.get((arn or "").rsplit(":", 1)[-1])
        return found if found is not None and found.integration_arn == arn else None

    def __setitem__(self, arn, integration):
        self.by_id[arn.rsplit(":", 1)[-1]] = integration

    def pop(self, arn, default=None):
        found = self.get(arn)
        if found is None:
            return default
        return self.by_id.pop(arn.rsplit(":", 1)[-1])

    def values(self):
        return list(self.by_id.values())


def _integrations(backend):
    return _ByArn(backend.RESOURCE_TYPE_MAP.setdefault("integration", {}))


def _policies(backend):
    return backend.__dict__.setdefault("_ecomflow_resource_policies", {})


def _statements_for(policy_text, service):
    try:
        document = json.loads(policy_text)
    except (TypeError, ValueError):
        return []
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]

    def names(principal):
        if principal == "*":
            return True
        if not isinstance(principal, dict):
            return False
        for kind in ("Service", "AWS"):
            value = principal.get(kind)
            values = [value] if isinstance(value, str) else value or []
            if (kind == "Service" and service in values) or (kind == "AWS" and "*" in values):
                return True
        return False

    return [s for s in statements or [] if isinstance(s, dict) and names(s.get("Principal"))]


def _cluster_by_namespace(backend, arn):
    for cluster in backend.clusters.values():
        state = state_of(cluster)
        if state is not None and (state.namespace_arn == arn or cluster.arn == arn):
            return cluster
    return None


def check_integration_policies(backend, bucket, bucket_arn, target_arn, integration_arn):
    """None when the bucket policy and the target's resource policy allow the integration,
    else what is missing.
    https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html"""
    from . import iam_eval

    account = backend.account_id
    statements = _statements_for(bucket.policy.decode() if isinstance(bucket.policy, bytes) else bucket.policy, "redshift.amazonaws.com") if bucket.policy else []
    context = {"aws:SourceArn": integration_arn, "aws:SourceAccount": account}
    for action in ("s3:GetBucketNotification", "s3:PutBucketNotification", "s3:GetBucketLocation"):
        decision = iam_eval.evaluate([{"Statement": statements}], action, bucket_arn, context)
        if decision != iam_eval.ALLOWED:
            return (
                f"The bucket policy of {bucket.name} must allow the service principal "
                f"redshift.amazonaws.com {action} on {bucket_arn} (aws:SourceArn {integration_arn})."
            )
    policy = _policies(backend).get(target_arn)
    statements = _statements_for(policy, "redshift.amazonaws.com") if policy else []
    decision = iam_eval.evaluate(
        [{"Statement": statements}], "redshift:AuthorizeInboundIntegration", target_arn,
        {"aws:SourceArn": bucket_arn, "aws:SourceAccount": account},
    )
    if decision != iam_eval.ALLOWED:
        return (
            f"The resource policy of {target_arn} must allow the service principal "
            f"redshift.amazonaws.com redshift:AuthorizeInboundIntegration with aws:SourceArn {bucket_arn}."
        )
    return None


def add_integration_calls():
    """CreateIntegration, DescribeIntegrations, ModifyIntegration, DeleteIntegration for S3
    event integrations, and the resource policy calls (moto has none of them).
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateIntegration.html
    https://docs.aws.amazon.com/redshift/latest/APIReference/API_PutResourcePolicy.html
    https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html
    """
    from moto.core.responses import ActionResult
    from moto.redshift.responses import RedshiftResponse

    def create_integration(self):
        backend = self.redshift_backend
        name = self._get_param("IntegrationName")
        source = self._get_param("SourceArn") or ""
        target = self._get_param("TargetArn") or ""
        if not name or not re.match(r"^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$", name) or len(name) > 63:
            raise _redshift_error("InvalidParameterValue", f"Invalid IntegrationName: {name}")
        found = re.match(r"^arn:aws[a-z\-]*:s3:::([a-z0-9.\-_]+)$", source)
        if not found:
            raise _redshift_error("UnsupportedOperationFault", f"The source {source} is not an Amazon S3 bucket ARN; only S3 event integrations are emulated.")
        bucket_name = found.group(1)
        from moto.s3.models import s3_backends

        try:
            bucket = s3_backends[self.current_account]["aws"].get_bucket(bucket_name)
        except Exception:
            raise _redshift_error("IntegrationSourceNotFoundFault", f"The source {source} was not found.")
        cluster = _cluster_by_namespace(backend, target)
        if cluster is None or not re.match(r"^arn:aws[a-z\-]*:redshift:[a-z0-9\-]+:[0-9]{12}:(namespace\/|namespace:)[a-z0-9\-]+$", target):
            raise _redshift_error("IntegrationTargetNotFoundFault", f"The target {target} was not found.")
        with _LOCK:
            for other in _integrations(backend).values():
                if other.integration_name == name or (other.source_arn == source and other.target_arn == target):
                    raise _redshift_error("IntegrationAlreadyExistsFault", f"An integration {other.integration_name} already exists for this name or source and target.")
            arn = f"arn:aws:redshift:{self.region}:{self.current_account}:integration:{uuid.uuid4()}"
            missing = check_integration_policies(backend, bucket, source, target, arn)
            if missing:
                raise _redshift_error("InvalidPolicyFault", missing)
            integration = Integration(
                arn, name, source, target, self._get_param("Description"), self._get_param("KMSKeyId"),
                self._get_param("TagList", []), self._get_param("AdditionalEncryptionContext"),
            )
            _integrations(backend)[arn] = integration
        return ActionResult(integration.answer())

    def _integration(self, arn):
        integration = _integrations(self.redshift_backend).get(arn)
        if integration is None:
            raise _redshift_error("IntegrationNotFoundFault", f"Integration {arn} not found.")
        return integration

    def describe_integrations(self):
        wanted = self._get_param("IntegrationArn")
        filters = self._get_param("Filters", []) or []
        found = []
        for integration in _integrations(self.redshift_backend).values():
            if wanted and integration.integration_arn != wanted:
                continue
            keep = True
            for f in filters:
                values = f.get("Values", []) or []
                field = {"integration-arn": integration.integration_arn, "source-arn": integration.source_arn,
                         "source-types": "s3", "status": integration.status}.get(f.get("Name"))
                if field not in values:
                    keep = False
            if keep:
                found.append(integration)
        if wanted and not found:
            raise _redshift_error("IntegrationNotFoundFault", f"Integration {wanted} not found.")
        start = int(self._get_param("Marker") or 0)
        size = int(self._get_param("MaxRecords") or 100)
        page = found[start : start + size]
        answer = {"Integrations": [i.answer() for i in page]}
        if start + size < len(found):
            answer["Marker"] = str(start + size)
        return ActionResult(answer)

    def modify_integration(self):
        integration = _integration(self, self._get_param("IntegrationArn"))
        name = self._get_param("IntegrationName")
        if name:
            for other in _integrations(self.redshift_backend).values():
                if other is not integration and other.integration_name == name:
                    raise _redshift_error("IntegrationAlreadyExistsFault", f"An integration {name} already exists.")
            integration.integration_name = name
        if self._get_param("Description") is not None:
            integration.description = self._get_param("Description")
        return ActionResult(integration.answer())

    def delete_integration(self):
        integration = _integration(self, self._get_param("IntegrationArn"))
        _integrations(self.redshift_backend).pop(integration.integration_arn, None)
        integration.status = "deleting"
        return ActionResult(integration.answer())

    def _resource(self, arn):
        backend = self.redshift_backend
        if _cluster_by_namespace(backend, arn) is None:
            raise _redshift_error("ResourceNotFoundFault", f"The resource {arn} was not found.")
        return arn

    def put_resource_policy(self):
        arn = _resource(self, self._get_param("ResourceArn"))
        policy = self._get_param("Policy")
        try:
            json.loads(policy)
        except (TypeError, ValueError):
            raise _redshift_error("InvalidPolicyFault", "The resource policy is not valid JSON.")
        _policies(self.redshift_backend)[arn] = policy
        return ActionResult({"ResourcePolicy": {"ResourceArn": arn, "Policy": policy}})

    def get_resource_policy(self):
        arn = _resource(self, self._get_param("ResourceArn"))
        policy = _policies(self.redshift_backend).get(arn)
        if policy is None:
            raise _redshift_error("ResourceNotFoundFault", f"The resource policy of {arn} was not found.")
        return ActionResult({"ResourcePolicy": {"ResourceArn": arn, "Policy": policy}})

    def delete_resource_policy(self):
        arn = _resource(self, self._get_param("ResourceArn"))
        _policies(self.redshift_backend).pop(arn, None)
        return ActionResult({})

    for function in (create_integration, describe_integrations, modify_integration, delete_integration,
                     put_resource_policy, get_resource_policy, delete_resource_policy):
        if not hasattr(RedshiftResponse, function.__name__):
            setattr(RedshiftResponse, function.__name__, function)


def _integration_for(cluster, bucket):
    from moto.redshift.models import redshift_backends

    backend = redshift_backends[cluster.account_id][cluster.region]
    state = state_of(cluster)
    for integration in _integrations(backend).values():
        if integration.status == "active" and integration.target_arn in (state.namespace_arn, cluster.arn) \
                and integration.source_arn.endswith(f":::{bucket}"):
            return integration
    return None


# ---------------------------------------------------------------------------------------------
# Data API statements


def _epoch():
    return time.time()


class Statement:
    def __init__(self, cluster, state, database, db_user, secret_arn, sql, parameters, name, batch=None, parent=None, index=None):
        self.id = f"{parent.id}:{index}" if parent else str(uuid.uuid4())
        self.cluster_identifier = cluster.cluster_identifier if cluster else None
        self.cluster = cluster
        self.state = state
        self.database = database
        self.db_user = db_user
        self.secret_arn = secret_arn
        self.query_string = sql
        self.parameters = parameters
        self.name = name
        self.status = "SUBMITTED"
        self.created_at = _epoch()
        self.updated_at = self.created_at
        self.duration = -1
        self.error = None
        self.has_result_set = False
        self.result_rows = -1
        self.result_size = -1
        self.redshift_pid = 0
        self.redshift_query_id = 0
        self.columns = None
        self.records = None
        self.subs = []
        self.batch = batch  # [sql] for BatchExecuteStatement
        self.connection = None
        self.cancelled = False
        self.started = None
        if batch:
            self.subs = [Statement(cluster, state, database, db_user, secret_arn, s, None, None, parent=self, index=i + 1)
                         for i, s in enumerate(batch)]

    def set(self, status, error=None):
        self.status = status
        self.updated_at = _epoch()
        if error is not None:
            self.error = error
        if status in ("FINISHED", "FAILED", "ABORTED") and self.started is not None:
            self.duration = int((time.monotonic() - self.started) * 1e9)

    def describe(self):
        out = {
            "Id": self.id, "ClusterIdentifier": self.cluster_identifier, "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at, "Database": self.database, "Duration": self.duration,
            "HasResultSet": self.has_result_set, "RedshiftPid": self.redshift_pid,
            "RedshiftQueryId": self.redshift_query_id, "ResultRows": self.result_rows,
            "ResultSize": self.result_size, "Status": self.status, "ResultFormat": "JSON",
        }
        if self.db_user:
            out["DbUser"] = self.db_user
        if self.secret_arn:
            out["SecretArn"] = self.secret_arn
        if self.error:
            out["Error"] = self.error
        if self.batch:
            out["SubStatements"] = [s.describe_sub() for s in self.subs]
        else:
            out["QueryString"] = self.query_string
        if self.parameters:
            out["QueryParameters"] = self.parameters
        return out

    def describe_sub(self):
        out = {
            "Id": self.id, "CreatedAt": self.created_at, "UpdatedAt": self.updated_at,
            "Duration": self.duration, "HasResultSet": self.has_result_set, "QueryString": self.query_string,
            "RedshiftQueryId": self.redshift_query_id, "ResultRows": self.result_rows,
            "ResultSize": self.result_size, "Status": self.status,
        }
        if self.error:
            out["Error"] = self.error
        return out

    def summary(self):
        out = {"Id": self.id, "Status": self.status, "CreatedAt": self.created_at, "UpdatedAt": self.updated_at,
               "IsBatchStatement": bool(self.batch), "ResultFormat": "JSON"}
        if self.batch:
            out["QueryStrings"] = list(self.batch)
        else:
            out["QueryString"] = self.query_string
        if self.secret_arn:
            out["SecretArn"] = self.secret_arn
        if self.name:
            out["StatementName"] = self.name
        if self.parameters:
            out["QueryParameters"] = self.parameters
        return out


def _validation(message):
    from moto.redshiftdata.exceptions import ValidationException

    return ValidationException(message)


def _statements(backend):
    return backend.statements


def _tokens(backend):
    return backend.__dict__.setdefault("_ecomflow_tokens", {})


def _credentials(self, cluster, state):
    """(user, password, switch_to) the statement connects with, as the Data API
    authenticates: a secret's username/password, else DbUser, else the master user."""
    secret_arn = self._get_param("SecretArn")
    db_user = self._get_param("DbUser")
    if secret_arn:
        try:
            value = _secrets_backend(self.current_account, self.region).get_secret_value(secret_arn, None, None)
        except Exception:
            raise _validation("Secrets Manager can't find the specified secret.")
        try:
            data = json.loads(value.get("SecretString") or "{}")
        except ValueError:
            data = {}
        user, password = data.get("username"), data.get("password")
        if not user or not password:
            raise _validation("username and password in secret cannot be empty")
        return user, password, None
    if db_user and db_user != state.master_user:
        return state.master_user, state.master_password, db_user
    return state.master_user, state.master_password, None


def _cluster_for(self):
    from moto.redshift.models import redshift_backends

    if self._get_param("WorkgroupName"):
        raise _validation("Redshift Serverless workgroups are not emulated; use ClusterIdentifier.")
    name = self._get_param("ClusterIdentifier")
    if not name:
        raise _validation("Either ClusterIdentifier or WorkgroupName needs to be specified.")
    cluster = redshift_backends[self.current_account][self.region].clusters.get(name)
    if cluster is None or state_of(cluster) is None:
        raise _validation("Redshift endpoint doesn't exist in this region.")
    if cluster.status == "paused":
        raise _validation(f"Cluster {name} is paused.")
    return cluster, state_of(cluster)


def _accept(self, sqls, batch):
    backend = self.redshiftdata_backend
    token = self._get_param("ClientToken")
    if token:
        with _LOCK:
            earlier = _tokens(backend).get(token)
        if earlier is not None and earlier in _statements(backend):
            return _statements(backend)[earlier]
    cluster, state = _cluster_for(self)
    database = self._get_param("Database")
    if not database:
        raise _validation("Database name must be specified.")
    user, password, switch = _credentials(self, cluster, state)
    parameters = self._get_param("Parameters")
    if batch and parameters:
        raise _validation("Parameters are not supported by BatchExecuteStatement.")
    statement = Statement(
        cluster, state, database, self._get_param("DbUser"), self._get_param("SecretArn"),
        None if batch else sqls, parameters, self._get_param("StatementName"), batch=sqls if batch else None,
    )
    statement.login = (user, password, switch)
    with _LOCK:
        _statements(backend)[statement.id] = statement
        if token:
            _tokens(backend)[token] = statement.id
    _WORKERS.submit(_run_statement, statement)
    return statement


def _accepted(statement):
    out = {"Id": statement.id, "CreatedAt": statement.created_at, "ClusterIdentifier": statement.cluster_identifier,
           "Database": statement.database}
    if statement.db_user:
        out["DbUser"] = statement.db_user
    if statement.secret_arn:
        out["SecretArn"] = statement.secret_arn
    return json.dumps(out)


def execute_statement(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html"""
    sql = self._get_param("Sql")
    if not sql:
        raise _validation("Sql must be specified.")
    return _accepted(_accept(self, sql, batch=False))


def batch_execute_statement(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html"""
    sqls = self._get_param("Sqls") or []
    if not sqls:
        raise _validation("Sqls must contain at least one statement.")
    if len(sqls) > 40:
        raise _validation("Sqls can contain at most 40 statements.")
    return _accepted(_accept(self, sqls, batch=True))


def _find(backend, statement_id):
    from moto.redshiftdata.exceptions import ResourceNotFoundException

    if not re.match(r"^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\d+)?$", statement_id or ""):
        raise _validation("id must satisfy regex pattern: ^[a-z0-9]{8}(-[a-z0-9]{4}){3}-[a-z0-9]{12}(:\\d+)?$")
    parent_id, _, index = statement_id.partition(":")
    statement = _statements(backend).get(parent_id)
    if not isinstance(statement, Statement):
        raise ResourceNotFoundException()
    if index:
        n = int(index)
        if not statement.batch or not 1 <= n <= len(statement.subs):
            raise ResourceNotFoundException()
        return statement.subs[n - 1]
    return statement


def describe_statement(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html"""
    statement = _find(self.redshiftdata_backend, self._get_param("Id"))
    if statement.batch is None and statement.subs == [] and ":" in statement.id:
        return json.dumps(statement.describe_sub())
    return json.dumps(statement.describe())


def _page_token(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def get_statement_result(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html"""
    statement = _find(self.redshiftdata_backend, self._get_param("Id"))
    if statement.batch:
        raise _validation("Query does not have result. Please check the query status and statement type of each sub-statement.")
    if statement.status != "FINISHED":
        raise _validation(f"Query does not have result. Please check query status.")
    if not statement.has_result_set:
        raise _validation("Query does not have result. Please check query status and statement type.")
    token = self._get_param("NextToken")
    offset = 0
    if token:
        try:
            offset = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"])
        except Exception:
            raise _validation("Invalid NextToken.")
    records, size = [], 0
    i = offset
    while i < len(statement.records):
        record = statement.records[i]
        row_size = len(json.dumps(record))
        if records and size + row_size > PAGE_BYTES:
            break
        records.append(record)
        size += row_size
        i += 1
    out = {"Records": records, "TotalNumRows": len(statement.records)}
    if offset == 0:
        out["ColumnMetadata"] = statement.columns
    else:
        out["ColumnMetadata"] = statement.columns
    if i < len(statement.records):
        out["NextToken"] = _page_token(i)
    return json.dumps(out)


def list_statements(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ListStatements.html"""
    backend = self.redshiftdata_backend
    status = self._get_param("Status") or "ALL"
    name = self._get_param("StatementName")
    cluster = self._get_param("ClusterIdentifier")
    database = self._get_param("Database")
    found = [s for s in list(_statements(backend).values()) if isinstance(s, Statement)
             and (status == "ALL" or s.status == status) and (not name or (s.name or "").startswith(name))
             and (not cluster or s.cluster_identifier == cluster) and (not database or s.database == database)]
    found.sort(key=lambda s: s.created_at, reverse=True)
    size = int(self._get_param("MaxResults") or 100)
    token = self._get_param("NextToken")
    start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["o"]) if token else 0
    out = {"Statements": [s.summary() for s in found[start : start + size]]}
    if start + size < len(found):
        out["NextToken"] = _page_token(start + size)
    return json.dumps(out)


def cancel_statement(self):
    """https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_CancelStatement.html"""
    statement = _find(self.redshiftdata_backend, self._get_param("Id"))
    if statement.status not in ("SUBMITTED", "PICKED", "STARTED"):
        raise _validation(f"Could not cancel a query that is already in {statement.status} state with ID: {statement.id}")
    statement.cancelled = True
    connection = statement.connection
    if connection is not None:
        try:
            connection.cancel_safe()
        except Exception:
            pass
    statement.set("ABORTED")
    return json.dumps({"Status": True})


# -- running a statement ------------------------------------------------------------------------

_LONG = {20, 21, 23, 26}
_DOUBLE = {700, 701}
_BOOL = 16
_TEXT_OIDS = (1700, 1114, 1184, 1082, 1083, 1266, 1186, 114, 3802, 2950, 17, 1042, 1043, 25, 18, 19)
_TYPE_NAMES = {20: "int8", 21: "int2", 23: "int4", 26: "oid", 700: "float4", 701: "float8", 16: "bool",
               1700: "numeric", 1114: "timestamp", 1184: "timestamptz", 1082: "date", 1083: "time",
               1266: "timetz", 1186: "interval", 114: "json", 3802: "super", 2950: "uuid", 17: "varbyte",
               1042: "bpchar", 1043: "varchar", 25: "text", 18: "char", 19: "name"}


def _message(error):
    """A PostgreSQL error in Redshift's form: `ERROR: relation "x" does not exist`."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if primary:
        severity = getattr(diag, "severity_nonlocalized", None) or getattr(diag, "severity", None) or "ERROR"
        return f"{severity}: {primary}"
    text = str(error)
    found = re.search(r"(FATAL|ERROR):\s+(.*)", text)
    if found:
        return f"{found.group(1)}: {found.group(2).strip()}"
    return f"ERROR: {text.strip()}"


def _connect(statement):
    import psycopg
    from psycopg.types.string import TextLoader

    user, password, switch = statement.login
    conn = statement.state.server.connect(statement.database, user=user, password=password)
    for oid in _TEXT_OIDS:
        conn.adapters.register_loader(oid, TextLoader)
    if switch:
        from psycopg import sql

        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (switch,)).fetchone()
        if not exists:
            conn.close()
            raise psycopg.OperationalError(f'FATAL: user "{switch}" does not exist')
        conn.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(switch)))
    return conn


def _with_parameters(sql_text, parameters):
    """`:name` placeholders as psycopg's `%(name)s`, `%` doubled elsewhere."""
    if not parameters:
        return sql_text, None
    values = {p["name"]: p["value"] for p in parameters}
    toks = redshift_sql.tokens(sql_text)
    out = []
    skip_next = False
    for i, t in enumerate(toks):
        if skip_next:
            skip_next = False
            continue
        if t.kind == "punct" and t.text == ":" and i + 1 < len(toks) and toks[i + 1].kind == "word":
            name = toks[i + 1].text
            if name not in values:
                raise redshift_copy.LoadFailed(f"ERROR: Parameter \"{name}\" is not given a value")
            out.append(f"%({name})s")
            skip_next = True
            continue
        out.append(t.text.replace("%", "%%") if t.kind not in ("string", "quoted", "dollar") else t.text.replace("%", "%%"))
    return "".join(out), values


def _column_metadata(conn, description, pgresult):
    tables = {}
    out = []
    for i, column in enumerate(description):
        oid = column.type_code
        type_name = _TYPE_NAMES.get(oid)
        if type_name is None:
            info = conn.adapters.types.get(oid)
            type_name = info.name if info is not None else str(oid)
        table_oid = pgresult.ftable(i) if pgresult is not None else 0
        schema_name, table_name = "", ""
        if table_oid:
            if table_oid not in tables:
                row = conn.execute(
                    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s",
                    (table_oid,),
                ).fetchone()
                tables[table_oid] = row or ("", "")
            schema_name, table_name = tables[table_oid]
        precision = column.precision or column.display_size or 0
        if oid in (20, 21, 23):
            precision = {20: 19, 21: 5, 23: 10}[oid]
        elif oid in (700, 701):
            precision = {700: 8, 701: 17}[oid]
        elif oid in (1114, 1184):
            precision = 29
        out.append({
            "name": column.name, "label": column.name, "typeName": type_name,
            "precision": precision, "scale": column.scale or (6 if oid in (1114, 1184) else 0),
            "nullable": 1, "isSigned": oid in _LONG | _DOUBLE | {1700}, "isCurrency": False,
            "isCaseSensitive": oid in (1042, 1043, 25, 18, 19), "length": 0,
            "schemaName": schema_name, "tableName": table_name, "columnDefault": None,
        })
    return out


def _field(value, oid):
    if value is None:
        return {"isNull": True}
    if oid in _LONG:
        return {"longValue": int(value)}
    if oid in _DOUBLE:
        return {"doubleValue": float(value)}
    if oid == _BOOL:
        return {"booleanValue": bool(value)}
    if isinstance(value, (bytes, memoryview)):
        return {"stringValue": bytes(value).hex()}
    return {"stringValue": str(value)}


def _run_one(conn, statement, in_transaction):
    """Runs one statement (one or more SQL statements in its text) on conn."""
    statement.started = time.monotonic()
    statement.set("STARTED")
    statement.redshift_query_id = statement.state.query_id()
    statement.redshift_pid = conn.info.backend_pid
    pieces = redshift_sql.split_statements(statement.query_string)
    cursor = conn.cursor()
    last_rows, result = 0, None
    for piece in pieces:
        if statement.cancelled:
            raise redshift_copy.LoadFailed("ERROR: Query cancelled.")
        job = redshift_sql.parse_copy_job(piece)
        if job is not None:
            last_rows, result = _copy_job(conn, statement, job, in_transaction)
            continue
        if redshift_sql.is_copy(piece):
            copy = redshift_sql.parse_copy(piece)
            ctx = redshift_copy.Context(statement.cluster, statement.state, statement.database,
                                        statement.login[2] or statement.login[0],
                                        statement.redshift_query_id, statement.redshift_pid)
            with conn.transaction():
                last_rows = redshift_copy.run_copy(ctx, conn, copy)
            result = None
            continue
        translated = redshift_sql.translate(piece)
        if translated == redshift_sql.NOOP:
            last_rows, result = 0, None
            continue
        query, values = _with_parameters(translated, statement.parameters)
        cursor.execute(query, values, prepare=False)
        if cursor.description is not None:
            rows = cursor.fetchall()
            result = (cursor.description, rows, cursor.pgresult)
            last_rows = len(rows)
        else:
            result = None
            last_rows = max(cursor.rowcount, 0)
    if result is not None:
        description, rows, pgresult = result
        oids = [c.type_code for c in description]
        statement.columns = _column_metadata(conn, description, pgresult)
        statement.records = [[_field(v, oid) for v, oid in zip(row, oids)] for row in rows]
        statement.has_result_set = True
        statement.result_rows = len(rows)
        statement.result_size = sum(len(json.dumps(r)) for r in statement.records)
    else:
        statement.has_result_set = False
        statement.result_rows = last_rows
        statement.result_size = 0


def _run_statement(statement):
    import psycopg

    statement.started = time.monotonic()
    if statement.cancelled:
        return
    statement.set("PICKED")
    try:
        conn = _connect(statement)
    except (psycopg.Error, redshift_engine.EngineError) as e:
        for sub in statement.subs:
            sub.set("FAILED" if sub is statement.subs[0] else "ABORTED", _message(e) if sub is statement.subs[0] else None)
        statement.set("FAILED", _message(e))
        return
    statement.connection = conn
    try:
        with conn:
            statement.state.user_ids.setdefault(statement.login[2] or statement.login[0],
                                                conn.execute("SELECT usesysid FROM pg_user WHERE usename = current_user").fetchone()[0])
            if not statement.batch:
                try:
                    _run_one(conn, statement, in_transaction=False)
                except (psycopg.Error, redshift_copy.LoadFailed, redshift_sql.CopyError, redshift_sql.SqlSyntaxError) as e:
                    if statement.cancelled:
                        statement.set("ABORTED")
                    else:
                        statement.set("FAILED", _failure(e))
                    return
                statement.set("STARTED")
                statement.set("FINISHED")
                return
            statement.set("STARTED")
            failed = None
            conn.autocommit = False
            for sub in statement.subs:
                if failed is not None:
                    sub.set("ABORTED")
                    continue
                try:
                    _run_one(conn, sub, in_transaction=True)
                    sub.set("FINISHED")
                except (psycopg.Error, redshift_copy.LoadFailed, redshift_sql.CopyError, redshift_sql.SqlSyntaxError) as e:
                    failed = _failure(e)
                    sub.set("FAILED", failed)
            if failed is not None or statement.cancelled:
                conn.rollback()
                statement.set("FAILED" if failed else "ABORTED", failed)
            else:
                conn.commit()
                statement.result_rows = sum(max(s.result_rows, 0) for s in statement.subs)
                statement.result_size = 0
                statement.set("FINISHED")
    except Exception as e:  # the engine went away, a bug: the statement fails, never hangs
        statement.set("FAILED", _failure(e))
    finally:
        statement.connection = None
        if statement.cancelled:
            statement.set("ABORTED")


def _failure(error):
    if isinstance(error, (redshift_copy.LoadFailed, redshift_sql.CopyError)):
        return error.args[0]
    if isinstance(error, redshift_sql.SqlSyntaxError):
        return f"ERROR: {error.args[0]}"
    return _message(error)


# -- COPY JOB -----------------------------------------------------------------------------------

_JOB_INDEX = {}  # (account, bucket) -> {id(job): (cluster, job)}


def _copy_job(conn, statement, command, in_transaction):
    """A COPY JOB command: (rows, result) as _run_one keeps them."""
    state, cluster = statement.state, statement.cluster
    database = statement.database
    key = (database, command.name)
    if command.action in ("CREATE", "DROP") and in_transaction:
        raise redshift_copy.LoadFailed(f"ERROR: COPY JOB {command.action} cannot run inside a transaction block")
    if command.action == "CREATE":
        copy = redshift_sql.parse_copy(command.copy)
        redshift_copy.check_job_copy(copy)
        bucket, _ = redshift_copy.split_s3(copy.source)
        if _integration_for(cluster, bucket) is None:
            raise redshift_copy.LoadFailed(
                f"ERROR: S3 event integration not found for bucket {bucket} and this cluster. "
                "Create one with CreateIntegration (SourceArn the bucket, TargetArn the cluster's namespace)."
            )
        redshift_copy.target_columns(conn, copy)  # the table must exist
        with state.lock:
            if key in state.jobs:
                raise redshift_copy.LoadFailed(f'ERROR: Copy job "{command.name}" already exists')
            job = redshift_copy.Job(state.job_id(), command.name, database, statement.login[0], copy, command.auto,
                                    redshift_copy._now())
            s3 = redshift_copy._s3(cluster.account_id)
            for key_name, _ in redshift_copy.list_prefix(s3, job.bucket, job.prefix):
                job.seen[key_name] = "S"
            state.jobs[key] = job
            _JOB_INDEX.setdefault((cluster.account_id, job.bucket), {})[id(job)] = (cluster, job)
        redshift_copy.ensure_system_tables(state, database)
        redshift_copy._system_insert(state, database, "sys_copy_job", [redshift_copy.job_row(job)])
        return 0, None
    if command.action == "LIST":
        redshift_copy.ensure_system_tables(state, database)
        return _query(conn, "SELECT job_id, trim(job_name) AS job_name, trim(job_text) AS job_text, is_auto "
                            "FROM redshift_system.sys_copy_job WHERE database_name = current_database() ORDER BY job_id")
    with state.lock:
        job = state.jobs.get(key)
    if job is None:
        raise redshift_copy.LoadFailed(f'ERROR: Copy job "{command.name}" does not exist')
    if command.action == "SHOW":
        return _query(conn, "SELECT job_id, trim(job_name) AS job_name, trim(iam_role) AS iam_role, copy_query AS job_text, "
                            "is_auto, table_name, created_at FROM redshift_system.sys_copy_job WHERE job_id = %s", (job.id,))
    if command.action == "DROP":
        _drop_job(state, cluster, job)
        return 0, None
    if command.action == "ALTER":
        if command.auto is not None:
            job.auto = command.auto
            with state.server.connect(database) as admin:
                admin.execute("UPDATE redshift_system.sys_copy_job SET is_auto = %s WHERE job_id = %s", (1 if job.auto else 0, job.id))
        return 0, None
    if command.action == "RUN":
        loaded, failure = run_job(cluster, state, job, automatic=False, query_id=statement.redshift_query_id)
        if failure:
            raise redshift_copy.LoadFailed(failure)
        return loaded, None
    raise redshift_copy.LoadFailed(f'ERROR: syntax error at or near "{command.action}"')


def _query(conn, sql_text, params=None):
    cursor = conn.cursor()
    cursor.execute(sql_text, params)
    rows = cursor.fetchall()
    return len(rows), (cursor.description, rows, cursor.pgresult)


def _drop_job(state, cluster, job):
    with state.lock:
        state.jobs.pop((job.database, job.name), None)
        _JOB_INDEX.get((cluster.account_id, job.bucket), {}).pop(id(job), None)
    if job.timer is not None:
        job.timer.cancel()
    try:
        with state.server.connect(job.database) as admin:
            admin.execute("DELETE FROM redshift_system.sys_copy_job WHERE job_id = %s", (job.id,))
    except Exception:
        pass


def _drop_cluster_jobs(state):
    for job in list(state.jobs.values()):
        with state.lock:
            state.jobs.pop((job.database, job.name), None)
        for jobs in _JOB_INDEX.values():
            jobs.pop(id(job), None)
        if job.timer is not None:
            job.timer.cancel()


def run_job(cluster, state, job, automatic, query_id=None):
    """Loads the job's pending files (each file once, by name): (rows loaded, error or None).
    The COPY runs as the job's owner in a transaction of its own; a batch that fails is
    retried file by file so one bad file does not hold the others back."""
    import psycopg

    with job.lock:
        s3 = redshift_copy._s3(cluster.account_id)
        try:
            files = redshift_copy.pending_files(job, s3, retry_errors=not automatic)
        except redshift_copy.LoadFailed as e:
            return 0, e.args[0]
        if not files:
            return 0, None
        enqueued = redshift_copy._now()
        total, failure = 0, None
        batches = [files]
        while batches:
            batch = batches.pop(0)
            try:
                with state.server.connect(job.database, autocommit=False) as conn:
                    ctx = redshift_copy.Context(cluster, state, job.database, job.owner,
                                                query_id or state.query_id(), conn.info.backend_pid)
                    loaded = redshift_copy.run_copy(ctx, conn, job.copy, files=batch, job=job)
                    conn.commit()
                total += loaded
                status = "I"
            except (redshift_copy.LoadFailed, psycopg.Error, redshift_engine.EngineError) as e:
                if len(batch) > 1:
                    batches = [[f] for f in batch] + batches
                    continue
                failure = e.args[0] if isinstance(e, redshift_copy.LoadFailed) else _message(e)
                status = "E"
            rows = []
            for bucket, key_name, obj in batch:
                job.seen[key_name] = status
                rows.append({
                    "user_id": state.user_ids.get(job.owner, 100), "database_name": job.database, "job_id": job.id,
                    "job_name": job.name, "file_location": bucket, "file_name": key_name, "file_size": obj.size,
                    "file_etag": (obj.etag or "").strip('"'), "job_text": redshift_copy._fit(job.copy.text, 256),
                    "modification_time": obj.last_modified.replace(tzinfo=None) if getattr(obj, "last_modified", None) else enqueued,
                    "enqueue_time": enqueued, "status": status,
                })
            try:
                redshift_copy._system_insert(state, job.database, "sys_copy_job_detail", rows)
            except Exception:
                pass
        return total, failure


def _schedule(cluster, state, job):
    """Runs an AUTO ON job shortly after new objects (one run for a burst)."""
    with job.timer_lock:  # not job.lock, held by a running load: PutObject must not wait
        if job.timer is not None:
            job.timer.cancel()

        def fire():
            job.timer = None
            if (job.database, job.name) in state.jobs and job.auto and state.server.running:
                _JOB_WORKERS.submit(run_job, cluster, state, job, True)

        job.timer = threading.Timer(JOB_DEBOUNCE_SECONDS, fire)
        job.timer.daemon = True
        job.timer.start()


def watch_s3_for_copy_jobs():
    """New objects (PutObject, CompleteMultipartUpload, CopyObject: each ends in moto's
    `S3Backend.put_object`) under an AUTO ON job's prefix run the job.
    https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html"""
    from moto.s3.models import S3Backend

    if getattr(S3Backend.put_object, "_copy_jobs", False):
        return
    original = S3Backend.put_object

    def put_object(self, bucket_name, key_name, *args, **kwargs):
        result = original(self, bucket_name, key_name, *args, **kwargs)
        if _JOB_INDEX:
            jobs = _JOB_INDEX.get((self.account_id, bucket_name))
            if jobs:
                for cluster, job in list(jobs.values()):
                    state = state_of(cluster)
                    if job.auto and state is not None and key_name.startswith(job.prefix) and key_name not in job.seen:
                        _schedule(cluster, state, job)
        return result

    put_object._copy_jobs = True
    S3Backend.put_object = put_object


def install_data_api():
    from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse

    for function in (execute_statement, batch_execute_statement, describe_statement, get_statement_result,
                     list_statements, cancel_statement):
        setattr(RedshiftDataAPIServiceResponse, function.__name__, function)


def install():
    redshift_engine.sweep()
    add_cluster_iam_roles_call()
    back_clusters_with_postgres()
    add_integration_calls()
    install_data_api()
    watch_s3_for_copy_jobs()
    redshift_config.install()
