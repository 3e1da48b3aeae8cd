"""COPY from S3 and COPY JOB (auto-copy), run by the emulator over moto's S3, into the
cluster's PostgreSQL through its COPY protocol.

A Redshift COPY reads S3 itself; PostgreSQL cannot, so the emulator runs the COPY: it checks
what Redshift checks, reads the objects from moto's S3 backend in-process, converts them to
the target columns and streams them with PostgreSQL's `COPY ... FROM STDIN` (never row by
row). Each rule names its page.

COPY
----
`COPY table [(col, ...)] FROM 's3://bucket/prefix' IAM_ROLE {'arn'|default} format [options]`
(also `CREDENTIALS 'aws_iam_role=arn'`), run through the Data API only.
https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
- Objects: every object whose key starts with the prefix (a prefix, not a folder: `s3://b/x`
  reads `x1.json` and `x/2.json`); none is `ERROR: S3ServiceException:The specified S3 prefix
  '<prefix>' does not exist`. Parquet is read by Redshift Spectrum, which ignores names
  (below the prefix's folder) beginning with '.', '_' or '#' or ending with '~': Spark's
  `_SUCCESS` and `_temporary/` are never loaded.
  https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html With MANIFEST the source is a manifest (`{"entries": [{"url":
  "s3://...", "mandatory": bool}]}`); a mandatory entry missing fails the load (1212).
  https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-source-s3.html
  https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html
- Authorization: the role must be one of the cluster's IAM roles (`IamRoles`), exist and trust
  `redshift.amazonaws.com`, else `ERROR: User arn:aws:redshift:<region>:<account>:dbuser:
  <cluster>/<user> is not authorized to assume IAM Role <arn>`; its identity policies (iam_eval)
  must allow s3:ListBucket on the bucket (with s3:prefix) and s3:GetObject on each object, else
  `ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied`. IAM_ROLE default is
  the cluster's DefaultIamRoleArn.
  https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-access-permissions.html
  https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service.html
- FORMAT [AS] PARQUET: columns by position; the table's (or column list's) column count must
  equal the file's, else the Spectrum error Redshift reports (15007 "Unmatched number of
  columns between table and file. Table columns: n, Data columns: m, File name: ...");
  a Parquet type a column cannot hold is 15007 "incompatible Parquet schema"; a string longer
  in UTF-8 bytes than its VARCHAR/CHAR is 15001 "The length of the data column <c> is longer
  than the length defined in the table. Table: n, Data: m". Only ACCEPTINVCHARS, FILLRECORD,
  FROM, IAM_ROLE, CREDENTIALS, STATUPDATE, MANIFEST, EXPLICIT_IDS (plus REGION and
  COMPUPDATE, which do nothing here) are accepted: any other (MAXERROR, TRUNCATECOLUMNS,
  TIMEFORMAT...) is `ERROR: <OPTION> argument is not supported for PARQUET based COPY`. Any
  error fails the whole COPY. (Error texts as Redshift prints them to users; the pages give
  the rules, not the words.)
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-columnar.html
- FORMAT [AS] JSON {'auto' | 'auto ignorecase' | 's3://.../jsonpaths.json'}: JSON objects
  one after the other (newline-delimited in practice); 'auto' maps keys to column names
  (exactly, or case-insensitively with 'auto ignorecase'), a JSONPaths file maps its
  expressions (`$.a`, `$['a']`, `$.a[0]`) to the columns in order (their counts must match).
  Absent keys and JSON null load NULL. TIMEFORMAT / DATEFORMAT ('auto', 'epochsecs',
  'epochmillisecs' or a pattern such as 'YYYY-MM-DD HH:MI:SS'), ROUNDEC (numbers are
  truncated to the column's scale without it), TRUNCATECOLUMNS, MAXERROR [AS] n.
  https://docs.aws.amazon.com/redshift/latest/dg/copy-usage_notes-copy-from-json.html
  https://docs.aws.amazon.com/redshift/latest/dg/r_DATEFORMAT_and_TIMEFORMAT_strings.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html
- Bad rows (JSON): a value longer in UTF-8 bytes than its VARCHAR(n)/CHAR(n) fails the row
  (1204, "String length exceeds DDL length") unless TRUNCATECOLUMNS, which cuts it to n bytes
  without splitting a character; unparsable numbers (1207), booleans (1210), timestamps
  (1206), dates (1205), NULL in a NOT NULL column (1213), malformed JSON (1224). With
  MAXERROR n up to n bad rows are skipped; more fail the load: `ERROR: Load into table '<t>'
  failed. Check 'sys_load_error_detail' system table for details.` Every bad row is recorded
  (also when the load fails) in STL_LOAD_ERRORS and SYS_LOAD_ERROR_DETAIL with the documented
  columns (query, filename, line_number, colname, type, col_length, raw_line,
  raw_field_value, err_code, err_reason, starttime, session, tbl, userid...).
  https://docs.aws.amazon.com/redshift/latest/dg/r_Load_Error_Reference.html
  https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_ERRORS.html
  https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
  https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-error-handling.html
  https://docs.aws.amazon.com/redshift/latest/dg/t_preparing-input-data.html
- A finished COPY adds a row per file to STL_LOAD_COMMITS and one to SYS_LOAD_HISTORY.
  https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html
  https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
- Without a column list, IDENTITY columns are left to generate their values, unless
  EXPLICIT_IDS.
  https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html
- Formats not emulated (CSV, delimited text, ORC, Avro, ...) fail with a message that says so.

The system tables live in schema `redshift_system` of each database, on its search_path
(Redshift's are in pg_catalog, which PostgreSQL keeps for itself); readable by every user.

COPY JOB
--------
https://docs.aws.amazon.com/redshift/latest/dg/r_COPY-JOB.html
https://docs.aws.amazon.com/redshift/latest/dg/loading-data-copy-job.html
- `COPY <copy command> JOB CREATE <name> [AUTO ON|OFF]` (AUTO ON when left out, the
  emulator's reading of the syntax; the project always says which): the COPY is
  checked as a COPY and kept; a job needs an S3 event integration (CreateIntegration, in
  redshift.py) from the COPY's bucket to this cluster, else `ERROR: S3 event integration
  not found for bucket <b>...` (wording the emulator's: AWS documents the requirement, not
  the text). Refused as documented: MAXERROR, IGNOREALLERRORS, MANIFEST, credentials other
  than IAM_ROLE, IAM_ROLE default, a name with a hyphen, and running inside a transaction
  block (BatchExecuteStatement), which is also refused for JOB DROP.
- Files that existed when the job was created are never loaded ("COPY JOB doesn't ingest
  files that already exist in the folder the COPY command points to").
- Each file is loaded once, tracked by name: SYS_COPY_JOB_DETAIL has a row per file seen
  (status I ingested, E error; a failed file is skipped by later automatic runs).
  https://docs.aws.amazon.com/redshift/latest/dg/SYS_COPY_JOB_DETAIL.html
- AUTO ON: a new object under the job's prefix (PutObject, CompleteMultipartUpload,
  CopyObject: all go through moto's `S3Backend.put_object`) makes a background thread run the
  job's COPY for the pending files a short moment later (debounced, so a burst of objects
  loads in one COPY, as Redshift batches files per COPY). `COPY JOB RUN` loads the pending
  files at once. `COPY JOB LIST` lists the jobs (SYS_COPY_JOB's columns), `COPY JOB SHOW`
  one, `COPY JOB DROP` deletes it (its loaded rows stay), `COPY JOB ALTER name AUTO ON|OFF`.
  https://docs.aws.amazon.com/redshift/latest/dg/SYS_COPY_JOB.html
"""

