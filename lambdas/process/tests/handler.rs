//! Processor tests with an in-memory fake of DynamoDB, Firehose, S3 and SNS.

use async_trait::async_trait;
use aws_lambda_events::kinesis::KinesisEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use process::{digest, process, process_outcome, Backend, Config, Counts, DigestConfig, Item};
use records::CleaningRules;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

const EVENT: &str = include_str!("fixtures/kinesis_event.json");

/// Items of one table by (partition key, sort key).
type Table = BTreeMap<(String, String), Item>;

#[derive(Default)]
struct Fake {
    tables: Mutex<HashMap<String, Table>>,
    firehose: Mutex<Vec<Vec<u8>>>,
    objects: Mutex<HashMap<String, Vec<u8>>>,
    messages: Mutex<Vec<String>>,
    /// BatchWriteItem leaves everything unprocessed this many times.
    unprocessed_rounds: Mutex<usize>,
    /// Firehose fails each record this many times.
    firehose_failures: Mutex<usize>,
    s3_down: bool,
    /// Every PutRecordBatch to the stream named `copy` fails.
    /// Records each stream took.
    delivered: Mutex<BTreeMap<String, usize>>,
    batch_sizes: Mutex<Vec<usize>>,
    /// The digest item: its counts and `SentAt`.
    digest: Mutex<(Counts, Option<i64>)>,
    /// Publish fails this many times.
    publish_failures: Mutex<usize>,
}

fn key_of(item: &Item, a: &str, b: &str) -> (String, String) {
    let text = |v: Option<&AttributeValue>| match v {
        Some(AttributeValue::S(s)) | Some(AttributeValue::N(s)) => s.clone(),
        _ => panic!("key attribute missing"),
    };
    (text(item.get(a)), text(item.get(b)))
}

