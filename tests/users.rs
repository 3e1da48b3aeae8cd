//! `ecomflow-infra users sync` against a real Cognito emulator (`emulator/`).

mod support;

use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use support::{command, run, ConnectionCounter, Moto, Run};

const INSTANCE: &str = "t-users";
const POOL: &str = "ecomflow-dev-t-users-users";
const GROUPS: [&str; 5] = ["analysts", "producers", "finance", "support", "admins"];

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn cognito(moto: &Moto) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await)
}

/// A user pool as `apply` makes it: named and tagged for `stack`.
fn make_pool(moto: &Moto, stack: &str) -> String {
    rt().block_on(async {
        let pool = cognito(moto)
            .await
            .create_user_pool()
            .pool_name(POOL)
            .user_pool_tags("ecomflow:stack", stack)
            .user_pool_tags("ecomflow:managed-by", "ecomflow-infra")
            .send()
            .await
            .unwrap();
        pool.user_pool.unwrap().id.unwrap()
    })
}

#[derive(Clone)]
struct U {
    name: String,
    email: String,
    groups: Vec<String>,
    enabled: bool,
}

fn users(n: usize) -> Vec<U> {
    (0..n)
        .map(|i| {
            let mut groups = vec![GROUPS[i % 5].to_string()];
            if i % 3 == 0 {
                groups.push(GROUPS[(i + 1) % 5].to_string());
            }
            U {
                name: format!("user{i:05}"),
                email: format!("user{i:05}@example.com"),
                groups,
                enabled: true,
            }
        })
        .collect()
}

fn write_users(path: &Path, users: &[U]) {
    let mut y = String::from("groups:\n");
    for (i, g) in GROUPS.iter().enumerate() {
        let _ = writeln!(
            y,
            "  - name: {g}\n    description: the {g} team\n    precedence: {}",
            i * 10
        );
    }
    y.push_str("users:\n");
    for u in users {
        let _ = writeln!(
            y,
            "  - username: {}\n    email: {}\n    groups: [{}]\n    enabled: {}",
            u.name,
            u.email,
            u.groups.join(", "),
            u.enabled
        );
    }
    std::fs::write(path, y).unwrap();
}

fn sync(moto: &Moto, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "users",
        "sync",
        "--instance",
        INSTANCE,
        "--users",
        file.to_str().unwrap(),
        "--rate-create",
        "2000",
        "--rate-update",
        "2000",
        "--rate-list",
        "2000",
        "--rate-read",
        "2000",
        "--concurrency",
        "32",
    ];
    args.extend_from_slice(extra);
    run(&moto.endpoint, &args)
}

/// username -> (email, enabled, groups)
fn pool_state(moto: &Moto, pool: &str) -> HashMap<String, (String, bool, Vec<String>)> {
    rt().block_on(async {
        let c = cognito(moto).await;
        let mut out = HashMap::new();
        let mut pages = c.list_users().user_pool_id(pool).into_paginator().send();
        while let Some(page) = pages.next().await {
            for u in page.unwrap().users() {
                let email = u
                    .attributes()
                    .iter()
                    .find(|a| a.name() == "email")
                    .and_then(|a| a.value())
                    .unwrap_or_default()
                    .to_string();
                out.insert(
                    u.username().unwrap().to_string(),
                    (email, u.enabled(), Vec::new()),
                );
            }
        }
        for g in GROUPS {
            let mut pages = c
                .list_users_in_group()
                .user_pool_id(pool)
                .group_name(g)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let Ok(page) = page else { break }; // the group does not exist
                for u in page.users() {
                    out.get_mut(u.username().unwrap())
                        .unwrap()
                        .2
                        .push(g.to_string());
                }
            }
        }
        for v in out.values_mut() {
            v.2.sort();
        }
        out
    })
}

fn expected(users: &[U]) -> HashMap<String, (String, bool, Vec<String>)> {
    users
        .iter()
        .map(|u| {
            let mut g = u.groups.clone();
            g.sort();
            (u.name.clone(), (u.email.clone(), u.enabled, g))
        })
        .collect()
}

