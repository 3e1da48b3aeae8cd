"""moto_server, plus the few operations of the full dev stack that moto 5.2 lacks.

Run as `python3 moto_ext.py -H 127.0.0.1 -p PORT` (the same arguments as `moto_server`).
Each addition follows the documented behaviour of the real API and is applied only where the
installed moto does not already have it, so a newer moto that implements one wins:

- Glue `DeleteConnection` and `UpdateConnection`, `UpdateCrawler` and `UpdateJob` (moto
  answers HTTP 500 "not implemented"), so that a stack with the warehouse's JDBC connection
  can be destroyed, and its crawler, job and connection updated in place. As documented:
  UpdateCrawler changes the fields it is given; UpdateJob and UpdateConnection replace the
  whole definition.
- Redshift `ModifyClusterIamRoles` (the same), so a cluster's roles can change in place.
- Redshift `ManageMasterPassword`: moto accepts the flag and drops it, so a cluster never
  reports `MasterPasswordSecretArn`. As on AWS, a cluster created with it reports the ARN of
  the secret Redshift keeps its master password in (`secret:redshift!<cluster>-admin-<6>`),
  and one created with a password of its own reports none. Only the ARN is emulated: no
  Secrets Manager secret exists behind it, which is all a caller that never reads the
  password needs (Firehose, the Glue connection and the Data API are handed the ARN).
- API Gateway `TagResource` and `UntagResource` on a REST API (moto's only handle a stage's
  ARN and fail on `arn:aws:apigateway:<region>::/restapis/<id>`), so that a REST API's tags can
  change after its creation, as they can on AWS. Stage ARNs still go to moto's own.
- Redshift Data API statements: moto leaves every statement `STARTED` for ever and reports
  `CreatedAt`/`UpdatedAt` as ISO strings where the API has epoch seconds (the SDK cannot
  parse them). Here a statement is `FINISHED` when it is accepted, with epoch timestamps.
  No SQL engine runs the statement: what this proves is the tool's side of the protocol
  (execute, poll until finished, record the applied DDL, drop on destroy), not the DDL.
- Kinesis puts one record at a time: moto's shard assigns "last sequence number + 1" without
  a lock (its source says it is not safe for concurrency), so two concurrent PutRecords
  calls can give two records one number and one of them is silently lost. Real Kinesis never
  loses an acknowledged record.
- Kinesis shards find records by sequence number instead of scanning: moto copies every key
  of a shard to find its last sequence number on each put, and walks the shard from its
  first record on each GetRecords, so a put or read costs time proportional to the records
  the shard holds (a whole-dataset replay spent most of its time there). Real Kinesis has no
  such growth. Results are unchanged: same sequence numbers, records and lag figure.
- Kinesis puts cost per record what moto's generic machinery costs, not what a put needs: it
  tests every shard of the stream in turn to route a key, walks its service model to write
  each entry of a PutRecords answer, and builds two datetimes per record. Here a key's shard
  is found by binary search while no two shards' ranges overlap, the answer is written as
  plain JSON, and a record keeps one clock read. The same shards, sequence numbers and
  answers (`tests/emulator_kinesis.rs`); a whole-dataset replay puts 2-3x as many records
  per second. Concurrent PutRecords calls also take the put lock once per call instead of
  once per record, which had them hand the interpreter back and forth on every record.
- DynamoDB queries on a table's own key read only the queried partition: moto sorts every
  item of the table on each Query and keeps those of the partition, so a query costs time
  in the table's size (`process` queries each invoice it touches, and this was most of the
  emulator's time at 200 rows/s). Results are unchanged: the same items in the same order,
  the same pages.
- DynamoDB item writes one at a time: moto reads an item, evaluates the condition and writes
  it back without a lock, so two concurrent `UpdateItem ADD`s to one item (the creation
  journal, when several creates start together) can lose one, and two conditional puts can
  both succeed. Real DynamoDB applies each item write atomically.
- IAM for role sessions: moto serves every signed call, so a Lambda role's least-privilege
  policy was never exercised. A call signed with temporary credentials moto's STS issued by
  AssumeRole is evaluated against the role's inline and attached managed policies before the
  operation runs (explicit deny wins, default deny, Action/NotAction, Resource/NotResource,
  wildcards, the condition operators), and refused as AWS refuses it: AccessDeniedException
  (HTTP 400) for JSON services, AuthorizationError (403) for SNS, AccessDenied (403) for S3,
  with the message naming the role session and the action, and one line on stderr. Calls
  signed with any other key (the tool's admin keys) are served as before. The rules, their
  AWS pages and the hook are in `iam_eval.py`; the evaluation logic is at
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Cognito SignUp on a user pool whose `AdminCreateUserConfig.AllowAdminCreateUserOnly` is
  true: moto signs the user up. AWS documents the setting as "When true, only administrators
  can create new user profiles. When false, users can register themselves ... with the SignUp
  operation", and SignUp's NotAuthorizedException (HTTP 400); the refusal reads "SignUp is not
  permitted for this user pool", as AWS's answer does.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cognito-userpool-admincreateuserconfig.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
- Cognito UpdateUserPool keeps the settings fixed at creation: moto rebuilds the pool's whole
  configuration from the request, so an update (of the tags, say) dropped the pool's alias
  attributes and made user names case sensitive again. AWS documents that an update resets
  every setting the request leaves out to its default, except those that cannot change after
  creation: the sign-in options (`AliasAttributes`, `UsernameAttributes`), user name case
  sensitivity (`UsernameConfiguration`) and the attribute schema (`Schema`), which stay.
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html

Two costs per request are cut: the directory listing moto routes each request with is made
once, and with `MOTO_ACCESS_LOG=0` in its environment it writes no line per request (the tests'
`Moto` discards its output anyway). One is left: werkzeug's server closes the connection after
every answer (it cannot drain a request body before the next request line), so every call,
batched or not, pays a new connection and a new thread.
"""