#[async_trait]
impl Backend for Fake {
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<Vec<Item>, String> {
        assert!(items.len() <= 25);
        self.batch_sizes.lock().unwrap().push(items.len());
        let mut rounds = self.unprocessed_rounds.lock().unwrap();
        if *rounds > 0 {
            *rounds -= 1;
            return Ok(items);
        }
        let mut tables = self.tables.lock().unwrap();
        let t = tables.entry(table.to_owned()).or_default();
        for i in items {
            t.insert(key_of(&i, "InvoiceNo", "LineKey"), i);
        }
        Ok(Vec::new())
    }
    async fn query_invoice(&self, table: &str, invoice_no: &str) -> Result<Vec<Item>, String> {
        let tables = self.tables.lock().unwrap();
        Ok(tables
            .get(table)
            .map(|t| {
                t.iter()
                    .filter(|((i, _), _)| i == invoice_no)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default())
    }
    async fn put_item(&self, table: &str, item: Item) -> Result<(), String> {
        let mut tables = self.tables.lock().unwrap();
        tables
            .entry(table.to_owned())
            .or_default()
            .insert(key_of(&item, "CustomerID", "InvoiceNo"), item);
        Ok(())
    }
    async fn firehose_put(&self, stream: &str, records: Vec<Vec<u8>>) -> Result<Vec<bool>, String> {
        assert!(records.len() <= 500);
        *self
            .delivered
            .lock()
            .unwrap()
            .entry(stream.to_owned())
            .or_default() += records.len();
        let mut f = self.firehose_failures.lock().unwrap();
        if *f > 0 {
            *f -= 1;
            return Ok(vec![true; records.len()]);
        }
        let n = records.len();
        self.firehose.lock().unwrap().extend(records);
        Ok(vec![false; n])
    }
    async fn s3_put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), String> {
        if self.s3_down {
            return Err("s3 down".into());
        }
        self.objects
            .lock()
            .unwrap()
            .insert(format!("{bucket}/{key}"), body);
        Ok(())
    }
    async fn publish(&self, _: &str, _: &str, message: &str) -> Result<(), String> {
        let mut down = self.publish_failures.lock().unwrap();
        if *down > 0 {
            *down -= 1;
            return Err("sns down".into());
        }
        self.messages.lock().unwrap().push(message.to_owned());
        Ok(())
    }
    async fn digest_add(&self, _: &str, c: &Counts, now: i64) -> Result<Option<i64>, String> {
        let mut d = self.digest.lock().unwrap();
        d.0.rows += c.rows;
        d.0.rejected += c.rejected;
        d.0.batches += c.batches;
        d.0.since.get_or_insert(now);
        Ok(d.1)
    }
    async fn digest_claim(&self, _: &str, now: i64, cutoff: i64) -> Result<Option<Counts>, String> {
        let mut d = self.digest.lock().unwrap();
        if d.1.is_some_and(|t| t > cutoff) {
            return Ok(None);
        }
        let old = std::mem::take(&mut d.0);
        d.1 = Some(now);
        Ok(Some(old))
    }
    async fn digest_return(&self, _: &str, c: &Counts, claimed_at: i64) -> Result<(), String> {
        let mut d = self.digest.lock().unwrap();
        d.0.rows += c.rows;
        d.0.rejected += c.rejected;
        d.0.batches += c.batches;
        d.0.since = c.since;
        if d.1 == Some(claimed_at) {
            d.1 = None;
        }
        Ok(())
    }
}

fn cfg() -> Config {
    Config {
        invoices_table: "invoices".into(),
        customers_table: "customers".into(),
        delivery_stream: "clean".into(),
        bucket: "lake".into(),
        topic_arn: "arn:aws:sns:us-east-1:123456789012:alerts".into(),
        reject_alert_threshold: 0.2,
        digest: None,
        rules: CleaningRules::default(),
        max_attempts: 3,
        base_backoff: Duration::from_millis(1),
    }
}

fn event() -> KinesisEvent {
    serde_json::from_str(EVENT).unwrap()
}

fn attr_n(item: &Item, k: &str) -> String {
    match item.get(k) {
        Some(AttributeValue::N(v)) => v.clone(),
        other => panic!("{k}: {other:?}"),
    }
}

#[test]
fn fixture_round_trips() {
    let e = event();
    let again: KinesisEvent = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
    assert_eq!(e, again);
    assert_eq!(e.records.len(), 4);
}

#[tokio::test]
async fn happy_path() {
    let fake = Fake::default();
    let out = process_outcome(&event(), &cfg(), &fake).await;
    assert_eq!((out.accepted, out.rejected), (4, 1));
    assert!(out.failed_sequence_numbers.is_empty());
    assert!(!out.alerted, "1 of 5 is not above 0.2");
    let tables = fake.tables.lock().unwrap();
    let inv = &tables["invoices"];
    assert_eq!(inv.len(), 4);
    let line = inv
        .values()
        .find(|i| i.get("StockCode") == Some(&AttributeValue::S("84406B".into())))
        .unwrap();
    assert_eq!(attr_n(line, "UnitPrice"), "2.75");
    assert_eq!(attr_n(line, "Quantity"), "8");
    assert_eq!(attr_n(line, "CustomerID"), "17850");
    assert_eq!(
        line.get("InvoiceDate"),
        Some(&AttributeValue::S("2010-12-01 08:26:00".into()))
    );
    let cust = &tables["customers"];
    assert_eq!(cust.len(), 2);
    let c = &cust[&("17850".to_owned(), "536365".to_owned())];
    assert_eq!(attr_n(c, "InvoiceTotal"), "57.64");
    assert_eq!(attr_n(c, "LineCount"), "3");
    let c = &cust[&("17548".to_owned(), "C536379".to_owned())];
    assert_eq!(attr_n(c, "InvoiceTotal"), "-19.80");
    assert_eq!(c.get("IsCancellation"), Some(&AttributeValue::Bool(true)));
    drop(tables);
    let fh = fake.firehose.lock().unwrap();
    assert_eq!(fh.len(), 4);
    assert!(fh.iter().all(|r| r.ends_with(b"}\n")));
    let objects = fake.objects.lock().unwrap();
    let key = out.rejects_key.unwrap();
    assert!(key.starts_with("rejects/dt=2010-12-01/"), "{key}");
    let body = String::from_utf8(objects[&format!("lake/{key}")].clone()).unwrap();
    let rej: serde_json::Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(rej["reason"], "bad_date");
    assert!(rej["input"].as_str().unwrap().contains("13/1/2010"));
    assert_eq!(
        rej["sequence_number"],
        "49590999999999999999999999999999999999999999999999999992"
    );
}

#[tokio::test]
async fn redelivery_and_split_batches_are_idempotent() {
    let fake = Fake::default();
    let e = event();
    // Lines of invoice 536365 arrive in two separate invocations, then all again.
    let mut first = e.clone();
    first.records.truncate(1);
    let mut second = e.clone();
    second.records.remove(0);
    process(&first, &cfg(), &fake).await;
    {
        let t = fake.tables.lock().unwrap();
        assert_eq!(
            attr_n(
                &t["customers"][&("17850".into(), "536365".into())],
                "InvoiceTotal"
            ),
            "35.64"
        );
    }
    process(&second, &cfg(), &fake).await;
    process(&e, &cfg(), &fake).await;
    let t = fake.tables.lock().unwrap();
    assert_eq!(t["invoices"].len(), 4);
    let c = &t["customers"][&("17850".into(), "536365".into())];
    assert_eq!(attr_n(c, "InvoiceTotal"), "57.64");
    assert_eq!(attr_n(c, "LineCount"), "3");
}

#[tokio::test]
async fn same_stock_code_twice_in_an_invoice_keeps_both_lines() {
    let fake = Fake::default();
    let mut e = event();
    let lines = "{\"InvoiceNo\":\"539321\",\"StockCode\":\"85123A\",\"Description\":\"WHITE HANGING HEART T-LIGHT HOLDER\",\"Quantity\":2,\"InvoiceDate\":\"12/16/2010 19:19\",\"UnitPrice\":2.95,\"CustomerID\":14723,\"Country\":\"United Kingdom\"}\n{\"InvoiceNo\":\"539321\",\"StockCode\":\"85123A\",\"Description\":\"WHITE HANGING HEART T-LIGHT HOLDER\",\"Quantity\":3,\"InvoiceDate\":\"12/16/2010 19:19\",\"UnitPrice\":2.95,\"CustomerID\":14723,\"Country\":\"United Kingdom\"}\n";
    e.records.truncate(1);
    e.records[0].kinesis.data.0 = lines.as_bytes().to_vec();
    process(&e, &cfg(), &fake).await;
    let t = fake.tables.lock().unwrap();
    assert_eq!(t["invoices"].len(), 2);
    assert_eq!(
        attr_n(
            &t["customers"][&("14723".into(), "539321".into())],
            "InvoiceTotal"
        ),
        "14.75"
    );
}

#[tokio::test]
async fn retries_then_reports_real_failures() {
    // Unprocessed twice, then accepted: no failure.
    let fake = Fake {
        unprocessed_rounds: Mutex::new(2),
        firehose_failures: Mutex::new(2),
        ..Default::default()
    };
    let resp = process(&event(), &cfg(), &fake).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(fake.firehose.lock().unwrap().len(), 4);
    // Always unprocessed: every record with an accepted line fails, the reject-only one does not.
    let fake = Fake {
        unprocessed_rounds: Mutex::new(100),
        ..Default::default()
    };
    let resp = process(&event(), &cfg(), &fake).await;
    let ids: Vec<String> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(!ids.iter().any(|s| s.ends_with('2')));
    // S3 down: the record holding the rejected line is retried.
    let fake = Fake {
        s3_down: true,
        ..Default::default()
    };
    let out = process_outcome(&event(), &cfg(), &fake).await;
    assert_eq!(out.failed_sequence_numbers.len(), 1);
    assert!(out.failed_sequence_numbers[0].ends_with('2'));
}

#[tokio::test]
async fn alert_above_threshold() {
    let fake = Fake::default();
    let mut c = cfg();
    c.reject_alert_threshold = 0.1;
    let out = process_outcome(&event(), &c, &fake).await;
    assert!(out.alerted);
    let msgs = fake.messages.lock().unwrap();
    let m: serde_json::Value = serde_json::from_str(&msgs[0]).unwrap();
    assert_eq!(m["rejected"], 1);
    assert_eq!(m["rejected_by_reason"]["bad_date"], 1);
}

#[tokio::test]
async fn many_lines_are_chunked() {
    let fake = Fake::default();
    let mut e = event();
    e.records.truncate(1);
    let mut data = String::new();
    for i in 0..60 {
        data.push_str(&format!("{{\"InvoiceNo\":\"5400{i:02}\",\"StockCode\":\"22041\",\"Quantity\":1,\"InvoiceDate\":\"1/4/2011 10:00\",\"UnitPrice\":\"0.85\",\"CustomerID\":12345,\"Country\":\"France\"}}\n"));
    }
    e.records[0].kinesis.data.0 = data.into_bytes();
    let out = process_outcome(&e, &cfg(), &fake).await;
    assert_eq!(out.accepted, 60);
    assert_eq!(*fake.batch_sizes.lock().unwrap(), vec![25, 25, 10]);
    assert_eq!(out.customers_written, 60);
}

fn digesting() -> Config {
    Config {
        digest: Some(DigestConfig {
            table: "updates".into(),
            interval_seconds: 3600,
            stack: "ecomflow-test".into(),
        }),
        ..cfg()
    }
}

fn storage_updates(fake: &Fake) -> Vec<serde_json::Value> {
    fake.messages
        .lock()
        .unwrap()
        .iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m).unwrap())
        .filter(|m| m["event"] == "ecomflow.storage_update")
        .collect()
}