import datetime
import decimal
import io
import json
import re
import threading
import time

from . import redshift_sql

SYSTEM_SCHEMA = "redshift_system"

SYSTEM_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SYSTEM_SCHEMA};
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.load_errors (
    userid integer, slice integer, tbl integer, starttime timestamp, session integer,
    query integer, filename character(256), line_number bigint, colname character(127),
    type character(10), col_length character(10), position integer,
    raw_line character(1024), raw_field_value character(1024), err_code integer,
    err_reason character(100), is_partial integer, start_offset bigint,
    transaction_id bigint, database_name character(64), error_message character(512)
);
CREATE OR REPLACE VIEW {SYSTEM_SCHEMA}.stl_load_errors AS SELECT userid, slice, tbl, starttime,
    session, query, filename, line_number, colname, type, col_length, position, raw_line,
    raw_field_value, err_code, err_reason, is_partial, start_offset
    FROM {SYSTEM_SCHEMA}.load_errors;
CREATE OR REPLACE VIEW {SYSTEM_SCHEMA}.sys_load_error_detail AS SELECT userid AS user_id,
    query::bigint AS query_id, transaction_id, session AS session_id, database_name,
    tbl AS table_id, starttime AS start_time, filename AS file_name, line_number,
    colname AS column_name, type AS column_type, col_length AS column_length, position,
    err_code AS error_code, error_message
    FROM {SYSTEM_SCHEMA}.load_errors;
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.stl_load_commits (
    userid integer, query integer, slice integer, name character(256),
    filename character(256), byte_offset integer, lines_scanned integer, errors integer,
    curtime timestamp, status integer, file_format character(16), is_partial integer,
    start_offset bigint, copy_job_id bigint
);
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.sys_load_history (
    user_id integer, query_id bigint, status character(30), session_id integer,
    database_name character(128), table_name character(136), start_time timestamp,
    end_time timestamp, duration bigint, data_source character(256),
    file_format character(16), loaded_rows bigint, loaded_bytes bigint,
    source_file_count integer, source_file_bytes bigint, file_count_scanned integer,
    file_bytes_scanned bigint, error_count bigint, copy_job_id bigint
);
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.sys_copy_job (
    job_id bigint, job_name character(128), iam_role character(128), job_text character(256),
    is_auto integer, on_error_suspend integer, owner_id integer, database_name character(128),
    copy_query text, table_name text, created_at timestamp
);
CREATE TABLE IF NOT EXISTS {SYSTEM_SCHEMA}.sys_copy_job_detail (
    user_id integer, database_name text, job_id integer, job_name text, file_location text,
    file_name text, file_size bigint, file_etag text, job_text character(256),
    modification_time timestamp, enqueue_time timestamp, status character(1)
);
GRANT USAGE ON SCHEMA {SYSTEM_SCHEMA} TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA {SYSTEM_SCHEMA} TO PUBLIC;
"""


class LoadFailed(Exception):
    """A COPY that failed: its message in Redshift's form (`ERROR: ...`)."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _fit(text, n):
    if text is None:
        return None
    return text if len(text) <= n else text[:n]


