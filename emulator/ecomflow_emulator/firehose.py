"""Firehose delivery streams to S3 (ExtendedS3 and S3 destinations) as AWS Firehose delivers
them: buffered, named, converted to Parquet or ORC with a Glue table's schema, and with the
records that do not convert written to the error output prefix.

moto 5.2.1 writes each PutRecord/PutRecordBatch call at once as its own object, under the
literal prefix (`clean/dt=!{timestamp:yyyy-MM-dd}/2024/05/01/10/...`), and ignores the
DataFormatConversionConfiguration (the objects hold the raw JSON). Here:

- Buffering (`Deliverer`): records are buffered in memory per stream and delivered when the
  buffer reaches BufferingHints.SizeInMBs or IntervalInSeconds has passed since its first
  record, whichever comes first; IntervalInSeconds 0 delivers at once ("zero buffering").
  One background thread sleeps until the next deadline. PutRecord and PutRecordBatch only
  append to the buffer; conversion happens at delivery, in that thread.
  https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html
  https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
- Validation at CreateDeliveryStream and UpdateDestination (`check_destination`): the
  buffering ranges, and with record format conversion enabled a SizeInMBs of at least 64, an
  UNCOMPRESSED CompressionFormat, the deserializer, serializer and schema it needs; the prefix
  rules. A converting stream without BufferingHints gets 128 MiB.
  https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html
  https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
- Naming (`Naming`): `<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><ext>`,
  with `!{timestamp:<pattern>}`, `!{firehose:random-string}` and
  `!{firehose:error-output-type}` evaluated, and `yyyy/MM/dd/HH/` appended to a Prefix that
  has no timestamp expression.
  https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
  https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
- Conversion (`Converter`): each record is read by the declared deserializer (OpenX JSON SerDe
  or Hive JSON SerDe) and converted to the columns of the Glue table named in
  SchemaConfiguration, read from the emulated Glue catalog at delivery time; output is one
  Parquet (or ORC) object per delivery, compressed as the serializer says (Parquet: SNAPPY by
  default).
  https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
- Failures: a record that does not deserialize or convert goes, as one JSON line in the
  documented error-record shape, to ErrorOutputPrefix with `!{firehose:error-output-type}`
  = `format-conversion-failed`; the rest of the batch is delivered.
  https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html

Other destinations (Redshift, HTTP endpoint, ...) stay moto's. Not emulated: data
transformation Lambdas, dynamic partitioning (`!{partitionKeyFrom...}` stays literal), S3
backup, the S3 CompressionFormat of raw deliveries (the bytes are stored uncompressed, as moto
stores them), IAM checks of the stream's roles.
"""

import base64
import copy
import heapq
import inspect
import itertools
import json
import re
import sys
import threading
import time
import uuid
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

MIB = 1024 * 1024

URL_BUFFERING = "https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html"
URL_HINTS_API = "https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html"
URL_PREFIXES = "https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html"
URL_OBJECT_NAME = "https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html"
URL_CONVERSION = "https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html"
URL_ENABLE = "https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html"
URL_ERRORS = (
    "https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html"
)

ERROR_OUTPUT_TYPE = "format-conversion-failed"
# The error page documents the error record's members but lists no ErrorCode values. These
# follow the `DataFormatConversion.<Reason>` form of the codes Firehose reports; a reader
# should match on the prefix, not on the exact reason.
PARSE_ERROR = "DataFormatConversion.ParseError"
MALFORMED = "DataFormatConversion.MalformedData"


class InvalidArgument(Exception):
    pass


def invalid_argument(message):
    from moto.firehose.exceptions import InvalidArgumentException

    return InvalidArgumentException(message)


def validation_error(messages):
    """The modeled-constraint refusal, in the form AWS's JSON services give it."""
    from moto.firehose.exceptions import ValidationException

    count = len(messages)
    noun = "error" if count == 1 else "errors"
    return ValidationException(f"{count} validation {noun} detected: " + "; ".join(messages))


# -- Java DateTimeFormatter patterns (the timestamp namespace) ---------------------------------

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _pad(value, width):
    return str(value).zfill(width)


def _offset(dt, colon):
    delta = dt.utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if colon else ''}{minutes:02d}"


def _java_field(letter, count):
    """The printer of one run of a pattern letter, as java.time.format.DateTimeFormatter prints
    it (English names). Letters outside this list are refused."""
    if letter in "yu":
        return (lambda dt: _pad(dt.year % 100, 2)) if count == 2 else (lambda dt: _pad(dt.year, count))
    if letter == "Y":
        return (
            (lambda dt: _pad(dt.isocalendar()[0] % 100, 2))
            if count == 2
            else (lambda dt: _pad(dt.isocalendar()[0], count))
        )
    if letter in "ML":
        if count > 5:
            raise ValueError(f"Too many pattern letters: {letter}")
        return {
            1: lambda dt: str(dt.month),
            2: lambda dt: _pad(dt.month, 2),
            3: lambda dt: MONTHS[dt.month - 1][:3],
            4: lambda dt: MONTHS[dt.month - 1],
            5: lambda dt: MONTHS[dt.month - 1][0],
        }[count]
    simple = {
        "d": (2, lambda dt: dt.day),
        "D": (3, lambda dt: dt.timetuple().tm_yday),
        "H": (2, lambda dt: dt.hour),
        "h": (2, lambda dt: dt.hour % 12 or 12),
        "k": (2, lambda dt: dt.hour or 24),
        "K": (2, lambda dt: dt.hour % 12),
        "m": (2, lambda dt: dt.minute),
        "s": (2, lambda dt: dt.second),
    }
    if letter in simple:
        most, get = simple[letter]
        if count > most:
            raise ValueError(f"Too many pattern letters: {letter}")
        return lambda dt: _pad(get(dt), count)
    if letter == "S":
        return lambda dt: (_pad(dt.microsecond, 6) + "000")[:count].ljust(count, "0")
    if letter == "n":
        return lambda dt: _pad(dt.microsecond * 1000, count)
    if letter == "a":
        return lambda dt: "AM" if dt.hour < 12 else "PM"
    if letter == "E":
        if count > 5:
            raise ValueError("Too many pattern letters: E")
        if count <= 3:
            return lambda dt: DAYS[dt.weekday()][:3]
        return (lambda dt: DAYS[dt.weekday()]) if count == 4 else (lambda dt: DAYS[dt.weekday()][0])
    if letter == "Z":
        return lambda dt: _offset(dt, colon=count == 5)
    if letter == "X":
        return lambda dt: "Z" if not dt.utcoffset() else _offset(dt, colon=count >= 3)
    if letter == "V" and count == 2:
        return lambda dt: str(dt.tzinfo)
    raise ValueError(f"Unknown pattern letter: {letter}")


def java_pattern(pattern):
    """A function that prints a datetime with a java.time DateTimeFormatter pattern: letters are
    fields, text in single quotes is literal ('' is a quote), other characters are literal.
    https://docs.oracle.com/javase/8/docs/api/java/time/format/DateTimeFormatter.html
    (named by https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html)."""
    parts = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            j, text = i + 1, []
            while True:
                if j >= n:
                    raise ValueError(f"Pattern ends with an incomplete string literal: {pattern}")
                if pattern[j] == "'":
                    if j + 1 < n and pattern[j + 1] == "'" and j > i + 1:
                        text.append("'")
                        j += 2
                        continue
                    break
                text.append(pattern[j])
                j += 1
            parts.append("".join(text) if j > i + 1 else "'")
            i = j + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            parts.append(_java_field(c, j - i))
            i = j
        elif c in "[]{}#":
            raise ValueError(f"Pattern includes reserved character: '{c}'")
        else:
            parts.append(c)
            i += 1
    return lambda dt: "".join(p if isinstance(p, str) else p(dt) for p in parts)


