"""Athena: queries that run, over the lake's objects as the Glue catalog describes them, and a
workgroup control plane an infra tool can converge.

moto 5.2.1 runs no query: StartQueryExecution records the string, GetQueryExecution walks the
state to SUCCEEDED on successive calls, and GetQueryResults answers zero rows (or rows queued by
hand through moto's API). Here a query runs with DuckDB, in a worker thread, over the Parquet
(or JSON lines, or delimited text) objects of the Glue tables it names, read from moto's S3
backend in-process; its result is written to the output location as Athena writes it. moto
also lacks UpdateWorkGroup and answers several workgroup calls unlike Athena; those are
replaced. Each rule below names the page it follows, and the function that makes it carries
the same page.

Query executions
----------------
- StartQueryExecution checks what Athena checks before it queues a query, and answers
  InvalidRequestException (AthenaErrorCode in the body) for: an unknown workgroup ("WorkGroup
  <name> is not found."), a disabled one ("WorkGroup <name> is disabled."), no output location
  ("No output location provided. An output location is required either through the Workgroup
  result configuration setting or as an API input."), an output bucket that does not exist
  ("Unable to verify/create output bucket <bucket>"), and a statement that does not parse
  ("line L:C: mismatched input '<token>'. ..." with AthenaErrorCode MALFORMED_QUERY: Athena
  refuses a syntax error at StartQueryExecution; it never becomes a FAILED query).
  https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html
  (syntax errors answered by StartQueryExecution, as users report them:
  https://github.com/awslabs/aws-well-architected-labs/issues/502 )
- The output location: the workgroup's when its configuration has
  EnforceWorkGroupConfiguration true (client-side settings overridden), else the request's,
  else the workgroup's; the same for the encryption configuration, expected bucket owner and
  ACL option. Results are written to `<location>/<QueryExecutionId>.csv`, reported as
  ResultConfiguration.OutputLocation, plus `<QueryExecutionId>.csv.metadata`. A workgroup
  with managed query results enabled and no location keeps the results itself.
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html
  https://docs.aws.amazon.com/athena/latest/ug/query-results-specify-location.html
  https://docs.aws.amazon.com/athena/latest/ug/querying-finding-output-files.html
- States: QUEUED when accepted, RUNNING in the worker, then SUCCEEDED, FAILED (with
  StateChangeReason and AthenaError) or CANCELLED (StopQueryExecution while queued or running:
  "Query cancelled by user"; stopping a finished query changes nothing). A query whose data
  scanned exceeds the workgroup's BytesScannedCutoffPerQuery is CANCELLED ("Bytes scanned
  limit was exceeded"). Statistics report the measured times and the bytes of the Parquet
  column chunks (or whole text objects) read.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatus.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_QueryExecutionStatistics.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_StopQueryExecution.html
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html
- A query Athena would refuse after accepting it FAILS, with Athena's error name and position
  and AthenaError {ErrorCategory 2 (user), ErrorType, Retryable false}:
  "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.db.t' does not exist" (1301),
  "SCHEMA_NOT_FOUND: line 1:15: Schema 'db' does not exist" (1301),
  "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved or requester is not authorized
  to access requested resources" (1006), "FUNCTION_NOT_FOUND: line 1:8: Function 'f' not
  registered" (1303); what the engine refuses otherwise is reported with DuckDB's own words
  under the nearest Athena name.
  https://docs.aws.amazon.com/athena/latest/ug/error-reference.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_AthenaError.html
- GetQueryResults: the first row of the first page is the header (the column labels), as
  Athena does for SELECT; values are strings as Athena prints them (NULL has no VarCharValue;
  timestamp `2010-12-01 08:26:00.000`, double in Java's notation, decimal with its scale,
  boolean `true`); ColumnInfo has Athena's type names (varchar, bigint, integer, double,
  decimal, timestamp, date, boolean, ...) with Precision/Scale, CatalogName `hive`. MaxResults
  1..1000 (the header row counts in the first page), NextToken. A query not SUCCEEDED answers
  "Query has not yet finished. Current state: RUNNING" or "Query did not finish successfully.
  Final query state: FAILED".
  https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ColumnInfo.html
  https://docs.aws.amazon.com/athena/latest/ug/data-types.html
- The result CSV: a header row, every value in double quotes (quotes doubled), NULL as an
  empty unquoted field, lines ending in `\\n`. AWS does not document the bytes; this is the
  format observed on Athena: https://pyathena.dev/master/null_handling.html
  The `.csv.metadata` object is binary (AWS: "not human readable"); here a protobuf with the
  query id and one message per column, in the field numbers Athena's JDBC drivers read
  (https://github.com/burtcorp/athena-jdbc/blob/master/src/main/java/io/burt/athena/result/AthenaMetaDataParser.java).
  The objects get the effective encryption: SSE_S3 as AES256, SSE_KMS as aws:kms with the key
  (CSE_KMS is stored unencrypted: no client-side crypto here).
  https://docs.aws.amazon.com/athena/latest/ug/encrypting-query-results-stored-in-s3.html
- ListQueryExecutions lists the given workgroup's (the primary one's when none is given),
  newest first, MaxResults up to 50. BatchGetQueryExecution answers known ids and lists the
  others as unprocessed. A ClientRequestToken seen before returns the same query.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ListQueryExecutions.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_BatchGetQueryExecution.html

Reading the tables
------------------
At query time each table's StorageDescriptor (Location, columns, SerDe) and partition keys
are read from moto's Glue backend (names matched case-insensitively, as Athena lower-cases
them), and its objects from moto's S3 backend. Every object under the location (or under each
partition's location) is read, whatever the depth; names starting with `_` or `.` are hidden.
Parquet columns are matched by name, case-insensitively, cast to the table's types (a missing
column reads NULL; an incompatible one fails HIVE_BAD_DATA). Partition columns are columns of
the table, typed as the partition keys declare.
https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html
https://docs.aws.amazon.com/athena/latest/ug/other-notable-limitations.html
https://docs.aws.amazon.com/athena/latest/ug/parquet-serde.html
Partitions come from the Glue partitions registered for the table, or, when the table's
`projection.enabled` is true, from partition projection, which ignores registered partitions:
- `projection.<col>.type` enum (`.values`), integer (`.range`, `.interval`, `.digits`), date
  (`.range` with dates in `.format` or `NOW[+-N UNIT]`, `.format` a Java DateTimeFormatter
  pattern, `.interval` and `.interval.unit`, defaulting to 1 DAYS or 1 MONTHS for day- or
  month-precision formats; generated in UTC at query time), injected (values from the WHERE
  clause's equality conditions, else CONSTRAINT_VIOLATION).
- `storage.location.template` with `${col}` placeholders, else `<location>/col=value/`.
- A partition column without projection configuration fails HIVE_METASTORE_ERROR.
- Values outside the range are never read; a projected partition without objects is empty.
- The WHERE clause's conditions on partition columns (=, IN, <, <=, >, >=, BETWEEN with
  literals, AND-ed) prune the partitions read, as Athena prunes them.
https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
https://docs.aws.amazon.com/athena/latest/ug/partition-projection-setting-up.html
https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html

The SQL
-------
Queries are Athena engine version 3 (Trino) SQL, parsed with sqlglot (`read="trino"`),
checked against the catalog, and written for DuckDB (`write="duckdb"`), with table references
(`db.t`, `"db"."t"`, `awsdatacatalog.db.t`, or `t` in the context database) bound to the data
read. `TRANSLATION_NOTES` below lists where the dialects differ and what is done about it.
Only queries (SELECT, WITH, VALUES) run; other statements fail NOT_SUPPORTED.

Workgroups (moto's answers replaced where they differ from the API reference)
----------------------------------------------------------------------------
- CreateWorkGroup: name `[a-zA-Z0-9._-]{1,128}`; the creation time is kept (moto answered the
  time of each call); EngineVersion AUTO runs "Athena engine version 3".
- GetWorkGroup / UpdateWorkGroup / DeleteWorkGroup of an unknown workgroup:
  InvalidRequestException "WorkGroup <name> is not found." (moto answered an empty body).
- UpdateWorkGroup (moto: HTTP 500): Description, State, and ConfigurationUpdates, each field
  changed only when given: EnforceWorkGroupConfiguration, ResultConfigurationUpdates
  (OutputLocation, EncryptionConfiguration, ExpectedBucketOwner, AclConfiguration, each with
  its Remove... flag), PublishCloudWatchMetricsEnabled, BytesScannedCutoffPerQuery (and
  RemoveBytesScannedCutoffPerQuery), RequesterPaysEnabled, EngineVersion, and the others.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_UpdateWorkGroup.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfigurationUpdates.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ResultConfigurationUpdates.html
- DeleteWorkGroup: the primary workgroup cannot be deleted; a workgroup holding query
  executions or named queries is refused ("WorkGroup <name> is not empty") unless
  RecursiveDeleteOption is true, which deletes them with it; its tags go with it.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_DeleteWorkGroup.html
  https://docs.aws.amazon.com/athena/latest/ug/workgroups-create-update-delete.html
  (the refusal as CloudFormation users met it:
  https://github.com/aws-samples/coast-grafana-cost-intelligence-dashboards/issues/9 )
- ListWorkGroups: each summary with its EngineVersion and creation time; MaxResults 1..50
  and NextToken.
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ListWorkGroups.html
- TagResource / UntagResource / ListTagsForResource on a workgroup (or data catalog) ARN:
  an ARN naming nothing is ResourceNotFoundException; a resource without tags lists `[]`
  (moto refused it).
  https://docs.aws.amazon.com/athena/latest/APIReference/API_TagResource.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_UntagResource.html
  https://docs.aws.amazon.com/athena/latest/APIReference/API_ListTagsForResource.html
"""

import base64
import calendar
import concurrent.futures
import copy
import datetime as dt
import decimal
import io
import itertools
import json
import math
import re
import struct
import threading
import time
import uuid

ENGINE = "Athena engine version 3"
CATALOG = "awsdatacatalog"
NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the "
    "Workgroup result configuration setting or as an API input."
)
WORKGROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")