def _raw(text, n=1024):
    """Multibyte characters become '.', as STL_LOAD_ERRORS shows raw lines."""
    if text is None:
        return None
    return _fit("".join(c if ord(c) < 128 else "." for c in text), n)


# ---------------------------------------------------------------------------------------------
# The cluster side: what a COPY needs to know about where it runs.


class Context:
    """Where a COPY runs: the cluster (moto's), its engine state, the database, the user."""

    def __init__(self, cluster, state, database, user, query_id, session_pid):
        self.cluster = cluster
        self.state = state
        self.database = database
        self.user = user
        self.query_id = query_id
        self.session_pid = session_pid

    @property
    def account(self):
        return self.cluster.account_id

    @property
    def region(self):
        return self.cluster.region


def ensure_system_tables(state, database):
    """The system tables of `database`, made once per database (as the master user)."""
    key = database
    if key in state.system_ready:
        return
    with state.lock:
        if key in state.system_ready:
            return
        from psycopg import sql

        with state.server.connect(database) as conn:
            conn.execute(SYSTEM_DDL)
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET search_path = \"$user\", public, {}").format(
                    sql.Identifier(database), sql.Identifier(SYSTEM_SCHEMA)
                )
            )
        state.system_ready.add(key)


def _system_insert(state, database, table, rows):
    if not rows:
        return
    columns = list(rows[0].keys())
    from psycopg import sql

    with state.server.connect(database) as conn:
        with conn.cursor().copy(
            sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
                sql.Identifier(SYSTEM_SCHEMA), sql.Identifier(table),
                sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            )
        ) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


# ---------------------------------------------------------------------------------------------
# S3


def _s3(account):
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def split_s3(url):
    found = re.match(r"^s3://([^/]+)/?(.*)$", url or "")
    if not found:
        return None, None
    return found.group(1), found.group(2)


def _bucket(s3, name):
    try:
        return s3.get_bucket(name)
    except Exception:
        raise LoadFailed(f"ERROR: S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket")


def hidden(prefix, key_name):
    """A file Redshift Spectrum (which reads Parquet for COPY) ignores: a name below the
    prefix's folder that begins with '.', '_' or '#', or ends with '~' (Spark's `_SUCCESS`,
    `_temporary/...`).
    https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html"""
    folder = prefix.rfind("/") + 1
    return any(
        part[:1] in (".", "_", "#") or part.endswith("~") for part in key_name[folder:].split("/") if part
    )


def list_prefix(s3, bucket_name, prefix, columnar=False):
    """[(key name, FakeKey)] of every object whose key starts with prefix, by name (without
    the files Spectrum hides, for a columnar COPY)."""
    bucket = _bucket(s3, bucket_name)
    out = []
    for name, key in list(bucket.keys.items()):
        if name.startswith(prefix) and not name.endswith("/") and hasattr(key, "value"):
            if columnar and hidden(prefix, name):
                continue
            out.append((name, key))
    out.sort(key=lambda x: x[0])
    return out


def _object(s3, bucket_name, key_name):
    bucket = _bucket(s3, bucket_name)
    key = bucket.keys.get(key_name)
    if key is None or not hasattr(key, "value"):
        return None
    return key


# ---------------------------------------------------------------------------------------------
# Authorization


def _role(account, role_arn):
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
    for role in iam.roles.values():
        if role.arn == role_arn:
            return iam, role
    return iam, None


def _trusts_redshift(role):
    try:
        document = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for s in statements:
        if not isinstance(s, dict) or s.get("Effect") != "Allow":
            continue
        actions = s.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = s.get("Principal", {})
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if "redshift.amazonaws.com" in services or principal == "*":
            return True
    return False


def role_of(ctx, copy):
    """The COPY's IAM role ARN, checked as Redshift checks it before assuming it."""
    cluster = ctx.cluster
    arn = copy.iam_role
    if arn is None:
        raise LoadFailed("ERROR: IAM_ROLE or CREDENTIALS must be specified for COPY from Amazon S3")
    if arn == "default":
        arn = getattr(cluster, "default_iam_role_arn", None)
        if not arn:
            raise LoadFailed("ERROR: Default IAM role is not set for the cluster")
    dbuser = f"arn:aws:redshift:{ctx.region}:{ctx.account}:dbuser:{cluster.cluster_identifier}/{ctx.user}"
    refused = LoadFailed(f"ERROR: User {dbuser} is not authorized to assume IAM Role {arn}")
    if arn not in (cluster.iam_roles_arn or []):
        raise refused
    iam, role = _role(ctx.account, arn)
    if role is None or not _trusts_redshift(role):
        raise refused
    return arn


def check_s3_access(ctx, role_arn, bucket, prefix, keys):
    """The role's identity policies must allow listing the bucket and reading each object."""
    from . import iam_eval

    iam, role = _role(ctx.account, role_arn)
    policies = iam_eval.Session(ctx.account, "aws", None, role_arn, iam).policies()
    denied = LoadFailed("ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied")
    if prefix is not None:
        decision = iam_eval.evaluate(policies, "s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": prefix})
        if decision != iam_eval.ALLOWED:
            raise denied
    for b, k in keys:
        if iam_eval.evaluate(policies, "s3:GetObject", f"arn:aws:s3:::{b}/{k}") != iam_eval.ALLOWED:
            raise denied


