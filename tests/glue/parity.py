"""Runs the Glue ETL script's own transform under a local PySpark, for tests/glue_parity.rs.

    python3 tests/glue/parity.py INPUT.csv --accepted A.jsonl --rejected R.jsonl \\
        [--drop-cancellations] [--drop-missing-customer] [--keep-non-product-codes] [--keep-duplicates]
    python3 tests/glue/parity.py --cases CASES.json

The script is src/model/assets/glue_etl.py, imported from that path (never a copy), and what
runs is its `transform`, the function its Glue `main` writes the output of. The rule flags
are those of `ecomflow-infra data check`. `--cases` runs several cleanings in one
SparkSession (starting one costs seconds): a JSON list of objects with `input`, `accepted`,
`rejected`, `flags` (data check's rule flags, e.g. ["--drop-cancellations"]) and optionally
`write` (false: skip the write check below, which costs seconds).

Output, one JSON object per line, in input order:

* accepted: the keys of the crate's InvoiceLine (InvoiceNo, StockCode, Description,
  Quantity, InvoiceDate as `yyyy-MM-dd HH:mm:ss`, UnitPrice as the decimal's plain text,
  CustomerID as an integer or null, Country, IsCancellation), read back from the Spark
  DataFrame (so after Spark's typing: decimal(10,3), timestamp, bigint);
* rejected: reason, detail, input and index (the 0-based data row), as the crate writes them.

Each case also goes through the job's own writer (`write_outputs`, to a temporary directory):
the Parquet and JSON it writes must read back as the same rows, else the case fails.

The session is set up like a Glue 4.0 job (Spark 3.3) where Spark 4's defaults differ: ANSI
SQL off, Parquet timestamps as INT96 with the rebase checks that refuse dates before 1900,
UTC time zone (the JVM, the Python workers and the session).

Exit codes: 0 done, 2 bad arguments, 3 PySpark cannot be imported (run scripts/ensure-emulator),
1 any other failure (the script raised, or what it wrote does not read back).
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "src", "model", "assets", "glue_etl.py")

# data check's rule flags -> (the script's rule, the value the flag gives it)
FLAGS = {
    "--drop-cancellations": ("keep_cancellations", False),
    "--drop-missing-customer": ("keep_missing_customer", False),
    "--keep-non-product-codes": ("keep_non_product_codes", True),
    "--keep-duplicates": ("drop_duplicates", False),
}

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def load_script():
    """The Glue script as a module, loaded from its path. It is not put in sys.modules, so
    Spark pickles its functions by value, as it does for a Glue job's main script."""
    sys.dont_write_bytecode = True  # no __pycache__ next to the script in the tree
    spec = importlib.util.spec_from_file_location("glue_etl", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_spark(workdir):
    """A quiet local SparkSession: 2 cores, 2 shuffle partitions, no UI, loopback only."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    log4j = os.path.join(workdir, "log4j2.properties")
    with open(log4j, "w") as f:
        f.write(LOG4J2)
    from pyspark.sql import SparkSession

    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Duser.timezone=UTC"
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("glue-etl-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        # Spark 3.3's defaults (Glue 4.0), where Spark 4's differ.
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.outputTimestampType", "INT96")
        .config("spark.sql.parquet.int96RebaseModeInWrite", "EXCEPTION")
        .config("spark.sql.parquet.datetimeRebaseModeInWrite", "EXCEPTION")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        .config("spark.local.dir", workdir)
        .config("spark.sql.warehouse.dir", os.path.join(workdir, "warehouse"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def plain_decimal(d):
    """A Decimal as plain text (never an exponent), as the crate writes prices."""
    return format(d, "f")


def typed(accepted):
    """The accepted columns, the timestamp as text formatted by Spark (in the session's UTC):
    PySpark's own conversion to datetime fails before year 1900 in some zones and at year 1."""
    from pyspark.sql import functions as F

    return accepted.select(
        "invoiceno",
        "stockcode",
        "description",
        "quantity",
        F.date_format("invoicedate", "yyyy-MM-dd HH:mm:ss").alias("invoicedate"),
        "unitprice",
        "customerid",
        "country",
        "iscancellation",
    )


def accepted_json(row):
    return {
        "InvoiceNo": row["invoiceno"],
        "StockCode": row["stockcode"],
        "Description": row["description"],
        "Quantity": row["quantity"],
        "InvoiceDate": row["invoicedate"],
        "UnitPrice": None if row["unitprice"] is None else plain_decimal(row["unitprice"]),
        "CustomerID": row["customerid"],
        "Country": row["country"],
        "IsCancellation": row["iscancellation"],
    }


def rejected_json(row):
    return {"reason": row["reason"], "detail": row["detail"], "input": row["input"], "index": row["idx"]}


def same_rows(what, collected, written):
    """Fails unless `written` (read back from the job's output) holds the rows of `collected`."""
    import collections

    want, got = collections.Counter(map(tuple, collected)), collections.Counter(map(tuple, written))
    if want != got:
        missing, extra = list((want - got).elements())[:3], list((got - want).elements())[:3]
        raise AssertionError(f"{what} read back differ from the DataFrame: missing {missing}, unexpected {extra}")


def write_lines(path, objects):
    with open(path, "w", encoding="utf-8") as f:
        for o in objects:
            f.write(json.dumps(o, ensure_ascii=False, separators=(",", ":")))
            f.write("\n")


def rules_of(flags):
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise ValueError(f"unknown rule flags {unknown}: expected some of {list(FLAGS)}")
    return dict(FLAGS[f] for f in flags)


def run_case(spark, glue_etl, case, outdir):
    rules = {**glue_etl.DEFAULT_RULES, **rules_of(case.get("flags", []))}
    started = time.monotonic()
    accepted, rejected = glue_etl.transform(spark, os.path.abspath(case["input"]), rules)
    accepted_rows = typed(accepted).collect()
    rejected_rows = rejected.collect()
    if case.get("write", True):
        clean, rejects = os.path.join(outdir, "clean"), os.path.join(outdir, "rejects")
        glue_etl.write_outputs(accepted, rejected, clean, rejects, "2011-12-09")
        same_rows("Parquet lines", accepted_rows, typed(spark.read.parquet(clean).drop("dt")).collect())
        same_rows("JSON rejections", rejected_rows, spark.read.schema(rejected.schema).json(rejects).drop("dt").collect())
    write_lines(case["accepted"], (accepted_json(r) for r in accepted_rows))
    write_lines(case["rejected"], (rejected_json(r) for r in rejected_rows))
    print(
        f"parity: {case['input']} {rules}: {len(accepted_rows)} accepted, {len(rejected_rows)} rejected "
        f"in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("input", nargs="?", help="the CSV file")
    p.add_argument("--accepted", help="where to write the accepted lines (JSON lines)")
    p.add_argument("--rejected", help="where to write the rejected rows (JSON lines)")
    for flag in FLAGS:
        p.add_argument(flag, action="append_const", const=flag, dest="flags", default=[])
    p.add_argument("--cases", help="a JSON file listing several runs (see the module doc)")
    args = p.parse_args(argv)
    if args.cases:
        if args.input or args.accepted or args.rejected or args.flags:
            p.error("--cases takes no other argument")
        with open(args.cases) as f:
            cases = json.load(f)
    elif args.input and args.accepted and args.rejected:
        cases = [{"input": args.input, "accepted": args.accepted, "rejected": args.rejected, "flags": args.flags}]
    else:
        p.error("INPUT, --accepted and --rejected are required (or --cases)")
    for case in cases:
        rules_of(case.get("flags", []))
    return cases


def main(argv):
    cases = parse_args(argv)
    try:
        import pyspark  # noqa: F401
    except ImportError as e:
        print(f"parity: PySpark is not installed ({e}); run scripts/ensure-emulator", file=sys.stderr)
        return 3
    glue_etl = load_script()
    with tempfile.TemporaryDirectory(prefix="glue-parity-") as workdir:
        spark = start_spark(workdir)
        try:
            for n, case in enumerate(cases):
                run_case(spark, glue_etl, case, os.path.join(workdir, f"case-{n}"))
        finally:
            spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
