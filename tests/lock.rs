//! The stack lock and the creation journal under concurrency, against the emulator: every
//! create that starts in the same instant is journaled, and of several runs that race for one
//! stack's lock exactly one gets it. (The crash test found the emulator losing one of a wave
//! of journal entries, so a killed run's bucket looked foreign to its rerun; the emulator
//! (`emulator/ecomflow_emulator/dynamodb.py`) now applies DynamoDB item writes atomically, as
//! DynamoDB does.)

use ecomflow_infra::aws::{Aws, ConnectOptions};
use ecomflow_infra::engine::lock::{journal_names, Lock, LockError};
use ecomflow_testkit::Moto;
use futures::future::join_all;
use std::collections::HashSet;

async fn connect() -> (Moto, Aws) {
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let aws = Aws::connect(
        &ConnectOptions {
            endpoint_url: Some(moto.endpoint.clone()),
            ..ConnectOptions::default()
        },
        "us-east-1",
    )
    .await
    .expect("connect to the emulator");
    (moto, aws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_that_start_together_are_all_journaled_and_one_run_gets_the_lock() {
    let (_moto, aws) = connect().await;
    let stack = "ecomflow-dev-race";
    // The first acquisition creates the lock table.
    let lock = Lock::acquire(&aws, stack, "apply").await.unwrap();
    let journal = lock.journal();

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
