"""Benchmark: revenue by country over the whole dataset's Parquet, through the emulator's
Athena API (StartQueryExecution to the last GetQueryResults page), against DuckDB reading the
same Parquet files directly in this process, measured in the same run.

    "$(scripts/ensure-emulator)" bench/lake_query_bench.py [--files 36] [--rounds 3]

It starts its own emulator (scripts/emulator --port 0) and stops it by its PID. The lake is
laid out as the stack lays it out: the Glue table `invoice_lines` with the columns and the
partition projection of src/blueprint/catalog.rs, Snappy Parquet under `clean/dt=.../`, and a
workgroup that enforces its results location. Rows are the dataset's (data/online_retail.csv.gz)
typed as the table types them, every row kept: this measures the query, not the cleaning.
Target: under 5 s (issue 15).
"""

import argparse
import csv
import datetime
import decimal
import gzip
import io
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
BUCKET = "bench-lake"
SQL = (
    "SELECT country, sum(quantity * unitprice) AS revenue FROM invoice_lines "
    "GROUP BY country ORDER BY revenue DESC"
)
SCHEMA = pa.schema(
    [
        ("invoiceno", pa.string()),
        ("stockcode", pa.string()),
        ("description", pa.string()),
        ("quantity", pa.int64()),
        ("invoicedate", pa.timestamp("ms")),
        ("unitprice", pa.decimal128(10, 3)),
        ("customerid", pa.int64()),
        ("country", pa.string()),
        ("iscancellation", pa.bool_()),
    ]
)
HIVE = {
    "string": "string",
    "int64": "bigint",
    "timestamp[ms]": "timestamp",
    "decimal128(10, 3)": "decimal(10,3)",
    "bool": "boolean",
}


def dataset_rows():
    path = ROOT / "data" / "online_retail.csv.gz"
    with gzip.open(path, "rt", encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            try:
                price = decimal.Decimal(row["UnitPrice"]).quantize(decimal.Decimal("0.001"))
                date = datetime.datetime.strptime(row["InvoiceDate"], "%m/%d/%Y %H:%M")
                quantity = int(row["Quantity"])
            except (ValueError, decimal.InvalidOperation):
                continue
            customer = row["CustomerID"].strip()
            yield {
                "invoiceno": row["InvoiceNo"],
                "stockcode": row["StockCode"],
                "description": row["Description"],
                "quantity": quantity,
                "invoicedate": date,
                "unitprice": price,
                "customerid": int(float(customer)) if customer else None,
                "country": row["Country"],
                "iscancellation": row["InvoiceNo"].startswith("C"),
            }


def write_parquet(rows, files, directory):
    """The rows in `files` Snappy Parquet files over as many days; their paths by day."""
    per = len(rows) // files + 1
    out = []
    for i in range(files):
        chunk = rows[i * per : (i + 1) * per]
        day = (datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat()
        path = pathlib.Path(directory) / f"dt={day}" / f"part-{i:04d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(chunk, schema=SCHEMA), path, compression="snappy")
        out.append((day, path))
    return out


def start_emulator():
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "emulator"), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, MOTO_ACCESS_LOG="0", ECOMFLOW_EMULATOR_PYTHON=sys.executable),
    )
    line = proc.stdout.readline()
    if not line.startswith("emulator listening on "):
        proc.kill()
        sys.exit(f"the emulator did not start: {line!r}")
    return proc, line.split()[-1]


def athena_rows(athena, workgroup):
    started = athena.start_query_execution(
        QueryString=SQL, WorkGroup=workgroup, QueryExecutionContext={"Database": "lake"}
    )
    qid = started["QueryExecutionId"]
    while True:
        state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
        if state["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.02)
    if state["State"] != "SUCCEEDED":
        sys.exit(f"the query did not succeed: {state}")
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        rows.extend(page["ResultSet"]["Rows"])
    return [[d.get("VarCharValue") for d in r["Data"]] for r in rows[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=36)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    rows = list(dataset_rows())
    with tempfile.TemporaryDirectory() as tmp:
        parts = write_parquet(rows, args.files, tmp)
        proc, endpoint = start_emulator()
        try:
            aws = dict(endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bench", aws_secret_access_key="bench")
            s3, glue, athena = (boto3.client(s, **aws) for s in ("s3", "glue", "athena"))
            s3.create_bucket(Bucket=BUCKET)
            for day, path in parts:
                s3.put_object(Bucket=BUCKET, Key=f"clean/dt={day}/{path.name}", Body=path.read_bytes())
            glue.create_database(DatabaseInput={"Name": "lake"})
            glue.create_table(
                DatabaseName="lake",
                TableInput={
                    "Name": "invoice_lines",
                    "TableType": "EXTERNAL_TABLE",
                    "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                    "Parameters": {
                        "classification": "parquet",
                        "projection.enabled": "true",
                        "projection.dt.type": "date",
                        "projection.dt.format": "yyyy-MM-dd",
                        "projection.dt.range": "2024-01-01,NOW",
                        "projection.dt.interval": "1",
                        "projection.dt.interval.unit": "DAYS",
                        "storage.location.template": f"s3://{BUCKET}/clean/dt=${{dt}}/",
                    },
                    "StorageDescriptor": {
                        "Columns": [{"Name": f.name, "Type": HIVE[str(f.type)]} for f in SCHEMA],
                        "Location": f"s3://{BUCKET}/clean/",
                        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
                    },
                },
            )
            athena.create_work_group(
                Name="bench",
                Configuration={
                    "ResultConfiguration": {
                        "OutputLocation": f"s3://{BUCKET}/athena-results/",
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                    "EnforceWorkGroupConfiguration": True,
                },
            )

            emulated, direct = [], []
            for _ in range(args.rounds):
                began = time.perf_counter()
                answer = athena_rows(athena, "bench")
                emulated.append(time.perf_counter() - began)
                began = time.perf_counter()
                files = [str(p) for _, p in parts]
                baseline = duckdb.sql(
                    "SELECT country, sum(quantity * unitprice) AS revenue "
                    f"FROM read_parquet({files!r}) GROUP BY country ORDER BY revenue DESC"
                ).fetchall()
                direct.append(time.perf_counter() - began)
            got = {c: decimal.Decimal(r) for c, r in answer}
            want = {c: decimal.Decimal(r) for c, r in baseline}
            if got != want:
                sys.exit("the emulator's answer differs from DuckDB's over the same files")
        finally:
            proc.terminate()
            proc.wait()

    emulated.sort(), direct.sort()
    e, d = emulated[len(emulated) // 2], direct[len(direct) // 2]
    print(f"revenue by country, {len(rows)} rows in {args.files} Parquet objects, median of {args.rounds}:")
    print(f"  through the emulator's Athena API:   {e:.2f} s (target < 5 s: {'met' if e < 5 else 'NOT met'})")
    print(f"  baseline, DuckDB over the files:     {d:.2f} s; the API costs {e / d:.1f}x its time")


if __name__ == "__main__":
    main()