def files_of(ctx, copy, s3):
    """[(bucket, key, FakeKey)] the COPY reads, from its prefix or its manifest."""
    bucket, prefix = split_s3(copy.source)
    if bucket is None:
        raise LoadFailed(f"ERROR: Invalid S3 path: {copy.source}")
    if copy.option("MANIFEST"):
        manifest = _object(s3, bucket, prefix)
        if manifest is None:
            raise LoadFailed(f"ERROR: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey (manifest {copy.source})")
        try:
            entries = json.loads(manifest.value)["entries"]
        except Exception:
            raise LoadFailed(f"ERROR: Manifest file is not in correct json format: {copy.source}")
        out = []
        for entry in entries:
            b, k = split_s3(entry.get("url"))
            key = _object(s3, b, k) if b else None
            if key is None:
                if entry.get("mandatory"):
                    raise LoadFailed(f"ERROR: Load file was not found (mandatory manifest entry {entry.get('url')})")
                continue
            out.append((b, k, key))
        return out, bucket, None
    found = list_prefix(s3, bucket, prefix, columnar=copy.format == "PARQUET")
    if not found:
        raise LoadFailed(f"ERROR: S3ServiceException:The specified S3 prefix '{prefix}' does not exist")
    return [(bucket, k, key) for k, key in found], bucket, prefix


# ---------------------------------------------------------------------------------------------
# The target table


class Column:
    __slots__ = ("name", "type", "kind", "length", "precision", "scale", "not_null", "identity")

    def __init__(self, name, type_text, not_null):
        self.name = name
        self.type = type_text
        self.not_null = not_null
        self.identity = False
        self.length = None
        self.precision = None
        self.scale = None
        t = type_text.lower()
        m = re.match(r"(character varying|character|bit varying|numeric|timestamp|time)\s*\(([\d, ]+)\)", t)
        args = [int(a) for a in m.group(2).split(",")] if m else []
        if t.startswith(("character varying", "character", "text")):
            self.kind = "string"
            if args:
                self.length = args[0]
        elif t in ("smallint", "integer", "bigint"):
            self.kind = "int"
        elif t.startswith("numeric"):
            self.kind = "decimal"
            if args:
                self.precision = args[0]
                self.scale = args[1] if len(args) > 1 else 0
        elif t in ("real", "double precision"):
            self.kind = "float"
        elif t == "boolean":
            self.kind = "bool"
        elif t.startswith("timestamp"):
            self.kind = "timestamptz" if "with time zone" in t else "timestamp"
        elif t == "date":
            self.kind = "date"
        elif t.startswith("time"):
            self.kind = "time"
        elif t in ("jsonb", "json"):
            self.kind = "json"
        else:
            self.kind = "other"

    @property
    def short_type(self):
        t = self.type.lower()
        return {"character varying": "varchar", "character": "char", "bigint": "int8", "integer": "int4",
                "smallint": "int2", "boolean": "bool", "double precision": "float8", "real": "float4"}.get(
            re.sub(r"\(.*", "", t).strip(), re.sub(r"\(.*", "", t).strip())[:10]


def table_columns(conn, table):
    """[Column] of `table` in order, and its OID. An unknown table is Redshift's error."""
    try:
        oid = conn.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
    except Exception as e:
        name = table.split(".")[-1].strip('"')
        raise LoadFailed(f'ERROR: relation "{name}" does not exist') from e
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull, attidentity <> '' FROM pg_attribute "
        "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (oid,),
    ).fetchall()
    columns = []
    for r in rows:
        column = Column(r[0], r[1], r[2])
        column.identity = r[3]
        columns.append(column)
    return columns, oid


def target_columns(conn, copy):
    """The columns a COPY fills: its column list, else the table's, without IDENTITY columns
    (generated) unless EXPLICIT_IDS.
    https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html"""
    columns, oid = table_columns(conn, copy.table)
    if not copy.option("EXPLICIT_IDS"):
        columns = [c for c in columns if not c.identity or (copy.columns and c.name in copy.columns)]
    if copy.columns:
        by_name = {c.name: c for c in columns}
        chosen = []
        for name in copy.columns:
            if name not in by_name:
                raise LoadFailed(f'ERROR: column "{name}" of relation "{copy.table_name}" does not exist')
            chosen.append(by_name[name])
        return chosen, oid
    return columns, oid


def _copy_sql(copy, columns, csv=False):
    from psycopg import sql

    cols = sql.SQL(", ").join(sql.Identifier(c.name) for c in columns)
    fmt = sql.SQL(" WITH (FORMAT csv)") if csv else sql.SQL("")
    return sql.SQL("COPY {} ({}) FROM STDIN{}").format(sql.SQL(copy.table), cols, fmt)


# ---------------------------------------------------------------------------------------------
# Parquet

_PARQUET_OPTIONS = {"ACCEPTINVCHARS", "FILLRECORD", "MANIFEST", "EXPLICIT_IDS", "STATUPDATE",
                    "COMPUPDATE", "REGION", "CREDENTIALS"}


