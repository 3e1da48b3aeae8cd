//! Reading the lake's Parquet back with pyarrow, a reader independent of the emulator's writer
//! and of the tool: the objects under a prefix, their Arrow schema, and their rows in the
//! shape of the pipeline's clean JSON lines.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// What the Parquet objects under a prefix hold.
pub struct Lake {
    /// Objects read.
    pub objects: usize,
    /// `(column, Arrow type)` of each object's schema, as pyarrow names them.
    pub schemas: Vec<Vec<(String, String)>>,
    /// Every row, keyed as `records::COLUMNS` (and `IsCancellation`), matched to the Parquet
    /// columns case-insensitively as Firehose's OpenX SerDe matches keys; decimals as exact
    /// text, timestamps as `yyyy-MM-dd HH:mm:ss`.
    pub rows: Vec<Value>,
}

const READER: &str = r#"
import io, json, os, sys
import pyarrow.parquet as pq
keys = json.loads(sys.argv[1])
by_lower = {k.lower(): k for k in keys}
out = {"schemas": [], "rows": []}
data = sys.stdin.buffer.read()
pos = 0
while pos < len(data):
    size = int.from_bytes(data[pos:pos + 8], "big")
    table = pq.read_table(io.BytesIO(data[pos + 8:pos + 8 + size]))
    pos += 8 + size
    out["schemas"].append([[f.name, str(f.type)] for f in table.schema])
    for row in table.to_pylist():
        line = {}
        for name, value in row.items():
            if hasattr(value, "as_tuple"):  # Decimal: exact text
                value = str(value)
            elif hasattr(value, "strftime"):
                value = value.strftime("%Y-%m-%d %H:%M:%S")
            line[by_lower.get(name, name)] = value
        out["rows"].append(line)
print(json.dumps(out))
# pyarrow's threads can abort the interpreter's shutdown ("terminate called without an active
# exception"); the answer is written, so leave without it.
sys.stdout.flush()
os._exit(0)
"#;

/// Reads every object under `prefix` of `bucket` as Parquet with pyarrow (the emulator venv's).
/// Panics if one is not Parquet.
pub async fn read(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, keys: &[&str]) -> Lake {
    let mut framed = Vec::new();
    let mut objects = 0;
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for o in page.unwrap().contents() {
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(o.key().unwrap())
                .send()
                .await
                .unwrap();
            let body = got.body.collect().await.unwrap().into_bytes();
            framed.extend_from_slice(&(body.len() as u64).to_be_bytes());
            framed.extend_from_slice(&body);
            objects += 1;
        }
    }
    let mut child = Command::new(ecomflow_testkit::emulator_python())
        .args(["-c", READER, &serde_json::to_string(keys).unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the emulator venv's python");
    child.stdin.take().unwrap().write_all(&framed).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pyarrow could not read the objects under s3://{bucket}/{prefix}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs = |s: &Value| {
        s.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect()
    };
    Lake {
        objects,
        schemas: v["schemas"].as_array().unwrap().iter().map(pairs).collect(),
        rows: v["rows"].as_array().unwrap().clone(),
    }
}
