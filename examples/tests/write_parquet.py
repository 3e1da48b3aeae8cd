"""Writes invoice lines as one Snappy Parquet file typed as the project's Glue table
`invoice_lines` (src/blueprint/catalog.rs `clean_columns()`), for test_notebook.py's lake.

Run with the emulator venv's python (it has pyarrow; the notebook's venv does not need it):

    "$(scripts/ensure-emulator)" examples/tests/write_parquet.py OUT.parquet < lines.jsonl

Each input line is a JSON object with the table's columns: invoicedate as
`yyyy-MM-dd HH:mm:ss`, unitprice as a decimal string, customerid an integer or null.
"""

import datetime
import decimal
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq

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


def main(out):
    rows = [json.loads(line) for line in sys.stdin if line.strip()]
    for row in rows:
        row["invoicedate"] = datetime.datetime.strptime(row["invoicedate"], "%Y-%m-%d %H:%M:%S")
        row["unitprice"] = decimal.Decimal(row["unitprice"])
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, out, compression="snappy")


if __name__ == "__main__":
    main(sys.argv[1])