#[test]
fn sync_edit_resync_and_prune_a_thousand_users() {
    let moto = Moto::start();
    let pool = make_pool(&moto, "ecomflow-dev-t-users");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    let passwords = dir.path().join("passwords.csv");
    let pw = ["--passwords-out", passwords.to_str().unwrap()];
    let mut declared = users(1000);
    write_users(&file, &declared);

    // Cold sync: everything present.
    let cold = sync(&moto, &file, &[&["--yes"][..], &pw].concat()).expect(0);
    assert!(
        cold.stdout.contains("Users: 1000 created, 0 updated"),
        "{}",
        cold.stdout
    );
    assert_eq!(pool_state(&moto, &pool), expected(&declared));

    // Temporary passwords: only in the 0600 file, never on stdout or stderr.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&passwords).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = std::fs::read_to_string(&passwords).unwrap();
    assert_eq!(written.lines().count(), 1000);
    for line in written.lines() {
        let (_, password) = line.split_once(',').unwrap();
        assert!(password.len() >= 16);
        assert!(!cold.stdout.contains(password) && !cold.stderr.contains(password));
    }

    // Resync: zero mutating calls.
    let again = sync(&moto, &file, &["--yes"]).expect(0);
    assert_eq!(again.mutations(), 0, "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("0 to create, 0 to update, 0 to disable, 0 to delete, 1000 unchanged"),
        "{}",
        again.stdout
    );

    // Edit: remove 10, change 5 e-mails, move 20 between groups, disable 3.
    let removed: Vec<U> = declared.drain(0..10).collect();
    for u in &mut declared[0..5] {
        u.email = format!("new.{}", u.email);
    }
    for u in &mut declared[100..120] {
        // No generated user is in exactly these two groups, so all 20 really move.
        u.groups = vec!["admins".to_string(), "producers".to_string()];
    }
    for u in &mut declared[200..203] {
        u.enabled = false;
    }
    write_users(&file, &declared);
    let dry = sync(&moto, &file, &["--dry-run", "-v"]).expect(0);
    assert!(
        dry.stdout
            .contains("0 to create, 28 to update, 3 to disable, 0 to delete, 962 unchanged"),
        "{}",
        dry.stdout
    );
    assert_eq!(dry.mutations(), 0, "{}", dry.stderr);
    let edit = sync(&moto, &file, &["--yes"]).expect(0);
    assert!(
        edit.stdout.contains(
            "Users: 0 created, 28 updated, 3 disabled, 0 deleted, 962 unchanged, 0 failed."
        ),
        "{}",
        edit.stdout
    );
    let mut want = expected(&declared);
    // Users no longer in the file are left alone by default.
    want.extend(expected(&removed));
    assert_eq!(pool_state(&moto, &pool), want);

    // A user made outside the tool is never pruned.
    rt().block_on(async {
        cognito(&moto)
            .await
            .admin_create_user()
            .user_pool_id(&pool)
            .username("console-user")
            .send()
            .await
            .unwrap();
    });
    let pruned = sync(&moto, &file, &["--yes", "--prune"]).expect(0);
    assert!(pruned.stdout.contains("10 disabled"), "{}", pruned.stdout);
    let state = pool_state(&moto, &pool);
    assert!(
        removed.iter().all(|u| !state[&u.name].1),
        "removed users are disabled"
    );
    assert!(state["console-user"].1);
    let deleted = sync(&moto, &file, &["--yes", "--prune=delete"]).expect(0);
    assert!(deleted.stdout.contains("10 deleted"), "{}", deleted.stdout);
    let state = pool_state(&moto, &pool);
    assert_eq!(state.len(), 991);
    assert!(state.contains_key("console-user"));
    sync(&moto, &file, &["--yes", "--prune=delete"]).expect(0);
}

#[test]
fn an_interrupted_sync_resumes_with_what_is_left() {
    let moto = Moto::start();
    let pool = make_pool(&moto, "ecomflow-dev-t-users");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    let declared = users(300);
    write_users(&file, &declared);
    let passwords = dir.path().join("p.csv");
    let mut child = command(
        &moto.endpoint,
        &[
            "users",
            "sync",
            "--yes",
            "--instance",
            INSTANCE,
            "--users",
            file.to_str().unwrap(),
            "--passwords-out",
            passwords.to_str().unwrap(),
            "--rate-create",
            "200",
            "--rate-update",
            "200",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = child.kill();
    let _ = child.wait();
    let rerun = sync(
        &moto,
        &file,
        &["--yes", "--passwords-out", passwords.to_str().unwrap()],
    )
    .expect(0);
    assert!(
        !rerun.stdout.contains(" 300 created"),
        "the rerun redid everything:\n{}",
        rerun.stdout
    );
    assert_eq!(pool_state(&moto, &pool), expected(&declared));
    sync(&moto, &file, &["--yes"]).expect(0);
    assert_eq!(sync(&moto, &file, &["--yes"]).expect(0).mutations(), 0);
}

#[test]
fn a_pool_that_is_not_this_instances_is_refused() {
    let moto = Moto::start();
    let pool = make_pool(&moto, "someone-else");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    write_users(&file, &users(3));
    let r = sync(&moto, &file, &["--yes"]).expect(1);
    assert!(
        r.stderr.contains("refusing to sync users into user pool"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("someone-else"), "{}", r.stderr);
    assert!(pool_state(&moto, &pool).is_empty());
}

#[test]
fn an_invalid_users_file_reaches_no_api() {
    let counter = ConnectionCounter::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    std::fs::write(
        &file,
        "groups:\n  - name: analysts\nusers:\n  - username: a\n    email: a@example.com\n    groups: [nobody]\n  - username: A\n    email: bad\n    colour: blue\n",
    )
    .unwrap();
    let r = run(
        &counter.endpoint,
        &["users", "sync", "--yes", "--users", file.to_str().unwrap()],
    )
    .expect(1);
    assert!(
        r.stderr
            .contains("users.yaml:6:14: users.0.groups.0: group `nobody` is not declared"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("users.1.username"), "{}", r.stderr);
    assert!(r.stderr.contains("users.1.email"), "{}", r.stderr);
    assert!(r.stderr.contains("unknown key `colour`"), "{}", r.stderr);
    assert_eq!(counter.connections(), 0);
}

#[test]
fn without_a_terminal_or_yes_it_refuses() {
    let moto = Moto::start();
    make_pool(&moto, "ecomflow-dev-t-users");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.yaml");
    write_users(&file, &users(2));
    let r = sync(&moto, &file, &[]).expect(1);
    assert!(r.stderr.contains("without a terminal"), "{}", r.stderr);
}
