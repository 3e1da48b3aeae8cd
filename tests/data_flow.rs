//! The producer and the batch path against the emulator (`emulator/`): `stream --direct`
//! puts exactly the rows `ingest` accepts on the stream, in batches, and resumes with
//! `--from-row`; `load` uploads the raw file (multipart when large), runs the Glue job and
//! announces it.

mod support;

use support::{run, stream_records, Moto};

const DATASET: &str = "data/online_retail.csv.gz";

fn dataset() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DATASET);
    assert!(path.exists(), "the dataset is missing: {}", path.display());
    path.display().to_string()
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_direct_puts_exactly_the_accepted_rows_and_resumes() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    run(&ep, &["apply", "--yes"]).expect(0);
    let data = dataset();

    let first = run(
        &ep,
        &[
            "stream", "--direct", "--csv", &data, "--limit", "1500", "--batch", "400", "--output",
            "json",
        ],
    )
    .expect(0);
    let s = json(&first.stdout);
    assert_eq!(s["sent"], 1500, "{s}");
    assert_eq!(s["batches"], 4, "{s}");
    let accepted = s["accepted"].as_u64().unwrap();
    let rejected = s["rejected"].as_u64().unwrap();
    assert_eq!(
        accepted + rejected,
        1500,
        "every row is accepted or rejected: {s}"
    );
    assert!(rejected > 0 && accepted > 1000, "{s}");
    let by_reason: u64 = s["rejected_by_reason"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, rejected, "{s}");

    let records = stream_records(&moto, "ecomflow-dev-orders").await;
    assert_eq!(
        records.len() as u64,
        accepted,
        "the stream holds exactly the accepted rows"
    );
    for (key, data) in &records {
        let line: serde_json::Value = serde_json::from_slice(data).unwrap();
        assert_eq!(
            line["InvoiceNo"].as_str(),
            Some(key.as_str()),
            "partition key is the invoice"
        );
    }

    // Resume where the first run stopped: the next 500 rows, none of the first 1500 again.
    let second = run(
        &ep,
        &[
            "stream",
            "--direct",
            "--csv",
            &data,
            "--from-row",
            "1500",
            "--limit",
            "500",
            "--output",
            "json",
        ],
    )
    .expect(0);
    let s2 = json(&second.stdout);
    assert_eq!(s2["sent"], 500, "{s2}");
    let after = stream_records(&moto, "ecomflow-dev-orders").await;
    assert_eq!(
        after.len() as u64,
        accepted + s2["accepted"].as_u64().unwrap()
    );

    // API mode needs a user; the error says how to give one, and nothing is sent.
    let no_user = run(&ep, &["stream", "--csv", &data, "--limit", "10"]).expect(1);
    assert!(no_user.stderr.contains("--username"), "{}", no_user.stderr);
    assert_eq!(
        stream_records(&moto, "ecomflow-dev-orders").await.len(),
        after.len()
    );

    // A file that is not the dataset is refused before anything is sent.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b\n1,2\n").unwrap();
    let refused = run(&ep, &["stream", "--direct", "--csv", bad.to_str().unwrap()]).expect(1);
    assert!(
        refused.stderr.contains("not a dataset CSV"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn load_uploads_runs_the_glue_job_and_announces_it() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    run(&ep, &["apply", "--yes"]).expect(0);
    let data = dataset();
    let size = std::fs::metadata(&data).unwrap().len();

    // 5 MiB parts: the 7 MB file goes up as a two-part multipart upload.
    let out = run(
        &ep,
        &["load", &data, "--part-size-mib", "5", "--output", "json"],
    )
    .expect(0);
    let r = json(&out.stdout);
    assert_eq!(r["parts"], 2, "{r}");
    assert_eq!(r["bytes"], size, "{r}");
    assert_eq!(r["state"], "SUCCEEDED", "{r}");
    assert!(
        r["notification"].as_str().is_some_and(|id| !id.is_empty()),
        "{r}"
    );
    assert!(
        out.stderr.contains("SUCCEEDED"),
        "the run state is reported: {}",
        out.stderr
    );

    let s3 = moto.s3().await;
    let bucket = r["s3_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("raw/online_retail.csv.gz")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(size as i64));
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("raw/online_retail.csv.gz")
        .send()
        .await
        .unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        bytes.as_ref(),
        std::fs::read(&data).unwrap().as_slice(),
        "uploaded byte for byte"
    );
    let uploads = s3
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        uploads.uploads().is_empty(),
        "no multipart upload left open"
    );

    let glue = aws_sdk_glue::Client::new(&moto.sdk_config().await);
    let runs = glue
        .get_job_runs()
        .job_name(r["job"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(runs.job_runs().len(), 1);
    assert_eq!(
        runs.job_runs()[0]
            .arguments()
            .and_then(|a| a.get("--input"))
            .map(String::as_str),
        r["s3_uri"].as_str()
    );

    // A key trying to leave raw/ is refused.
    let bad = run(&ep, &["load", &data, "--key", "../clean/x.csv"]).expect(1);
    assert!(
        bad.stderr.contains("not a plain relative key"),
        "{}",
        bad.stderr
    );
}
