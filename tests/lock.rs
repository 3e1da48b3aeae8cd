//! The stack lock and the creation journal under concurrency, against the emulator: every
//! create that starts in the same instant is journaled, of several runs that race for one
//! stack's lock exactly one gets it, and the lock's lease: a live holder keeps it even over a
//! slow link, an abandoned one is taken over once its lease runs out, and a run whose lock
//! was taken stops writing. (The crash test found the emulator losing one of a wave
//! of journal entries, so a killed run's bucket looked foreign to its rerun; the emulator
//! (`emulator/ecomflow_emulator/dynamodb.py`) now applies DynamoDB item writes atomically, as
//! DynamoDB does.)

use ecomflow_infra::aws::{Aws, ConnectOptions, LockOptions};
use ecomflow_infra::engine::lock::{force_unlock, journal_names, Lock, LockError, LOCK_TABLE};
use ecomflow_testkit::{LatencyProxy, Moto};
use futures::future::join_all;
use std::collections::HashSet;
use std::time::{Duration, Instant};

async fn connect() -> (Moto, Aws) {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let aws = client(&moto.endpoint, LockOptions::default()).await;
    (moto, aws)
}

/// A run's clients at `endpoint`, holding and waiting for locks as `lock` says.
async fn client(endpoint: &str, lock: LockOptions) -> Aws {
    Aws::connect(
        &ConnectOptions {
            endpoint_url: Some(endpoint.to_string()),
            lock,
            ..ConnectOptions::default()
        },
        "us-east-1",
    )
    .await
    .expect("connect to the emulator")
}

const LEASE: Duration = Duration::from_secs(3);

fn leased(timeout: Duration) -> LockOptions {
    LockOptions {
        lease: LEASE,
        timeout,
    }
}

fn held(r: Result<Lock, LockError>) -> String {
    match r {
        Err(LockError::Held(h)) => h.to_string(),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the lock was taken while its holder was alive"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leases_keep_live_holders_and_free_abandoned_locks() {
    let (moto, _) = connect().await;
    let stack = "ecomflow-dev-lease";
    // The holder's every call, renewals included, takes 400 ms longer (a slow link).
    let slow = LatencyProxy::start(&moto.endpoint, Duration::from_millis(400)).await;
    let holder = client(&slow.endpoint, leased(Duration::ZERO)).await;
    let other = client(&moto.endpoint, leased(Duration::ZERO)).await;
    let lock = Lock::acquire(&holder, stack, "apply").await.unwrap();

    // Three leases long, another run tries again and again: the live holder keeps it.
    let until = Instant::now() + 3 * LEASE;
    while Instant::now() < until {
        let refused = held(Lock::acquire(&other, stack, "apply").await);
        assert!(
            refused.contains("its lease was last renewed") && refused.contains("force-unlock"),
            "{refused}"
        );
        assert_eq!(
            holder.fence.closed(),
            None,
            "the live holder's fence closed"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Abandoned (renewals stop, as when the run is killed): refused until the lease runs out,
    // then a run that waits takes it over on its own.
    drop(lock);
    held(Lock::acquire(&other, stack, "apply").await);
    let waiting = client(&moto.endpoint, leased(3 * LEASE)).await;
    let started = Instant::now();
    let taken = Lock::acquire(&waiting, stack, "destroy").await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited > LEASE / 2 && waited < 2 * LEASE,
        "took the abandoned lock over after {waited:?} (lease {LEASE:?})"
    );
    taken.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_whose_lock_was_taken_stops_writing() {
    let (moto, _) = connect().await;
    let stack = "ecomflow-dev-taken";
    let first = client(&moto.endpoint, leased(Duration::ZERO)).await;
    let lock = Lock::acquire(&first, stack, "apply").await.unwrap();
    first
        .s3
        .create_bucket()
        .bucket("ecomflow-dev-taken-before")
        .send()
        .await
        .expect("the holder writes");

    force_unlock(&first, stack).await.unwrap();
    let second = client(&moto.endpoint, leased(Duration::ZERO)).await;
    let theirs = Lock::acquire(&second, stack, "apply").await.unwrap();
    // The first run learns at its next renewal (a third of the lease).
    let deadline = Instant::now() + LEASE;
    while first.fence.closed().is_none() {
        assert!(Instant::now() < deadline, "the first run never noticed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = first
        .s3
        .create_bucket()
        .bucket("ecomflow-dev-taken-after")
        .send()
        .await
        .expect_err("a write after the lock was taken went out");
    let why = format!("{}", ecomflow_infra::aws::AwsError::from(refused));
    assert!(why.contains("was taken from this run"), "{why}");
    // Reads still go out, and the second run's lock is untouched by the first's release.
    first.s3.list_buckets().send().await.unwrap();
    lock.release().await.unwrap();
    held(Lock::acquire(&first, stack, "apply").await);
    theirs.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_that_start_together_are_all_journaled_and_one_run_gets_the_lock() {
    let (_moto, aws) = connect().await;
    let stack = "ecomflow-dev-race";
    // The first acquisition creates the lock table, restorable to any point in time.
    let lock = Lock::acquire(&aws, stack, "apply").await.unwrap();
    let journal = lock.journal();
    let backups = aws
        .lock_dynamodb
        .describe_continuous_backups()
        .table_name(LOCK_TABLE)
        .send()
        .await
        .unwrap();
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    assert_eq!(
        pitr,
        Some(&aws_sdk_dynamodb::types::PointInTimeRecoveryStatus::Enabled)
    );

    // Each wave starts on an instance with no journal item yet, as a first apply does.
    for wave in 0..10 {
        let instance = format!("{stack}-{wave}");
        let journal = Lock::acquire(&aws, &instance, "apply")
            .await
            .unwrap()
            .journal();
        let names: Vec<String> = (0..40).map(|i| format!("{instance}-{i:02}")).collect();
        let begun = join_all(names.iter().map(|n| journal.begin(n))).await;
        assert!(begun.iter().all(Result::is_ok), "{begun:?}");
        let journaled = journal_names(&aws, &instance).await.unwrap();
        let missing: Vec<&String> = names.iter().filter(|n| !journaled.contains(*n)).collect();
        assert!(
            missing.is_empty(),
            "wave {wave}: journal entries lost: {missing:?}"
        );
    }

    let names: Vec<String> = (0..40)
        .map(|i| format!("{stack}-resource-{i:02}"))
        .collect();
    let begun = join_all(names.iter().map(|n| journal.begin(n))).await;
    assert!(begun.iter().all(Result::is_ok), "{begun:?}");

    let ended = join_all(names.iter().skip(1).map(|n| journal.end(n))).await;
    assert!(ended.iter().all(Result::is_ok), "{ended:?}");
    let left = journal_names(&aws, stack).await.unwrap();
    assert_eq!(left, HashSet::from([names[0].clone()]));
    lock.release().await.unwrap();

    for round in 0..5 {
        let tries = join_all((0..8).map(|_| Lock::acquire(&aws, stack, "apply"))).await;
        let mut held = Vec::new();
        for t in tries {
            match t {
                Ok(lock) => held.push(lock),
                Err(LockError::Held(_)) => {}
                Err(e) => panic!("round {round}: {e}"),
            }
        }
        assert_eq!(
            held.len(),
            1,
            "round {round}: {} runs got the lock",
            held.len()
        );
        held.pop().unwrap().release().await.unwrap();
    }
}