# Where Trino (Athena engine 3) and DuckDB differ, for the SQL an analyst writes, and what the
# emulator does about each (sqlglot handles the rest: function names, INTERVAL arithmetic,
# date_add, date_format's MySQL specifiers, regexp_like, split, element_at, approx_percentile,
# arbitrary, max_by/min_by, if, try_cast, UNNEST, window functions, OFFSET/FETCH).
TRANSLATION_NOTES = """
- Integer division: Trino's `7 / 2` is 3 (integer operands give an integer of their type,
  truncated toward zero); DuckDB's `/` is floating. The DuckDB session runs with
  `integer_division` on, which gives `/` Trino's semantics for integer operands and leaves
  it floating (or decimal) otherwise; sqlglot's own rewrite (a cast to BIGINT) is not used, so
  integer / integer stays integer. https://trino.io/docs/current/functions/math.html
  https://duckdb.org/docs/stable/sql/dialect/postgresql_compatibility.html
- Decimal literals: Athena reads `1.5` as a double (a decimal literal is written
  `DECIMAL '1.5'`); DuckDB reads it as DECIMAL(2,1). Bare decimal literals become DOUBLE.
  https://docs.aws.amazon.com/athena/latest/ug/data-types.html
- date_trunc(unit, x) returns x's type in Trino (a date stays a date); DuckDB returns a
  timestamp for a date. With x typed, the result is cast back to DATE.
- date_diff(unit, a, b) counts whole units between a and b in Trino (23:00 to 01:00 the next
  day is 0 days); DuckDB's date_diff counts boundaries crossed (1). It becomes DuckDB's
  date_sub, which counts whole units. https://trino.io/docs/current/functions/datetime.html
- format_datetime / parse_datetime take Joda-Time patterns (`yyyy-MM-dd HH:mm:ss`);
  DuckDB's strftime/strptime take C specifiers. The pattern is converted (y M d H h m s S a
  E D Z z, quoted literals). date_format / date_parse (MySQL specifiers) sqlglot converts.
- extract(DOW ...) / dow / day_of_week are ISO (Monday 1 .. Sunday 7) in Trino; DuckDB's
  dayofweek is Sunday 0 .. Saturday 6: they become isodow. doy, yow, year_of_week,
  week_of_year, day_of_month, last_day_of_month are renamed to DuckDB's.
- CAST(x AS decimal(p,s)), CAST(x AS integer) and round() round half away from zero in both:
  no change. avg(decimal(p,s)) is decimal(p,s) in Trino and DOUBLE in DuckDB: the average is
  cast back to decimal(p,s). sum(bigint) is bigint in Trino and HUGEINT in DuckDB: reported
  as bigint.
- approx_distinct(x) becomes approx_count_distinct(x): both HyperLogLog estimates (Trino's
  standard error 2.3%), so the two engines' estimates can differ by a few percent; use
  count(DISTINCT x) for exact figures (the same in both). approx_distinct's accuracy argument
  is dropped.
- count(DISTINCT x), count(*), count_if, sum/avg/min/max, stddev, variance: same semantics.
- Timestamps: Athena's Hive tables read timestamp(3) and print `yyyy-MM-dd HH:mm:ss.SSS`;
  DuckDB keeps microseconds. Results are printed to the millisecond.
- Output column names: Athena labels an unnamed expression `_col<position>` and keeps an
  alias or column name as written in the query (SELECT * gives the table's lower-case
  names); DuckDB would name them after the expression. Labels are taken from the query.
  https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html
- Identifiers are case-insensitive in Athena, quoted or not (Glue lower-cases names);
  sqlglot normalises them for Trino.
- Division by zero fails DIVISION_BY_ZERO in Trino; DuckDB answers NULL (integers) or
  Infinity/NaN (floating). Not emulated.
- `||` and concat on non-varchar operands fail in Trino; DuckDB casts them. Not emulated
  (DuckDB is more lenient, never stricter, here).
"""

_LOCK = threading.RLock()
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="athena-query")


# ---------------------------------------------------------------------------------------------
# Errors


