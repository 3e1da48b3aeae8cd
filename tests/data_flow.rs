//! The producer and the batch path against the emulator (`emulator/`): `stream --direct`
//! puts exactly the rows `ingest` accepts on the stream, in batches, and resumes with
//! `--from-row`; `load` uploads the raw file (multipart when large), runs the Glue job (the
//! emulator runs its script under local PySpark) and announces it. The warehouse then holds
//! exactly the rows and revenue `data check` computes for the file, read through the Data API
//! and by a BI client over the PostgreSQL protocol; a second `load` of the file changes
//! nothing; a run that fails says why.

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
    assert_eq!(runs.job_runs().len(), 1, "one run so far");
    assert_eq!(
        runs.job_runs()[0]
            .arguments()
            .and_then(|a| a.get("--input"))
            .map(String::as_str),
        r["s3_uri"].as_str()
    );

    // The warehouse holds exactly what `data check` accepts of the file, revenue to the
    // penny; so does the lake.
    let check = json(
        &run(&ep, &["data", "check", &data, "--json"])
            .expect(0)
            .stdout,
    );
    let totals = || {
        let out = run(
            &ep,
            &[
                "warehouse",
                "query",
                "--output",
                "json",
                "SELECT COUNT(*) AS lines, SUM(quantity * unit_price) AS revenue FROM invoice_lines",
            ],
        )
        .expect(0);
        json(&out.stdout)["rows"][0].clone()
    };
    let lake_lines = || {
        let out = run(
            &ep,
            &[
                "lake",
                "query",
                "--output",
                "json",
                "SELECT COUNT(*) AS n FROM invoice_lines",
            ],
        )
        .expect(0);
        json(&out.stdout)["rows"][0]["n"].clone()
    };
    let first = totals();
    assert_eq!(first["lines"], check["accepted"], "{first} against {check}");
    let revenue: records::Decimal = first["revenue"].as_str().unwrap().parse().unwrap();
    let want: records::Decimal = check["total_revenue"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        revenue, want,
        "the warehouse's revenue against data check, exactly"
    );
    assert_eq!(lake_lines(), check["accepted"]);
    assert!(r["warehouse_statement"].is_string(), "{r}");

    // A BI client (psycopg, as Tableau's and Power BI's connectors speak PostgreSQL's
    // protocol) at the JDBC URL `outputs` prints, with the managed secret's credentials.
    let dir = tempfile::tempdir().unwrap();
    let outputs_file = dir.path().join("outputs.json");
    let outputs = run(&ep, &["outputs", "--json"]).expect(0).stdout;
    std::fs::write(&outputs_file, &outputs).unwrap();
    let url = json(&outputs)["warehouse"]["jdbc_url"].clone();
    assert!(
        url.as_str()
            .is_some_and(|u| u.starts_with("jdbc:redshift://127.0.0.1:")),
        "the JDBC URL names where the local cluster listens: {url}"
    );
    let mut bi = std::process::Command::new(ecomflow_testkit::emulator_python());
    support::with_tool_env(&mut bi, &ep);
    let bi = bi
        .args(["examples/bi/dashboard_queries.py", "--outputs"])
        .arg(&outputs_file)
        .output()
        .unwrap();
    assert!(
        bi.status.success(),
        "the BI client failed: {}",
        String::from_utf8_lossy(&bi.stderr)
    );
    let dashboards = json(&String::from_utf8_lossy(&bi.stdout));
    let sum = |rows: &serde_json::Value| -> records::Decimal {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["revenue"]
                    .as_str()
                    .unwrap()
                    .parse::<records::Decimal>()
                    .unwrap()
            })
            .sum()
    };
    assert_eq!(
        sum(&dashboards["by_month"]),
        want,
        "revenue by month adds up"
    );
    assert_eq!(
        sum(&dashboards["by_country"]),
        want,
        "revenue by country adds up"
    );
    assert_eq!(
        dashboards["by_month"].as_array().unwrap().len(),
        13,
        "December 2010 to December 2011"
    );
    let top = dashboards["top_customers"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    let top_revenue: Vec<records::Decimal> = top
        .iter()
        .map(|r| r["revenue"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(top_revenue.windows(2).all(|w| w[0] >= w[1]), "{top:?}");

    // The same file again: nothing is uploaded or run, and no row is added anywhere.
    let again = json(
        &run(&ep, &["load", &data, "--output", "json"])
            .expect(0)
            .stdout,
    );
    assert_eq!(again["loaded_before"], true, "{again}");
    assert_eq!(again["job_run_id"], r["job_run_id"], "{again}");
    assert_eq!(again["bytes"], 0, "{again}");
    assert_eq!(totals(), first, "a rerun adds no warehouse row");
    assert_eq!(lake_lines(), check["accepted"], "a rerun adds no lake row");

    // A file the job's script refuses: the run FAILED, and `load` says why and exits 1.
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "not,the,header\n1,2,3\n").unwrap();
    let failed = run(&ep, &["load", broken.to_str().unwrap(), "--output", "json"]).expect(1);
    let f = json(&failed.stdout);
    assert_eq!(f["state"], "FAILED", "{f}");
    assert!(
        f["error"]
            .as_str()
            .is_some_and(|e| e.contains("unexpected header")),
        "{f}"
    );
    assert_eq!(totals(), first, "a failed run loads nothing");

    // A hostile row, its Description longer than the warehouse column holds: rejected with
    // its reason, and the load of the rest completes (one such value would fail a whole COPY
    // of Parquet, which has no TRUNCATECOLUMNS).
    let hostile = dir.path().join("hostile.csv");
    std::fs::write(
        &hostile,
        format!(
            "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
             999999,85123A,{},1,12/9/2011 12:50,1.00,17850,United Kingdom\n\
             999999,85123A,WHITE HANGING HEART T-LIGHT HOLDER,2,12/9/2011 12:50,2.50,17850,United Kingdom\n",
            "x".repeat(513)
        ),
    )
    .unwrap();
    let h = json(
        &run(
            &ep,
            &["load", hostile.to_str().unwrap(), "--output", "json"],
        )
        .expect(0)
        .stdout,
    );
    assert_eq!(h["state"], "SUCCEEDED", "{h}");
    let after = totals();
    assert_eq!(
        after["lines"].as_u64(),
        first["lines"].as_u64().map(|n| n + 1),
        "only the good row is added: {after}"
    );
    let added: records::Decimal = after["revenue"].as_str().unwrap().parse().unwrap();
    assert_eq!(added - revenue, "5.00".parse().unwrap());
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("rejects/dt=")
        .send()
        .await
        .unwrap();
    let mut too_long = 0;
    for o in listed.contents() {
        let body = s3
            .get_object()
            .bucket(&bucket)
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        too_long += String::from_utf8_lossy(&body)
            .lines()
            .filter(|l| l.contains("\"reason\":\"too_long\""))
            .count();
    }
    assert_eq!(too_long, 1, "the long row is rejected as too_long");

    // A key trying to leave raw/ is refused.
    let bad = run(&ep, &["load", &data, "--key", "../clean/x.csv"]).expect(1);
    assert!(
        bad.stderr.contains("not a plain relative key"),
        "{}",
        bad.stderr
    );
}