fn stored(rows: u64, rejected: u64) -> Counts {
    Counts {
        rows,
        rejected,
        batches: 1,
        since: None,
    }
}

/// Three batches in one interval: the first is announced at once, the other two wait, and the
/// first batch after the interval announces both, with when they began.
#[tokio::test]
async fn storage_updates_go_out_at_most_once_an_interval_and_count_every_row() {
    let (fake, cfg) = (Fake::default(), digesting());
    let out = process_outcome(&event(), &cfg, &fake).await;
    assert!(out.digested, "the first batch is announced");
    let first = storage_updates(&fake);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0]["rows"].as_u64(), first[0]["rejected"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(first[0]["stack"], "ecomflow-test");
    assert_eq!(first[0]["stored"]["rejects"], "s3://lake/rejects/");

    let sent_at = fake.digest.lock().unwrap().1.unwrap();
    for (dt, rows) in [(10, 7), (1800, 5)] {
        let sent = digest::record(&fake, &cfg, stored(rows, 0), sent_at + dt).await;
        assert_eq!(sent, Ok(false), "inside the interval");
    }
    assert_eq!(storage_updates(&fake).len(), 1);
    let sent = digest::record(&fake, &cfg, stored(2, 1), sent_at + 3600).await;
    assert_eq!(sent, Ok(true), "the interval has passed");
    let all = storage_updates(&fake);
    assert_eq!(all.len(), 2);
    let m = &all[1];
    assert_eq!(
        (m["rows"].as_u64(), m["rejected"].as_u64()),
        (Some(14), Some(1))
    );
    assert_eq!(m["batches"], 3);
    let at = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    assert_eq!(m["since"], at(sent_at + 10));
    assert_eq!(m["until"], at(sent_at + 3600));
    assert_eq!(
        fake.digest.lock().unwrap().0,
        Counts::default(),
        "nothing is pending"
    );
}