# -- Prefixes and object names ------------------------------------------------------------------

EXPRESSION = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
NAMESPACES = ("timestamp", "firehose", "partitionKeyFromQuery", "partitionKeyFromLambda")


class Prefix:
    """A Prefix or ErrorOutputPrefix, parsed once: literal text and `!{namespace:value}`
    expressions. https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html

    - `timestamp`: a Java DateTimeFormatter pattern, evaluated at the approximate arrival time
      of the oldest record of the object, in UTC unless CustomTimeZone says otherwise; every
      instance in one prefix evaluates to the same instant.
    - `firehose:random-string`: 11 random characters, a new string for each instance.
    - `firehose:error-output-type`: the failure's type (here always `format-conversion-failed`);
      only allowed in ErrorOutputPrefix.
    - "The sequence `!{` can only appear in `!{namespace:value}` expressions."
    - `partitionKeyFromQuery`/`partitionKeyFromLambda` (dynamic partitioning) are not emulated:
      they stay literal.
    """

    def __init__(self, text, field):
        self.text = text or ""
        self.parts = []
        self.has_timestamp = False
        self.has_error_type = False
        self.has_expressions = False
        at = 0
        for found in EXPRESSION.finditer(self.text):
            self._literal(self.text[at : found.start()], field)
            namespace, value = found.group(1), found.group(2)
            self.has_expressions = True
            if namespace == "timestamp":
                try:
                    self.parts.append(("timestamp", java_pattern(value)))
                except ValueError as e:
                    raise InvalidArgument(
                        f"{field} contains an invalid timestamp pattern '{value}': {e}"
                    )
                self.has_timestamp = True
            elif namespace == "firehose":
                if value not in ("random-string", "error-output-type"):
                    raise InvalidArgument(
                        f"{field} contains an invalid firehose namespace value '{value}': "
                        "allowed values are random-string and error-output-type"
                    )
                self.has_error_type |= value == "error-output-type"
                self.parts.append((value, None))
            elif namespace in NAMESPACES:
                self.parts.append(found.group(0))
            else:
                raise InvalidArgument(
                    f"{field} contains an expression with an unknown namespace '{namespace}'"
                )
            at = found.end()
        self._literal(self.text[at:], field)

    def _literal(self, text, field):
        if "!{" in text:
            raise InvalidArgument(
                f"{field} is invalid: the sequence !{{ can only appear in !{{namespace:value}} "
                "expressions"
            )
        if text:
            self.parts.append(text)

    def evaluate(self, instant, error_type=None):
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "timestamp":
                out.append(part[1](instant))
            elif part[0] == "random-string":
                out.append(uuid.uuid4().hex[:11])
            else:
                out.append(error_type or "")
        return "".join(out)


DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd/HH/}"


class Naming:
    """Object keys as Firehose names them.
    https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
    https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html

    - Key: `<evaluated prefix><stream name>-<stream version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>` and
      the file extension. The docs do not say which instant the suffix's date and time are;
      the prefix's (the oldest record's arrival) is used, so both agree.
    - "If you specify a prefix that doesn't contain a timestamp namespace expression, Firehose
      appends the expression `!{timestamp:yyyy/MM/dd/HH/}` to the value in the Prefix field":
      an absent Prefix gives `yyyy/MM/dd/HH/`, `logs/` gives `logs/yyyy/MM/dd/HH/`, and `logs`
      gives `logsyyyy/MM/dd/HH/` (appended as is).
    - ErrorOutputPrefix is used as given (the append rule names only Prefix; the docs' example
      `myFirehoseFailures/!{firehose:error-output-type}/` evaluates to
      `myFirehoseFailures/processing-failed/`). When it is absent (only allowed when Prefix
      has no expression) failed records go to `<prefix><error-output-type>/yyyy/MM/dd/HH/`:
      the docs' rule writes `<specified-prefix><error-output-type>YYYY/MM/DDD/HH/` and their
      example `myFirehosePrefix/processing-failed/2018/08/27/`; the example's separator is
      kept, with the hour the Prefix rule has.
    - Times are UTC unless the destination's CustomTimeZone names a zone.
    """

    def __init__(self, stream_name, destination):
        self.stream_name = stream_name
        prefix = Prefix(destination.get("Prefix"), "Prefix")
        text = prefix.text if prefix.has_timestamp else prefix.text + DEFAULT_TIME_PREFIX
        self.prefix = Prefix(text, "Prefix")
        error = destination.get("ErrorOutputPrefix")
        if error:
            self.error_prefix = Prefix(error, "ErrorOutputPrefix")
        else:
            fallback = prefix.text + "!{firehose:error-output-type}/" + DEFAULT_TIME_PREFIX
            self.error_prefix = Prefix(fallback, "ErrorOutputPrefix")
        self.zone = timezone.utc
        if destination.get("CustomTimeZone"):
            try:
                from zoneinfo import ZoneInfo

                self.zone = ZoneInfo(destination["CustomTimeZone"])
            except Exception:
                self.zone = timezone.utc

    def _instant(self, arrival_ms):
        return datetime.fromtimestamp(arrival_ms / 1000, timezone.utc).astimezone(self.zone)

    def _suffix(self, instant, version, extension):
        stamp = instant.strftime("%Y-%m-%d-%H-%M-%S")
        return f"{self.stream_name}-{version}-{stamp}-{uuid.uuid4()}{extension}"

    def data_key(self, arrival_ms, version, extension=""):
        instant = self._instant(arrival_ms)
        return self.prefix.evaluate(instant) + self._suffix(instant, version, extension)

    def error_key(self, arrival_ms, version, error_type):
        instant = self._instant(arrival_ms)
        return self.error_prefix.evaluate(instant, error_type) + self._suffix(instant, version, "")


# -- Validation at CreateDeliveryStream and UpdateDestination ------------------------------------

COMPRESSION_MESSAGE = (
    "The S3 destination's compression format must be set to UNCOMPRESSED when data format "
    "conversion is enabled. To enable compression within the converted output format, set the "
    "appropriate serialization option in the output format configuration."
)
BUFFER_MESSAGE = "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."


def conversion_enabled(destination):
    """DataFormatConversionConfiguration.Enabled "Defaults to true".
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_DataFormatConversionConfiguration.html
    """
    conversion = destination.get("DataFormatConversionConfiguration")
    return bool(conversion) and conversion.get("Enabled", True) is not False


def check_hints(hints, where):
    """BufferingHints: IntervalInSeconds 0..900, SizeInMBs 1..128 (the modeled ranges, refused
    as ValidationException), and "if you specify a value for one of them, you must also
    provide a value for the other" (refused as InvalidArgumentException; the docs give no
    message, this one quotes them).
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
    https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html
    """
    if not hints:
        return
    errors = []
    for member, low, high in (("sizeInMBs", 1, 128), ("intervalInSeconds", 0, 900)):
        value = hints.get(member[0].upper() + member[1:])
        if value is None:
            continue
        if value < low:
            bound = f"greater than or equal to {low}"
        elif value > high:
            bound = f"less than or equal to {high}"
        else:
            continue
        errors.append(
            f"Value '{value}' at '{where}.bufferingHints.{member}' failed to satisfy "
            f"constraint: Member must have value {bound}"
        )
    if errors:
        raise validation_error(errors)
    if (hints.get("SizeInMBs") is None) != (hints.get("IntervalInSeconds") is None):
        raise invalid_argument(
            "BufferingHints: if you specify a value for one of SizeInMBs and "
            "IntervalInSeconds, you must also provide a value for the other."
        )


