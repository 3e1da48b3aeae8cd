//! The emulator's Kinesis as the tool's tests and benchmarks rely on it. The emulator
//! (`emulator/ecomflow_emulator/kinesis.py`) replaces parts of moto's Kinesis for speed
//! (shards found by binary search, PutRecords answered without moto's generic serializer, one
//! clock read per record) and for safety (puts applied one at a time). These tests prove the
//! answers are still Kinesis's:
//! - every record lands on the shard whose hash range holds the MD5 of its partition key;
//! - concurrent PutRecords calls lose no record and give no two records one sequence number;
//! - GetRecords returns every record once, in order, with its arrival time.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use aws_sdk_kinesis::Client;
use ecomflow_testkit::Moto;
use md5::{Digest, Md5};
use std::collections::{BTreeMap, HashSet};

async fn connect() -> (Moto, Client) {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let kinesis = Client::new(&moto.sdk_config().await);
    (moto, kinesis)
}

async fn create(k: &Client, name: &str, shards: i32) {
    k.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
}

/// Each shard's id and inclusive hash-key range.
async fn ranges(k: &Client, name: &str) -> Vec<(String, u128, u128)> {
    let shards = k
        .list_shards()
        .stream_name(name)
        .send()
        .await
        .expect("ListShards");
    shards
        .shards()
        .iter()
        .map(|s| {
            let range = s.hash_key_range().expect("a hash key range");
            (
                s.shard_id().to_string(),
                range.starting_hash_key().parse().unwrap(),
                range.ending_hash_key().parse().unwrap(),
            )
        })
        .collect()
}

fn entry(key: &str, data: &str) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .partition_key(key)
        .data(Blob::new(data.as_bytes()))
        .build()
        .unwrap()
}

/// Puts `entries` in one call; returns each record's (shard, sequence number), in order.
async fn put(
    k: &Client,
    name: &str,
    entries: Vec<PutRecordsRequestEntry>,
) -> Vec<(String, String)> {
    let n = entries.len();
    let out = k
        .put_records()
        .stream_name(name)
        .set_records(Some(entries))
        .send()
        .await
        .expect("PutRecords");
    assert_eq!(out.failed_record_count(), Some(0));
    assert_eq!(out.records().len(), n, "one result per record");
    out.records()
        .iter()
        .map(|r| {
            (
                r.shard_id().expect("a shard id").to_string(),
                r.sequence_number().expect("a sequence number").to_string(),
            )
        })
        .collect()
}

/// Every record of a shard from its start: (sequence number, data, arrival in epoch s).
async fn read_shard(k: &Client, name: &str, shard: &str) -> Vec<(String, String, f64)> {
    let mut iterator = k
        .get_shard_iterator()
        .stream_name(name)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("an iterator");
    let mut out = Vec::new();
    loop {
        let page = k
            .get_records()
            .shard_iterator(&iterator)
            .limit(1000)
            .send()
            .await
            .expect("GetRecords");
        if page.records().is_empty() {
            return out;
        }
        for r in page.records() {
            let at = r
                .approximate_arrival_timestamp()
                .expect("an arrival time")
                .as_secs_f64();
            let data = String::from_utf8(r.data().as_ref().to_vec()).unwrap();
            out.push((r.sequence_number().to_string(), data, at));
        }
        iterator = page
            .next_shard_iterator
            .expect("an open shard has a next iterator");
    }
}

#[tokio::test]
async fn records_land_on_the_shard_whose_range_holds_their_key_hash() {
    let (_moto, k) = connect().await;
    for shards in [1, 7, 128] {
        let name = format!("routing-{shards}");
        create(&k, &name, shards).await;
        let ranges = ranges(&k, &name).await;
        assert_eq!(ranges.len(), shards as usize);
        let keys: Vec<String> = (0..500).map(|i| format!("invoice-{i}")).collect();
        let entries = keys.iter().map(|key| entry(key, key)).collect();
        let placed = put(&k, &name, entries).await;
        let mut used = HashSet::new();
        for (key, (shard, _)) in keys.iter().zip(&placed) {
            let hash = u128::from_be_bytes(Md5::digest(key.as_bytes()).into());
            let expected = ranges
                .iter()
                .find(|(_, start, end)| *start <= hash && hash <= *end)
                .map(|(id, _, _)| id)
                .expect("the ranges cover every hash");
            assert_eq!(shard, expected, "{key} ({shards} shards)");
            used.insert(shard.clone());
        }
        // 500 keys spread over every shard of the smaller streams.
        if shards <= 7 {
            assert_eq!(used.len(), shards as usize, "{used:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_keep_every_record_once_and_in_order() {
    let (_moto, k) = connect().await;
    let name = "concurrent";
    create(&k, name, 3).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    // 8 calls of 500 records at once, each record naming its call and position.
    let calls = (0..8).map(|call| {
        let k = k.clone();
        tokio::spawn(async move {
            let entries = (0..500)
                .map(|i| entry(&format!("key-{}", i % 37), &format!("{call}/{i}")))
                .collect();
            put(&k, name, entries).await
        })
    });
    let mut acknowledged = HashSet::new();
    for placed in futures::future::join_all(calls).await {
        for (shard, seq) in placed.unwrap() {
            assert!(
                acknowledged.insert((shard.clone(), seq.clone())),
                "{shard} gave sequence number {seq} twice"
            );
        }
    }
    assert_eq!(acknowledged.len(), 4000);

    let mut seen = BTreeMap::new();
    for (shard, _, _) in ranges(&k, name).await {
        let records = read_shard(&k, name, &shard).await;
        let numbers: Vec<u128> = records.iter().map(|(s, _, _)| s.parse().unwrap()).collect();
        assert!(
            numbers.windows(2).all(|w| w[0] < w[1]),
            "{shard} returned its records out of order"
        );
        for (seq, data, at) in records {
            assert!(
                acknowledged.contains(&(shard.clone(), seq.clone())),
                "{shard} returned {seq}, which no put acknowledged"
            );
            assert!(
                at >= before - 1.0 && at <= before + 600.0,
                "arrival time {at} is not the time of the put ({before})"
            );
            assert!(seen.insert(data.clone(), seq).is_none(), "{data} twice");
        }
    }
    assert_eq!(
        seen.len(),
        4000,
        "every acknowledged record is read back once"
    );
}
