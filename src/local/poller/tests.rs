//! The mapping's pure rules, and shard readers over a fake shard and function.

use super::retry::MAX_RETRY_PAUSE;
use super::*;
use async_trait::async_trait;
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use chrono::DateTime;
use serde_json::{json, Value};
use std::sync::Mutex;

fn settings() -> Settings {
    Settings {
        stream_name: "s".into(),
        stream_arn: "arn:aws:kinesis:us-east-1:123456789012:stream/s".into(),
        region: "us-east-1".into(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:p".into(),
        invoke_identity_arn: "arn:aws:iam::123456789012:role/p".into(),
        starting_position: StartingPosition::TrimHorizon,
        batch_size: 4,
        batching_window: Duration::ZERO,
        maximum_retries: 2,
        bisect_on_error: false,
        report_batch_item_failures: true,
        on_failure: Some(Destination::Sns("arn:aws:sns:us-east-1:1:t".into())),
        poll_interval: Duration::from_millis(5),
        retry_pause: Duration::from_millis(1),
    }
}

fn rec(seq: u32) -> StreamRecord {
    StreamRecord {
        sequence_number: format!("{seq:05}"),
        partition_key: format!("pk{seq}"),
        data: format!("{{\"n\":{seq}}}").into_bytes(),
        arrival: DateTime::from_timestamp(1_291_191_960 + i64::from(seq), 0).unwrap(),
        kms: true,
    }
}

fn failing(ids: &[Option<&str>]) -> Result<KinesisEventResponse, String> {
    let mut r = KinesisEventResponse::default();
    for id in ids {
        let mut f = KinesisBatchItemFailure::default();
        f.item_identifier = id.map(str::to_string);
        r.batch_item_failures.push(f);
    }
    Ok(r)
}

#[test]
fn the_event_is_what_lambda_sends() {
    let e = build_event(&[rec(1), rec(2)], "shardId-000000000003", &settings());
    let v = serde_json::to_value(&e).unwrap();
    let r = &v["Records"][1];
    assert_eq!(r["eventSource"], "aws:kinesis");
    assert_eq!(r["eventName"], "aws:kinesis:record");
    assert_eq!(r["eventID"], "shardId-000000000003:00002");
    assert_eq!(r["eventSourceARN"], settings().stream_arn);
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(r["invokeIdentityArn"], "arn:aws:iam::123456789012:role/p");
    assert_eq!(r["kinesis"]["sequenceNumber"], "00002");
    assert_eq!(r["kinesis"]["partitionKey"], "pk2");
    assert_eq!(r["kinesis"]["encryptionType"], "KMS");
    use base64::Engine as _;
    assert_eq!(
        r["kinesis"]["data"],
        base64::engine::general_purpose::STANDARD.encode(b"{\"n\":2}")
    );
    // What the process Lambda reads back.
    let back: KinesisEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back.records[0].kinesis.data.0, b"{\"n\":1}");
    assert_eq!(
        back.records[1].kinesis.approximate_arrival_timestamp.0,
        rec(2).arrival
    );
}

#[test]
fn verdicts_follow_batch_item_failures() {
    let seqs = ["a", "b", "c", "d"];
    assert_eq!(judge(&failing(&[]), &seqs, true), Verdict::Success);
    assert!(matches!(
        judge(&failing(&[Some("d"), Some("b")]), &seqs, true),
        Verdict::FailedFrom(1, _)
    ));
    // Unknown, empty or missing identifiers fail the whole batch.
    for bad in [Some("zz"), Some(""), None] {
        assert!(matches!(
            judge(&failing(&[Some("c"), bad]), &seqs, true),
            Verdict::FailedFrom(0, _)
        ));
    }
    // Without ReportBatchItemFailures the answer is not read.
    assert_eq!(
        judge(&failing(&[Some("c")]), &seqs, false),
        Verdict::Success
    );
    assert!(matches!(
        judge(&Err("Task timed out".into()), &seqs, false),
        Verdict::FailedFrom(0, m) if m == "Task timed out"
    ));
}