def check_conversion(destination, creating):
    """With record format conversion enabled, as AWS refuses it (InvalidArgumentException;
    the messages are those AWS answers, in its order):
    - CompressionFormat must be UNCOMPRESSED ("You must set CompressionFormat ... to
      UNCOMPRESSED"; the serializer compresses instead);
    - "you can't set SizeInMBs to a value less than 64 if you enable record format conversion";
    - InputFormatConfiguration, OutputFormatConfiguration and SchemaConfiguration are
      "required if Enabled is set to true"; exactly one deserializer and one serializer;
    - at CreateDeliveryStream, SchemaConfiguration's DatabaseName, TableName and RoleARN "must
      be specified".
    https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_DataFormatConversionConfiguration.html
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_SchemaConfiguration.html
    """
    if not conversion_enabled(destination):
        return
    conversion = destination["DataFormatConversionConfiguration"]
    if destination.get("CompressionFormat", "UNCOMPRESSED") != "UNCOMPRESSED":
        raise invalid_argument(COMPRESSION_MESSAGE)
    size = (destination.get("BufferingHints") or {}).get("SizeInMBs")
    if size is not None and size < 64:
        raise invalid_argument(BUFFER_MESSAGE)
    for member in ("InputFormatConfiguration", "OutputFormatConfiguration", "SchemaConfiguration"):
        if not conversion.get(member):
            raise invalid_argument(f"{member} must not be null")
    deserializer = {
        k: v for k, v in (conversion["InputFormatConfiguration"].get("Deserializer") or {}).items() if v is not None
    }
    if not deserializer:
        raise invalid_argument("Deserializer must not be null")
    if len(deserializer) > 1:
        raise invalid_argument("More than one deserializer specified. Only one may be chosen.")
    serializer = {
        k: v for k, v in (conversion["OutputFormatConfiguration"].get("Serializer") or {}).items() if v is not None
    }
    if not serializer:
        raise invalid_argument("Serializer must not be null")
    if len(serializer) > 1:
        raise invalid_argument("More than one serializer specified. Only one may be chosen.")
    schema = conversion["SchemaConfiguration"]
    for member in ("RoleARN", "DatabaseName", "TableName"):
        if creating and not schema.get(member):
            name = "RoleArn" if member == "RoleARN" else member
            raise invalid_argument(f"SchemaConfiguration.{name} must not be null or empty")
    formats = (deserializer.get("HiveJsonSerDe") or {}).get("TimestampFormats") or []
    try:
        for pattern in formats:
            if pattern != "millis":
                joda_parser(pattern)
    except ValueError as e:
        raise invalid_argument(f"Invalid deserializer option(s): TimestampFormats: {e}")


def check_prefixes(destination):
    """The semantic rules of Prefix and ErrorOutputPrefix (InvalidArgumentException; the docs
    give the rules, not AWS's messages):
    - ErrorOutputPrefix "can be null only if Prefix contains no expressions";
    - "If you specify an expression for ErrorOutputPrefix, you must include at least one
      instance of `!{firehose:error-output-type}`";
    - "Prefix can't contain `!{firehose:error-output-type}`";
    - "The sequence `!{` can only appear in `!{namespace:value}` expressions";
    - a timestamp value must be a valid Java DateTimeFormatter pattern.
    https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
    """
    try:
        prefix = Prefix(destination.get("Prefix"), "Prefix")
        error = Prefix(destination.get("ErrorOutputPrefix"), "ErrorOutputPrefix")
    except InvalidArgument as e:
        raise invalid_argument(str(e))
    if prefix.has_error_type:
        raise invalid_argument(
            "Prefix can't contain !{firehose:error-output-type}: it can only be used in "
            "ErrorOutputPrefix."
        )
    if prefix.has_expressions and not error.text:
        raise invalid_argument("ErrorOutputPrefix can't be null when Prefix contains expressions.")
    if error.has_expressions and not error.has_error_type:
        raise invalid_argument(
            "ErrorOutputPrefix contains expressions but no !{firehose:error-output-type}: "
            "an ErrorOutputPrefix with expressions must include at least one."
        )


def check_destination(destination, where, creating):
    check_hints(destination.get("BufferingHints"), where)
    check_conversion(destination, creating)
    check_prefixes(destination)


def fill_defaults(destination):
    """What DescribeDeliveryStream reports for an S3 destination created without them: the
    description always has BufferingHints and CompressionFormat. "When format conversion isn't
    enabled, the default value is 5. The value becomes 128 when you enable it"; the interval's
    default is 300; CompressionFormat's is UNCOMPRESSED.
    https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_ExtendedS3DestinationDescription.html
    """
    if not destination.get("BufferingHints"):
        size = 128 if conversion_enabled(destination) else 5
        destination["BufferingHints"] = {"SizeInMBs": size, "IntervalInSeconds": 300}
    destination.setdefault("CompressionFormat", "UNCOMPRESSED")


# -- Deserializing: OpenX JSON SerDe and Hive JSON SerDe -----------------------------------------


class Failure(Exception):
    """A record that cannot be converted: its error code and message. The docs document the
    error record's shape but not its codes; the two used are the ones Firehose reports for a
    record that is not JSON (`DataFormatConversion.ParseError`) and for one whose values do
    not fit the schema (`DataFormatConversion.MalformedData`)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def malformed(message):
    return Failure(MALFORMED, message)


def _no_constant(name):
    raise ValueError(f"Unrecognized token '{name}': JSON has no NaN or Infinity")


DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
SPACES = re.compile(r"[ \t\n\r]*")


def json_documents(text):
    """The JSON documents of one record. "When combining multiple JSON documents into the same
    record, make sure that your input is still presented in the supported JSON format":
    `{"a":1}{"a":2}` is two rows, `[{"a":1}, {"a":2}]` is not valid input. Numbers with a
    fraction or exponent are read as Decimal, exactly as written.
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    """
    try:
        return [DECODER.decode(text)]
    except json.JSONDecodeError as e:
        if e.msg != "Extra data":
            raise Failure(PARSE_ERROR, f"Malformed JSON: {e}")
    except ValueError as e:
        raise Failure(PARSE_ERROR, f"Malformed JSON: {e}")
    docs, at, end = [], SPACES.match(text, 0).end(), len(text)
    while at < end:
        try:
            doc, at = DECODER.raw_decode(text, at)
        except (json.JSONDecodeError, ValueError) as e:
            raise Failure(PARSE_ERROR, f"Malformed JSON: {e}")
        docs.append(doc)
        at = SPACES.match(text, at).end()
    return docs


def dump_json(value):
    """JSON text of a nested value, numbers as they were written."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump_json(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump_json(v) for v in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


