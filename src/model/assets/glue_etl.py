"""EcomFlow batch ETL (AWS Glue 5.0, PySpark): raw UCI Online Retail CSV -> clean Parquet.

Reads the raw CSV under --input (ISO-8859-1: the pound sign is byte 0xA3; .gz files are
decompressed), applies the same cleaning rules as the `records` crate (lambdas/records), and
writes

* accepted lines as Parquet to --output, partitioned by `dt` (the run date, yyyy-MM-dd), with
  the columns of the Glue table `invoice_lines` (the lower-cased JSON keys of the crate's
  InvoiceLine: invoiceno, stockcode, description, quantity, invoicedate, unitprice,
  customerid, country, iscancellation);
* rejected rows as JSON lines to --rejects, each with `reason` (the crate's snake_case
  RejectReason), `detail` and `input` (the row as text).

The warehouse is not written here: its COPY job loads every Parquet object that lands under
clean/ (see the README's warehouse section), so the job needs no network path to the cluster.

Rules, in the crate's order (first failure wins):
 1. wrong_field_count;
 2. empty_invoice_no, bad_invoice_no (digits with an optional C/A prefix), empty_stock_code,
    bad_quantity (integer, "6.0" accepted), bad_date (M/D/YYYY H:MM[:SS] or ISO, years 1
    to 9999), bad_price (exact decimal that decimal(10,3) holds: at most 3 places once
    trailing zeros are dropped, under 10^7), bad_customer_id (empty/NaN, or a positive integer that fits
    in 32 bits, "17850.0" accepted), empty_country, too_long (a text field longer in UTF-8
    bytes than its warehouse column: WAREHOUSE_TEXT_BYTES);
 3. cancellation (only when --keep_cancellations false), non_product_code (unless
    --keep_non_product_codes true), missing_customer_id (only when --keep_missing_customer
    false);
 4. duplicate (when --drop_duplicates true): equal in every typed field to an accepted line,
    the price with the scale it was written with (2.5 and 2.50 differ, as in the crate); the
    first copy (in file order) is kept.

The row-level functions below are pure Python (no Spark), and the DataFrame functions take
and return DataFrames, so both can be tested under a local PySpark without Glue.
"""

import datetime
import json
import re
import sys
from decimal import Decimal, InvalidOperation

COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]

CLEAN_COLUMNS = [
    "invoiceno",
    "stockcode",
    "description",
    "quantity",
    "invoicedate",
    "unitprice",
    "customerid",
    "country",
    "iscancellation",
]

# The crate's WAREHOUSE_TEXT_BYTES: the VARCHAR lengths of the warehouse table, in bytes.
WAREHOUSE_TEXT_BYTES = [("InvoiceNo", 16), ("StockCode", 32), ("Description", 512), ("Country", 64)]

DEFAULT_RULES = {
    "keep_cancellations": True,
    "keep_missing_customer": True,
    "keep_non_product_codes": False,
    "drop_duplicates": True,
}

_INVOICE_RE = re.compile(r"^[CA]?[0-9]+$")
_PRODUCT_RE = re.compile(r"^[0-9]{5}[A-Za-z]*$")
_DCGS_RE = re.compile(r"^DCGS[A-Za-z0-9]+$")
_NULL_WORDS = {"nan", "null"}
# What the crate trims (Rust's `is_ascii_whitespace`: no vertical tab), from every field but
# Description.
_ASCII_WS = " \t\n\x0c\r"
# Largest magnitude of a rust_decimal mantissa (96 bits) and its largest scale.
_DECIMAL_MAX = 2**96 - 1
_DECIMAL_MAX_SCALE = 28
# The first magnitude the unitprice column's decimal(10,3) cannot hold.
_LAKE_PRICE_LIMIT = Decimal(10) ** 7
# Stands for a NUL byte while the csv module splits a file: Python 3.10 (Glue 4.0) refuses
# NUL. Above U+00FF, so no Latin-1 decoded byte can be mistaken for it.
_NUL_STAND_IN = "\u0100"