def _parquet_compatible(arrow_type, column):
    import pyarrow.types as t

    k = column.kind
    if k in ("string", "other", "json"):
        return t.is_string(arrow_type) or t.is_large_string(arrow_type) or t.is_dictionary(arrow_type)
    if k == "int":
        return t.is_integer(arrow_type)
    if k == "decimal":
        return t.is_decimal(arrow_type) or t.is_integer(arrow_type)
    if k == "float":
        return t.is_floating(arrow_type) or t.is_integer(arrow_type) or t.is_decimal(arrow_type)
    if k == "bool":
        return t.is_boolean(arrow_type)
    if k in ("timestamp", "timestamptz"):
        return t.is_timestamp(arrow_type) or t.is_date(arrow_type)
    if k == "date":
        return t.is_date(arrow_type) or t.is_timestamp(arrow_type)
    return True


def load_parquet(ctx, conn, copy, columns, files):
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    tables = []
    for bucket, key, obj in files:
        url = f"https://s3.{ctx.region}.amazonaws.com/{bucket}/{key}"
        try:
            table = pq.read_table(pa.BufferReader(obj.value))
        except Exception as e:
            raise LoadFailed(f"ERROR: Spectrum Scan Error. File '{url}' has an invalid version number or is not a Parquet file ({e})")
        if table.num_columns != len(columns):
            raise LoadFailed(
                "ERROR: Spectrum Scan Error. Unmatched number of columns between table and file. "
                f"Table columns: {len(columns)}, Data columns: {table.num_columns}, File name: {url}"
            )
        arrays = []
        for column, field, data in zip(columns, table.schema, table.columns):
            if not _parquet_compatible(field.type, column):
                raise LoadFailed(
                    f"ERROR: Spectrum Scan Error. File '{url}' has an incompatible Parquet schema for column "
                    f"'s3://{bucket}/{key}.{field.name}'. Column type: {column.type.upper()}, Parquet schema:\n"
                    f"optional {field.type} {field.name}"
                )
            if pa.types.is_dictionary(field.type):
                data = data.cast(field.type.value_type)
            if column.kind == "string" and column.length is not None and len(data):
                lengths = pc.binary_length(data)
                longest = pc.max(lengths).as_py()
                if longest is not None and longest > column.length:
                    raise LoadFailed(
                        "ERROR: Spectrum Scan Error. The length of the data column "
                        f"{column.name} is longer than the length defined in the table. "
                        f"Table: {column.length}, Data: {longest}, File name: {url}"
                    )
            arrays.append(data)
        tables.append((pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))]), key))
    loaded = 0
    per_file = []
    with conn.cursor().copy(_copy_sql(copy, columns, csv=True)) as cp:
        for table, key in tables:
            buffer = io.BytesIO()
            pcsv.write_csv(table, buffer, pcsv.WriteOptions(include_header=False, batch_size=65536))
            cp.write(buffer.getbuffer())
            loaded += table.num_rows
            per_file.append((key, table.num_rows))
    return loaded, per_file, []


# ---------------------------------------------------------------------------------------------
# JSON

_FMT_TOKENS = [
    ("YYYY", r"(?P<Y>\d{4})"), ("YY", r"(?P<y>\d{2})"), ("MONTH", r"(?P<B>[A-Za-z]+)"),
    ("MON", r"(?P<b>[A-Za-z]{3})"), ("MM", r"(?P<m>\d{1,2})"), ("DD", r"(?P<d>\d{1,2})"),
    ("HH24", r"(?P<H>\d{1,2})"), ("HH12", r"(?P<I>\d{1,2})"), ("HH", r"(?P<H>\d{1,2})"),
    ("MI", r"(?P<M>\d{1,2})"), ("SS", r"(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?"),
    ("AM", r"(?P<p>[AaPp][Mm])"), ("PM", r"(?P<p>[AaPp][Mm])"),
]
_patterns = {}


def _pattern(fmt):
    compiled = _patterns.get(fmt)
    if compiled is None:
        out, i = [], 0
        while i < len(fmt):
            for token, regex in _FMT_TOKENS:
                if fmt.startswith(token, i):
                    out.append(regex)
                    i += len(token)
                    break
            else:
                out.append(re.escape(fmt[i]))
                i += 1
        compiled = _patterns[fmt] = re.compile("^" + "".join(out) + "$")
    return compiled


def parse_time(value, fmt, date_only=False):
    """A JSON value as a datetime per TIMEFORMAT/DATEFORMAT; ValueError when it is not one."""
    fmt = fmt or "auto"
    if isinstance(value, bool):
        raise ValueError(value)
    upper = fmt.upper() if isinstance(fmt, str) else fmt
    if upper in ("EPOCHSECS", "EPOCHMILLISECS"):
        number = float(value)
        if upper == "EPOCHMILLISECS":
            number /= 1000
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=number)
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    if upper == "AUTO":
        candidate = text.replace("/", "-")
        try:
            moment = datetime.datetime.fromisoformat(candidate)
        except ValueError:
            moment = None
            for pattern in ("%m-%d-%Y %H:%M:%S", "%m-%d-%Y", "%d-%b-%Y", "%Y%m%d", "%Y%m%d %H:%M:%S"):
                try:
                    moment = datetime.datetime.strptime(candidate, pattern)
                    break
                except ValueError:
                    continue
            if moment is None:
                raise
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return moment
    m = _pattern(fmt).match(text)
    if not m:
        raise ValueError(value)
    g = m.groupdict()
    year = int(g["Y"]) if g.get("Y") else (2000 + int(g["y"]) if g.get("y") else 1900)
    if g.get("m"):
        month = int(g["m"])
    elif g.get("b") or g.get("B"):
        month = datetime.datetime.strptime((g.get("b") or g.get("B"))[:3].title(), "%b").month
    else:
        month = 1
    day = int(g["d"]) if g.get("d") else 1
    hour = int(g["H"]) if g.get("H") else int(g["I"]) % 12 if g.get("I") else 0
    if g.get("p") and g["p"].upper() == "PM" and g.get("I"):
        hour += 12
    fraction = int((g.get("f") or "0").ljust(6, "0"))
    return datetime.datetime(year, month, day, hour, int(g.get("M") or 0), int(g.get("S") or 0), fraction)