class Deserializer:
    """The options of the declared deserializer.

    OpenX JSON SerDe (https://docs.aws.amazon.com/firehose/latest/APIReference/API_OpenXJsonSerDe.html):
    - CaseInsensitive, "When set to true, which is the default, Firehose converts JSON keys to
      lowercase before deserializing them"; the column names are compared lowercased too.
    - ColumnToJsonKeyMappings `{"ts": "timestamp"}` reads column `ts` from JSON key
      `timestamp` (and no longer from key `ts`).
    - ConvertDotsInJsonKeysToUnderscores (default false): key `a.b` fills column `a_b`.
    - Numbers written as JSON strings are read ("123" fills an int column), nested JSON in a
      string column is kept as its JSON text.
    Hive JSON SerDe (https://docs.aws.amazon.com/firehose/latest/APIReference/API_HiveJsonSerDe.html,
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html):
    - A numeric column given a JSON string is an error; nested JSON is not turned into a
      string; dots are not converted. Keys are matched case-insensitively (the docs are silent;
      Hive's column names are lowercase and its JsonSerDe lowercases the keys it reads).
    - TimestampFormats: Joda-Time patterns, or `millis`; without them java.sql.Timestamp.valueOf.
    """

    def __init__(self, config):
        self.openx = "OpenXJsonSerDe" in config and config["OpenXJsonSerDe"] is not None
        options = (config.get("OpenXJsonSerDe") if self.openx else config.get("HiveJsonSerDe")) or {}
        self.case_insensitive = options.get("CaseInsensitive", True) if self.openx else True
        self.dots = bool(options.get("ConvertDotsInJsonKeysToUnderscores")) if self.openx else False
        self.mappings = dict(options.get("ColumnToJsonKeyMappings") or {}) if self.openx else {}
        self.timestamp_formats = list(options.get("TimestampFormats") or []) if not self.openx else []

    def key(self, name):
        """A JSON key (or mapped key) as it is compared with column names."""
        if self.dots:
            name = name.replace(".", "_")
        return name.lower() if self.case_insensitive else name

    def column_key(self, column):
        mapped = None
        for col, key in self.mappings.items():
            if col.lower() == column.lower():
                mapped = key
        if mapped is not None:
            return self.key(mapped)
        return column.lower() if self.case_insensitive else column


# -- Timestamps ---------------------------------------------------------------------------------

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NS = 1_000_000_000
DAY_NS = 86400 * NS
NS_MIN, NS_MAX = -(2**63), 2**63 - 1
SPACED = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\Z", re.ASCII)
ISO_Z = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z\Z", re.ASCII)
DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})\Z", re.ASCII)
INTEGER = re.compile(r"[+-]?\d+\Z", re.ASCII)
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z", re.ASCII)
_days = {}


def epoch_days(y, m, d):
    key = (y, m, d)
    days = _days.get(key)
    if days is None:
        days = date(y, m, d).toordinal() - EPOCH_ORDINAL
        if len(_days) < 100_000:
            _days[key] = days
    return days


def clock_ns(match):
    """Nanoseconds since the epoch of a matched `yyyy-M-d HH:mm:ss[.fffffffff]`; ValueError if
    it is no such date and time."""
    y, mo, d, h, mi, s, frac = match.groups()
    h, mi, s = int(h), int(mi), int(s)
    if h > 23 or mi > 59 or s > 59:
        raise ValueError("time out of range")
    ns = epoch_days(int(y), int(mo), int(d)) * DAY_NS + (h * 3600 + mi * 60 + s) * NS
    if frac:
        ns += int(frac.ljust(9, "0"))
    return ns


def epoch_ns(value):
    """An epoch number as written: an integer of 13 digits or more is milliseconds, a shorter
    one seconds, one with a fraction is seconds (OpenX SerDe's rule for telling them apart,
    measured against "1454612111000"; the AWS docs list the formats, not the rule)."""
    if isinstance(value, int):
        digits = len(str(abs(value)))
        return value * 1_000_000 if digits >= 13 else value * NS
    return int((value * NS).to_integral_value())


def openx_timestamp(value):
    """The timestamps the OpenX JSON SerDe reads, as the docs list them:
    - `yyyy-MM-dd'T'HH:mm:ss[.S]'Z'`, fraction up to 9 digits (`2017-02-07T15:13:01.39256Z`);
    - `yyyy-[M]M-[d]d HH:mm:ss[.S]`, fraction up to 9 digits (`2017-02-07 15:13:01.14`);
    - epoch seconds (`1518033528`), epoch milliseconds (`1518033528123`), floating point epoch
      seconds (`1518033528.123`), as JSON numbers or strings.
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    """
    kind = type(value)
    if kind is str:
        if ":" in value:
            match = SPACED.match(value) or ISO_Z.match(value)
            if match is None:
                raise ValueError("not a timestamp in a format the OpenX JSON SerDe reads")
            return clock_ns(match)
        if INTEGER.match(value):
            return epoch_ns(int(value))
        if NUMBER.match(value):
            return epoch_ns(Decimal(value))
        raise ValueError("not a timestamp in a format the OpenX JSON SerDe reads")
    if kind is int or kind is Decimal:
        return epoch_ns(value)
    raise ValueError(f"a JSON {json_kind(value)} is not a timestamp")


JODA_NUMERIC = "yYxuMdDHhKkmsS"


def joda_parser(pattern):
    """A parser of one Joda-Time DateTimeFormat pattern (the Hive JSON SerDe's
    TimestampFormats): returns nanoseconds since the epoch, or None when the text does not
    match. Fields absent from the pattern default as Joda defaults them (1970-01-01 00:00:00);
    an offset (`Z`) converts to UTC, otherwise the text is taken as UTC.
    https://www.joda.org/joda-time/apidocs/org/joda/time/format/DateTimeFormat.html
    (named by https://docs.aws.amazon.com/firehose/latest/APIReference/API_HiveJsonSerDe.html)."""
    tokens = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            j = pattern.find("'", i + 1)
            if j < 0:
                raise ValueError(f"unterminated quote in '{pattern}'")
            tokens.append(("lit", pattern[i + 1 : j] if j > i + 1 else "'"))
            i = j + 1
        elif c.isascii() and c.isalpha():
            j = i
            while j < n and pattern[j] == c:
                j += 1
            if c not in "yYuMdDHhKkmsSaEZ":
                raise ValueError(f"Illegal pattern component: {pattern[i:j]}")
            tokens.append((c, j - i))
            i = j
        else:
            tokens.append(("lit", c))
            i += 1
    regex, fields = [], []
    for k, (letter, count) in enumerate(tokens):
        if letter == "lit":
            regex.append(re.escape(count))
            continue
        following = tokens[k + 1][0] if k + 1 < len(tokens) else None
        adjacent = following is not None and following != "lit" and following in JODA_NUMERIC
        if letter == "M" and count >= 3:
            names = [m if count >= 4 else m[:3] for m in MONTHS]
            regex.append("(" + "|".join(names) + ")")
            fields.append("month-name")
        elif letter == "E":
            regex.append("(?:" + "|".join(DAYS + [d[:3] for d in DAYS]) + ")")
        elif letter == "a":
            regex.append("(AM|PM|am|pm)")
            fields.append("ampm")
        elif letter == "Z":
            regex.append(r"(Z|[+-]\d{2}:?\d{2})")
            fields.append("offset")
        else:
            if adjacent:
                regex.append(r"(\d{%d})" % count)
            elif letter in "yYu":
                regex.append(r"([+-]?\d{1,9})")
            elif letter == "S":
                regex.append(r"(\d{1,9})")
            else:
                regex.append(r"(\d{%d,%d})" % (min(count, 2), max(count, 2)))
            fields.append(letter)
    compiled = re.compile("".join(regex) + r"\Z", re.IGNORECASE)

    def parse(text):
        match = compiled.match(text)
        if match is None:
            return None
        parts = {"y": 1970, "M": 1, "d": 1, "H": 0, "m": 0, "s": 0, "S": 0}
        ampm = offset = day_of_year = None
        for field, value in zip(fields, match.groups()):
            if field in "yYu":
                parts["y"] = int(value)
            elif field == "month-name":
                parts["M"] = [m[:3].lower() for m in MONTHS].index(value[:3].lower()) + 1
            elif field in "HhKk":
                hour = int(value)
                parts["H"] = 0 if field == "k" and hour == 24 else hour
                if field in "hK":
                    ampm = ampm or "AM"
            elif field == "S":
                parts["S"] = int(value.ljust(9, "0")[:9])
            elif field == "ampm":
                ampm = value.upper()
            elif field == "offset":
                offset = value
            elif field == "D":
                day_of_year = int(value)
            else:
                parts[field] = int(value)
        if ampm == "PM" and parts["H"] < 12:
            parts["H"] += 12
        elif ampm == "AM" and parts["H"] == 12:
            parts["H"] = 0
        if parts["H"] > 23 or parts["m"] > 59 or parts["s"] > 59:
            return None
        try:
            if day_of_year is not None:
                days = date(parts["y"], 1, 1).toordinal() - EPOCH_ORDINAL + day_of_year - 1
            else:
                days = epoch_days(parts["y"], parts["M"], parts["d"])
        except ValueError:
            return None
        ns = days * DAY_NS + (parts["H"] * 3600 + parts["m"] * 60 + parts["s"]) * NS + parts["S"]
        if offset and offset.upper() != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            ns -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * NS
        return ns

    return parse