import os
import re
import sys
import threading
import time

from moto.server import main


def add_glue_connection_calls():
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


def add_glue_update_calls():
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


def add_cluster_iam_roles_call():
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


def report_managed_master_password():
    import hashlib

    from moto.redshift.responses import RedshiftResponse

    original = RedshiftResponse.create_cluster

    def create_cluster(self):
        result = original(self)
        if self._get_bool_param("ManageMasterPassword", False):
            name = self._get_param("ClusterIdentifier")
            cluster = self.redshift_backend.describe_clusters(name)[0]
            if getattr(cluster, "master_password_secret_arn", None) is None:
                suffix = hashlib.sha256(name.encode()).hexdigest()[:6]
                cluster.master_password_secret_arn = (
                    f"arn:aws:secretsmanager:{self.region}:{self.current_account}"
                    f":secret:redshift!{name}-admin-{suffix}"
                )
        return result

    RedshiftResponse.create_cluster = create_cluster


def add_rest_api_tagging():
    import json
    from urllib.parse import unquote
    from moto.apigateway.responses import APIGatewayResponse
    from moto.apigateway.urls import url_paths

    # The server decodes the ARN's `/`s, and moto routes only a stage's ARN under /tags/.
    url_paths[
        "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/"
        "(?P<function_id>[^/]+)$"
    ] = APIGatewayResponse.dispatch
    moto_tag, moto_untag = APIGatewayResponse.tag_resource, APIGatewayResponse.untag_resource

    def rest_api_of(self):
        """The REST API a tagging call's ARN names, or None when it names something else."""
        arn = unquote(self.path.split("/tags/")[1])
        parts = arn.split("::", 1)[-1].strip("/").split("/")
        if len(parts) == 2 and parts[0] == "restapis":
            return self.backend.get_rest_api(parts[1])
        return None

    def tag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_tag(self)
        tags = self._get_param("tags") or {}
        api.tags = {**(api.tags or {}), **tags}
        return json.dumps({})

    def untag_resource(self):
        api = rest_api_of(self)
        if api is None:
            return moto_untag(self)
        for key in self.querystring.get("tagKeys") or []:
            (api.tags or {}).pop(key, None)
        return json.dumps({})

    APIGatewayResponse.tag_resource = tag_resource
    APIGatewayResponse.untag_resource = untag_resource


def finish_data_api_statements():
    from moto.redshiftdata import models

    original = models.Statement.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.status == "STARTED" and isinstance(self.created_at, str):
            now = time.time()
            self.created_at = now
            self.updated_at = now
            self.status = "FINISHED"

    models.Statement.__init__ = init