#[test]
fn retries_narrow_and_run_out() {
    let mut s = settings();
    s.batch_size = 8;
    s.maximum_retries = 2;
    s.bisect_on_error = true;
    let mut st = RetryState::new(8);
    let fail = |i| Verdict::FailedFrom(i, "x".into());
    // Records 0..3 done, 3..8 retried: bisected to 3.
    assert_eq!(st.after(&fail(3), 8, &s), Step::Retry { processed: 3 });
    assert_eq!((st.window, st.attempts), (3, 1));
    assert_eq!(st.after(&fail(0), 3, &s), Step::Retry { processed: 0 });
    assert_eq!((st.window, st.attempts), (2, 2));
    assert_eq!(
        st.after(&fail(0), 2, &s),
        Step::Exhausted {
            processed: 0,
            failed: 2
        }
    );
    assert_eq!(st, RetryState::new(8));
    // Without bisecting, the retry takes exactly the failed rest.
    s.bisect_on_error = false;
    assert_eq!(st.after(&fail(5), 8, &s), Step::Retry { processed: 5 });
    assert_eq!(st.window, 3);
    assert_eq!(st.after(&Verdict::Success, 3, &s), Step::Done);
    assert_eq!(st, RetryState::new(8));
    // -1: retried forever.
    s.maximum_retries = -1;
    for _ in 0..100 {
        assert_eq!(st.after(&fail(0), 1, &s), Step::Retry { processed: 0 });
    }
    assert_eq!(st.pause(Duration::from_secs(1)), MAX_RETRY_PAUSE);
    // 0 retries: the first failure is final.
    s.maximum_retries = 0;
    let mut st = RetryState::new(8);
    assert_eq!(
        st.after(&fail(2), 4, &s),
        Step::Exhausted {
            processed: 2,
            failed: 2
        }
    );
}