def hive_timestamp(formats):
    """The Hive JSON SerDe's timestamps: each of TimestampFormats in turn (Joda-Time patterns;
    `millis` is epoch milliseconds), then java.sql.Timestamp.valueOf (`yyyy-[m]m-[d]d
    hh:mm:ss[.f...]`), which is all it reads without TimestampFormats ("If you don't specify a
    format, Firehose uses java.sql.Timestamp::valueOf by default"). Falling back to valueOf
    after the formats is Hive's TimestampParser; the docs do not say.
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_HiveJsonSerDe.html
    """
    parsers = []
    for pattern in formats:
        if pattern == "millis":
            parsers.append(lambda text: int(text) * 1_000_000 if INTEGER.match(text) else None)
        else:
            parsers.append(joda_parser(pattern))

    def parse(value):
        kind = type(value)
        if kind is str:
            text = value
        elif kind is int or kind is Decimal:
            text = str(value)
        else:
            raise ValueError(f"a JSON {json_kind(value)} is not a timestamp")
        for parser in parsers:
            ns = parser(text)
            if ns is not None:
                return ns
        match = SPACED.match(text)
        if match is None:
            raise ValueError("not a timestamp in TimestampFormats or java.sql.Timestamp format")
        return clock_ns(match)

    return parse


# -- Converting: Glue (Hive) types to Arrow -------------------------------------------------------


def json_kind(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "value"


class HiveType:
    """A parsed Hive type: name, and its parameters (precision and scale, element types, struct
    fields)."""

    def __init__(self, name, params=(), fields=None, text=""):
        self.name = name
        self.params = params
        self.fields = fields
        self.text = text


def parse_hive_type(text):
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_$]*|\d+|[<>(),:]", text)
    at = [0]

    def take(expected=None):
        if at[0] >= len(tokens):
            raise ValueError(f"unexpected end of type '{text}'")
        token = tokens[at[0]]
        if expected is not None and token != expected:
            raise ValueError(f"expected '{expected}' in type '{text}'")
        at[0] += 1
        return token

    def peek():
        return tokens[at[0]] if at[0] < len(tokens) else None

    def parse():
        start = at[0]
        name = take().lower()
        if name == "array":
            take("<")
            element = parse()
            take(">")
            return HiveType("array", (element,), text=f"array<{element.text}>")
        if name == "map":
            take("<")
            key = parse()
            take(",")
            value = parse()
            take(">")
            return HiveType("map", (key, value), text=f"map<{key.text},{value.text}>")
        if name == "struct":
            take("<")
            fields = []
            while True:
                field = take()
                take(":")
                fields.append((field, parse()))
                if peek() == ",":
                    take(",")
                    continue
                take(">")
                break
            inner = ",".join(f"{f}:{t.text}" for f, t in fields)
            return HiveType("struct", fields=fields, text=f"struct<{inner}>")
        params = ()
        if peek() == "(":
            take("(")
            params = [int(take())]
            if peek() == ",":
                take(",")
                params.append(int(take()))
            take(")")
            params = tuple(params)
        if name == "double" and peek() == "precision":
            take()
        if name == "decimal":
            precision, scale = (params + (10, 0)[len(params) :])[:2] if params else (10, 0)
            return HiveType("decimal", (precision, scale), text=f"decimal({precision},{scale})")
        return HiveType(name, params, text=" ".join(tokens[start : at[0]]).replace(" ", ""))

    parsed = parse()
    if at[0] != len(tokens):
        raise ValueError(f"unexpected '{tokens[at[0]]}' in type '{text}'")
    return parsed


INTEGER_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "integer": 32, "bigint": 64}
DECIMAL_CONTEXT = Context(prec=100)


def arrow_type(t):
    """The Arrow type of a Hive type: string/varchar/char -> string, the integers, float,
    double, boolean, decimal(p,s) -> decimal128(p,s), timestamp, date, binary, and array, map
    and struct of those. The Hive types are those of the Glue table's columns
    (https://docs.aws.amazon.com/athena/latest/ug/data-types.html)."""
    import pyarrow as pa

    simple = {
        "string": pa.string(), "varchar": pa.string(), "char": pa.string(),
        "tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(), "integer": pa.int32(),
        "bigint": pa.int64(), "float": pa.float32(), "double": pa.float64(),
        "boolean": pa.bool_(), "timestamp": pa.timestamp("ns"), "date": pa.date32(),
        "binary": pa.binary(),
    }
    if t.name in simple:
        return simple[t.name]
    if t.name == "decimal":
        precision, scale = t.params
        if not 1 <= precision <= 38 or not 0 <= scale <= precision:
            raise ValueError(f"unsupported type {t.text}")
        return pa.decimal128(precision, scale)
    if t.name == "array":
        return pa.list_(arrow_type(t.params[0]))
    if t.name == "map":
        return pa.map_(arrow_type(t.params[0]), arrow_type(t.params[1]))
    if t.name == "struct":
        return pa.struct([(name, arrow_type(ft)) for name, ft in t.fields])
    raise ValueError(f"unsupported type {t.text}")