class RowError(Exception):
    def __init__(self, code, reason, column=None, raw=None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.column = column
        self.raw = raw


def _text_of(value):
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _truncate_bytes(text, n):
    data = text.encode("utf-8")[:n]
    return data.decode("utf-8", errors="ignore")


def convert(value, column, copy):
    """A JSON value as the text PostgreSQL's COPY reads for `column`; RowError when Redshift
    would refuse it."""
    if value is None:
        if column.not_null:
            raise RowError(1213, "Missing data for not-null field", column, "")
        return None
    k = column.kind
    raw = _text_of(value)
    if k == "string":
        if column.length is not None and len(raw.encode("utf-8")) > column.length:
            if copy.option("TRUNCATECOLUMNS"):
                return _truncate_bytes(raw, column.length)
            raise RowError(1204, "String length exceeds DDL length", column, raw)
        return raw
    if k == "int":
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value) if isinstance(value, int) else int(str(value).strip())
        except (ValueError, TypeError):
            raise RowError(1207, f"Invalid digit, Value '{raw[:1]}', Pos 0, Type: Long", column, raw)
        limit = {"smallint": 2**15, "integer": 2**31}.get(column.type, 2**63)
        if not -limit <= number < limit:
            raise RowError(1207, f"Overflow for {column.short_type}, Value '{raw}'", column, raw)
        return str(number)
    if k == "decimal":
        try:
            if isinstance(value, bool):
                raise decimal.InvalidOperation
            number = decimal.Decimal(raw.strip())
            if not number.is_finite():
                raise decimal.InvalidOperation
        except decimal.InvalidOperation:
            raise RowError(1207, f"Invalid digit, Value '{raw[:1]}', Pos 0, Type: Decimal", column, raw)
        if column.scale is not None:
            rounding = decimal.ROUND_HALF_UP if copy.option("ROUNDEC") else decimal.ROUND_DOWN
            number = number.quantize(decimal.Decimal(1).scaleb(-column.scale), rounding=rounding)
            if column.precision is not None and len(number.as_tuple().digits) > column.precision and number != 0:
                raise RowError(1207, f"Numeric data overflow (result precision), Value '{raw}'", column, raw)
        return str(number)
    if k == "float":
        try:
            if isinstance(value, bool):
                raise ValueError
            return repr(float(value))
        except (ValueError, TypeError):
            raise RowError(1207, f"Invalid digit, Value '{raw[:1]}', Pos 0, Type: Double", column, raw)
    if k == "bool":
        if isinstance(value, bool):
            return "true" if value else "false"
        text = raw.strip().lower()
        if text in ("t", "true", "1", "y", "yes", "on"):
            return "true"
        if text in ("f", "false", "0", "n", "no", "off"):
            return "false"
        raise RowError(1210, f"Invalid input syntax for type boolean: \"{raw}\"", column, raw)
    if k in ("timestamp", "timestamptz", "time"):
        fmt = copy.option("TIMEFORMAT") or "auto"
        try:
            return parse_time(value, fmt).isoformat(sep=" ")
        except (ValueError, TypeError, OverflowError):
            shown = "YYYY-MM-DD HH24:MI:SS" if fmt.lower() == "auto" else fmt
            raise RowError(1206, f"Invalid timestamp format or value [{shown}]", column, raw)
    if k == "date":
        fmt = copy.option("DATEFORMAT") or "auto"
        try:
            return parse_time(value, fmt).date().isoformat()
        except (ValueError, TypeError, OverflowError):
            shown = "YYYY-MM-DD" if fmt.lower() == "auto" else fmt
            raise RowError(1205, f"Invalid Date Format - length must be 10 or more [{shown}]", column, raw)
    if k == "json":
        return json.dumps(value, ensure_ascii=False)
    return raw