/// A message that could not be published is sent by the next batch, with its rows.
#[tokio::test]
async fn an_unpublished_storage_update_goes_out_with_the_next_batch() {
    let (fake, cfg) = (Fake::default(), digesting());
    *fake.publish_failures.lock().unwrap() = 1;
    let sent = digest::record(&fake, &cfg, stored(3, 0), 1_000).await;
    assert!(sent.is_err(), "{sent:?}");
    assert!(storage_updates(&fake).is_empty());
    let sent = digest::record(&fake, &cfg, stored(4, 0), 1_001).await;
    assert_eq!(sent, Ok(true));
    let m = &storage_updates(&fake)[0];
    assert_eq!(
        (m["rows"].as_u64(), m["batches"].as_u64()),
        (Some(7), Some(2))
    );
}

/// Interval 0: every batch is announced; a batch that stored nothing is not.
#[tokio::test]
async fn interval_zero_announces_every_batch_that_stored_something() {
    let fake = Fake::default();
    let mut cfg = digesting();
    cfg.digest.as_mut().unwrap().interval_seconds = 0;
    for (now, rows) in [(1, 2), (1, 3), (2, 0)] {
        digest::record(&fake, &cfg, stored(rows, 0), now)
            .await
            .unwrap();
    }
    let rows: Vec<u64> = storage_updates(&fake)
        .iter()
        .map(|m| m["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [2, 3]);
}

#[test]
fn config_from_env_lookup() {
    let env: HashMap<&str, &str> = [
        ("INVOICES_TABLE", "i"),
        ("CUSTOMERS_TABLE", "c"),
        ("DELIVERY_STREAM", "d"),
        ("BUCKET", "b"),
        ("TOPIC_ARN", "t"),
        ("REJECT_ALERT_THRESHOLD", "0.05"),
    ]
    .into();
    let c = Config::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(c.reject_alert_threshold, 0.05);
    assert_eq!(c.digest, None, "no UPDATES_TABLE, no digest");
    let with = |extra: [(&'static str, &'static str); 3]| {
        let mut env = env.clone();
        env.extend(extra);
        Config::from_lookup(|k| env.get(k).map(|v| v.to_string()))
    };
    let c = with([
        ("UPDATES_TABLE", "u"),
        ("DIGEST_MINUTES", "15"),
        ("STACK", "s"),
    ])
    .unwrap();
    assert_eq!(
        c.digest,
        Some(DigestConfig {
            table: "u".into(),
            interval_seconds: 900,
            stack: "s".into()
        })
    );
    assert!(with([
        ("UPDATES_TABLE", "u"),
        ("DIGEST_MINUTES", "1441"),
        ("STACK", "s")
    ])
    .is_err());
    assert!(Config::from_lookup(|k| if k == "REJECT_ALERT_THRESHOLD" {
        Some("2".into())
    } else {
        env.get(k).map(|v| v.to_string())
    })
    .is_err());
    assert!(Config::from_lookup(|_| None).is_err());
}