def value_converter(t, serde):
    """A function from a JSON value to the Python value pyarrow stores in a column of Hive type
    `t`; it raises ValueError when the value does not convert. Per type:
    - string: strings as they are, numbers and booleans as their JSON text; nested JSON as its
      text with the OpenX SerDe, an error with the Hive SerDe ("doesn't convert nested JSON
      into strings");
    - integers: JSON integers in the type's range; numeric strings with the OpenX SerDe only
      (the Hive SerDe refuses "Fields that have numerical types in the schema, but that are
      strings in the JSON"); a number with a fraction is an error (the docs are silent; the
      SerDe's integer inspectors take no fractions either);
    - float/double: numbers (and numeric strings with OpenX);
    - boolean: JSON booleans; strings read as Java's Boolean.parseBoolean reads them (true
      only for "true", any case), as both SerDes do; numbers are an error;
    - decimal(p,s): the number exactly as written (never through a float), rounded half-up to
      s places as Hive's decimal type rounds; more than p-s integer digits is an error (Hive
      would store NULL; the docs are silent, and an error keeps the value in the error output);
    - timestamp: see `openx_timestamp` and `hive_timestamp`; date: `yyyy-[M]M-[d]d`;
    - array/map/struct: JSON arrays and objects, converted member by member.
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    """
    openx = serde.openx
    name = t.name
    if name in ("string", "varchar", "char"):

        def to_string(v):
            kind = type(v)
            if kind is str:
                return v
            if kind is bool:
                return "true" if v else "false"
            if kind is int or kind is Decimal:
                return str(v)
            if openx:
                return dump_json(v)
            raise ValueError("the Hive JSON SerDe doesn't convert nested JSON into strings")

        return to_string
    if name in INTEGER_BITS:
        bits = INTEGER_BITS[name]
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

        def to_integer(v):
            kind = type(v)
            if kind is int:
                n = v
            elif kind is str and openx:
                text = v
                if text[:2] in ("0x", "0X"):
                    n = int(text[2:], 16)
                elif INTEGER.match(text):
                    n = int(text)
                else:
                    raise ValueError(f"'{v}' is not an integer")
            elif kind is Decimal:
                raise ValueError(f"{v} is not an integer")
            else:
                raise ValueError(f"a JSON {json_kind(v)} is not an integer")
            if low <= n <= high:
                return n
            raise ValueError(f"{n} is out of the range of {name}")

        return to_integer
    if name in ("float", "double"):

        def to_float(v):
            kind = type(v)
            if kind is int or kind is Decimal:
                return float(v)
            if kind is str and openx and NUMBER.match(v):
                return float(v)
            raise ValueError(f"a JSON {json_kind(v)} is not a number" if kind is not str else f"'{v}' is not a number")

        return to_float
    if name == "boolean":

        def to_boolean(v):
            kind = type(v)
            if kind is bool:
                return v
            if kind is str:
                return v.lower() == "true"
            raise ValueError(f"a JSON {json_kind(v)} is not a boolean")

        return to_boolean
    if name == "decimal":
        precision, scale = t.params
        quantum = Decimal(1).scaleb(-scale)
        limit = Decimal(10) ** (precision - scale)

        def to_decimal(v):
            kind = type(v)
            if kind is Decimal:
                d = v
            elif kind is int:
                d = Decimal(v)
            elif kind is str and openx and NUMBER.match(v):
                d = Decimal(v)
            else:
                raise ValueError(
                    f"a JSON {json_kind(v)} is not a number" if kind is not str else f"'{v}' is not a number"
                )
            try:
                d = d.quantize(quantum, rounding=ROUND_HALF_UP, context=DECIMAL_CONTEXT)
            except InvalidOperation:
                raise ValueError(f"{v} does not fit {t.text}")
            if abs(d) >= limit:
                raise ValueError(f"{v} does not fit {t.text}")
            return d

        return to_decimal
    if name == "timestamp":
        parse = openx_timestamp if openx else hive_timestamp(serde.timestamp_formats)

        def to_timestamp(v):
            ns = parse(v)
            if not NS_MIN <= ns <= NS_MAX:
                raise ValueError("the timestamp is out of range")
            return ns

        return to_timestamp
    if name == "date":

        def to_date(v):
            match = DATE.match(v) if type(v) is str else None
            if match is None:
                raise ValueError("not a date yyyy-MM-dd")
            return epoch_days(*(int(g) for g in match.groups()))

        return to_date
    if name == "binary":

        def to_binary(v):
            if type(v) is str:
                return v.encode("utf-8")
            raise ValueError(f"a JSON {json_kind(v)} is not binary")

        return to_binary
    if name == "array":
        element = value_converter(t.params[0], serde)

        def to_array(v):
            if type(v) is not list:
                raise ValueError(f"a JSON {json_kind(v)} is not an array")
            return [None if x is None else element(x) for x in v]

        return to_array
    if name == "map":
        key, value = (value_converter(p, serde) for p in t.params)
        key_serde = Deserializer({"OpenXJsonSerDe": {}})
        key_of = value_converter(t.params[0], key_serde)

        def to_map(v):
            if type(v) is not dict:
                raise ValueError(f"a JSON {json_kind(v)} is not an object")
            return [(key_of(k), None if x is None else value(x)) for k, x in v.items()]

        return to_map
    if name == "struct":
        fields = [(f, value_converter(ft, serde)) for f, ft in t.fields]
        index = {serde.key(f): i for i, (f, _) in enumerate(fields)}

        def to_struct(v):
            if type(v) is not dict:
                raise ValueError(f"a JSON {json_kind(v)} is not an object")
            values = [None] * len(fields)
            for k, x in v.items():
                i = index.get(serde.key(k))
                if i is not None:
                    values[i] = x
            return {
                f: (None if x is None else conv(x)) for (f, conv), x in zip(fields, values)
            }

        return to_struct
    raise ValueError(f"unsupported type {t.text}")