def serialise_kinesis_puts():
    from moto.kinesis import models

    # Re-entrant, and taken once for a whole PutRecords call too: a lock taken per record
    # made concurrent calls hand the interpreter back and forth on every record (8 calls in
    # flight put half as many records per second as 4).
    lock = threading.RLock()
    for owner, name in ((models.Shard, "put_record"), (models.KinesisBackend, "put_records")):

        def serialised(self, *args, _original=getattr(owner, name), **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        setattr(owner, name, serialised)


def route_kinesis_keys_by_search():
    # moto finds a record's shard by testing every shard of the stream in turn: with 128
    # shards that was a fifth of a put's cost. While no two shards' hash ranges overlap (a
    # stream never split or merged: a split keeps the closed parent beside its children), a
    # binary search finds the same shard. Shards are only ever added and their ranges never
    # change, so the search table is rebuilt when the count of shards changes.
    import bisect

    from moto.kinesis import models
    from moto.utilities.utils import md5_hash

    original = models.Stream.get_shard_for_key
    tables = {}

    def table_of(stream):
        owner, count, starts, ranked = tables.get(id(stream), (None, -1, None, None))
        if owner is not stream or count != len(stream.shards):
            count = len(stream.shards)
            ranked = sorted(stream.shards.values(), key=lambda s: s.starting_hash)
            pairs = zip(ranked, ranked[1:])
            disjoint = all(a.ending_hash <= b.starting_hash for a, b in pairs)
            starts = [s.starting_hash for s in ranked] if disjoint else None
            tables[id(stream)] = (stream, count, starts, ranked)
        return starts, ranked

    def get_shard_for_key(self, partition_key, explicit_hash_key):
        starts, ranked = table_of(self)
        plain = isinstance(partition_key, str) and len(partition_key) <= 256
        if starts is None or explicit_hash_key or not plain:
            return original(self, partition_key, explicit_hash_key)
        key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
        i = bisect.bisect_right(starts, key) - 1
        if i >= 0 and key < ranked[i].ending_hash:
            return ranked[i]
        return None

    models.Stream.get_shard_for_key = get_shard_for_key


def answer_kinesis_puts_directly():
    # moto's generic serializer walks the service model for every value it writes: a
    # PutRecords answer of 500 entries cost it about 14 us per record, 30% of the emulator's
    # time in a whole-dataset replay (py-spy). The answer is JSON with two strings per record.
    # CBOR callers keep moto's own answer.
    import json

    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.put_records

    def put_records(self):
        if "json" not in self.headers.get("Content-Type", ""):
            return original(self)
        answer = self.kinesis_backend.put_records(
            self._get_param("StreamARN"),
            self._get_param("StreamName"),
            self._get_param("Records"),
        )
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        return 200, headers, json.dumps(answer, separators=(",", ":"))

    KinesisResponse.put_records = put_records


def stamp_kinesis_records_once():
    # moto stamps each record with utcnow() and converts that back to epoch seconds through
    # another datetime: about a tenth of the emulator's time in a
    # whole-dataset replay (py-spy). One clock read is kept, and the datetime
    # (only GetRecords' ApproximateArrivalTimestamp reads it) is made from it when asked.
    from datetime import datetime, timezone

    from moto.kinesis import models

    def init(self, partition_key, data, sequence_number, explicit_hash_key):
        self.partition_key = partition_key
        self.data = data
        self.sequence_number = sequence_number
        self.explicit_hash_key = explicit_hash_key
        self.created_at = time.time()

    def created_at_datetime(self):
        at = datetime.fromtimestamp(self.created_at, timezone.utc)
        return at.replace(tzinfo=None)

    models.Record.__init__ = init
    models.Record.created_at_datetime = property(created_at_datetime)


def index_kinesis_shards():
    from moto.kinesis import models

    Shard = models.Shard
    original_get_records = Shard.get_records

    def get_max_sequence_number(self):
        return next(reversed(self.records)) if self.records else 0

    def get_min_sequence_number(self):
        return next(iter(self.records)) if self.records else 0

    def get_records(self, last_sequence_id, limit):
        # Shard.put_record numbers a shard's records 1, 2, 3...: while they still are
        # contiguous, the records after `last` are looked up by number. Else moto's scan.
        records = self.records
        if not records:
            return original_get_records(self, last_sequence_id, limit)
        first, last_key = next(iter(records)), next(reversed(records))
        if last_key - first + 1 != len(records):
            return original_get_records(self, last_sequence_id, limit)
        last = int(last_sequence_id)
        start = max(last + 1, first)
        end = last_key if limit is None else min(last_key, start + limit - 1)
        results = [records[n] for n in range(start, end + 1)]
        if not results:
            return [], last, 0
        behind = records[last_key].created_at - results[-1].created_at
        return results, results[-1].sequence_number, int(behind * 1000)

    Shard.get_max_sequence_number = get_max_sequence_number
    Shard.get_min_sequence_number = get_min_sequence_number
    Shard.get_records = get_records


def index_dynamodb_queries():
    import inspect

    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)
    # The partition the current thread's Query on a table's own key reads (moto serves each
    # request on its own thread).
    scope = threading.local()

    def all_items(self):
        table, partition = getattr(scope, "query", (None, None))
        if table is not self:
            return original_all_items(self)
        items = list(self.items.get(partition, {}).values())
        return sorted(
            items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key
        )

    def query(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or not self.range_key_attr or hash_key is None:
            return original_query(self, *args, **kwargs)
        scope.query = (self, hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            scope.query = (None, None)

    Table.all_items = all_items
    Table.query = query


def serialise_dynamodb_writes():
    from moto.dynamodb.models import DynamoDBBackend

    # Re-entrant: a batch or transaction calls the single-item writes itself.
    lock = threading.RLock()
    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "batch_write_item",
        "transact_write_items",
    ):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def serialised(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialised)


def evaluate_role_session_iam():
    # Kept in a module of its own (the evaluator, the request mapping and the hook). No
    # __pycache__ is left beside it in the source tree.
    sys.dont_write_bytecode = True
    try:
        from . import iam_eval
    except ImportError:
        import iam_eval

    iam_eval.install()


def refuse_sign_up_when_admins_only():
    # moto 5.2.1's sign_up never reads AdminCreateUserConfig. The refusal comes first, as on
    # AWS, where such a pool creates no user for a SignUp whatever its other settings.
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.sign_up

    def sign_up(self, client_id, username, password, attributes):
        for pool in self.user_pools.values():
            if client_id in pool.clients:
                config = pool.extended_config.get("AdminCreateUserConfig") or {}
                if config.get("AllowAdminCreateUserOnly"):
                    raise NotAuthorizedError("SignUp is not permitted for this user pool")
        return original(self, client_id, username, password, attributes)

    CognitoIdpBackend.sign_up = sign_up


def keep_fixed_pool_settings_on_update():
    from moto.cognitoidp.models import CognitoIdpUserPool

    fixed = ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration", "Schema")
    original = CognitoIdpUserPool.update_extended_config

    def update_extended_config(self, extended_config):
        before = getattr(self, "extended_config", None) or {}
        kept = {k: before[k] for k in fixed if k in before}
        original(self, extended_config)
        self.extended_config.update(kept)

    CognitoIdpUserPool.update_extended_config = update_extended_config


def list_backends_once():
    # moto lists its package directory (a listdir and ~200 isdir calls) to route every
    # request, under the server's one lock; the list cannot change while it runs.
    from moto import backends

    names = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: names


def quiet_access_log():
    # One log line per request costs the single-process emulator about a tenth of its time
    # under load; whoever discards the output anyway (the tests' `Moto`) turns it off.
    if os.environ.get("MOTO_ACCESS_LOG") == "0":
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)


if __name__ == "__main__":
    add_glue_connection_calls()
    add_glue_update_calls()
    add_cluster_iam_roles_call()
    report_managed_master_password()
    add_rest_api_tagging()
    finish_data_api_statements()
    serialise_kinesis_puts()
    index_kinesis_shards()
    route_kinesis_keys_by_search()
    answer_kinesis_puts_directly()
    stamp_kinesis_records_once()
    index_dynamodb_queries()
    serialise_dynamodb_writes()
    evaluate_role_session_iam()
    refuse_sign_up_when_admins_only()
    keep_fixed_pool_settings_on_update()
    quiet_access_log()
    list_backends_once()
    main(sys.argv[1:])