#[test]
fn destinations_and_failure_records() {
    assert_eq!(
        Destination::from_arn("arn:aws:s3:::my-lake"),
        Some(Destination::S3("my-lake".into()))
    );
    assert_eq!(
        Destination::from_arn("arn:aws:sns:us-east-1:1:t"),
        Some(Destination::Sns("arn:aws:sns:us-east-1:1:t".into()))
    );
    assert_eq!(
        Destination::from_arn("arn:aws-cn:s3:::lake"),
        Some(Destination::S3("lake".into()))
    );
    assert_eq!(Destination::from_arn("arn:aws:sqs:us-east-1:1:q"), None);
    assert_eq!(Destination::from_arn("arn:aws:s3:::"), None);
    let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    let v = failure_record(
        &[rec(3), rec(4)],
        "shardId-000000000001",
        &settings(),
        3,
        "boom",
        &["00004".into()],
        now,
    );
    let b = &v["KinesisBatchInfo"];
    assert_eq!(b["shardId"], "shardId-000000000001");
    assert_eq!(b["startSequenceNumber"], "00003");
    assert_eq!(b["endSequenceNumber"], "00004");
    assert_eq!(b["batchSize"], 2);
    assert_eq!(
        b["approximateArrivalOfFirstRecord"],
        "2010-12-01T08:26:03.000Z"
    );
    assert_eq!(v["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(v["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(v["errorMessage"], "boom");
    assert_eq!(v["failedSequenceNumbers"], json!(["00004"]));
}

/// A shard of fixed records served in pages, with an optional expiry of the first iterator.
struct FakeShard {
    records: Vec<StreamRecord>,
    expire_once: Mutex<bool>,
    iterators: Mutex<Vec<Option<String>>>,
}

#[async_trait]
impl ShardSource for FakeShard {
    async fn list_shards(&self) -> Result<Vec<Shard>, SourceError> {
        Ok(vec![Shard {
            id: "shardId-0".into(),
            parent: None,
            adjacent_parent: None,
        }])
    }
    async fn iterator(
        &self,
        _shard: &str,
        after: Option<&str>,
        _start: StartingPosition,
    ) -> Result<String, SourceError> {
        self.iterators
            .lock()
            .unwrap()
            .push(after.map(str::to_string));
        let pos = match after {
            None => 0,
            Some(a) => {
                self.records
                    .iter()
                    .position(|r| r.sequence_number == a)
                    .unwrap()
                    + 1
            }
        };
        Ok(pos.to_string())
    }
    async fn get_records(&self, iterator: &str, limit: usize) -> Result<Fetched, SourceError> {
        {
            let mut e = self.expire_once.lock().unwrap();
            if *e && iterator != "0" {
                *e = false;
                return Err(SourceError::Expired);
            }
        }
        let pos: usize = iterator.parse().unwrap();
        let end = (pos + limit).min(self.records.len());
        Ok(Fetched {
            records: self.records[pos..end].to_vec(),
            next_iterator: Some(end.to_string()),
            millis_behind: 0,
        })
    }
}

/// Fails (by batchItemFailures) every record in `poison`; remembers every invocation.
struct Flaky {
    poison: BTreeSet<String>,
    calls: Mutex<Vec<Vec<String>>>,
    done: Mutex<Vec<String>>,
}

#[async_trait]
impl StreamFunction for Flaky {
    async fn invoke(&self, event: KinesisEvent) -> Result<KinesisEventResponse, String> {
        let seqs: Vec<String> = event
            .records
            .iter()
            .map(|r| r.kinesis.sequence_number.clone())
            .collect();
        self.calls.lock().unwrap().push(seqs.clone());
        let mut r = KinesisEventResponse::default();
        for s in seqs {
            if self.poison.contains(&s) {
                let mut f = KinesisBatchItemFailure::default();
                f.item_identifier = Some(s);
                r.batch_item_failures.push(f);
            } else {
                self.done.lock().unwrap().push(s);
            }
        }
        Ok(r)
    }
}

#[derive(Default)]
struct Sink(Mutex<Vec<Value>>);

#[async_trait]
impl FailureSink for Sink {
    async fn send(&self, _shard: &str, record: &Value) -> Result<(), String> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_poison_record_is_retried_then_sent_away_and_nothing_else_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = Arc::new(Checkpoint::open(&dir.path().join("cp.json")).unwrap());
    let source = Arc::new(FakeShard {
        records: (1..=10).map(rec).collect(),
        expire_once: Mutex::new(true),
        iterators: Mutex::new(Vec::new()),
    });
    let function = Arc::new(Flaky {
        poison: BTreeSet::from(["00006".to_string()]),
        calls: Mutex::new(Vec::new()),
        done: Mutex::new(Vec::new()),
    });
    let sink = Arc::new(Sink::default());
    let mut s = settings();
    s.bisect_on_error = true;
    let poller = Arc::new(Poller {
        source: source.clone(),
        function: function.clone(),
        failures: Some(sink.clone()),
        checkpoint: checkpoint.clone(),
        settings: s,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(poller.clone().run(stop_rx));
    let deadline = Instant::now() + Duration::from_secs(10);
    while checkpoint.get("shardId-0").as_deref() != Some("00010") {
        assert!(
            Instant::now() < deadline,
            "the shard was not read to its end"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop_tx.send(true).unwrap();
    task.await.unwrap();

    // The expired iterator was replaced by one from the checkpoint.
    let iterators = source.iterators.lock().unwrap().clone();
    assert_eq!(iterators[0], None);
    assert!(iterators.len() >= 2, "{iterators:?}");
    // Every record but the poison one was processed; the poison one was tried
    // 1 + maximum_retries times, then described to the destination, alone.
    let mut done = function.done.lock().unwrap().clone();
    done.sort();
    done.dedup();
    let want: Vec<String> = (1..=10)
        .filter(|&i| i != 6)
        .map(|i| format!("{i:05}"))
        .collect();
    assert_eq!(done, want);
    let calls = function.calls.lock().unwrap().clone();
    let poison_tries = calls
        .iter()
        .filter(|c| c.contains(&"00006".to_string()))
        .count();
    assert_eq!(poison_tries, 3, "{calls:?}");
    let sent = sink.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["KinesisBatchInfo"]["startSequenceNumber"], "00006");
    assert_eq!(sent[0]["KinesisBatchInfo"]["endSequenceNumber"], "00006");
    assert_eq!(sent[0]["failedSequenceNumbers"], json!(["00006"]));
    // No batch is larger than the batch size.
    assert!(calls.iter().all(|c| c.len() <= 4));
}

#[tokio::test]
async fn a_restart_resumes_after_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cp.json");
    std::fs::write(&path, r#"{"shardId-0": "00007"}"#).unwrap();
    let checkpoint = Arc::new(Checkpoint::open(&path).unwrap());
    let source = Arc::new(FakeShard {
        records: (1..=9).map(rec).collect(),
        expire_once: Mutex::new(false),
        iterators: Mutex::new(Vec::new()),
    });
    let function = Arc::new(Flaky {
        poison: BTreeSet::new(),
        calls: Mutex::new(Vec::new()),
        done: Mutex::new(Vec::new()),
    });
    let poller = Arc::new(Poller {
        source: source.clone(),
        function: function.clone(),
        failures: None,
        checkpoint: checkpoint.clone(),
        settings: settings(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(poller.run(stop_rx));
    let deadline = Instant::now() + Duration::from_secs(10);
    while checkpoint.get("shardId-0").as_deref() != Some("00009") {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop_tx.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(
        source.iterators.lock().unwrap()[0].as_deref(),
        Some("00007")
    );
    assert_eq!(
        function.done.lock().unwrap().clone(),
        vec!["00008".to_string(), "00009".to_string()]
    );
}