_PATH_PART = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*(\d+)\s*\]""")


def parse_jsonpath(expression):
    """`$.a['b'][0]` -> ['a', 'b', 0]; ValueError for anything else."""
    expression = expression.strip()
    if not expression.startswith("$"):
        raise ValueError(expression)
    parts, i = [], 1
    while i < len(expression):
        m = _PATH_PART.match(expression, i)
        if not m:
            raise ValueError(expression)
        if m.group(1) is not None:
            parts.append(m.group(1))
        elif m.group(2) is not None:
            parts.append(m.group(2))
        elif m.group(3) is not None:
            parts.append(m.group(3))
        else:
            parts.append(int(m.group(4)))
        i = m.end()
    return parts


def _follow(document, path):
    value = document
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return None
            value = value[part]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
    return value


def json_mapping(ctx, copy, columns, s3):
    """How each column takes its value from an object: a function per column."""
    arg = (copy.format_arg or "auto").strip()
    if arg.lower() == "auto":
        return [lambda d, n=c.name: d.get(n) if isinstance(d, dict) else None for c in columns]
    if arg.lower() == "auto ignorecase":
        def getter(name):
            def get(d):
                if not isinstance(d, dict):
                    return None
                if name in d:
                    return d[name]
                for k, v in d.items():
                    if k.lower() == name:
                        return v
                return None
            return get
        return [getter(c.name) for c in columns]
    bucket, key = split_s3(arg)
    obj = _object(s3, bucket, key) if bucket else None
    if obj is None:
        raise LoadFailed(f"ERROR: S3ServiceException:The specified key does not exist.,Status 404,Error NoSuchKey,JSONPaths file {arg}")
    try:
        paths = json.loads(obj.value)["jsonpaths"]
        parsed = [parse_jsonpath(p) for p in paths]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise LoadFailed(f"ERROR: Invalid JSONPath format. JSONPaths file: {arg}")
    if len(parsed) != len(columns):
        raise LoadFailed(
            "ERROR: Number of jsonpaths and the number of columns should match. "
            f"JSONPath size: {len(parsed)}, Number of columns in table or column list: {len(columns)}"
        )
    return [lambda d, p=p: _follow(d, p) for p in parsed]


def _json_documents(text):
    """(document or JSONDecodeError, last line number, raw text) for each JSON value."""
    decoder = json.JSONDecoder()
    i, n = 0, len(text)
    line = 1
    while True:
        while i < n and text[i].isspace():
            if text[i] == "\n":
                line += 1
            i += 1
        if i >= n:
            return
        try:
            document, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield e, line, text[i:end]
            i = end
            continue
        raw = text[i:end]
        line += raw.count("\n")
        yield document, line, raw
        i = end


def load_json(ctx, conn, copy, columns, files, s3, oid):
    getters = json_mapping(ctx, copy, columns, s3)
    max_errors = int(copy.option("MAXERROR") or 0)
    rows, errors, per_file = [], [], []
    for bucket, key, obj in files:
        data = obj.value
        if key.endswith(".gz") or copy.option("GZIP"):
            import gzip

            data = gzip.decompress(data)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
        count = 0
        for document, line, raw in _json_documents(text):
            if isinstance(document, Exception) or not isinstance(document, dict):
                errors.append(_error(ctx, oid, bucket, key, line, None, raw, None, 1224,
                                     "Invalid JSON object or array, or the input data is malformed JSON"))
                continue
            try:
                row = [convert(get(document), column, copy) for get, column in zip(getters, columns)]
            except RowError as e:
                errors.append(_error(ctx, oid, bucket, key, line, e.column, raw, e.raw, e.code, e.reason))
                continue
            rows.append(row)
            count += 1
        per_file.append((key, count))
    if len(errors) > max_errors:
        raise LoadFailed(f"ERROR: Load into table '{copy.table_name}' failed. Check 'sys_load_error_detail' system table for details.", errors)
    with conn.cursor().copy(_copy_sql(copy, columns)) as cp:
        for row in rows:
            cp.write_row(row)
    return len(rows), per_file, errors


def _error(ctx, oid, bucket, key, line, column, raw_line, raw_value, code, reason):
    return {
        "userid": ctx.state.user_ids.get(ctx.user, 100),
        "slice": 0,
        "tbl": oid,
        "starttime": ctx.start,
        "session": ctx.session_pid,
        "query": ctx.query_id,
        "filename": _fit(f"s3://{bucket}/{key}", 256),
        "line_number": line,
        "colname": _fit(column.name if column else "", 127),
        "type": _fit(column.short_type if column else "", 10),
        "col_length": _fit(str(column.length if column and column.length is not None else (f"{column.precision},{column.scale}" if column and column.precision else "")), 10),
        "position": 0,
        "raw_line": _raw(raw_line),
        "raw_field_value": _raw(raw_value),
        "err_code": code,
        "err_reason": _fit(reason, 100),
        "is_partial": 0,
        "start_offset": 0,
        "transaction_id": ctx.query_id,
        "database_name": _fit(ctx.database, 64),
        "error_message": _fit(reason, 512),
    }


# ---------------------------------------------------------------------------------------------
# One COPY


def check_options(copy):
    """What Redshift refuses about the options before reading anything."""
    if copy.format == "PARQUET":
        for name in copy.options:
            if name not in _PARQUET_OPTIONS:
                raise LoadFailed(f"ERROR: {name} argument is not supported for PARQUET based COPY")
    elif copy.format != "JSON":
        raise LoadFailed(f"ERROR: the emulator runs COPY from PARQUET and JSON only, not {copy.format}")
    if copy.option("MAXERROR") is not None:
        try:
            int(copy.option("MAXERROR"))
        except ValueError:
            raise LoadFailed(f"ERROR: syntax error at or near \"{copy.option('MAXERROR')}\"")


def run_copy(ctx, conn, copy, files=None, job=None):
    """Runs one COPY on `conn` (the statement's connection, in its transaction): the number of
    rows loaded. `files` ([(bucket, key, FakeKey)]) is given by a COPY JOB, else the COPY's
    own source is listed. Raises LoadFailed."""
    ctx.start = _now()
    started = time.time()
    check_options(copy)
    ensure_system_tables(ctx.state, ctx.database)
    s3 = _s3(ctx.account)
    role = role_of(ctx, copy)
    if files is None:
        files, bucket, prefix = files_of(ctx, copy, s3)
    else:
        bucket, prefix = split_s3(copy.source)
        prefix = prefix if not copy.option("MANIFEST") else None
    check_s3_access(ctx, role, bucket, prefix, [(b, k) for b, k, _ in files])
    columns, oid = target_columns(conn, copy)
    errors = []
    try:
        if copy.format == "PARQUET":
            loaded, per_file, errors = load_parquet(ctx, conn, copy, columns, files)
        else:
            loaded, per_file, errors = load_json(ctx, conn, copy, columns, files, s3, oid)
    except LoadFailed as e:
        if len(e.args) > 1:
            _system_insert(ctx.state, ctx.database, "load_errors", e.args[1])
        _history(ctx, copy, "aborted", started, 0, files, len(e.args[1]) if len(e.args) > 1 else 1, job)
        raise LoadFailed(e.args[0])
    except Exception as e:
        _history(ctx, copy, "aborted", started, 0, files, 1, job)
        raise
    _system_insert(ctx.state, ctx.database, "load_errors", errors)
    now = _now()
    userid = ctx.state.user_ids.get(ctx.user, 100)
    _system_insert(ctx.state, ctx.database, "stl_load_commits", [
        {"userid": userid, "query": ctx.query_id, "slice": 0, "name": _fit(f"s3://{bucket}/{key}", 256),
         "filename": _fit(f"s3://{bucket}/{key}", 256), "byte_offset": 0, "lines_scanned": rows,
         "errors": -1, "curtime": now, "status": 1, "file_format": copy.format.title(), "is_partial": 0,
         "start_offset": 0, "copy_job_id": job.id if job else None}
        for key, rows in per_file
    ])
    _history(ctx, copy, "completed", started, loaded, files, len(errors), job)
    return loaded


def _history(ctx, copy, status, started, loaded, files, errors, job):
    end = _now()
    _system_insert(ctx.state, ctx.database, "sys_load_history", [{
        "user_id": ctx.state.user_ids.get(ctx.user, 100), "query_id": ctx.query_id, "status": status,
        "session_id": ctx.session_pid, "database_name": _fit(ctx.database, 128),
        "table_name": _fit(copy.table_name, 136), "start_time": ctx.start, "end_time": end,
        "duration": int((time.time() - started) * 1_000_000), "data_source": _fit(copy.source, 256),
        "file_format": copy.format.title(), "loaded_rows": loaded,
        "loaded_bytes": sum(len(o.value) for _, _, o in files) if status == "completed" else 0,
        "source_file_count": len(files), "source_file_bytes": sum(o.size for _, _, o in files),
        "file_count_scanned": len(files), "file_bytes_scanned": sum(o.size for _, _, o in files),
        "error_count": errors, "copy_job_id": job.id if job else None,
    }])


# ---------------------------------------------------------------------------------------------
# COPY JOB


class Job:
    def __init__(self, id, name, database, owner, copy, auto, created):
        self.id = id
        self.name = name
        self.database = database
        self.owner = owner
        self.copy = copy  # a redshift_sql.Copy
        self.auto = auto
        self.created = created
        self.seen = {}  # key -> status 'I' | 'E' | 'S' (existed at creation, never loaded)
        self.lock = threading.Lock()
        self.timer_lock = threading.Lock()
        self.timer = None
        bucket, prefix = split_s3(copy.source)
        self.bucket = bucket
        self.prefix = prefix or ""


def check_job_copy(copy):
    """The COPY of a COPY JOB CREATE: what r_COPY-JOB refuses."""
    for name in ("MAXERROR", "IGNOREALLERRORS"):
        if copy.option(name) is not None:
            raise LoadFailed(f"ERROR: COPY JOB does not support the {name} option")
    if copy.option("MANIFEST"):
        raise LoadFailed("ERROR: COPY JOB does not support the MANIFEST option")
    if copy.option("CREDENTIALS") or copy.option("ACCESS_KEY_ID"):
        raise LoadFailed("ERROR: COPY JOB supports only IAM_ROLE authorization")
    if copy.iam_role is None or copy.iam_role == "default":
        raise LoadFailed("ERROR: COPY JOB requires an explicit IAM_ROLE (the cluster's default IAM role is not supported)")
    bucket, _ = split_s3(copy.source)
    if bucket is None:
        raise LoadFailed(f"ERROR: Invalid S3 path: {copy.source}")
    check_options(copy)


def job_row(job):
    return {
        "job_id": job.id, "job_name": _fit(job.name, 128), "iam_role": _fit(job.copy.iam_role, 128),
        "job_text": _fit(job.copy.text, 256), "is_auto": 1 if job.auto else 0, "on_error_suspend": 0,
        "owner_id": 100, "database_name": _fit(job.database, 128), "copy_query": job.copy.text,
        "table_name": job.copy.table_name, "created_at": job.created,
    }


def pending_files(job, s3, retry_errors):
    out = []
    for key_name, key in list_prefix(s3, job.bucket, job.prefix, columnar=job.copy.format == "PARQUET"):
        status = job.seen.get(key_name)
        if status is None or (retry_errors and status == "E"):
            out.append((job.bucket, key_name, key))
    return out