def _debug(s):
    """`s` quoted and escaped as Rust's `{:?}` writes a string (the crate's rejection details):
    double quotes; \\0 \\t \\r \\n \\\\ \\" escaped by name; non-printable and combining characters
    as \\u{hex}."""
    import unicodedata

    named = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", "\\": "\\\\", '"': '\\"'}
    out = []
    for c in s:
        if c in named:
            out.append(named[c])
        elif " " <= c <= "~":
            out.append(c)
        elif not c.isprintable() or unicodedata.category(c) in ("Mn", "Me") or c in "\uff9e\uff9f":
            out.append(f"\\u{{{ord(c):x}}}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


class Rejected(Exception):
    """A row that fails a rule: `reason` is the crate's snake_case RejectReason."""

    def __init__(self, reason, detail):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def is_product_code(code):
    """Five ASCII digits with an optional letter suffix, or a DCGS... code."""
    return bool(_PRODUCT_RE.match(code)) or (len(code) > 4 and bool(_DCGS_RE.match(code)))


def _strip_zero_fraction(s):
    if "." in s:
        whole, frac = s.split(".", 1)
        if frac and set(frac) == {"0"}:
            return whole
    return s


def parse_quantity(text):
    """An integer with an optional sign; a pandas-style `6.0` is accepted. None if bad."""
    s = _strip_zero_fraction(text.strip(_ASCII_WS))
    body = s[1:] if s[:1] in "+-" else s
    if not body or len(body) > 18 or not body.isascii() or not body.isdigit():
        return None
    return -int(body) if s.startswith("-") else int(body)


def _digits(s, max_len=9):
    if not s or len(s) > max_len or not s.isascii() or not s.isdigit():
        return None
    return int(s)


def parse_date(text):
    """M/D/YYYY H:MM[:SS] (padding optional) or ISO yyyy-MM-dd[ T]HH:MM[:SS]. None if bad."""
    s = text.strip(_ASCII_WS)
    sep = min((i for i in (s.find(" "), s.find("T")) if i >= 0), default=-1)
    if sep < 0:
        return None
    date, time = s[:sep], s[sep + 1 :]
    try:
        if "/" in date:
            parts = date.split("/")
            if len(parts) != 3 or len(parts[0]) > 2 or len(parts[1]) > 2 or len(parts[2]) != 4:
                return None
            m, d, y = (_digits(p) for p in parts)
        else:
            if len(date) != 10 or date[4] != "-" or date[7] != "-":
                return None
            y, m, d = _digits(date[0:4]), _digits(date[5:7]), _digits(date[8:10])
        if None in (y, m, d):
            return None
        tparts = time.split(":")
        if len(tparts) not in (2, 3) or len(tparts[0]) > 2 or len(tparts[1]) != 2:
            return None
        if len(tparts) == 3 and len(tparts[2]) != 2:
            return None
        h, mi = _digits(tparts[0]), _digits(tparts[1])
        sec = _digits(tparts[2]) if len(tparts) == 3 else 0
        if None in (h, mi, sec):
            return None
        return datetime.datetime(y, m, d, h, mi, sec)
    except ValueError:
        return None


def parse_price(text):
    """An exact decimal (scale kept as written); exponent forms accepted. None if bad.

    Within rust_decimal's limits, as the crate: an exponent form whose scale would exceed 28
    (`1e-29`, `0e-40`) or whose value would exceed 96 bits is bad, as is any value beyond 96
    bits."""
    s = text.strip(_ASCII_WS)
    if not s or not s.isascii() or any(c in s for c in "_ \t") or s.lower() in ("nan", "inf", "+inf", "-inf", "infinity"):
        return None
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    if not d.is_finite() or d.adjusted() >= 29:  # 10^29 is beyond 96 bits; bounds int() below
        return None
    if d.as_tuple().exponent > 0:
        # 1e3 -> 1000 (scale 0), exactly: int() and Decimal(int) ignore the context precision.
        d = Decimal(int(d))
    if -d.as_tuple().exponent > _DECIMAL_MAX_SCALE and "e" in s.lower():
        return None
    if abs(int(d)) > _DECIMAL_MAX:
        return None
    if d.is_zero():
        d = abs(d)
    return d


def lake_price_problem(price):
    """Why the unitprice column's decimal(10,3) cannot hold `price` exactly, or None. More
    places would be rounded away and 10^7 or more cannot be stored, so, as the crate does,
    such a row is a bad_price; trailing zeros are no places (2.5500 fits)."""
    if -price.as_tuple().exponent > 3 and -price.normalize().as_tuple().exponent > 3:
        return "has more than 3 decimal places"
    if abs(price) >= _LAKE_PRICE_LIMIT:
        return "is 10000000 or more"
    return None


def parse_customer_id(text):
    """None for empty/NaN/null/None; a positive 32-bit integer; raises ValueError if bad."""
    s = text.strip(_ASCII_WS)
    if not s or s.lower() in _NULL_WORDS or s == "None":
        return None
    s = _strip_zero_fraction(s)
    v = _digits(s, max_len=10)
    if v is None or v == 0 or v > 0xFFFFFFFF:
        raise ValueError(text)
    return v


def clean_fields(fields, rules=None):
    """Cleans one CSV row (a list of decoded strings) into a dict of CLEAN_COLUMNS, or raises
    Rejected. Pure: the same order of checks as the crate's Cleaner."""
    rules = {**DEFAULT_RULES, **(rules or {})}
    if len(fields) != len(COLUMNS):
        raise Rejected("wrong_field_count", f"expected {len(COLUMNS)} fields, found {len(fields)}")
    invoice_no = fields[0].strip(_ASCII_WS)
    if not invoice_no:
        raise Rejected("empty_invoice_no", "InvoiceNo is empty")
    if not _INVOICE_RE.match(invoice_no) or not invoice_no.isascii():
        raise Rejected("bad_invoice_no", f"InvoiceNo {_debug(invoice_no)} is not digits with an optional C or A prefix")
    stock_code = fields[1].strip(_ASCII_WS)
    if not stock_code:
        raise Rejected("empty_stock_code", "StockCode is empty")
    quantity = parse_quantity(fields[3])
    if quantity is None:
        raise Rejected("bad_quantity", f"Quantity {_debug(fields[3])} is not an integer")
    invoice_date = parse_date(fields[4])
    if invoice_date is None:
        raise Rejected("bad_date", f"InvoiceDate {_debug(fields[4])} is not a M/D/YYYY H:MM date")
    unit_price = parse_price(fields[5])
    if unit_price is None:
        raise Rejected("bad_price", f"UnitPrice {_debug(fields[5])} is not a decimal number")
    unfit = lake_price_problem(unit_price)
    if unfit:
        raise Rejected("bad_price", f"UnitPrice {_debug(fields[5])} {unfit} (the lake holds decimal(10,3))")
    try:
        customer_id = parse_customer_id(fields[6])
    except ValueError:
        raise Rejected("bad_customer_id", f"CustomerID {_debug(fields[6])} is not a positive integer") from None
    country = fields[7].strip(_ASCII_WS)
    if not country:
        raise Rejected("empty_country", "Country is empty")
    for (name, most), text in zip(WAREHOUSE_TEXT_BYTES, (invoice_no, stock_code, fields[2], country)):
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > most:
            raise Rejected("too_long", f"{name} is {size} bytes long; the warehouse holds at most {most}")
    cancellation = invoice_no.startswith("C")
    if cancellation and not rules["keep_cancellations"]:
        raise Rejected("cancellation", f"invoice {invoice_no} is a cancellation")
    if not rules["keep_non_product_codes"] and not is_product_code(stock_code):
        raise Rejected("non_product_code", f"StockCode {_debug(stock_code)} is not a product")
    if customer_id is None and not rules["keep_missing_customer"]:
        raise Rejected("missing_customer_id", "CustomerID is empty")
    return {
        "invoiceno": invoice_no,
        "stockcode": stock_code,
        "description": fields[2],
        "quantity": quantity,
        "invoicedate": invoice_date,
        "unitprice": unit_price,
        "customerid": customer_id,
        "country": country,
        "iscancellation": cancellation,
    }


def decode_row(raw_fields):
    """Decodes the bytes of a row's fields as the crate does: UTF-8 when every field is valid
    UTF-8, otherwise every byte as its Latin-1 code point."""
    try:
        return [f.decode("utf-8") for f in raw_fields]
    except UnicodeDecodeError:
        return [f.decode("latin-1") for f in raw_fields]


def line_text(fields):
    """The row as one CSV line (quoted where needed), for a rejection's `input`."""
    out = []
    for f in fields:
        if any(c in f for c in ',"\n\r'):
            out.append('"' + f.replace('"', '""') + '"')
        else:
            out.append(f)
    return ",".join(out)


def price_key(price):
    """The price as written, scale included ("2.5" and "2.50" differ): how the crate's duplicate
    check tells prices apart. Spark's decimal(10,3) would not."""
    return format(price, "f")


def dedup_key(line):
    """What two accepted lines must share to be duplicates: every field, the price as written."""
    return tuple(price_key(line[c]) if c == "unitprice" else line[c] for c in CLEAN_COLUMNS)


def clean_rows(rows, rules=None):
    """Cleans an iterable of decoded rows (lists of strings, header excluded) in order.
    Returns (accepted dicts, rejection dicts). Pure Python; the reference for the Spark path."""
    rules = {**DEFAULT_RULES, **(rules or {})}
    accepted, rejected, seen = [], [], set()
    for index, fields in enumerate(rows):
        try:
            line = clean_fields(fields, rules)
        except Rejected as r:
            rejected.append({"reason": r.reason, "detail": r.detail, "input": line_text(fields), "index": index})
            continue
        if rules["drop_duplicates"]:
            key = dedup_key(line)
            if key in seen:
                rejected.append(
                    {
                        "reason": "duplicate",
                        "detail": f"same as an earlier line of invoice {line['invoiceno']} in this batch",
                        "input": line_text(fields),
                        "index": index,
                    }
                )
                continue
            seen.add(key)
        accepted.append(line)
    return accepted, rejected


# ---------------------------------------------------------------------------------------------
# Spark


def split_file(data, name="the input"):
    """The decoded data rows of one CSV file (its bytes; gzip-compressed when `name` ends in
    .gz, as `ecomflow-infra load` uploads them), header excluded, as the crate splits it:
    standard CSV quoting, CR, LF or CRLF line ends, blank lines skipped, each row decoded by
    `decode_row`. Like the crate, refuses (ValueError) a file without a line, or whose first
    line is not the dataset's header (a UTF-8 byte-order mark and surrounding ASCII whitespace
    ignored)."""
    import csv
    import gzip
    import io

    if str(name).endswith(".gz"):
        data = gzip.decompress(data)  # binaryFiles hands over the bytes as stored
    csv.field_size_limit(2**31 - 1)  # the crate has no field size limit
    text = data.decode("latin-1")  # byte-preserving; re-decoded per row below
    nul = "\0" in text
    if nul:
        text = text.replace("\0", _NUL_STAND_IN)
    rows = (r for r in csv.reader(io.StringIO(text, newline="")) if r)
    header = next(rows, None)
    if header is None:
        raise ValueError(f"{name} is empty: expected a header line {','.join(COLUMNS)}")
    if not _is_header(header):
        raise ValueError(f"{name}: unexpected header {line_text(header)!r}: expected {','.join(COLUMNS)}")
    if nul:
        return [decode_row([f.replace(_NUL_STAND_IN, "\0").encode("latin-1") for f in r]) for r in rows]
    return [decode_row([f.encode("latin-1") for f in r]) for r in rows]


def _is_header(fields):
    if len(fields) != len(COLUMNS):
        return False
    first = fields[0][3:] if fields[0].startswith("\u00ef\u00bb\u00bf") else fields[0]
    return [first.strip(_ASCII_WS)] + [f.strip(_ASCII_WS) for f in fields[1:]] == COLUMNS


def read_raw_rows(spark, path):
    """(index, decoded fields) of every data row of the CSV files under `path`, in file order
    (files by name).

    The files are read as bytes (.gz ones decompressed) and split by `split_file`, so the
    Latin-1/UTF-8 decision is made per row exactly as the crate makes it (Spark's CSV reader
    decodes a whole file with one charset)."""
    files = spark.sparkContext.binaryFiles(path).sortByKey()
    return files.flatMap(lambda f: split_file(f[1], f[0])).zipWithIndex().map(lambda p: (p[1], p[0]))


def clean_rdd(indexed_rows, rules=None):
    """Applies the per-row rules to an RDD of (index, fields): an RDD of
    ("ok", index, line, input text) or ("rejected", index, rejection)."""
    rules = {**DEFAULT_RULES, **(rules or {})}

    def one(p):
        index, fields = p
        try:
            return ("ok", index, clean_fields(fields, rules), line_text(fields))
        except Rejected as r:
            return ("rejected", index, {"reason": r.reason, "detail": r.detail, "input": line_text(fields), "index": index})

    return indexed_rows.map(one)


def clean_schema():
    """The Spark schema of accepted lines (matches the Glue table `invoice_lines`)."""
    from pyspark.sql import types as T

    return T.StructType(
        [
            T.StructField("invoiceno", T.StringType(), False),
            T.StructField("stockcode", T.StringType(), False),
            T.StructField("description", T.StringType(), True),
            T.StructField("quantity", T.LongType(), False),
            T.StructField("invoicedate", T.TimestampType(), False),
            T.StructField("unitprice", T.DecimalType(10, 3), False),
            T.StructField("customerid", T.LongType(), True),
            T.StructField("country", T.StringType(), False),
            T.StructField("iscancellation", T.BooleanType(), False),
        ]
    )


def split_outcomes(spark, outcomes, rules=None):
    """(accepted DataFrame, rejected DataFrame) from clean_rdd's outcomes, duplicates removed
    when the rules say so: the copy with the lowest index is kept, later copies are rejected."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rules = {**DEFAULT_RULES, **(rules or {})}
    ok = outcomes.filter(lambda o: o[0] == "ok").map(
        lambda o: (o[1], o[3], price_key(o[2]["unitprice"])) + tuple(o[2][c] for c in CLEAN_COLUMNS)
    )
    fields = ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in clean_schema().fields)
    accepted = spark.createDataFrame(ok, f"idx long, _input string, _price string, {fields}")
    rejected = spark.createDataFrame(
        outcomes.filter(lambda o: o[0] == "rejected").map(lambda o: (o[2]["index"], o[2]["reason"], o[2]["detail"], o[2]["input"])),
        "idx long, reason string, detail string, input string",
    )
    if rules["drop_duplicates"]:
        # The price as written, not the decimal(10,3) column, which has lost its scale.
        w = Window.partitionBy(*[c for c in CLEAN_COLUMNS if c != "unitprice"], "_price").orderBy("idx")
        # Kept: both outputs, and the samples of their sorts, read it.
        ranked = accepted.withColumn("_copy", F.row_number().over(w)).cache()
        dups = ranked.filter("_copy > 1").select(
            "idx",
            F.lit("duplicate").alias("reason"),
            F.concat(F.lit("same as an earlier line of invoice "), F.col("invoiceno"), F.lit(" in this batch")).alias("detail"),
            F.col("_input").alias("input"),
        )
        accepted = ranked.filter("_copy = 1").drop("_copy")
        rejected = rejected.unionByName(dups)
    return accepted.orderBy("idx").drop("idx", "_input", "_price"), rejected.orderBy("idx")


def transform(spark, input_path, rules=None):
    """The job's whole cleaning step, without Glue: the CSV files under `input_path` ->
    (accepted DataFrame with the columns of clean_schema, rejected DataFrame with idx, reason,
    detail and input), both in input order. `main` writes what this returns; the parity test
    (tests/glue/parity.py) runs it under a local SparkSession."""
    rules = {**DEFAULT_RULES, **(rules or {})}
    # Rows are split from whole files, one partition per file: spread over the cores before
    # the per-row rules (Python, most of the job's work). The index keeps the input order.
    rows = read_raw_rows(spark, input_path).repartition(spark.sparkContext.defaultParallelism)
    outcomes = clean_rdd(rows, rules).cache()
    return split_outcomes(spark, outcomes, rules)


def write_outputs(accepted, rejected, output, rejects, run_date):
    """Parquet of accepted lines under output/dt=<run_date>/, JSON lines of rejections under
    rejects/dt=<run_date>/.

    Timestamps are written as they are (proleptic Gregorian, like the crate, Firehose and
    Athena): Spark 3.3's default would fail the whole job on a line dated before 1900, which
    the crate accepts."""
    from pyspark.sql import functions as F

    conf = accepted.sparkSession.conf
    conf.set("spark.sql.parquet.int96RebaseModeInWrite", "CORRECTED")
    conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    accepted.withColumn("dt", F.lit(run_date)).write.mode("append").partitionBy("dt").parquet(output)
    rejected.write.mode("append").json(f"{rejects.rstrip('/')}/dt={run_date}/")


def parse_bool(value):
    """true/false, 1/0, yes/no, on/off (case-insensitive), as the crate reads rules."""
    v = str(value).strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, not {value!r}")


def main(argv):
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    names = [
        "JOB_NAME",
        "input",
        "output",
        "rejects",
        "TempDir",
        "keep_cancellations",
        "keep_missing_customer",
        "keep_non_product_codes",
        "drop_duplicates",
    ]
    args = getResolvedOptions(argv, names)
    rules = {k: parse_bool(args[k]) for k in DEFAULT_RULES}
    sc = SparkContext.getOrCreate()
    glue_context = GlueContext(sc)
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    run_date = datetime.datetime.utcnow().strftime("%Y-%m-%d")
    accepted, rejected = transform(spark, args["input"], rules)
    write_outputs(accepted, rejected, args["output"], args["rejects"], run_date)
    job.commit()


if __name__ == "__main__":
    main(sys.argv)