def _request_error(message, athena_code=None, error_type="InvalidRequestException"):
    """The error an Athena call answers (HTTP 400), with AthenaErrorCode when Athena sends one."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(error_type, message)
    body = {"__type": error_type, "Message": message}
    if athena_code:
        body["AthenaErrorCode"] = athena_code
    error.description = json.dumps(body)
    error.code = 400
    return error


class QueryFailed(Exception):
    """A query Athena accepted and then failed: its StateChangeReason and AthenaError."""

    def __init__(self, name, message, error_type, position=None, category=2, retryable=False):
        where = f"line {position[0]}:{position[1]}: " if position else ""
        self.reason = f"{name}: {where}{message}"
        self.error = {
            "ErrorCategory": category,
            "ErrorType": error_type,
            "Retryable": retryable,
            "ErrorMessage": self.reason,
        }
        super().__init__(self.reason)


class QueryCancelled(Exception):
    def __init__(self, reason):
        self.reason = reason
        super().__init__(reason)


def _position(sql, node=None, name=None):
    """Line and column (1-based) of `node` in the query text, else of the first occurrence of
    `name` as a word, else None. Trino counts positions this way in its messages."""
    from sqlglot import exp

    start = None
    if node is not None:
        for candidate in [*(node.parts if isinstance(node, (exp.Column, exp.Table)) else []), node]:
            meta = getattr(candidate, "meta", None) or {}
            if "start" in meta:
                start = meta["start"]
                break
            this = candidate.args.get("this") if hasattr(candidate, "args") else None
            meta = getattr(this, "meta", None) or {}
            if "start" in meta:
                start = meta["start"]
                break
    if start is None and name:
        found = re.search(r'(?<![\w"])"?' + re.escape(name) + r'"?(?!\w)', sql, re.I)
        if found:
            start = found.start()
    if start is None:
        return None
    return _line_col(sql, start)


def _line_col(sql, offset):
    return sql.count("\n", 0, offset) + 1, offset - (sql.rfind("\n", 0, offset) + 1) + 1


# ---------------------------------------------------------------------------------------------
# Types: Glue/Hive type strings, Arrow types, Athena's ColumnInfo


def _split_top(s, sep=","):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def hive_to_arrow(hive):
    """A Glue column type (Hive DDL spelling) as an Arrow type."""
    import pyarrow as pa

    t = hive.strip().lower()
    simple = {
        "string": pa.string(), "varchar": pa.string(), "char": pa.string(),
        "bigint": pa.int64(), "int": pa.int32(), "integer": pa.int32(), "smallint": pa.int16(),
        "tinyint": pa.int8(), "double": pa.float64(), "float": pa.float32(), "real": pa.float32(),
        "boolean": pa.bool_(), "timestamp": pa.timestamp("us"), "date": pa.date32(),
        "binary": pa.binary(),
    }
    base = re.match(r"^([a-z]+)", t).group(1) if re.match(r"^([a-z]+)", t) else t
    if base == "decimal":
        args = re.findall(r"\d+", t)
        precision = int(args[0]) if args else 10
        scale = int(args[1]) if len(args) > 1 else 0
        return pa.decimal128(precision, scale)
    if base in ("varchar", "char"):
        return pa.string()
    if base == "array":
        return pa.list_(hive_to_arrow(t[t.index("<") + 1 : t.rindex(">")]))
    if base == "map":
        k, v = _split_top(t[t.index("<") + 1 : t.rindex(">")])
        return pa.map_(hive_to_arrow(k), hive_to_arrow(v))
    if base == "struct":
        fields = []
        for part in _split_top(t[t.index("<") + 1 : t.rindex(">")]):
            name, _, kind = part.partition(":")
            fields.append(pa.field(name.strip(), hive_to_arrow(kind)))
        return pa.struct(fields)
    if base in simple:
        return simple[base]
    raise QueryFailed("NOT_SUPPORTED", f"Unsupported Hive type: {hive}", 1200)


def hive_to_trino(hive):
    """A Glue column type in Trino's spelling, for sqlglot's schema."""
    t = hive.strip().lower()
    if t.startswith("array<"):
        return f"array({hive_to_trino(t[6:-1])})"
    if t.startswith("map<"):
        k, v = _split_top(t[4:-1])
        return f"map({hive_to_trino(k)}, {hive_to_trino(v)})"
    if t.startswith("struct<"):
        parts = []
        for part in _split_top(t[7:-1]):
            name, _, kind = part.partition(":")
            parts.append(f"{name.strip()} {hive_to_trino(kind)}")
        return f"row({', '.join(parts)})"
    return {"string": "varchar", "int": "integer", "float": "real", "binary": "varbinary"}.get(t, t)


def athena_column_type(duck_type):
    """(Athena type name, Precision, Scale) for a DuckDB result type, as Athena's ColumnInfo
    reports them (https://docs.aws.amazon.com/athena/latest/APIReference/API_ColumnInfo.html):
    varchar 2147483647, bigint 19, integer 10, double/float 17, timestamp 3, decimal p/s."""
    t = str(duck_type).upper()
    decimal_match = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if decimal_match:
        return "decimal", int(decimal_match.group(1)), int(decimal_match.group(2))
    if t.endswith("[]") or t.startswith("LIST") or re.match(r".*\[\d+\]$", t):
        return "array", 0, 0
    if t.startswith("MAP"):
        return "map", 0, 0
    if t.startswith("STRUCT") or t.startswith("UNION"):
        return "row", 0, 0
    table = {
        "BOOLEAN": ("boolean", 0, 0), "TINYINT": ("tinyint", 0, 0), "SMALLINT": ("smallint", 0, 0),
        "INTEGER": ("integer", 10, 0), "BIGINT": ("bigint", 19, 0), "HUGEINT": ("bigint", 19, 0),
        "UTINYINT": ("smallint", 0, 0), "USMALLINT": ("integer", 10, 0),
        "UINTEGER": ("bigint", 19, 0), "UBIGINT": ("bigint", 19, 0), "UHUGEINT": ("bigint", 19, 0),
        "FLOAT": ("float", 17, 0), "DOUBLE": ("double", 17, 0), "VARCHAR": ("varchar", 2147483647, 0),
        "DATE": ("date", 0, 0), "TIME": ("time", 3, 0), "TIMESTAMP": ("timestamp", 3, 0),
        "TIMESTAMP_S": ("timestamp", 3, 0), "TIMESTAMP_MS": ("timestamp", 3, 0),
        "TIMESTAMP_NS": ("timestamp", 3, 0), "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3, 0),
        "INTERVAL": ("interval day to second", 0, 0), "BLOB": ("varbinary", 1073741824, 0),
        "UUID": ("uuid", 0, 0), "JSON": ("json", 0, 0), '"NULL"': ("unknown", 0, 0), "NULL": ("unknown", 0, 0),
    }
    return table.get(t, ("varchar", 2147483647, 0))


def column_info(label, duck_type):
    kind, precision, scale = athena_column_type(duck_type)
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": label,
        "Label": label,
        "Type": kind,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": kind in ("varchar", "char"),
    }


# ---------------------------------------------------------------------------------------------
# Values as Athena prints them


def java_double(v):
    """Java's Double.toString, which Athena prints doubles with: `1.5`, `100.0`,
    `1.23456789E7`, `1.0E-4` (scientific below 10^-3 and from 10^7)."""
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    sign, digit_tuple, exponent = decimal.Decimal(repr(v)).as_tuple()
    shortest = "".join(map(str, digit_tuple))
    power = exponent + len(shortest) - 1
    digits = shortest.rstrip("0") or "0"
    out = "-" if sign else ""
    if 1e-3 <= abs(v) < 1e7:
        if power >= 0:
            whole = digits[: power + 1].ljust(power + 1, "0")
            frac = digits[power + 1 :] or "0"
        else:
            whole = "0"
            frac = "0" * (-power - 1) + digits
        return f"{out}{whole}.{frac}"
    return f"{out}{digits[0]}.{digits[1:] or '0'}E{power}"


def java_float(v):
    """Java's Float.toString: the shortest digits that round-trip through float32."""
    if v != v or math.isinf(v) or v == 0:
        return java_double(v)
    for precision in range(1, 10):
        text = f"{v:.{precision}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == struct.unpack("f", struct.pack("f", v))[0]:
            return java_double(float(text))
    return java_double(v)


def _nested_text(value):
    """Athena's notation for array, map and row values: `[1, 2]`, `{k=1}`, `{a=1, b=x}`."""
    if value is None:
        return "null"
    if isinstance(value, list):
        if value and isinstance(value[0], tuple) and len(value[0]) == 2:
            return "{" + ", ".join(f"{_nested_text(k)}={_nested_text(v)}" for k, v in value) + "}"
        return "[" + ", ".join(_nested_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def format_column(array, athena_type):
    """An Arrow column of results as Athena's strings (None for NULL), vectorised where Arrow
    can: GetQueryResults and the CSV both print these."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    t = array.type
    if athena_type == "double":
        return pa.array([None if v is None else java_double(v) for v in array.to_pylist()], pa.string())
    if athena_type == "float":
        return pa.array([None if v is None else java_float(v) for v in array.to_pylist()], pa.string())
    if pa.types.is_timestamp(t):
        ms = array.cast(pa.timestamp("ms", tz=t.tz), safe=False)
        text = pc.strftime(ms, format="%Y-%m-%d %H:%M:%S")
        if t.tz:
            text = pc.binary_join_element_wise(text, pa.scalar(" UTC"), "")
        return text
    if pa.types.is_time(t):
        return pa.array([None if v is None else v.strftime("%H:%M:%S.") + f"{v.microsecond // 1000:03d}" for v in array.to_pylist()], pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else " ".join(f"{b:02x}" for b in v) for v in array.to_pylist()], pa.string())
    if pa.types.is_nested(t):
        return pa.array([None if v is None else _nested_text(v) for v in array.to_pylist()], pa.string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return array.cast(pa.string())
    if pa.types.is_duration(t) or pa.types.is_interval(t):
        return pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
    try:
        return array.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else _nested_text(v) for v in array.to_pylist()], pa.string())


def result_csv(labels, columns):
    """The result file as Athena writes it: header row, every value quoted, NULL empty.
    https://pyathena.dev/master/null_handling.html"""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    table = pa.Table.from_arrays(columns, names=labels) if columns else pa.table({})
    out = io.BytesIO()
    pcsv.write_csv(table, out, pcsv.WriteOptions(quoting_style="all_valid"))
    return out.getvalue()


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb_bytes(field, data):
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _pb_int(field, n):
    return _varint(field << 3) + _varint(n)


def result_metadata(query_id, infos):
    """The `.csv.metadata` companion: protobuf, the query id (field 1) then one message per
    column (field 4) holding catalog 1, name 4, label 5, type 6, precision 7, scale 8,
    nullable 9 (3 = unknown), case-sensitive 10."""
    out = _pb_bytes(1, query_id.encode())
    for info in infos:
        column = (
            _pb_bytes(1, info["CatalogName"].encode())
            + _pb_bytes(4, info["Name"].encode())
            + _pb_bytes(5, info["Label"].encode())
            + _pb_bytes(6, info["Type"].encode())
            + _pb_int(7, info["Precision"])
            + _pb_int(8, info["Scale"])
            + _pb_int(9, 3)
            + _pb_int(10, 1 if info["CaseSensitive"] else 0)
        )
        out += _pb_bytes(4, column)
    return out


# ---------------------------------------------------------------------------------------------
# Java date patterns (partition projection's `.format`, format_datetime, parse_datetime)


def java_pattern_tokens(pattern):
    """A Java/Joda date pattern as tokens: ('field', 'yyyy') or ('text', '-')."""
    tokens, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            j = i + 1
            text = ""
            while j < len(pattern):
                if pattern[j] == "'":
                    if j + 1 < len(pattern) and pattern[j + 1] == "'":
                        text += "'"
                        j += 2
                        continue
                    break
                text += pattern[j]
                j += 1
            tokens.append(("text", text if j > i + 1 else "'"))
            i = j + 1
        elif ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            tokens.append(("field", pattern[i:j]))
            i = j
        else:
            tokens.append(("text", ch))
            i += 1
    return tokens


def java_to_strftime(pattern):
    """A Joda pattern as a DuckDB strftime/strptime format."""
    out = []
    for kind, value in java_pattern_tokens(pattern):
        if kind == "text":
            out.append(value.replace("%", "%%"))
            continue
        letter, n = value[0], len(value)
        if letter in "yYu":
            out.append("%y" if n == 2 else "%Y")
        elif letter in "ML":
            out.append({1: "%-m", 2: "%m", 3: "%b"}.get(n, "%B"))
        elif letter == "d":
            out.append("%-d" if n == 1 else "%d")
        elif letter == "H":
            out.append("%-H" if n == 1 else "%H")
        elif letter in "hK":
            out.append("%-I" if n == 1 else "%I")
        elif letter == "m":
            out.append("%-M" if n == 1 else "%M")
        elif letter == "s":
            out.append("%-S" if n == 1 else "%S")
        elif letter == "S":
            out.append("%g" if n <= 3 else ("%f" if n <= 6 else "%n"))
        elif letter == "a":
            out.append("%p")
        elif letter == "E":
            out.append("%A" if n >= 4 else "%a")
        elif letter == "D":
            out.append("%j")
        elif letter in "ZX":
            out.append("%z")
        elif letter == "z":
            out.append("%Z")
        else:
            out.append(value)
    return "".join(out)


MONTHS = [calendar.month_abbr[i] for i in range(1, 13)]


def java_format(moment, pattern):
    """Formats a datetime with a Java DateTimeFormatter pattern (the fields projection uses)."""
    out = []
    for kind, value in java_pattern_tokens(pattern):
        if kind == "text":
            out.append(value)
            continue
        letter, n = value[0], len(value)
        if letter in "yYu":
            out.append(f"{moment.year % 100:02d}" if n == 2 else f"{moment.year:0{n}d}")
        elif letter in "ML":
            out.append(calendar.month_name[moment.month] if n >= 4 else MONTHS[moment.month - 1] if n == 3 else f"{moment.month:0{n}d}")
        elif letter == "d":
            out.append(f"{moment.day:0{n}d}")
        elif letter == "H":
            out.append(f"{moment.hour:0{n}d}")
        elif letter in "hK":
            out.append(f"{(moment.hour % 12) or (12 if letter == 'h' else 0):0{n}d}")
        elif letter == "m":
            out.append(f"{moment.minute:0{n}d}")
        elif letter == "s":
            out.append(f"{moment.second:0{n}d}")
        elif letter == "S":
            out.append(f"{moment.microsecond:06d}"[:n].ljust(n, "0"))
        elif letter == "a":
            out.append("AM" if moment.hour < 12 else "PM")
        elif letter == "D":
            out.append(f"{moment.timetuple().tm_yday:0{n}d}")
        elif letter == "E":
            out.append(moment.strftime("%A" if n >= 4 else "%a"))
        else:
            raise ValueError(f"unsupported date pattern letter {letter!r}")
    return "".join(out)


def java_parse(text, pattern):
    """Parses a date written in a Java DateTimeFormatter pattern; fields absent default to
    the start of their period."""
    regex, fields = "", []
    for kind, value in java_pattern_tokens(pattern):
        if kind == "text":
            regex += re.escape(value)
            continue
        letter, n = value[0], len(value)
        if letter in "ML" and n >= 3:
            regex += r"([A-Za-z]+)"
        elif letter == "a":
            regex += r"(AM|PM|am|pm)"
        elif letter == "E":
            regex += r"([A-Za-z]+)"
        elif letter in "yYu" and n != 2:
            regex += r"(\d{4,9})"
        else:
            regex += r"(\d{%d,%d})" % (n, max(n, 2) if letter != "S" else n)
        fields.append(value)
    found = re.fullmatch(regex, text.strip())
    if not found:
        raise ValueError(f"{text!r} does not match the format {pattern!r}")
    parts = {"year": 1970, "month": 1, "day": 1, "hour": 0, "minute": 0, "second": 0, "micro": 0}
    pm = None
    for value, group in zip(fields, found.groups()):
        letter, n = value[0], len(value)
        if letter in "yYu":
            parts["year"] = int(group) + (2000 if n == 2 else 0)
        elif letter in "ML":
            parts["month"] = (MONTHS.index(group[:3].title()) + 1) if n >= 3 else int(group)
        elif letter == "d":
            parts["day"] = int(group)
        elif letter in "HhK":
            parts["hour"] = int(group)
        elif letter == "m":
            parts["minute"] = int(group)
        elif letter == "s":
            parts["second"] = int(group)
        elif letter == "S":
            parts["micro"] = int(group.ljust(6, "0")[:6])
        elif letter == "a":
            pm = group.upper() == "PM"
        elif letter == "D":
            parts["day_of_year"] = int(group)
    if pm is not None:
        parts["hour"] = parts["hour"] % 12 + (12 if pm else 0)
    moment = dt.datetime(parts["year"], parts["month"], parts["day"], parts["hour"], parts["minute"], parts["second"], parts["micro"])
    if "day_of_year" in parts:
        moment = moment.replace(month=1, day=1) + dt.timedelta(days=parts["day_of_year"] - 1)
    return moment


# ---------------------------------------------------------------------------------------------
# Partition projection
# https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html

NOW_EXPR = re.compile(
    r"^\s*NOW\s*(?:([+\-])\s*([0-9]+)\s*(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\s*)?$",
    re.I,
)
UNITS = {"YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES", "SECONDS", "MILLISECONDS"}
MAX_PROJECTED = 1_000_000


def _add(moment, amount, unit):
    unit = unit.upper().rstrip("S") + "S"
    if unit in ("YEARS", "MONTHS"):
        months = moment.month - 1 + amount * (12 if unit == "YEARS" else 1)
        year = moment.year + months // 12
        month = months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        return moment.replace(year=year, month=month, day=day)
    seconds = {"WEEKS": 604800, "DAYS": 86400, "HOURS": 3600, "MINUTES": 60, "SECONDS": 1, "MILLISECONDS": 0.001}[unit]
    return moment + dt.timedelta(seconds=amount * seconds)


def _date_bound(text, pattern, now):
    relative = NOW_EXPR.match(text)
    if relative:
        if not relative.group(1):
            return now
        amount = int(relative.group(2)) * (1 if relative.group(1) == "+" else -1)
        return _add(now, amount, relative.group(3))
    return java_parse(text, pattern)


def _precision(pattern):
    """The finest field of a date pattern: 'time', 'day', 'month' or 'year'."""
    letters = {value[0] for kind, value in java_pattern_tokens(pattern) if kind == "field"}
    if letters & set("HhKkmsSaA"):
        return "time"
    if letters & set("dDE"):
        return "day"
    if letters & set("ML"):
        return "month"
    return "year"


def projected_values(table_name, column, params, now):
    """The values partition projection generates for a column, as strings (None for an
    injected column: its values come from the query).
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html"""

    def param(key, default=None):
        return params.get(f"projection.{column}.{key}", default)

    kind = (param("type") or "").strip().lower()
    if kind == "enum":
        values = param("values")
        if values is None:
            raise _metastore(table_name, f"Missing required property projection.{column}.values")
        return values.split(",")
    if kind == "integer":
        bounds = [b.strip() for b in (param("range") or "").split(",")]
        if len(bounds) != 2:
            raise _metastore(table_name, f"Invalid projection.{column}.range: {param('range')}")
        low, high = int(bounds[0]), int(bounds[1])
        step = int((param("interval") or "1").strip())
        digits = param("digits")
        width = int(digits.strip()) if digits else 0
        if (high - low) // step + 1 > MAX_PROJECTED:
            raise _metastore(table_name, f"Projection of column {column} exceeds {MAX_PROJECTED} values")
        return [f"{v:0{width}d}" if width else str(v) for v in range(low, high + 1, step)]
    if kind == "date":
        pattern = param("format")
        bounds = (param("range") or "").split(",")
        if not pattern or len(bounds) != 2:
            raise _metastore(table_name, f"Projection of date column {column} needs .range and .format")
        interval, unit = param("interval"), param("interval.unit")
        precision = _precision(pattern)
        if unit is None:
            if precision not in ("day", "month"):
                raise _metastore(table_name, f"Missing required property projection.{column}.interval.unit")
            unit = "DAYS" if precision == "day" else "MONTHS"
        unit = unit.strip().upper()
        if unit not in UNITS and unit + "S" not in UNITS:
            raise _metastore(table_name, f"Invalid projection.{column}.interval.unit: {unit}")
        if interval is None and precision not in ("day", "month"):
            raise _metastore(table_name, f"Missing required property projection.{column}.interval")
        step = int((interval or "1").strip())
        try:
            start = _date_bound(bounds[0], pattern, now)
            end = _date_bound(bounds[1], pattern, now)
        except ValueError as error:
            raise _metastore(table_name, f"Invalid projection.{column}.range: {error}")
        values, k = [], 0
        while True:
            moment = _add(start, k * step, unit)
            if moment > end:
                break
            values.append(java_format(moment, pattern))
            k += 1
            if k > MAX_PROJECTED:
                raise _metastore(table_name, f"Projection of column {column} exceeds {MAX_PROJECTED} values")
        return values
    if kind == "injected":
        return None
    raise _metastore(table_name, f"Invalid projection.{column}.type: {param('type')}")


def _metastore(table_name, message):
    return QueryFailed("HIVE_METASTORE_ERROR", f"{message} (table {table_name})", 204, category=1)


# ---------------------------------------------------------------------------------------------
# The catalog: tables the query names, their partitions and objects


class Source:
    """One Glue table a query reads: its definition, and the DuckDB name its data is bound to."""

    def __init__(self, database, name, table, registered):
        sd = table.get("StorageDescriptor") or {}
        self.database = database
        self.name = name
        self.qualified = f"{CATALOG}.{database}.{name}"
        self.registered = registered
        self.columns = [(c["Name"].lower(), c.get("Type", "string")) for c in sd.get("Columns") or []]
        self.partition_keys = [(c["Name"].lower(), c.get("Type", "string")) for c in table.get("PartitionKeys") or []]
        self.location = sd.get("Location") or ""
        self.parameters = {k: v for k, v in (table.get("Parameters") or {}).items()}
        serde = sd.get("SerdeInfo") or {}
        self.serde = (serde.get("SerializationLibrary") or "").lower()
        self.serde_parameters = serde.get("Parameters") or {}
        self.input_format = (sd.get("InputFormat") or "").lower()
        self.table_type = table.get("TableType") or ""
        self.partitions = []  # [(values dict, location)] filled by the reader
        self.needed = None  # column names the query uses (None: all)
        self.constraints = []  # per reference: {column: [(op, value)]} or None (unconstrained)

    @property
    def all_columns(self):
        return self.columns + self.partition_keys

    @property
    def format(self):
        # The SerDe decides; then the input format; then the crawler's classification.
        for text in (self.serde, self.input_format, self.parameters.get("classification", "").lower()):
            for word, kind in (
                ("parquet", "parquet"), ("orc", "orc"), ("json", "json"), ("opencsv", "opencsv"),
                ("lazysimple", "text"), ("textinputformat", "text"), ("csv", "text"),
            ):
                if word in text:
                    return kind
        return "parquet"


def _glue_backend(account, region):
    from moto.glue.models import glue_backends

    return glue_backends[account][region]


def _s3_backend(account, partition):
    from moto.s3.models import s3_backends

    return s3_backends[account][partition]


def _find_ci(mapping, name):
    if name in mapping:
        return mapping[name]
    lower = name.lower()
    for key, value in list(mapping.items()):
        if key.lower() == lower:
            return value
    return None


def split_s3(url):
    found = re.match(r"^s3a?://([^/]+)/?(.*)$", url or "")
    if not found:
        return None, None
    return found.group(1), found.group(2)


def _typed(value, hive_type):
    t = hive_type.lower()
    try:
        if t in ("bigint", "int", "integer", "smallint", "tinyint"):
            return int(value)
        if t in ("double", "float"):
            return float(value)
        if t.startswith("decimal"):
            return decimal.Decimal(value)
        if t == "date":
            return dt.date.fromisoformat(value)
        if t == "boolean":
            return value.lower() == "true"
    except (ValueError, decimal.InvalidOperation):
        return None
    return value


def _satisfies(value, hive_type, conditions):
    """Whether a partition value can satisfy the query's conditions on its column (literals of
    an incomparable type never prune)."""
    typed = _typed(value, hive_type)
    for op, literal in conditions:
        if op == "in":
            comparable = [v for v in literal if _comparable(typed, v)]
            if len(comparable) == len(literal) and typed not in comparable:
                return False
            continue
        if not _comparable(typed, literal):
            continue
        if op == "=" and not typed == literal:
            return False
        if op == ">" and not typed > literal:
            return False
        if op == ">=" and not typed >= literal:
            return False
        if op == "<" and not typed < literal:
            return False
        if op == "<=" and not typed <= literal:
            return False
    return True


def _comparable(a, b):
    if a is None or b is None:
        return False
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        return isinstance(a, dt.date) and isinstance(b, dt.date)
    return isinstance(a, (int, float, decimal.Decimal)) and isinstance(b, (int, float, decimal.Decimal))


def plan_partitions(source, glue_table, now):
    """The partitions of `source` the query reads: [(values, location)], projected when the
    table enables projection (registered partitions are then ignored), else registered.
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection-setting-up.html"""
    keys = source.partition_keys
    if not keys:
        return [({}, source.location)]
    merged = _merged_constraints(source)
    params = source.parameters
    if str(params.get("projection.enabled", "")).strip().lower() == "true":
        missing = [k for k, _ in keys if f"projection.{k}.type" not in params]
        if missing:
            raise QueryFailed(
                "HIVE_METASTORE_ERROR",
                f"Table {source.database}.{source.name} is configured for partition projection, but "
                f"the following partition columns are missing projection configuration: "
                f"[{', '.join(missing)}] (table {source.database}.{source.name})",
                204,
            )
        per_column = []
        for key, kind in keys:
            values = projected_values(f"{source.database}.{source.name}", key, params, now)
            if values is None:  # injected: every reference must give its values
                values = _injected_values(source, key)
            conditions = merged.get(key) if merged is not None else None
            if conditions:
                values = [v for v in values if _satisfies(v, kind, conditions)]
            per_column.append(values)
        total = 1
        for values in per_column:
            total *= len(values)
        if total > MAX_PROJECTED:
            raise _metastore(f"{source.database}.{source.name}", f"Partition projection yields {total} partitions")
        template = params.get("storage.location.template")
        if template:
            absent = [k for k, _ in keys if "${" + k + "}" not in template]
            if absent:
                raise _metastore(f"{source.database}.{source.name}", f"storage.location.template has no placeholder for {absent}")
        out = []
        for combo in itertools.product(*per_column):
            values = dict(zip([k for k, _ in keys], combo))
            if template:
                location = template
                for k, v in values.items():
                    location = location.replace("${" + k + "}", v)
            else:
                location = source.location.rstrip("/") + "/" + "/".join(f"{k}={v}" for k, v in values.items()) + "/"
            out.append((values, location))
        return out
    out = []
    for partition in list(glue_table.partitions.values()):
        pinput = partition.partition_input
        values = dict(zip([k for k, _ in keys], pinput.get("Values") or []))
        if merged is not None and any(
            not _satisfies(values.get(k, ""), kind, merged.get(k, [])) for k, kind in keys
        ):
            continue
        location = (pinput.get("StorageDescriptor") or {}).get("Location")
        if not location:
            location = source.location.rstrip("/") + "/" + "/".join(f"{k}={v}" for k, v in values.items()) + "/"
        out.append((values, location))
    return out


def _merged_constraints(source):
    """Conditions that hold for every reference to the table: a column constrained by each
    reference keeps the union of what they admit; None when some reference reads it all."""
    if not source.constraints or any(c is None for c in source.constraints):
        return None
    if len(source.constraints) == 1:
        return source.constraints[0]
    # Several references: prune only by what they all say the same.
    first = source.constraints[0]
    return {k: v for k, v in first.items() if all(c.get(k) == v for c in source.constraints[1:])}


def _injected_values(source, key):
    """An injected column's values: each reference's `=` or IN literals, else the query fails.
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html"""
    values = []
    for conditions in source.constraints or [None]:
        found = None
        for op, literal in (conditions or {}).get(key, []):
            if op == "=" and isinstance(literal, str):
                found = [literal]
            elif op == "in" and all(isinstance(v, str) for v in literal):
                found = list(literal)
        if not found:
            raise QueryFailed(
                "CONSTRAINT_VIOLATION",
                f"Injected projected partition column {key} must have only (and at least one) "
                f"equality conditions in the WHERE clause!",
                1100,
            )
        values.extend(v for v in found if v not in values)
    return values


def list_objects(s3, locations):
    """Objects under each location, in one pass per bucket: {location: [(key, FakeKey)]}.
    Names starting with `_` or `.` below the location are hidden, as Athena treats them.
    https://docs.aws.amazon.com/athena/latest/ug/other-notable-limitations.html"""
    by_bucket = {}
    for location in locations:
        bucket, prefix = split_s3(location)
        if bucket is None:
            raise QueryFailed("HIVE_INVALID_METADATA", f"Invalid location: {location}", 1100)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        by_bucket.setdefault(bucket, {})[prefix] = location
    found = {location: [] for location in locations}
    for bucket_name, prefixes in by_bucket.items():
        try:
            bucket = s3.get_bucket(bucket_name)
        except Exception:
            raise QueryFailed(
                "HIVE_FILESYSTEM_ERROR",
                f"The specified bucket does not exist (Bucket: {bucket_name})",
                1306,
            )
        roots = sorted(prefixes, key=len, reverse=True)
        shortest = min(len(p) for p in roots)
        for key_name, key in bucket.keys.items():
            if key_name.endswith("/") or not hasattr(key, "value"):
                continue
            match = None
            if len(roots) > 8:  # many partitions: look each of the key's folders up
                cut = key_name.rfind("/")
                while cut >= shortest - 1 and cut >= 0:
                    if key_name[: cut + 1] in prefixes:
                        match = key_name[: cut + 1]
                        break
                    cut = key_name.rfind("/", 0, cut)
                if match is None and "" in prefixes:
                    match = ""
            else:
                match = next((p for p in roots if key_name.startswith(p)), None)
            if match is None:
                continue
            relative = key_name[len(match):]
            if any(part.startswith(("_", ".")) for part in relative.split("/")):
                continue
            found[prefixes[match]].append((key_name, key))
    return found


def wanted_columns(source):
    """The table's columns the query reads (partition columns included); one at least, since
    count(*) still needs the rows."""
    return [
        (name, kind) for name, kind in source.all_columns if source.needed is None or name in source.needed
    ] or (source.partition_keys or source.columns)[:1]


def source_schema(source):
    import pyarrow as pa

    return pa.schema([(n, hive_to_arrow(k)) for n, k in wanted_columns(source)])


def read_source(source, s3, cancelled):
    """The table's data as one Arrow table (the columns the query needs, partition columns
    included), and the bytes read.
    https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html
    https://docs.aws.amazon.com/athena/latest/ug/parquet-serde.html"""
    import pyarrow as pa

    wanted = wanted_columns(source)
    partition_names = {k for k, _ in source.partition_keys}
    data_columns = [(n, k) for n, k in wanted if n not in partition_names]
    schema = source_schema(source)
    objects = list_objects(s3, [location for _, location in source.partitions])
    tables, scanned = [], 0
    for values, location in source.partitions:
        for key_name, key in objects[location]:
            if cancelled():
                raise QueryCancelled("Query cancelled by user")
            data = key.value
            path = f"s3://{split_s3(location)[0]}/{key_name}"
            table, size = _read_object(source, data, path, data_columns)
            scanned += size
            n = table.num_rows
            arrays = []
            for name, kind in wanted:
                if name in partition_names:
                    arrays.append(pa.repeat(pa.scalar(_typed(values[name], kind), hive_to_arrow(kind)), n))
                else:
                    arrays.append(table.column(name))
            tables.append(pa.Table.from_arrays(arrays, schema=schema))
    if not tables:
        return schema.empty_table(), 0
    return pa.concat_tables(tables), scanned


def _bad_data(path, column, found, expected):
    return QueryFailed(
        "HIVE_BAD_DATA",
        f"Field {column}'s type {found} in file {path} is incompatible with type "
        f"{expected} defined in table schema",
        1002,
    )


def _conform(columns_by_name, n, path, data_columns):
    """Arrow arrays for the table's columns from what a file holds: matched by name,
    case-insensitively; cast to the table's type; NULL when absent."""
    import pyarrow as pa

    arrays, names = [], []
    for name, kind in data_columns:
        target = hive_to_arrow(kind)
        array = columns_by_name.get(name)
        if array is None:
            array = pa.nulls(n, target)
        elif array.type != target:
            try:
                array = array.cast(target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                raise _bad_data(path, name, array.type, kind)
        arrays.append(array)
        names.append(name)
    if not names:  # only partition columns are read: the file still gives the row count
        return pa.table({"__n": pa.nulls(n)})
    return pa.Table.from_arrays(arrays, names=names)


def _read_object(source, data, path, data_columns):
    import pyarrow as pa

    fmt = source.format
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(pa.BufferReader(data))
        except Exception as error:
            raise QueryFailed("HIVE_CANNOT_OPEN_SPLIT", f"Error opening Hive split {path}: {error}", 1002)
        by_lower = {}
        for name in parquet.schema_arrow.names:
            by_lower.setdefault(name.lower(), name)
        chosen = [by_lower[n] for n, _ in data_columns if n in by_lower]
        table = parquet.read(columns=chosen) if chosen else None
        n = parquet.metadata.num_rows
        meta = parquet.metadata
        size = meta.serialized_size  # the footer, read for every file
        wanted_paths = {c.lower() for c in chosen}
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            for ci in range(group.num_columns):
                chunk = group.column(ci)
                if chunk.path_in_schema.split(".")[0].lower() in wanted_paths:
                    size += chunk.total_compressed_size
        columns = {}
        if table is not None:
            for name in table.column_names:
                columns.setdefault(name.lower(), table.column(name).combine_chunks())
        return _conform(columns, n, path, data_columns), size
    if fmt == "orc":
        import pyarrow.orc as orc

        table = orc.ORCFile(pa.BufferReader(data)).read()
        columns = {name.lower(): table.column(name).combine_chunks() for name in table.column_names}
        return _conform(columns, table.num_rows, path, data_columns), len(data)
    raw = data
    if path.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        import gzip

        raw = gzip.decompress(raw)
    if fmt == "json":
        return _read_json(raw, path, data_columns), len(data)
    return _read_text(source, raw, path, data_columns), len(data)


def _from_strings(values, n, path, name, kind):
    """A column of parsed JSON / text values as the table's type."""
    import pyarrow as pa

    target = hive_to_arrow(kind)
    try:
        return pa.array(values, target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        pass
    texts = pa.array([None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values], pa.string())
    try:
        return texts.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise QueryFailed(
            "HIVE_BAD_DATA", f"Error parsing field value for field {name} in {path} as {kind}", 1002
        )


def _read_json(raw, path, data_columns):
    """JSON lines, keys matched case-insensitively (the OpenX and Hive JSON SerDes' default)."""
    import pyarrow as pa

    rows = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - line {number} of {path}", 1002)
        if not isinstance(record, dict):
            raise QueryFailed("HIVE_CURSOR_ERROR", f"Row is not a valid JSON Object - line {number} of {path}", 1002)
        rows.append({k.lower(): v for k, v in record.items()})
    arrays = [_from_strings([r.get(name) for r in rows], len(rows), path, name, kind) for name, kind in data_columns]
    return pa.Table.from_arrays(arrays, names=[n for n, _ in data_columns]) if data_columns else pa.table({"__n": pa.nulls(len(rows))})


def _read_text(source, raw, path, data_columns):
    """Delimited text (LazySimpleSerDe: `field.delim`, default \\001, `\\N` for NULL, an
    unparseable number is NULL; OpenCSVSerde: `,` and `"` quoting)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    params = {**source.serde_parameters, **source.parameters}
    names = [n for n, _ in source.columns]
    opencsv = source.format == "opencsv"
    delimiter = params.get("separatorChar" if opencsv else "field.delim", "," if opencsv else "\x01")
    skip = int(params.get("skip.header.line.count", "0") or 0)
    table = pcsv.read_csv(
        io.BytesIO(raw),
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=skip),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter,
            quote_char=params.get("quoteChar", '"') if opencsv else False,
            invalid_row_handler=lambda row: "skip",
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            null_values=[] if opencsv else [params.get("serialization.null.format", "\\N")],
            strings_can_be_null=not opencsv,
        ),
    )
    arrays = []
    for name, kind in data_columns:
        column = table.column(name).combine_chunks()
        target = hive_to_arrow(kind)
        try:
            arrays.append(column.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = []
            for text in column.to_pylist():
                try:
                    values.append(None if text is None else pa.scalar(text).cast(target).as_py())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    values.append(None)
            arrays.append(pa.array(values, target))
    return pa.Table.from_arrays(arrays, names=[n for n, _ in data_columns])


# ---------------------------------------------------------------------------------------------
# The SQL: Trino to DuckDB

QUERY_KINDS = ("Select", "Union", "Except", "Intersect", "Values", "Subquery")
RENAMED_FUNCTIONS = {
    "DOW": "ISODOW", "DAY_OF_WEEK": "ISODOW", "DOY": "DAYOFYEAR", "DAY_OF_YEAR": "DAYOFYEAR",
    "YOW": "ISOYEAR", "YEAR_OF_WEEK": "ISOYEAR", "WEEK_OF_YEAR": "WEEKOFYEAR",
    "DAY_OF_MONTH": "DAYOFMONTH", "LAST_DAY_OF_MONTH": "LAST_DAY",
}


STATEMENT_STARTS = (
    "'ALTER', 'ANALYZE', 'CALL', 'COMMIT', 'CREATE', 'DEALLOCATE', 'DELETE', 'DESC', 'DESCRIBE', "
    "'DROP', 'EXECUTE', 'EXPLAIN', 'GRANT', 'INSERT', 'PREPARE', 'RESET', 'REVOKE', 'ROLLBACK', "
    "'SET', 'SHOW', 'START', 'UNLOAD', 'UPDATE', 'USE', <query>"
)
KNOWN_STARTS = {
    "ALTER", "ANALYZE", "CALL", "COMMIT", "CREATE", "DEALLOCATE", "DELETE", "DESC", "DESCRIBE",
    "DROP", "EXECUTE", "EXPLAIN", "GRANT", "INSERT", "PREPARE", "RESET", "REVOKE", "ROLLBACK",
    "SET", "SHOW", "START", "UNLOAD", "UPDATE", "USE", "SELECT", "WITH", "VALUES", "TABLE",
    "MSCK", "MERGE", "VACUUM", "OPTIMIZE", "REFRESH",
}


def parse(sql):
    """The single statement of `sql`, or the InvalidRequestException Athena answers: a
    statement that starts with no statement keyword gets Athena's own list of what it expects
    (as Athena answers it: https://github.com/guardian/athena-cli/issues/39 ); other syntax
    errors sqlglot's position and description."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    text = re.sub(r"--[^\n]*|/\*.*?\*/", lambda m: " " * len(m.group(0)), sql, flags=re.S)
    first = re.search(r"[^\s(]+", text)
    if first is None:
        raise _request_error(f"line 1:{len(sql) + 1}: mismatched input '<EOF>'. Expecting: {STATEMENT_STARTS}", "MALFORMED_QUERY")
    word = re.match(r"[A-Za-z_]\w*", first.group(0))
    if word is None or word.group(0).upper() not in KNOWN_STARTS:
        token = word.group(0) if word else first.group(0)[0]
        line, col = _line_col(sql, first.start())
        raise _request_error(f"line {line}:{col}: mismatched input '{token}'. Expecting: {STATEMENT_STARTS}", "MALFORMED_QUERY")
    try:
        statements = [s for s in sqlglot.parse(sql, read="trino") if s is not None]
    except ParseError as error:
        first = (error.errors or [{}])[0]
        token = first.get("highlight") or ""
        line, col = first.get("line") or 1, first.get("col") or 1
        start = max(1, col - len(token) + 1)
        message = f"line {line}:{start}: mismatched input '{token}'. {first.get('description') or error}"
        raise _request_error(message, "MALFORMED_QUERY")
    except TokenError as error:
        raise _request_error(f"line 1:1: {error}", "MALFORMED_QUERY")
    if not statements:
        raise _request_error("line 1:1: mismatched input '<EOF>'", "MALFORMED_QUERY")
    if len(statements) > 1:
        raise _request_error(f"Only one sql statement is allowed. Got: {sql}", "MALFORMED_QUERY")
    statement = statements[0]
    for select in statement.find_all(exp.Select):
        if not select.expressions:
            raise _request_error("line 1:8: mismatched input 'FROM'", "MALFORMED_QUERY")
    return statement


def statement_type(statement):
    kind = type(statement).__name__
    if kind in QUERY_KINDS:
        return "DML", "SELECT"
    if kind in ("Create", "Drop", "Alter", "AlterTable"):
        return "DDL", kind.upper()
    if kind in ("Insert", "Update", "Delete", "Merge"):
        return "DML", kind.upper()
    return "UTILITY", kind.upper()


def _literal(node):
    """The Python value of a literal in a condition, or None."""
    from sqlglot import exp

    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        try:
            return int(node.this)
        except ValueError:
            return float(node.this)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.to.is_type("double"):
        return float(node.this.this)
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, (int, float)) else None
    return None


def conditions_for(table_node, keys, single_source):
    """What the WHERE clause of the SELECT reading `table_node` says of the partition keys:
    {key: [(op, literal)]} from AND-ed comparisons with literals."""
    from sqlglot import exp

    select = table_node.find_ancestor(exp.Select)
    where = select.args.get("where") if select is not None else None
    if where is None:
        return {}
    alias = table_node.alias_or_name.lower()
    found = {}

    def key_of(column):
        if not isinstance(column, exp.Column):
            return None
        qualifier = column.table.lower()
        if qualifier and qualifier != alias:
            return None
        if not qualifier and not single_source:
            return None
        name = column.name.lower()
        return name if name in keys else None

    flip = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "="}
    ops = {exp.EQ: "=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
    for condition in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
        if isinstance(condition, exp.Paren):
            condition = condition.this
        op = ops.get(type(condition))
        if op:
            left, right = condition.this, condition.expression
            if key_of(left) and _literal(right) is not None:
                found.setdefault(key_of(left), []).append((op, _literal(right)))
            elif key_of(right) and _literal(left) is not None:
                found.setdefault(key_of(right), []).append((flip[op], _literal(left)))
        elif isinstance(condition, exp.In) and not condition.args.get("query") and key_of(condition.this):
            values = [_literal(v) for v in condition.expressions]
            if values and all(v is not None for v in values):
                found.setdefault(key_of(condition.this), []).append(("in", values))
        elif isinstance(condition, exp.Between) and key_of(condition.this):
            low, high = _literal(condition.args.get("low")), _literal(condition.args.get("high"))
            if low is not None and high is not None:
                found.setdefault(key_of(condition.this), []).extend([(">=", low), ("<=", high)])
    return found


def rewrite_dialect(tree):
    """The rewrites sqlglot does not make (see TRANSLATION_NOTES), applied to the Trino tree.
    https://trino.io/docs/current/functions/datetime.html
    https://docs.aws.amazon.com/athena/latest/ug/data-types.html"""
    from sqlglot import exp

    def rewrite(node):
        if isinstance(node, exp.Literal) and not node.is_string and re.search(r"[.eE]", node.this):
            parent = node.parent
            if not (isinstance(parent, exp.DataTypeParam) or isinstance(parent, exp.Cast) and parent.to.is_type("decimal")):
                return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
        if isinstance(node, exp.ApproxDistinct) and node.args.get("accuracy") is not None:
            node.set("accuracy", None)
        if isinstance(node, exp.Anonymous):
            name = node.name.upper()
            if name in RENAMED_FUNCTIONS:
                return exp.Anonymous(this=RENAMED_FUNCTIONS[name], expressions=node.expressions)
            if name == "FORMAT_DATETIME" and len(node.expressions) == 2 and isinstance(node.expressions[1], exp.Literal):
                return exp.Anonymous(
                    this="STRFTIME",
                    expressions=[node.expressions[0], exp.Literal.string(java_to_strftime(node.expressions[1].this))],
                )
        if isinstance(node, exp.StrToTime) and node.args.get("format") is not None:
            # parse_datetime keeps its Joda pattern in sqlglot's tree; date_parse's is converted.
            fmt = node.args["format"]
            if isinstance(fmt, exp.Literal) and "%" not in fmt.this and re.search(r"[yMdHms]", fmt.this):
                node.set("format", exp.Literal.string(java_to_strftime(fmt.this)))
        if isinstance(node, exp.DateDiff):
            unit = node.args.get("unit")
            unit_text = unit.name if unit is not None else "DAY"
            return exp.Anonymous(
                this="DATE_SUB",
                expressions=[exp.Literal.string(unit_text.upper()), node.expression, node.this],
            )
        if isinstance(node, exp.Extract) and node.this.name.upper() in ("DOW", "DAY_OF_WEEK", "DAYOFWEEK"):
            return exp.Anonymous(this="ISODOW", expressions=[node.expression])
        return node

    return tree.transform(rewrite)


def fix_typed(tree):
    """Type-dependent rewrites on the qualified, typed tree: avg(decimal(p,s)) stays
    decimal(p,s)."""
    from sqlglot import exp

    for node in list(tree.find_all(exp.Avg)):
        inner = node.this
        if inner.type is not None and inner.type.is_type(exp.DataType.Type.DECIMAL):
            node.replace(exp.Cast(this=node.copy(), to=inner.type.copy()))
    return tree


def output_labels(statement, qualified, duck_names):
    """Athena's column labels: an alias or column name as written, `_col<i>` for any other
    expression, the columns' names for `*`.
    https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html"""
    from sqlglot import exp

    def leftmost(query):
        while isinstance(query, (exp.Union, exp.Except, exp.Intersect)):
            query = query.this
        while isinstance(query, exp.Subquery):
            query = query.this
        return query

    original = leftmost(statement)
    if not isinstance(original, exp.Select):
        return [f"_col{i}" for i in range(len(duck_names))]
    projections = original.expressions
    stars = [p for p in projections if isinstance(p, exp.Star) or isinstance(p, exp.Column) and isinstance(p.this, exp.Star)]
    expanded = len(duck_names) - (len(projections) - len(stars))
    star_counts = []
    if len(stars) == 1:
        star_counts = [expanded]
    elif stars and qualified is not None:
        for star in stars:
            table = star.table if isinstance(star, exp.Column) else None
            q = leftmost(qualified)
            star_counts.append(sum(1 for p in q.expressions if table is None or (isinstance(p.unalias(), exp.Column) and p.unalias().table == table.lower())))
        if sum(star_counts) != expanded:
            star_counts = [expanded] + [0] * (len(stars) - 1)
    else:
        star_counts = [expanded] + [0] * (len(stars) - 1)
    labels, i, star_index = [], 0, 0
    for projection in projections:
        if projection in stars:
            count = star_counts[star_index]
            star_index += 1
            labels.extend(duck_names[i : i + count])
            i += count
            continue
        if isinstance(projection, exp.Alias):
            labels.append(projection.alias)
        elif isinstance(projection, exp.Column):
            labels.append(projection.name)
        elif isinstance(projection, exp.Dot):
            labels.append(projection.name)
        else:
            labels.append(f"_col{i}")
        i += 1
    return labels


# ---------------------------------------------------------------------------------------------
# A query execution


class Run:
    """One query execution: what StartQueryExecution was given, and what happened."""

    def __init__(self, backend, query, context, workgroup, config, managed, parameters, token):
        self.id = str(uuid.uuid4())
        self.backend = backend
        self.query = query
        self.context = context or {}
        self.workgroup = workgroup
        self.config = config  # the effective ResultConfiguration (OutputLocation is the file)
        self.managed = managed
        self.parameters = parameters
        self.token = token
        self.state = "QUEUED"
        self.reason = None
        self.error = None
        self.submitted = time.time()
        self.started = None
        self.completed = None
        self.planning_ms = 0
        self.processing_ms = 0
        self.scanned = 0
        self.labels = []
        self.infos = []
        self.columns = []
        self.rows = 0
        self.statement_type = "DML"
        self.substatement_type = "SELECT"
        self.connection = None
        self.engine_version = copy.deepcopy(workgroup.configuration.get("EngineVersion") or {})

    @property
    def status(self):  # moto's GetQueryRuntimeStatistics reads it
        return self.state

    def cancelled(self):
        return self.state == "CANCELLED"

    def stop(self):
        with _LOCK:
            if self.state in ("QUEUED", "RUNNING"):
                self.state = "CANCELLED"
                self.reason = "Query cancelled by user"
                self.completed = time.time()
                if self.connection is not None:
                    try:
                        self.connection.interrupt()
                    except Exception:
                        pass

    def finish(self, state, reason=None, error=None):
        with _LOCK:
            if self.state == "CANCELLED":
                return
            self.state = state
            self.reason = reason
            self.error = error
            self.completed = time.time()

    def describe(self):
        """The QueryExecution GetQueryExecution answers."""
        now = time.time()
        end = self.completed or now
        engine_ms = int(((self.completed or now) - (self.started or end)) * 1000) if self.started else 0
        queue_ms = int(((self.started or end) - self.submitted) * 1000)
        status = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed:
            status["CompletionDateTime"] = self.completed
        if self.reason:
            status["StateChangeReason"] = self.reason
        if self.error:
            status["AthenaError"] = self.error
        result = {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement_type,
            "ResultConfiguration": self.config,
            "ResultReuseConfiguration": {"ResultReuseByAgeConfiguration": {"Enabled": False}},
            "QueryExecutionContext": self.context,
            "Status": status,
            "Statistics": {
                "EngineExecutionTimeInMillis": engine_ms,
                "DataScannedInBytes": self.scanned,
                "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
                "QueryQueueTimeInMillis": queue_ms,
                "ServicePreProcessingTimeInMillis": 0,
                "QueryPlanningTimeInMillis": self.planning_ms,
                "ServiceProcessingTimeInMillis": self.processing_ms,
                "ResultReuseInformation": {"ReusedPreviousResult": False},
            },
            "WorkGroup": self.workgroup.name,
            "EngineVersion": self.engine_version,
            "SubstatementType": self.substatement_type,
        }
        if self.managed:
            result["ManagedQueryResultsConfiguration"] = self.managed
        if self.parameters is not None:
            result["ExecutionParameters"] = self.parameters
        return result


def _bind_parameters(statement, parameters, sql):
    """ExecutionParameters replace the `?` placeholders in order: a value that parses as an
    expression without column references is that expression, any other is a string literal.
    https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html"""
    import sqlglot
    from sqlglot import exp

    placeholders = list(statement.find_all(exp.Placeholder))
    if not parameters:
        if placeholders:
            raise QueryFailed(
                "INVALID_PARAMETER_USAGE",
                f"Incorrect number of parameters: expected {len(placeholders)} but found 0",
                1100,
            )
        return statement
    if len(placeholders) != len(parameters):
        raise QueryFailed(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(placeholders)} but found {len(parameters)}",
            1100,
        )
    for placeholder, value in zip(placeholders, parameters):
        try:
            parsed = sqlglot.parse_one(f"SELECT {value}", read="trino").expressions
            replacement = parsed[0] if len(parsed) == 1 and not list(parsed[0].find_all(exp.Column)) else None
        except Exception:
            replacement = None
        if replacement is None:
            replacement = exp.Literal.string(value)
        placeholder.replace(replacement)
    return statement


def execute(run, statement):
    """Runs the query in the worker: catalog, data, DuckDB, results."""
    import duckdb
    from sqlglot import exp
    from sqlglot.errors import OptimizeError
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    with _LOCK:
        if run.state != "QUEUED":
            return
        run.state = "RUNNING"
        run.started = time.time()
    sql = run.query
    backend = run.backend
    try:
        if type(statement).__name__ not in QUERY_KINDS:
            raise QueryFailed(
                "NOT_SUPPORTED",
                f"The emulator runs queries (SELECT, WITH, VALUES) only, not {type(statement).__name__.upper()} statements",
                1200,
            )
        statement = _bind_parameters(statement, run.parameters, sql)
        context_db = (run.context.get("Database") or "default").lower()
        context_catalog = (run.context.get("Catalog") or "AwsDataCatalog").lower()
        if context_catalog != CATALOG:
            raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{context_catalog}' does not exist", 1301)
        glue = _glue_backend(backend.account_id, backend.region_name)
        s3 = _s3_backend(backend.account_id, backend.partition)

        # The tables the query names (not its CTEs), bound to Glue's.
        cte_names = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        sources, glue_tables = {}, {}
        for table in statement.find_all(exp.Table):
            if not table.name or (not table.db and table.name.lower() in cte_names):
                continue
            if isinstance(table.this, (exp.Anonymous, exp.Func)):
                continue
            catalog = (table.catalog or CATALOG).lower()
            database = (table.db or context_db).lower()
            name = table.name.lower()
            where = _position(sql, table)
            if catalog != CATALOG:
                raise QueryFailed("CATALOG_NOT_FOUND", f"Catalog '{catalog}' does not exist", 1301, where)
            db = _find_ci(glue.databases, database)
            if db is None:
                raise QueryFailed("SCHEMA_NOT_FOUND", f"Schema '{database}' does not exist", 1301, where)
            glue_table = _find_ci(db.tables, name)
            if glue_table is None:
                raise QueryFailed("TABLE_NOT_FOUND", f"Table '{CATALOG}.{database}.{name}' does not exist", 1301, where)
            key = (database, name)
            if key not in sources:
                definition = glue_table.as_dict()
                source = Source(database, name, definition, f"__athena_{len(sources)}")
                if source.table_type.upper() == "VIRTUAL_VIEW" or source.parameters.get("table_type", "").upper() == "ICEBERG":
                    raise QueryFailed("NOT_SUPPORTED", f"The emulator reads Hive tables only: {source.qualified}", 1200, where)
                sources[key] = source
                glue_tables[key] = glue_table

        # Athena's dialect to DuckDB's; qualified and typed against the catalog when sqlglot can.
        statement = rewrite_dialect(statement)
        schema = {CATALOG: {}}
        for (database, name), source in sources.items():
            schema[CATALOG].setdefault(database, {})[name] = {c: hive_to_trino(k) for c, k in source.all_columns}
        qualified, column_error = None, None
        try:
            qualified = qualify(
                statement.copy(), dialect="trino", schema=schema, db=context_db, catalog=CATALOG,
                quote_identifiers=True, identify=True,
            )
            qualified = annotate_types(qualified, schema=schema, dialect="trino")
            qualified = fix_typed(qualified)
        except OptimizeError as error:
            qualified = None
            column_error = _column_error(str(error), statement, sql)
        except Exception:
            qualified = None
        tree = qualified if qualified is not None else statement.copy()

        # Bind the tables to the data, note the columns each reads and what its WHERE prunes.
        cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        used = {}
        if qualified is not None:
            for column in tree.find_all(exp.Column):
                used.setdefault(column.table.lower(), set()).add(column.name.lower())
        for table in list(tree.find_all(exp.Table)):
            if not table.name or (not table.db and table.name.lower() in cte_names):
                continue
            if isinstance(table.this, (exp.Anonymous, exp.Func)):
                continue
            key = ((table.db or context_db).lower(), table.name.lower())
            source = sources.get(key)
            if source is None:
                continue
            keys = {k for k, _ in source.partition_keys}
            select = table.find_ancestor(exp.Select)
            single = select is not None and len([t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]) == 1
            source.constraints.append(conditions_for(table, keys, single) if keys else {})
            alias = table.alias_or_name
            if qualified is not None:
                names = used.get(alias.lower(), set())
                source.needed = (source.needed or set()) | names
            else:
                source.needed = None
            replacement = exp.Table(this=exp.to_identifier(source.registered, quoted=True))
            replacement.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
            table.replace(replacement)
        if qualified is None:
            for source in sources.values():
                source.needed = None
        for (database, name), source in sources.items():
            source.partitions = plan_partitions(source, glue_tables[(database, name)], dt.datetime.utcnow())
        for division in tree.find_all(exp.Div):
            # `/` as written: DuckDB's integer_division gives Trino's integer semantics.
            division.set("typed", False)
        duck_sql = tree.sql(dialect="duckdb")
        run.planning_ms = int((time.time() - run.started) * 1000)

        # Analysis before any data is read, as Athena fails a query it cannot analyse without
        # scanning: DuckDB binds the query over empty tables of the same schemas.
        connection = duckdb.connect()
        connection.execute("SET integer_division = true")
        connection.execute("SET threads = 2")
        with _LOCK:
            run.connection = connection
        for source in sources.values():
            connection.register(source.registered, source_schema(source).empty_table())
        try:
            connection.execute(f"DESCRIBE {duck_sql}").fetchall()
        except duckdb.Error as error:
            if column_error is not None:
                raise column_error
            if not any(source.needed is not None for source in sources.values()):
                raise _engine_error(error, sql)
            # Bind again with every column, should the columns read have been too few.
            for source in sources.values():
                source.needed = None
                connection.unregister(source.registered)
                connection.register(source.registered, source_schema(source).empty_table())
            try:
                connection.execute(f"DESCRIBE {duck_sql}").fetchall()
            except duckdb.Error as error:
                raise _engine_error(error, sql)

        # The data.
        for source in sources.values():
            data, scanned = read_source(source, s3, run.cancelled)
            run.scanned += scanned
            connection.unregister(source.registered)
            connection.register(source.registered, data)
        cutoff = run.workgroup.configuration.get("BytesScannedCutoffPerQuery")
        if cutoff and run.scanned > int(cutoff):
            raise QueryCancelled("Bytes scanned limit was exceeded")
        if run.cancelled():
            raise QueryCancelled("Query cancelled by user")
        try:
            cursor = connection.execute(duck_sql)
            description = cursor.description
            result = cursor.to_arrow_table()
        except duckdb.InterruptException:
            raise QueryCancelled("Query cancelled by user")
        except duckdb.Error as error:
            raise _engine_error(error, sql)
        duck_names = [d[0] for d in description]
        labels = output_labels(statement, qualified, duck_names)
        infos = [column_info(label, d[1]) for label, d in zip(labels, description)]
        columns = [format_column(result.column(i), info["Type"]) for i, info in enumerate(infos)]
        connection.close()
        with _LOCK:
            run.connection = None

        # The result file, then SUCCEEDED.
        began = time.time()
        run.labels, run.infos, run.columns, run.rows = labels, infos, columns, result.num_rows
        if run.config.get("OutputLocation"):
            write_results(run, s3)
        run.processing_ms = int((time.time() - began) * 1000)
        run.finish("SUCCEEDED")
    except QueryCancelled as cancelled:
        with _LOCK:
            if run.state != "CANCELLED":
                run.state = "CANCELLED"
                run.reason = cancelled.reason
                run.completed = time.time()
    except QueryFailed as failed:
        run.finish("FAILED", failed.reason, failed.error)
    except Exception as error:  # never a crash: Athena's internal error
        reason = f"GENERIC_INTERNAL_ERROR: {type(error).__name__}: {error}"
        run.finish(
            "FAILED",
            reason,
            {"ErrorCategory": 1, "ErrorType": 200, "Retryable": False, "ErrorMessage": reason},
        )
    finally:
        if run.connection is not None:
            try:
                run.connection.close()
            except Exception:
                pass
            run.connection = None


def _column_error(message, statement, sql):
    """sqlglot's unresolved column as Athena's COLUMN_NOT_FOUND (or None if it is another
    complaint). https://docs.aws.amazon.com/athena/latest/ug/error-reference.html"""
    from sqlglot import exp

    found = re.search(r"Column '([^']+)' could not be resolved", message) or re.search(
        r"Unknown column: (\S+)", message
    )
    if not found:
        ambiguous = re.search(r"Ambiguous column '?([^'\s]+)'?", message)
        if ambiguous:
            name = ambiguous.group(1)
            return QueryFailed("AMBIGUOUS_NAME", f"Column '{name}' is ambiguous", 1006, _position(sql, name=name))
        return None
    name = found.group(1).strip('"')
    node = None
    for column in statement.find_all(exp.Column):
        if column.name.lower() == name.lower():
            node = column
            break
    label = name
    if node is not None and node.table:
        label = f"{node.table}.{node.name}"
    return QueryFailed(
        "COLUMN_NOT_FOUND",
        f"Column '{label}' cannot be resolved or requester is not authorized to access requested resources",
        1006,
        _position(sql, node, name),
    )


def _engine_error(error, sql):
    """A DuckDB refusal under the nearest Athena (Trino) error name.
    https://docs.aws.amazon.com/athena/latest/ug/error-reference.html"""
    import duckdb

    text = str(error).split("\n")[0]
    column = re.search(r'Referenced column "([^"]+)" not found', text)
    if column:
        name = column.group(1)
        return QueryFailed(
            "COLUMN_NOT_FOUND",
            f"Column '{name}' cannot be resolved or requester is not authorized to access requested resources",
            1006,
            _position(sql, name=name),
        )
    function = re.search(r"(?:Scalar|Aggregate|Table) Function with name (\w+) does not exist", text)
    if function:
        name = function.group(1)
        return QueryFailed("FUNCTION_NOT_FOUND", f"Function '{name}' not registered", 1303, _position(sql, name=name))
    if isinstance(error, duckdb.ConversionException):
        return QueryFailed("INVALID_CAST_ARGUMENT", text, 1100)
    if isinstance(error, duckdb.OutOfRangeException):
        return QueryFailed("NUMERIC_VALUE_OUT_OF_RANGE", text, 1100)
    if isinstance(error, duckdb.BinderException):
        return QueryFailed("TYPE_MISMATCH", text, 1002)
    if isinstance(error, (duckdb.InvalidInputException,)):
        return QueryFailed("INVALID_FUNCTION_ARGUMENT", text, 1106)
    if isinstance(error, duckdb.ParserException):
        return QueryFailed("NOT_SUPPORTED", f"The emulator could not translate this query: {text}", 1200)
    return QueryFailed("GENERIC_USER_ERROR", text, 1000)


def write_results(run, s3):
    """`<id>.csv` and `<id>.csv.metadata` at the output location, with the effective
    encryption (SSE_S3: AES256; SSE_KMS: aws:kms and the key).
    https://docs.aws.amazon.com/athena/latest/ug/querying-finding-output-files.html
    https://docs.aws.amazon.com/athena/latest/ug/encrypting-query-results-stored-in-s3.html"""
    location = run.config["OutputLocation"]
    bucket, key = split_s3(location)
    encryption = run.config.get("EncryptionConfiguration") or {}
    option = encryption.get("EncryptionOption")
    kwargs = {}
    if option == "SSE_S3":
        kwargs["encryption"] = "AES256"
    elif option == "SSE_KMS":
        kwargs["encryption"] = "aws:kms"
        kwargs["kms_key_id"] = encryption.get("KmsKey")
    try:
        s3.put_object(bucket, key, result_csv(run.labels, run.columns), **kwargs)
        s3.put_object(bucket, key + ".metadata", result_metadata(run.id, run.infos), **kwargs)
    except Exception as error:
        raise QueryFailed(
            "GENERIC_INTERNAL_ERROR",
            f"Failed to write query results to {location}: {error}",
            401,
            category=1,
            retryable=True,
        )


# ---------------------------------------------------------------------------------------------
# The API: query executions


def _workgroup(backend, name):
    wg = backend.work_groups.get(name)
    if wg is None:
        raise _request_error(f"WorkGroup {name} is not found.", "INVALID_INPUT")
    return wg


def _effective_result_configuration(wg, requested):
    """The ResultConfiguration a query uses: the workgroup's when it enforces its
    configuration, else each client-side setting given, else the workgroup's.
    https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html"""
    configuration = wg.configuration or {}
    own = copy.deepcopy(configuration.get("ResultConfiguration") or {})
    if configuration.get("EnforceWorkGroupConfiguration"):
        return own
    merged = dict(own)
    for key, value in (requested or {}).items():
        if value is not None:
            merged[key] = copy.deepcopy(value)
    return merged


def start_query_execution(self):
    """StartQueryExecution: what Athena refuses up front, then the query queued.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html
    https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html"""
    backend = self.athena_backend
    query = self._get_param("QueryString")
    if not query:
        raise _request_error("QueryString is required", "INVALID_INPUT")
    wg = _workgroup(backend, self._get_param("WorkGroup") or "primary")
    if getattr(wg, "state", "ENABLED") == "DISABLED":
        raise _request_error(f"WorkGroup {wg.name} is disabled.", "INVALID_INPUT")
    token = self._get_param("ClientRequestToken")
    context = self._get_param("QueryExecutionContext")
    parameters = self._get_param("ExecutionParameters")
    requested = self._get_param("ResultConfiguration")
    with _LOCK:
        tokens = backend.__dict__.setdefault("_ecomflow_tokens", {})
        if token and token in tokens:
            earlier = backend.executions.get(tokens[token])
            if earlier is not None:
                if earlier.query != query or (earlier.context or {}).get("Database") != (context or {}).get("Database"):
                    raise _request_error("Idempotent parameters do not match", "IDEMPOTENT_PARAMETER_MISMATCH")
                return json.dumps({"QueryExecutionId": earlier.id})
    config = _effective_result_configuration(wg, requested)
    managed = (wg.configuration or {}).get("ManagedQueryResultsConfiguration") or {}
    location = config.get("OutputLocation")
    if not location and not managed.get("Enabled"):
        raise _request_error(NO_OUTPUT_LOCATION, "INVALID_INPUT")
    if location:
        bucket, _ = split_s3(location)
        if bucket is None:
            raise _request_error("outputLocation is not a valid S3 path.", "INVALID_INPUT")
        try:
            _s3_backend(backend.account_id, backend.partition).get_bucket(bucket)
        except Exception:
            raise _request_error(f"Unable to verify/create output bucket {bucket}", "INVALID_INPUT")
    statement = parse(query)
    run = Run(backend, query, context, wg, config, managed if managed.get("Enabled") and not location else None, parameters, token)
    run.statement_type, run.substatement_type = statement_type(statement)
    if location:
        config["OutputLocation"] = location.rstrip("/") + f"/{run.id}.csv"
    with _LOCK:
        backend.executions[run.id] = run
        if token:
            backend.__dict__["_ecomflow_tokens"][token] = run.id
    _POOL.submit(execute, run, statement)
    return json.dumps({"QueryExecutionId": run.id})


def _run(backend, query_id):
    run = backend.executions.get(query_id)
    if not isinstance(run, Run):
        raise _request_error(f"QueryExecution {query_id} was not found", "INVALID_INPUT")
    return run


def get_query_execution(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryExecution.html"""
    run = _run(self.athena_backend, self._get_param("QueryExecutionId"))
    return json.dumps({"QueryExecution": run.describe()})


def batch_get_query_execution(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_BatchGetQueryExecution.html"""
    backend = self.athena_backend
    found, missing = [], []
    for query_id in self._get_param("QueryExecutionIds") or []:
        run = backend.executions.get(query_id)
        if isinstance(run, Run):
            found.append(run.describe())
        else:
            missing.append({"QueryExecutionId": query_id, "ErrorCode": "INVALID_INPUT", "ErrorMessage": f"QueryExecution {query_id} was not found"})
    return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})


def _token(offset):
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(token):
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except Exception:
        raise _request_error(f"Malformed nextPageToken {token}", "INVALID_INPUT")


def get_query_results(self):
    """GetQueryResults: the header row first, then the rows, in pages of up to 1000.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html"""
    run = _run(self.athena_backend, self._get_param("QueryExecutionId"))
    max_results = self._get_param("MaxResults")
    if max_results is not None and int(max_results) > 1000:
        raise _request_error("MaxResults is more than maximum allowed length 1000", "INVALID_INPUT")
    if run.state in ("QUEUED", "RUNNING"):
        raise _request_error(f"Query has not yet finished. Current state: {run.state}", "INVALID_QUERY_EXECUTION_STATE")
    if run.state == "CANCELLED":
        raise _request_error("Could not find results", "RESULT_NOT_FOUND")
    if run.state != "SUCCEEDED":
        raise _request_error(f"Query did not finish successfully. Final query state: {run.state}", "INVALID_QUERY_EXECUTION_STATE")
    size = int(max_results) if max_results else 1000
    start = _offset(self._get_param("NextToken"))
    total = run.rows + 1  # the header row is the first of the result's rows
    end = min(start + size, total)
    rows = []
    if start == 0 and end > 0:
        rows.append({"Data": [{"VarCharValue": label} for label in run.labels]})
    first, last = max(start - 1, 0), max(end - 1, 0)
    if last > first:
        values = [column.slice(first, last - first).to_pylist() for column in run.columns]
        for row in zip(*values):
            rows.append({"Data": [{} if v is None else {"VarCharValue": v} for v in row]})
    result = {
        "UpdateCount": 0,
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": run.infos}},
    }
    if end < total:
        result["NextToken"] = _token(end)
    return json.dumps(result)


def stop_query_execution(self):
    """A queued or running query is CANCELLED; a finished one stays as it is.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_StopQueryExecution.html"""
    run = _run(self.athena_backend, self._get_param("QueryExecutionId"))
    run.stop()
    return "{}"


def list_query_executions(self):
    """The workgroup's executions (the primary workgroup's by default), newest first.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_ListQueryExecutions.html"""
    backend = self.athena_backend
    wg = _workgroup(backend, self._get_param("WorkGroup") or "primary")
    size = int(self._get_param("MaxResults") or 50)
    runs = [r for r in list(backend.executions.values()) if isinstance(r, Run) and r.workgroup.name == wg.name]
    runs.sort(key=lambda r: r.submitted, reverse=True)
    start = _offset(self._get_param("NextToken"))
    page = runs[start : start + size]
    result = {"QueryExecutionIds": [r.id for r in page]}
    if start + size < len(runs):
        result["NextToken"] = _token(start + size)
    return json.dumps(result)


# ---------------------------------------------------------------------------------------------
# The API: workgroups


def _engine(version):
    selected = (version or {}).get("SelectedEngineVersion") or "AUTO"
    return {"SelectedEngineVersion": selected, "EffectiveEngineVersion": ENGINE if selected == "AUTO" else selected}


def _created(wg):
    if getattr(wg, "creation_time", None) is None:  # the primary workgroup, made by moto
        wg.creation_time = time.time()
    return wg.creation_time


def _describe_workgroup(wg):
    out = {
        "Name": wg.name,
        "State": wg.state,
        "Configuration": wg.configuration,
        "CreationTime": _created(wg),
    }
    if wg.description is not None:
        out["Description"] = wg.description
    return out


def create_work_group(self):
    """CreateWorkGroup, with the creation time kept and the engine version resolved.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_CreateWorkGroup.html"""
    backend = self.athena_backend
    name = self._get_param("Name") or ""
    if not WORKGROUP_NAME.match(name):
        raise _request_error(f"Invalid workgroup name: {name}", "INVALID_INPUT")
    if name in backend.work_groups:
        raise _request_error("WorkGroup already exists")
    configuration = copy.deepcopy(self._get_param("Configuration") or {})
    configuration["EngineVersion"] = _engine(configuration.get("EngineVersion"))
    wg = backend.create_work_group(name, configuration, self._get_param("Description"), self._get_param("Tags") or [])
    wg.creation_time = time.time()
    return "{}"


def get_work_group(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_GetWorkGroup.html"""
    wg = _workgroup(self.athena_backend, self._get_param("WorkGroup"))
    return json.dumps({"WorkGroup": _describe_workgroup(wg)})


def list_work_groups(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_ListWorkGroups.html"""
    backend = self.athena_backend
    size = int(self._get_param("MaxResults") or 50)
    groups = sorted(backend.work_groups.values(), key=lambda wg: wg.name)
    start = _offset(self._get_param("NextToken"))
    summaries = []
    for wg in groups[start : start + size]:
        summary = {
            "Name": wg.name,
            "State": wg.state,
            "CreationTime": _created(wg),
            "EngineVersion": _engine((wg.configuration or {}).get("EngineVersion")),
        }
        if wg.description is not None:
            summary["Description"] = wg.description
        summaries.append(summary)
    result = {"WorkGroups": summaries}
    if start + size < len(groups):
        result["NextToken"] = _token(start + size)
    return json.dumps(result)


def update_work_group(self):
    """UpdateWorkGroup: what the request gives changes, the rest stays.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_UpdateWorkGroup.html"""
    wg = _workgroup(self.athena_backend, self._get_param("WorkGroup"))
    description = self._get_param("Description")
    state = self._get_param("State")
    updates = self._get_param("ConfigurationUpdates") or {}
    if state is not None:
        if state not in ("ENABLED", "DISABLED"):
            raise _request_error(f"Invalid state: {state}", "INVALID_INPUT")
        wg.state = state
    if description is not None:
        wg.description = description
    config = wg.configuration
    for key in (
        "EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled",
        "BytesScannedCutoffPerQuery", "AdditionalConfiguration", "ExecutionRole",
        "CustomerContentEncryptionConfiguration", "EnableMinimumEncryptionConfiguration",
        "QueryResultsS3AccessGrantsConfiguration", "MonitoringConfiguration", "EngineConfiguration",
    ):
        if key in updates and updates[key] is not None:
            config[key] = copy.deepcopy(updates[key])
    if updates.get("RemoveBytesScannedCutoffPerQuery"):
        config.pop("BytesScannedCutoffPerQuery", None)
    if updates.get("RemoveCustomerContentEncryptionConfiguration"):
        config.pop("CustomerContentEncryptionConfiguration", None)
    if updates.get("EngineVersion") is not None:
        config["EngineVersion"] = _engine(updates["EngineVersion"])
    result_updates = updates.get("ResultConfigurationUpdates")
    if result_updates:
        result = config.setdefault("ResultConfiguration", {})
        for key in ("OutputLocation", "EncryptionConfiguration", "ExpectedBucketOwner", "AclConfiguration"):
            if result_updates.get(f"Remove{key}"):
                result.pop(key, None)
            elif result_updates.get(key) is not None:
                result[key] = copy.deepcopy(result_updates[key])
    managed_updates = updates.get("ManagedQueryResultsConfigurationUpdates")
    if managed_updates:
        managed = config.setdefault("ManagedQueryResultsConfiguration", {"Enabled": False})
        if managed_updates.get("Enabled") is not None:
            managed["Enabled"] = managed_updates["Enabled"]
        if managed_updates.get("RemoveEncryptionConfiguration"):
            managed.pop("EncryptionConfiguration", None)
        elif managed_updates.get("EncryptionConfiguration") is not None:
            managed["EncryptionConfiguration"] = copy.deepcopy(managed_updates["EncryptionConfiguration"])
    return "{}"


def delete_work_group(self):
    """DeleteWorkGroup: not the primary workgroup; not a workgroup with executions or named
    queries unless RecursiveDeleteOption; its tags go with it.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_DeleteWorkGroup.html"""
    backend = self.athena_backend
    name = self._get_param("WorkGroup")
    wg = _workgroup(backend, name)
    if name == "primary":
        raise _request_error("The primary workgroup cannot be deleted.", "INVALID_INPUT")
    runs = [k for k, r in list(backend.executions.items()) if getattr(getattr(r, "workgroup", None), "name", None) == name]
    named = [k for k, q in list(backend.named_queries.items()) if getattr(q.workgroup, "name", q.workgroup) == name]
    if (runs or named) and not self._get_param("RecursiveDeleteOption"):
        raise _request_error(f"WorkGroup {name} is not empty", "INVALID_INPUT")
    for key in runs:
        backend.executions.pop(key, None)
    for key in named:
        backend.named_queries.pop(key, None)
    for key in [k for k, p in list(backend.prepared_statements.items()) if p.workgroup == name]:
        backend.prepared_statements.pop(key, None)
    backend.tagger.delete_all_tags_for_resource(wg.arn)
    backend.work_groups.pop(name, None)
    return "{}"


def _tagged(backend, arn):
    """The resource an Athena ARN names, if it exists."""
    for resources in (backend.work_groups, backend.data_catalogs, backend.capacity_reservations):
        for resource in resources.values():
            if getattr(resource, "arn", None) == arn:
                return resource
    return None


def _require_tagged(backend, arn):
    if _tagged(backend, arn) is None:
        from moto.core.exceptions import JsonRESTError

        error = JsonRESTError("ResourceNotFoundException", f"Resource {arn} not found")
        error.description = json.dumps({"__type": "ResourceNotFoundException", "Message": f"Resource {arn} not found", "ResourceName": arn})
        raise error


def tag_resource(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_TagResource.html"""
    backend = self.athena_backend
    arn = self._get_param("ResourceARN")
    _require_tagged(backend, arn)
    backend.tagger.tag_resource(arn, self._get_param("Tags") or [])
    return "{}"


def untag_resource(self):
    """https://docs.aws.amazon.com/athena/latest/APIReference/API_UntagResource.html"""
    backend = self.athena_backend
    arn = self._get_param("ResourceARN")
    _require_tagged(backend, arn)
    backend.tagger.untag_resource_using_names(arn, self._get_param("TagKeys") or [])
    return "{}"


def list_tags_for_resource(self):
    """A resource without tags lists none; an ARN naming nothing is ResourceNotFoundException.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_ListTagsForResource.html"""
    backend = self.athena_backend
    arn = self._get_param("ResourceARN")
    _require_tagged(backend, arn)
    tags = backend.tagger.list_tags_for_resource(arn).get("Tags", [])
    return json.dumps({"Tags": tags})


def install():
    """Puts the query engine and the workgroup fixes into moto's Athena."""
    from moto.athena.responses import AthenaResponse

    for function in (
        start_query_execution, get_query_execution, batch_get_query_execution, get_query_results,
        stop_query_execution, list_query_executions, create_work_group, get_work_group,
        list_work_groups, update_work_group, delete_work_group, tag_resource, untag_resource,
        list_tags_for_resource,
    ):
        setattr(AthenaResponse, function.__name__, function)