class Converter:
    """Rows of one delivery, converted column by column to the Glue table's types.

    - The columns are the table's StorageDescriptor.Columns, in their order; partition keys are
      not written (they are in the key's prefix). "The converted data will not contain
      attributes that are not specified in the schema"; a column whose key is missing is null.
    - A record is converted whole or not at all: when any of its documents or values fails, it
      goes to the error output, and the others are delivered.
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    """

    def __init__(self, columns, serde):
        self.serde = serde
        self.names = [c["Name"] for c in columns]
        self.types = [parse_hive_type(c["Type"]) for c in columns]
        self.arrow = [arrow_type(t) for t in self.types]
        self.converters = [value_converter(t, serde) for t in self.types]
        self.index = {}
        wanted = {}
        for i, name in enumerate(self.names):
            wanted.setdefault(serde.column_key(name), i)
        self.wanted = wanted
        self.columns = [[] for _ in self.names]
        self.rows = 0

    def _column_of(self, key):
        i = self.wanted.get(self.serde.key(key), -1)
        if len(self.index) < 10_000:
            self.index[key] = i
        return i

    def add(self, data):
        """Converts one record (bytes) into its rows and keeps them; raises Failure."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Failure(PARSE_ERROR, f"The record is not UTF-8 text: {e}")
        documents = json_documents(text)
        width = len(self.names)
        index, converters, names = self.index, self.converters, self.names
        rows = []
        for doc in documents:
            if type(doc) is not dict:
                raise malformed(
                    f"The record holds a JSON {json_kind(doc)}, not an object: each JSON "
                    "document must be an object"
                )
            row = [None] * width
            for key, value in doc.items():
                i = index.get(key)
                if i is None:
                    i = self._column_of(key)
                if i >= 0:
                    row[i] = value
            for i in range(width):
                value = row[i]
                if value is not None:
                    try:
                        row[i] = converters[i](value)
                    except ValueError as e:
                        shown = dump_json(value)
                        shown = shown if len(shown) <= 100 else shown[:97] + "..."
                        raise malformed(
                            f"Cannot convert the value {shown} of column '{names[i]}' to "
                            f"{self.types[i].text}: {e}"
                        )
            rows.append(row)
        columns = self.columns
        for row in rows:
            for i in range(width):
                columns[i].append(row[i])
        self.rows += len(rows)

    def table(self):
        import pyarrow as pa

        arrays = [pa.array(col, type=t) for col, t in zip(self.columns, self.arrow)]
        return pa.Table.from_arrays(arrays, names=self.names)


def serialize(table, serializer):
    """The converted object's bytes and file extension.

    Parquet (https://docs.aws.amazon.com/firehose/latest/APIReference/API_ParquetSerDe.html):
    Compression UNCOMPRESSED, SNAPPY or GZIP, "with the default being SNAPPY";
    EnableDictionaryCompression; PageSizeBytes (default 1 MiB); WriterVersion V1 (default) or
    V2. BlockSizeBytes and MaxPaddingBytes (HDFS padding) have no effect here. Timestamps are
    written as INT96, as Hive's Parquet writer behind Firehose writes them (the docs are
    silent; readers see a timestamp either way). ORC
    (https://docs.aws.amazon.com/firehose/latest/APIReference/API_OrcSerDe.html): Compression
    NONE, ZLIB or SNAPPY (default SNAPPY).
    The extension is `.parquet` / `.orc`: the object name's `<file extension>`
    (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html), replaced by the
    destination's FileExtension when it has one.
    """
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    if serializer.get("OrcSerDe") is not None:
        import pyarrow.orc as orc

        options = serializer["OrcSerDe"] or {}
        codec = {"NONE": "uncompressed", "ZLIB": "zlib", "SNAPPY": "snappy"}[options.get("Compression") or "SNAPPY"]
        orc.write_table(table, sink, compression=codec)
        return sink.getvalue().to_pybytes(), ".orc"
    import pyarrow.parquet as pq

    options = serializer.get("ParquetSerDe") or {}
    codec = {"UNCOMPRESSED": "none", "SNAPPY": "snappy", "GZIP": "gzip"}[options.get("Compression") or "SNAPPY"]
    pq.write_table(
        table,
        sink,
        compression=codec,
        use_dictionary=options.get("EnableDictionaryCompression", True) is not False,
        data_page_size=options.get("PageSizeBytes") or MIB,
        data_page_version="2.0" if options.get("WriterVersion") == "V2" else "1.0",
        use_deprecated_int96_timestamps=True,
    )
    return sink.getvalue().to_pybytes(), ".parquet"


def glue_columns(account_id, region, schema):
    """The columns of the table SchemaConfiguration names, read from the emulated Glue catalog
    now, at delivery, as Firehose reads it: CatalogId defaults to the account, Region to the
    stream's, and VersionId LATEST (or none) is the newest version ("any updates to the table
    are automatically picked up").
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_SchemaConfiguration.html
    """
    from moto.glue.models import glue_backends

    catalog = schema.get("CatalogId") or account_id
    glue = glue_backends[catalog][schema.get("Region") or region]
    table = glue.get_table(schema["DatabaseName"], schema["TableName"])
    version = schema.get("VersionId")
    if not version or version == "LATEST":
        version = str(table._current_version)
    described = table.get_version(version)
    return (described.get("StorageDescriptor") or {}).get("Columns") or []


# -- Delivery -------------------------------------------------------------------------------------


def s3_destination(stream):
    """The ExtendedS3 or S3 destination of a stream, or None (Redshift, HTTP endpoint, ...: those
    stay moto's). moto keeps an `S3` copy beside an `ExtendedS3` destination."""
    destination = stream.destinations[0]
    if "ExtendedS3" in destination:
        return destination["ExtendedS3"]
    if "S3" in destination and len(destination) == 2:
        return destination["S3"]
    return None


class Batch:
    """Records detached from a stream's buffer, with the destination as it was then."""

    def __init__(self, backend, stream, records):
        self.backend = backend
        self.stream = stream
        self.name = stream.delivery_stream_name
        self.version = stream.version_id
        self.destination = copy.deepcopy(s3_destination(stream))
        self.records = records
        self.outputs = None  # (bucket, key, body) once converted
        self.first_attempt = None


class Buffer:
    __slots__ = ("backend", "stream", "records", "size", "token")

    def __init__(self, backend, stream, token):
        self.backend = backend
        self.stream = stream
        self.records = []
        self.size = 0
        self.token = token


class Deliverer:
    """The buffers of every stream, and the one thread that delivers them.

    - "The first buffer condition that is satisfied triggers Firehose to deliver the data":
      SizeInMBs (MiB of record data) or IntervalInSeconds since the buffer's first record.
      https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html
    - IntervalInSeconds 0: "Firehose will not buffer data and will deliver data within a few
      seconds": delivered as soon as the thread takes it.
    - UpdateDestination: the records already buffered are delivered with the configuration
      they arrived under (the docs do not say; this keeps a record from changing format
      mid-buffer).
    - DeleteDeliveryStream drops the stream's buffer: "the service might continue to accept
      records, but it doesn't make any guarantees with respect to delivering the data".
      https://docs.aws.amazon.com/firehose/latest/APIReference/API_DeleteDeliveryStream.html
    - An S3 write that fails is retried every 5 seconds while the stream exists, for up to 24
      hours ("If the destination is Amazon S3 and delivery fails ... Firehose keeps retrying
      until the retention period ends"; DirectPut retains records for 24 hours).
      https://docs.aws.amazon.com/firehose/latest/dev/troubleshooting.html
    """

    RETRY_SECONDS = 5
    RETENTION_SECONDS = 24 * 3600

    def __init__(self):
        self.cond = threading.Condition()
        self.buffers = {}
        self.deadlines = []  # heap of (time, token, key)
        self.ready = []
        self.tokens = itertools.count()
        self.thread = None
        self.ids = itertools.count()

    def _key(self, backend, name):
        return (backend.account_id, backend.region_name, name)

    def _start(self):
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="firehose-delivery", daemon=True)
            self.thread.start()

    def put(self, backend, stream, records):
        destination = s3_destination(stream)
        hints = destination.get("BufferingHints") or {}
        converting = conversion_enabled(destination)
        limit = (hints.get("SizeInMBs") or (128 if converting else 5)) * MIB
        interval = hints.get("IntervalInSeconds")
        interval = 300 if interval is None else interval
        now = time.time()
        arrival = int(now * 1000)
        key = self._key(backend, stream.delivery_stream_name)
        base = uuid.uuid4().hex
        with self.cond:
            self._start()
            buffer = self.buffers.get(key)
            if buffer is None or buffer.stream is not stream:
                buffer = self.buffers[key] = Buffer(backend, stream, next(self.tokens))
            if not buffer.records:
                buffer.token = next(self.tokens)
                heapq.heappush(self.deadlines, (now + interval, buffer.token, key))
                self.cond.notify()
            append = buffer.records.append
            size = buffer.size
            for record in records:
                data = record["Data"]
                append((data, arrival))
                size += len(data)
            buffer.size = size
            if size >= limit:
                self._detach(key)
                self.cond.notify()
        first = next(self.ids)
        return [{"RecordId": f"{base}{first:08x}{i:04x}"} for i in range(len(records))]

    def _detach(self, key):
        buffer = self.buffers.pop(key, None)
        if buffer is not None and buffer.records:
            self.ready.append(Batch(buffer.backend, buffer.stream, buffer.records))

    def flush(self, backend, stream):
        """Hands the stream's buffer to the delivery thread as it is now."""
        key = self._key(backend, stream.delivery_stream_name)
        with self.cond:
            buffer = self.buffers.get(key)
            if buffer is not None and buffer.stream is stream:
                self._detach(key)
                self.cond.notify()

    def drop(self, backend, name):
        with self.cond:
            self.buffers.pop(self._key(backend, name), None)

    def _run(self):
        while True:
            with self.cond:
                while True:
                    now = time.time()
                    while self.deadlines and self.deadlines[0][0] <= now:
                        _, token, key = heapq.heappop(self.deadlines)
                        buffer = self.buffers.get(key)
                        if buffer is not None and buffer.token == token:
                            self._detach(key)
                    if self.ready:
                        batches, self.ready = self.ready, []
                        break
                    timeout = self.deadlines[0][0] - now if self.deadlines else None
                    self.cond.wait(timeout)
            for batch in batches:
                self._deliver(batch)

    def _deliver(self, batch):
        try:
            if batch.outputs is None:
                batch.first_attempt = time.time()
                batch.outputs = outputs(batch)
            while batch.outputs:
                bucket, key, body = batch.outputs[0]
                s3_put(batch.backend, bucket, key, body)
                batch.outputs.pop(0)
        except Exception as e:  # an S3 write (or something unforeseen) failed: retry later
            alive = batch.backend.delivery_streams.get(batch.name) is batch.stream
            expired = time.time() - (batch.first_attempt or time.time()) > self.RETENTION_SECONDS
            print(
                f"firehose: delivery of {len(batch.records)} records of {batch.name} failed "
                f"({type(e).__name__}: {e}); "
                + ("retrying in 5 s" if alive and not expired else "dropped"),
                file=sys.stderr,
                flush=True,
            )
            if alive and not expired:
                timer = threading.Timer(self.RETRY_SECONDS, self._retry, (batch,))
                timer.daemon = True
                timer.start()

    def _retry(self, batch):
        with self.cond:
            self.ready.append(batch)
            self.cond.notify()


def s3_put(backend, bucket, key, body):
    from moto.s3.models import s3_backends

    s3_backends[backend.account_id][backend.partition].put_object(bucket, key, body)


def outputs(batch):
    """The objects one delivery writes: raw records concatenated (as Firehose concatenates
    them, "without any delimiters": https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html),
    or the converted object and the error object."""
    destination = batch.destination
    bucket = destination["BucketARN"].split(":::")[-1]
    naming = Naming(batch.name, destination)
    extension = destination.get("FileExtension") or ""
    if not conversion_enabled(destination):
        body = b"".join(data for data, _ in batch.records)
        return [(bucket, naming.data_key(batch.records[0][1], batch.version, extension), body)]
    return [(bucket, key, body) for key, body in convert(batch, naming)]


def convert(batch, naming):
    """Converts a batch: the data object of the records that convert, and the error object
    (one JSON line per failed record) of those that do not.

    The error record, as documented: attemptsMade, arrivalTimestamp, lastErrorCode,
    lastErrorMessage, attemptEndingTimestamp, rawData (base64), sequenceNumber,
    subSequenceNumber and dataCatalogTable {catalogId, databaseName, tableName, region,
    versionId, catalogArn}. The page now spells the two error members `ErrorCode` and
    `ErrorMessage`; its earlier revisions, and the records Firehose writes, have
    `lastErrorCode` and `lastErrorMessage`, used here. A DirectPut record has no Kinesis
    sequence number: sequenceNumber and subSequenceNumber are null. The Glue table missing at
    delivery fails every record of the batch (the docs are silent; nothing is lost this way).
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html
    """
    destination = batch.destination
    conversion = destination["DataFormatConversionConfiguration"]
    schema = conversion["SchemaConfiguration"]
    backend = batch.backend
    region = schema.get("Region") or backend.region_name
    catalog = schema.get("CatalogId") or backend.account_id
    table_ref = {
        "catalogId": schema.get("CatalogId"),
        "databaseName": schema.get("DatabaseName"),
        "tableName": schema.get("TableName"),
        "region": region,
        "versionId": schema.get("VersionId") or "LATEST",
        "catalogArn": f"arn:{backend.partition}:glue:{region}:{catalog}:catalog",
    }
    failed = []
    converter = None
    try:
        columns = glue_columns(backend.account_id, backend.region_name, schema)
        serde = Deserializer(conversion["InputFormatConfiguration"]["Deserializer"])
        converter = Converter(columns, serde)
    except Exception as e:
        reason = f"{type(e).__name__}: {e}"
        failure = Failure(
            "DataFormatConversion.InvalidSchema",
            f"The schema of Glue table {schema.get('DatabaseName')}.{schema.get('TableName')} "
            f"could not be read or converted ({reason})",
        )
        failed = [(data, arrival, failure) for data, arrival in batch.records]
    first_ok = None
    if converter is not None:
        for data, arrival in batch.records:
            try:
                converter.add(data)
            except Failure as failure:
                failed.append((data, arrival, failure))
            else:
                if first_ok is None:
                    first_ok = arrival
    out = []
    if converter is not None and converter.rows:
        body, extension = serialize(converter.table(), conversion["OutputFormatConfiguration"]["Serializer"])
        extension = destination.get("FileExtension") or extension
        out.append((naming.data_key(first_ok, batch.version, extension), body))
    if failed:
        ended = int(time.time() * 1000)
        lines = []
        for data, arrival, failure in failed:
            lines.append(
                json.dumps(
                    {
                        "attemptsMade": 1,
                        "arrivalTimestamp": arrival,
                        "lastErrorCode": failure.code,
                        "lastErrorMessage": failure.message,
                        "attemptEndingTimestamp": ended,
                        "rawData": base64.b64encode(data).decode("ascii"),
                        "sequenceNumber": None,
                        "subSequenceNumber": None,
                        "dataCatalogTable": table_ref,
                    },
                    separators=(",", ":"),
                    ensure_ascii=False,
                )
            )
        body = ("\n".join(lines) + "\n").encode("utf-8")
        out.append((naming.error_key(failed[0][1], batch.version, ERROR_OUTPUT_TYPE), body))
    return out


DELIVERER = Deliverer()


# -- moto hooks -----------------------------------------------------------------------------------


def install():
    """Puts the rules into moto's FirehoseBackend: validation and defaults on
    CreateDeliveryStream and UpdateDestination, the buffer on every S3 write moto makes
    (PutRecord, PutRecordBatch, CloudWatch Logs subscriptions), the buffer dropped on
    DeleteDeliveryStream."""
    from moto.firehose.models import FirehoseBackend

    create = FirehoseBackend.create_delivery_stream
    create_signature = inspect.signature(create)
    update = FirehoseBackend.update_destination
    update_signature = inspect.signature(update)
    delete = FirehoseBackend.delete_delivery_stream
    moto_put_s3_records = FirehoseBackend.put_s3_records

    def create_delivery_stream(self, *args, **kwargs):
        bound = create_signature.bind(self, *args, **kwargs).arguments
        for member, where in (
            ("extended_s3_destination_configuration", "extendedS3DestinationConfiguration"),
            ("s3_destination_configuration", "s3DestinationConfiguration"),
        ):
            destination = bound.get(member)
            if destination:
                check_destination(destination, where, creating=True)
                fill_defaults(destination)
        return create(self, *args, **kwargs)

    def update_destination(self, *args, **kwargs):
        bound = update_signature.bind(self, *args, **kwargs).arguments
        stream = self.delivery_streams.get(bound["delivery_stream_name"])
        for member, kind, where in (
            ("extended_s3_destination_update", "ExtendedS3", "extendedS3DestinationUpdate"),
            ("s3_destination_update", "S3", "s3DestinationUpdate"),
        ):
            change = bound.get(member)
            if not change or stream is None:
                continue
            if stream.version_id != bound["current_delivery_stream_version_id"]:
                break  # moto refuses it (ConcurrentModificationException)
            current = stream.destinations[0].get(kind) or {}
            merged = {**current, **change}
            check_destination(merged, where, creating=False)
        if stream is not None:
            DELIVERER.flush(self, stream)
        return update(self, *args, **kwargs)

    def delete_delivery_stream(self, delivery_stream_name, *args, **kwargs):
        result = delete(self, delivery_stream_name, *args, **kwargs)
        DELIVERER.drop(self, delivery_stream_name)
        return result

    def put_s3_records(self, delivery_stream_name, version_id, s3_destination_config, records):
        stream = self.delivery_streams.get(delivery_stream_name)
        if stream is None or s3_destination(stream) is None:
            return moto_put_s3_records(self, delivery_stream_name, version_id, s3_destination_config, records)
        return DELIVERER.put(self, stream, records)

    FirehoseBackend.create_delivery_stream = create_delivery_stream
    FirehoseBackend.update_destination = update_destination
    FirehoseBackend.delete_delivery_stream = delete_delivery_stream
    FirehoseBackend.put_s3_records = put_s3_records
