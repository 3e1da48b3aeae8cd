//! Crash convergence: `apply`, `destroy` and `users sync` killed with SIGKILL at seeded points
//! of their call sequence, then rerun; and two instances applied in parallel.
//!
//! How a kill point is chosen. The tool talks to the emulator through a proxy whose gate
//! (`ecomflow_testkit::Gate`) closes at the N-th *mutating* call of a run: that call is either
//! held before it is forwarded (it never happens) or forwarded with its answer held (it
//! happens, the tool never learns), and every call after it is held too. The test then
//! SIGKILLs the tool and releases the gate, which drops what it held. So each kill lands at an
//! exact point of the sequence, between two writes, and the account is frozen there whatever
//! the machine's speed: no wall-clock delays. Only writes are counted because a kill between
//! two reads leaves the same state as a kill just before the next write. The lock table's item
//! writes (taking, renewing and releasing the lock, the creation journal, the interrupted-sync
//! flag) are not counted: the lease's renewals come with the clock, not the sequence, and a
//! kill at the next counted write leaves the same state as one right after them.
//!
//! Where the points come from. N and the held-or-forwarded choice are drawn from a seed
//! (`SEED`, overridden by `ECOMFLOW_CRASH_SEED`); every failure message carries the seed and
//! the history of kills, so a run can be replayed. N ranges over the writes of a full run,
//! measured first with a fault-free run through the same gate (armed out of reach, counting).
//! A replay kills at the same N; which call is N-th can still vary a little, since the tool
//! makes independent calls concurrently.
//!
//! Why chains. Twenty kills per command, each followed by a full rerun, would cost twenty full
//! runs. Instead most kills are chained: run 1 is killed at k1, its rerun at k2, and so on,
//! each k drawn from the first sixth (apply) or quarter (destroy, users sync) of a full run's
//! writes; since every rerun skips what is done, the kills walk through the whole sequence
//! (early, middle and late steps all get killed), and the chain ends when a rerun completes.
//! Chains alternate with single-kill rounds (N over the whole run, then one rerun that must
//! complete), which prove that one rerun suffices. Apply and destroy alternate on one
//! instance, so every apply starts from nothing and every destroy from a full stack; users
//! syncs alternate between two files.
//!
//! After each kill, if the killed run held the stack lock (read directly from the lock table),
//! the next run must refuse at once, naming the lock, its holder (the killed PID), its lease and
//! `force-unlock`. Then, drawn from the seed, either `force-unlock` removes it, or the lock is
//! left to its lease: the next run, waiting for the lock (`--lock-timeout`), must take it over
//! on its own once the lease runs out and say from whom. If the killed run did not hold the
//! lock, the next run must proceed. Every run holds the lock with a short lease (`LEASE`). `users sync` takes no stack lock, so none may be left. After each convergence the
//! end state is checked independently with the SDK, and the creation journal must be empty.
//!
//! Besides the seeded kills, targeted ones: right after each create of a resource whose ID AWS
//! assigns (found again only by name or links, so the likeliest to be duplicated), and right
//! after a bucket's create, before its tags (the journal's case).

mod support;

use ecomflow_testkit::{CallFilter, GatePoint, LatencyProxy};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use support::{command, duplicates, inventory, leftovers, proxy_runtime, run, Moto, Run};

/// Seed of the kill points (overridden by `ECOMFLOW_CRASH_SEED`).
const SEED: u64 = 20_261_125;
/// The environment variable that replays another seed.
const SEED_ENV: &str = "ECOMFLOW_CRASH_SEED";
/// Kills per command at least.
const KILLS: usize = 20;
/// Single-kill rounds per command at least.
const SINGLES: usize = 3;
/// Cycles (one apply and one destroy, or one users transition) before giving up.
const MAX_CYCLES: usize = 12;
/// Runs in one chain before giving up (a chain that never completes is a failure).
const MAX_CHAIN: usize = 60;

/// The seed of this process's kill points.
fn base_seed() -> u64 {
    std::env::var(SEED_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(SEED)
}

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: &str) -> Rng {
        let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in stream.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        Rng(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `1..=n`.
    fn upto(&mut self, n: u64) -> u64 {
        1 + self.next() % n.max(1)
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// True for calls that change something: JSON and query protocol operations not named like a
/// read, and REST calls other than GET and HEAD.
fn mutating(_service: &str, op: &str) -> bool {
    if let Some((method, _)) = op.split_once(' ') {
        return !matches!(method, "GET" | "HEAD");
    }
    const READS: [&str; 9] = [
        "Get",
        "List",
        "Describe",
        "Head",
        "Query",
        "Scan",
        "BatchGet",
        "AdminGet",
        "AdminList",
    ];
    !READS.iter().any(|r| op.starts_with(r))
}

/// The lock table's item writes (see the module documentation for why they are not counted).
fn lock_table_write(service: &str, op: &str) -> bool {
    service == "dynamodb" && matches!(op, "PutItem" | "UpdateItem" | "DeleteItem")
}

fn writes() -> CallFilter {
    Arc::new(|service, op| mutating(service, op) && !lock_table_write(service, op))
}

/// The stack lock's lease in every run: short, so a lock left to its lease frees soon, and
/// long enough that the run right after a kill still finds it held.
const LEASE: &str = "4s";
/// How long a run waits for a lock left to its lease.
const LOCK_WAIT: &str = "30s";

/// A run's command line for the history: file arguments by their name, rate flags left out.
fn label(args: &[&str]) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if a.starts_with("--rate") || *a == "--concurrency" {
            skip = true;
            continue;
        }
        out.push(Path::new(a).file_name().map_or(a.to_string(), |n| {
            if a.contains('/') {
                n.to_string_lossy().into_owned()
            } else {
                a.to_string()
            }
        }));
    }
    out.join(" ")
}

/// How a gated run ended.
enum Outcome {
    /// Killed at the gate.
    Killed {
        /// PID of the killed tool.
        pid: u32,
    },
    /// Exited by itself before the gate closed.
    Exited(Run),
}

/// One emulator, a gated proxy in front of it, the seeded draws and the history of kills.
struct Crash {
    moto: Moto,
    proxy: LatencyProxy,
    _rt: tokio::runtime::Runtime,
    rng: Rng,
    seed: u64,
    history: Vec<String>,
    dir: tempfile::TempDir,
    runs: usize,
    /// A lock left to its lease by a killed run, as (stack, holder): the next run waits for
    /// it and must say it took it over.
    lapsing: Option<(String, String)>,
}

impl Crash {
    fn new(stream: &str) -> Crash {
        let seed = base_seed();
        eprintln!("crash test {stream}: seed {seed} (replay with {SEED_ENV}={seed})");
        let moto = Moto::start();
        let rt = proxy_runtime();
        let proxy = rt.block_on(LatencyProxy::start(&moto.endpoint, Duration::ZERO));
        Crash {
            moto,
            proxy,
            _rt: rt,
            rng: Rng::new(seed, stream),
            seed,
            history: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
            runs: 0,
            lapsing: None,
        }
    }

    /// The seed and what happened so far, for failure messages.
    fn context(&self) -> String {
        let mut s = format!(
            "[seed {}; replay with {SEED_ENV}={}]\nhistory:\n",
            self.seed, self.seed
        );
        for h in &self.history {
            let _ = writeln!(s, "  {h}");
        }
        s
    }

    /// Panics with `what`, the seed and the history unless `ok`.
    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            panic!("{}\n{}", what(), self.context());
        }
    }

    /// The tool through the proxy, with the crash runs' lease, waiting for a lock left to
    /// its lease.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = command(&self.proxy.endpoint, args);
        cmd.env("ECOMFLOW_LOCK_LEASE", LEASE);
        if self.lapsing.is_some() {
            cmd.env("ECOMFLOW_LOCK_TIMEOUT", LOCK_WAIT);
        }
        cmd
    }

    /// After the run that waited for a lock left to its lease: it took the lock over and
    /// said from whom.
    fn took_over(&mut self, stderr: &str) {
        if let Some((stack, holder)) = self.lapsing.take() {
            self.check(
                stderr.contains(&format!("took over the lock of {stack} from {holder}")),
                || format!("the run after the lease of {holder} ran out did not take the lock over:\n{stderr}"),
            );
            self.history
                .push(format!("lock of {holder} taken over after its lease"));
        }
    }

    /// Runs the tool through the proxy (the gate open).
    fn run(&mut self, args: &[&str]) -> Run {
        let out = self.command(args).output().expect("run the tool");
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.took_over(&r.stderr);
        r
    }

    /// Runs `args` with the gate closing at the `at`-th write (never, with `None`), kills the
    /// tool there, and reports how it ended.
    fn gated(&mut self, args: &[&str], at: Option<(u64, bool)>) -> (Outcome, u64) {
        let (at, forward) = at.unwrap_or((u64::MAX, false));
        self.gated_at(
            args,
            GatePoint {
                at,
                forward,
                counts: writes(),
            },
        )
    }

    /// Runs `args` with the gate closing at `point`, kills the tool there, and reports how it
    /// ended and the calls the gate counted.
    fn gated_at(&mut self, args: &[&str], point: GatePoint) -> (Outcome, u64) {
        self.runs += 1;
        let (at, forward) = (point.at, point.forward);
        self.proxy.gate().arm(point);
        let out = self.dir.path().join(format!("run{}.out", self.runs));
        let err = self.dir.path().join(format!("run{}.err", self.runs));
        let mut child = self
            .command(args)
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .unwrap();
        let pid = child.id();
        loop {
            if let Some(call) = self.proxy.gate().closed_at() {
                let _ = child.kill(); // SIGKILL
                let _ = child.wait();
                let writes = self.proxy.gate().counted();
                self.proxy.gate().release();
                // The lock is taken before the first counted write, so a run killed at one
                // has said whether it took a lapsed lock over.
                self.took_over(&std::fs::read_to_string(&err).unwrap());
                self.history.push(format!(
                    "{}: killed pid {pid} at write {at} ({call}, {})",
                    label(args),
                    if forward {
                        "forwarded, answer lost"
                    } else {
                        "never forwarded"
                    }
                ));
                return (Outcome::Killed { pid }, writes);
            }
            if let Some(status) = child.try_wait().unwrap() {
                let writes = self.proxy.gate().counted();
                self.proxy.gate().release();
                let r = Run {
                    code: status.code().unwrap_or(-1),
                    stdout: std::fs::read_to_string(&out).unwrap(),
                    stderr: std::fs::read_to_string(&err).unwrap(),
                };
                self.took_over(&r.stderr);
                self.history.push(format!(
                    "{}: exited {} after {writes} writes",
                    label(args),
                    r.code
                ));
                return (Outcome::Exited(r), writes);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The holder of the stack lock `stack`, read directly from the lock table.
    fn lock_holder(&self, stack: &str) -> Option<String> {
        let moto = &self.moto;
        proxy_runtime().block_on(async {
            let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
            let item = ddb
                .get_item()
                .table_name("ecomflow-infra-locks")
                .key(
                    "LockID",
                    aws_sdk_dynamodb::types::AttributeValue::S(stack.into()),
                )
                .consistent_read(true)
                .send()
                .await
                .ok()?
                .item?;
            item.get("Holder")?.as_s().ok().cloned()
        })
    }

    /// The names in the creation journal of `stack`, read directly from the lock table.
    fn journal(&self, stack: &str) -> Vec<String> {
        let moto = &self.moto;
        proxy_runtime().block_on(async {
            let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
            let item = ddb
                .get_item()
                .table_name("ecomflow-infra-locks")
                .key(
                    "LockID",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("{stack}#creating")),
                )
                .consistent_read(true)
                .send()
                .await
                .ok()
                .and_then(|o| o.item);
            let mut names = item
                .and_then(|i| i.get("Pending").and_then(|p| p.as_ss().ok()).cloned())
                .unwrap_or_default();
            names.sort();
            names
        })
    }

    /// After a kill of `pid` running `args` on `stack`: a lock it left stops the next run,
    /// which names it, its lease and `force-unlock`; then either `force-unlock` removes it or
    /// it is left to its lease (drawn from the seed). Without `locks` (users sync) no lock
    /// may be left at all.
    fn after_kill(&mut self, args: &[&str], stack: &str, pid: u32, locks: bool) {
        let Some(holder) = self.lock_holder(stack) else {
            return;
        };
        self.check(locks, || {
            format!("{} left the stack lock {stack} ({holder})", label(args))
        });
        self.check(holder.ends_with(&format!(" pid {pid}")), || {
            format!("the lock of {stack} is held by {holder}, not by the killed pid {pid}")
        });
        let blocked = self.run(args);
        self.check(
            blocked.code == 1
                && blocked
                    .stderr
                    .contains(&format!("stack {stack} is locked by {holder} since"))
                && blocked.stderr.contains("its lease was last renewed")
                && blocked
                    .stderr
                    .contains(&format!("run `ecomflow-infra force-unlock {stack}`")),
            || {
                format!(
                    "the run after a kill did not report the lock left by pid {pid} clearly \
                     (exit {}):\n{}",
                    blocked.code, blocked.stderr
                )
            },
        );
        if self.rng.coin() {
            self.history
                .push(format!("lock of pid {pid} reported, left to its lease"));
            self.lapsing = Some((stack.to_string(), holder));
            return;
        }
        let unlocked = self.run(&["force-unlock", stack]);
        self.check(
            unlocked.code == 0
                && unlocked
                    .stdout
                    .contains(&format!("Removed the lock of {stack} held by {holder}")),
            || {
                format!(
                    "force-unlock failed:\n{}\n{}",
                    unlocked.stdout, unlocked.stderr
                )
            },
        );
        self.history
            .push(format!("lock of pid {pid} reported, force-unlocked"));
        self.check(self.lock_holder(stack).is_none(), || {
            format!("{stack} is still locked after force-unlock")
        });
    }

    /// Runs `args` with a write count drawn from `1..=range` as the kill point, and again after
    /// each kill (a chain), until a run completes. Returns the kills.
    fn chain(&mut self, args: &[&str], stack: &str, range: u64, locks: bool) -> usize {
        let mut kills = 0;
        for _ in 0..MAX_CHAIN {
            let at = self.rng.upto(range);
            let forward = self.rng.coin();
            match self.gated(args, Some((at, forward))) {
                (Outcome::Killed { pid }, _) => {
                    kills += 1;
                    self.after_kill(args, stack, pid, locks);
                }
                (Outcome::Exited(r), _) => {
                    self.check(r.code == 0, || {
                        format!(
                            "a rerun after {kills} kills failed (exit {}):\n{}\n{}",
                            r.code, r.stdout, r.stderr
                        )
                    });
                    return kills;
                }
            }
        }
        panic!(
            "{} did not converge in {MAX_CHAIN} runs\n{}",
            label(args),
            self.context()
        );
    }

    /// One kill at a write drawn from `1..=range`, then one rerun that must complete. Returns
    /// the kills (0 if the draw was beyond what the run made).
    fn single(&mut self, args: &[&str], stack: &str, range: u64, locks: bool) -> usize {
        let at = self.rng.upto(range);
        let forward = self.rng.coin();
        match self.gated(args, Some((at, forward))) {
            (Outcome::Killed { pid }, _) => {
                self.after_kill(args, stack, pid, locks);
                let r = self.run(args);
                self.history
                    .push(format!("{}: rerun exited {}", label(args), r.code));
                self.check(r.code == 0, || {
                    format!(
                        "the rerun after one kill failed (exit {}):\n{}\n{}",
                        r.code, r.stdout, r.stderr
                    )
                });
                1
            }
            (Outcome::Exited(r), _) => {
                self.check(r.code == 0, || format!("{}\n{}", r.stdout, r.stderr));
                0
            }
        }
    }

    /// A full run that must complete; the writes it made.
    fn measured(&mut self, args: &[&str]) -> u64 {
        match self.gated(args, None) {
            (Outcome::Exited(r), writes) => {
                self.check(r.code == 0, || format!("{}\n{}", r.stdout, r.stderr));
                writes
            }
            (Outcome::Killed { .. }, _) => unreachable!("the gate was out of reach"),
        }
    }
}

/// The stack instance of `stacks/local.yaml` itself, without `--instance`: an `--instance`
/// copy writes a fresh `ecomflow:expires-at` tag with every update, and the emulator cannot
/// tag a REST API after creating it, so the rerun of an apply killed inside the REST API's
/// convergence (an update of it) would fail on the emulator for that reason alone.
const STACK: &str = "ecomflow-dev";

/// The checks after an apply converged: no changes planned, and exactly the reference
/// inventory (the fault-free run's), nothing twice.
fn check_applied(c: &Crash, reference: &[String]) {
    let plan = run(&c.moto.endpoint, &["plan", "--detailed-exitcode"]);
    c.check(plan.code == 0, || {
        format!(
            "apply converged but the plan has changes (exit {}):\n{}\n{}",
            plan.code, plan.stdout, plan.stderr
        )
    });
    let live = inventory(&c.moto, STACK);
    let dups = duplicates(&live);
    c.check(dups.is_empty(), || {
        format!("duplicates after apply: {dups:#?}")
    });
    let journal = c.journal(STACK);
    c.check(journal.is_empty(), || {
        format!("apply converged but its creation journal still lists {journal:?}")
    });
    c.check(live == reference, || {
        let have: BTreeSet<&String> = live.iter().collect();
        let want: BTreeSet<&String> = reference.iter().collect();
        format!(
            "the end state differs from a fault-free apply\nmissing: {:#?}\nextra: {:#?}",
            want.difference(&have).collect::<Vec<_>>(),
            have.difference(&want).collect::<Vec<_>>()
        )
    });
}

/// The checks after a destroy converged: nothing of the instance is left.
fn check_destroyed(c: &Crash) {
    let left = leftovers(&c.moto, STACK);
    c.check(left.is_empty(), || format!("left after destroy: {left:#?}"));
    let deep = inventory(&c.moto, STACK);
    c.check(deep.is_empty(), || format!("left after destroy: {deep:#?}"));
    let journal = c.journal(STACK);
    c.check(journal.is_empty(), || {
        format!("destroy converged but the creation journal still lists {journal:?}")
    });
}

/// A bucket created by a run killed before it could tag it is adopted by the rerun (through
/// the creation journal), and only then: once the stack has converged and been destroyed, a
/// bucket of that name made by someone else is refused, never taken over.
#[test]
fn a_journaled_create_is_adopted_by_the_rerun_and_never_again() {
    let mut c = Crash::new("journal");
    let bucket = "ecomflow-dev-lake-123456789012-us-east-1";
    // The stack's first S3 write to the lake creates it; its tags come in a later call.
    let creates_bucket: CallFilter = Arc::new(|service: &str, op: &str| {
        service == "s3" && op.starts_with("PUT ") && op.contains("-lake-")
    });
    let apply = ["apply", "--yes"];
    let (outcome, _) = c.gated_at(
        &apply,
        GatePoint {
            at: 1,
            forward: true,
            counts: creates_bucket,
        },
    );
    let Outcome::Killed { pid } = outcome else {
        panic!(
            "apply was not killed at the bucket's create\n{}",
            c.context()
        );
    };
    let tagging = proxy_runtime().block_on(async {
        c.moto
            .s3()
            .await
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
    });
    assert!(
        tagging.map(|t| t.tag_set().is_empty()).unwrap_or(true),
        "the bucket was tagged before the kill: the kill point missed"
    );
    // Journaled with the other creates under way (their calls were held, never made).
    let journal = c.journal(STACK);
    assert!(journal.contains(&bucket.to_string()), "{journal:?}");
    c.after_kill(&apply, STACK, pid, true);
    c.run(&apply).expect(0);
    check_journal_empty_after(&c, "apply");
    run(&c.moto.endpoint, &["plan", "--detailed-exitcode"]).expect(0);
    c.run(&["destroy", "--yes"]).expect(0);
    check_journal_empty_after(&c, "destroy");

    // Someone else's bucket of the same name, untagged (the emulator gives a new bucket the
    // tags of a deleted one of the same name, hence the explicit untagging).
    proxy_runtime().block_on(async {
        let s3 = c.moto.s3().await;
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        s3.delete_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    });
    let plan = run(&c.moto.endpoint, &["plan"]).expect(1);
    assert!(
        plan.stderr.contains("refusing to take it over") && plan.stderr.contains(bucket),
        "{}",
        plan.stderr
    );
}

/// A call that makes a resource with an AWS-assigned ID, by name, and how to recognise it.
type Target = (&'static str, fn(&str, &str) -> bool);

/// The kinds whose resources have AWS-assigned IDs, each of which must exist exactly once.
const ASSIGNED_ID_KINDS: [&str; 8] = [
    "cognito_user_pool",
    "cognito_app_client",
    "apigw_rest_api",
    "apigw_authorizer",
    "apigw_deployment",
    "lambda_event_source_mapping",
    "firehose_delivery_stream",
    "sns_subscription",
];

/// Kills `apply` right after each target call (forwarded, its answer lost), one target per
/// run, and converges after each pass; then checks that each of [`ASSIGNED_ID_KINDS`] exists
/// exactly once and nothing is duplicated. A run killed at one target may already have made
/// later ones (the tool creates independent resources concurrently), so targets a run could
/// not reach are tried again after a destroy, in another pass. Each pass kills at least its
/// first target (it starts from nothing), so at most one pass per target is needed.
fn kill_after_each(c: &mut Crash, targets: &[Target]) {
    let apply = ["apply", "--yes"];
    let mut pending = targets.to_vec();
    let mut killed = Vec::new();
    for pass in 0..targets.len() {
        if pending.is_empty() {
            break;
        }
        let mut missed = Vec::new();
        for (name, matches) in pending {
            let (outcome, _) = c.gated_at(
                &apply,
                GatePoint {
                    at: 1,
                    forward: true,
                    counts: Arc::new(matches),
                },
            );
            match outcome {
                Outcome::Killed { pid } => {
                    killed.push(name);
                    c.after_kill(&apply, STACK, pid, true);
                }
                Outcome::Exited(r) => {
                    c.check(r.code == 0, || format!("exit {}:\n{}", r.code, r.stderr));
                    missed.push((name, matches));
                }
            }
        }
        c.run(&apply).expect(0);
        run(&c.moto.endpoint, &["plan", "--detailed-exitcode"]).expect(0);
        let live = inventory(&c.moto, STACK);
        let dups = duplicates(&live);
        c.check(dups.is_empty(), || format!("duplicates: {dups:#?}"));
        for kind in ASSIGNED_ID_KINDS {
            let n = live
                .iter()
                .filter(|l| l.starts_with(&format!("{kind} ")))
                .count();
            c.check(n == 1, || {
                format!("{n} of {kind} after kills at {killed:?}: {live:#?}")
            });
        }
        eprintln!("pass {pass}: killed after {killed:?}");
        if !missed.is_empty() {
            c.run(&["destroy", "--yes"]).expect(0);
        }
        pending = missed;
    }
    let missed: Vec<&str> = pending.iter().map(|(n, _)| *n).collect();
    c.check(missed.is_empty(), || {
        format!("never killed after {missed:?}")
    });
}

/// Kills right after each call that makes a resource with an AWS-assigned ID (which a rerun
/// can only find again by name or by what it links), one per run, with the answer lost: the
/// topic subscription, the user pool, its app client, the Firehose stream, the event source
/// mapping, the REST API and its authorizer (roughly the order a run makes them in). Each rerun converges, and each of these exists
/// exactly once. (The stage's deployment has its own test below.)
#[test]
fn kills_right_after_creates_of_assigned_ids_leave_no_duplicates() {
    let mut c = Crash::new("assigned-ids");
    kill_after_each(
        &mut c,
        &[
            ("Subscribe", |s, op| s == "sns" && op == "Subscribe"),
            ("CreateUserPool", |s, op| {
                s == "cognito-idp" && op == "CreateUserPool"
            }),
            ("CreateUserPoolClient", |s, op| {
                s == "cognito-idp" && op == "CreateUserPoolClient"
            }),
            ("CreateDeliveryStream", |s, op| {
                s == "firehose" && op == "CreateDeliveryStream"
            }),
            ("CreateEventSourceMapping", |s, op| {
                s == "lambda" && op == "CreateEventSourceMapping"
            }),
            ("CreateRestApi", |s, op| {
                s == "apigateway" && op == "CreateRestApi"
            }),
            ("CreateAuthorizer", |s, op| {
                s == "apigateway" && op == "CreateAuthorizer"
            }),
        ],
    );
}

/// A kill between the stage's CreateDeployment (made) and its CreateStage: the rerun reuses
/// that deployment (same definition fingerprint in its description) instead of making a
/// second one that no stage would ever use.
#[test]
fn a_kill_between_deployment_and_stage_leaves_one_deployment() {
    let mut c = Crash::new("deployment");
    kill_after_each(
        &mut c,
        &[("CreateDeployment", |s, op| {
            s == "apigateway" && op == "CreateDeployment"
        })],
    );
}

fn check_journal_empty_after(c: &Crash, what: &str) {
    let journal = c.journal(STACK);
    c.check(journal.is_empty(), || {
        format!("{what} converged but the creation journal still lists {journal:?}")
    });
}

/// Apply and destroy, each killed at least `KILLS` times at seeded writes (chains and
/// single-kill rounds, alternating on one instance), converge every time: after each apply
/// the plan is empty and the emulator holds exactly what a fault-free apply made, each once;
/// after each destroy nothing of the instance is left.
#[test]
fn apply_and_destroy_killed_at_seeded_points_converge() {
    let mut c = Crash::new("apply-destroy");
    let apply = ["apply", "--yes"];
    let destroy = ["destroy", "--yes"];

    // The fault-free reference: the writes of a full run, and the end state.
    let apply_writes = c.measured(&apply);
    let reference = inventory(&c.moto, STACK);
    let dups = duplicates(&reference);
    assert!(
        dups.is_empty(),
        "a fault-free apply made duplicates: {dups:#?}"
    );
    for kind in [
        "lambda_event_source_mapping",
        "apigw_authorizer",
        "apigw_deployment",
        "cognito_app_client",
        "cognito_group",
        "sns_subscription",
        "firehose_delivery_stream",
        "lambda_permission",
    ] {
        assert!(
            reference.iter().any(|l| l.starts_with(&format!("{kind} "))),
            "the inventory lists no {kind}: {reference:#?}"
        );
    }
    check_applied(&c, &reference);
    let destroy_writes = c.measured(&destroy);
    check_destroyed(&c);
    eprintln!("fault-free: apply {apply_writes} writes, destroy {destroy_writes} writes");

    let (mut apply_kills, mut destroy_kills) = (0, 0);
    let (mut apply_singles, mut destroy_singles) = (0, 0);
    for cycle in 0..MAX_CYCLES {
        if apply_kills >= KILLS
            && destroy_kills >= KILLS
            && apply_singles >= SINGLES
            && destroy_singles >= SINGLES
        {
            break;
        }
        // Chains until twenty kills, single kills in between and after, until three.
        let chained =
            |kills: usize, singles: usize| kills < KILLS && (cycle % 2 == 0 || singles >= SINGLES);
        if chained(apply_kills, apply_singles) {
            apply_kills += c.chain(&apply, STACK, apply_writes.div_ceil(6), true);
        } else {
            let k = c.single(&apply, STACK, apply_writes, true);
            apply_kills += k;
            apply_singles += k;
        }
        check_applied(&c, &reference);
        if chained(destroy_kills, destroy_singles) {
            destroy_kills += c.chain(&destroy, STACK, destroy_writes.div_ceil(4), true);
        } else {
            let k = c.single(&destroy, STACK, destroy_writes, true);
            destroy_kills += k;
            destroy_singles += k;
        }
        check_destroyed(&c);
        eprintln!(
            "cycle {cycle}: apply {apply_kills} kills ({apply_singles} single), destroy \
             {destroy_kills} kills ({destroy_singles} single)"
        );
    }
    c.check(
        apply_kills >= KILLS
            && destroy_kills >= KILLS
            && apply_singles >= SINGLES
            && destroy_singles >= SINGLES,
        || {
            format!(
                "too few kills in {MAX_CYCLES} cycles: apply {apply_kills} ({apply_singles} \
                 single), destroy {destroy_kills} ({destroy_singles} single)"
            )
        },
    );
    eprintln!("{} runs; {}", c.runs, c.context());
}

// ---------------------------------------------------------------------------------------------
// users sync

const USERS_INSTANCE: &str = "t-crash-users";
const USERS_STACK: &str = "ecomflow-dev-t-crash-users";
const USERS_POOL: &str = "ecomflow-dev-t-crash-users-users";
const GROUPS: [&str; 4] = ["analysts", "producers", "finance", "support"];

/// A declared user.
#[derive(Clone, Debug, PartialEq)]
struct U {
    name: String,
    email: String,
    full_name: String,
    locale: String,
    groups: Vec<String>,
    enabled: bool,
}

/// `n` users in a few groups, some in two, some disabled; `variant` 1 changes some e-mails,
/// names, locales, memberships and enabled flags, and drops ten users.
fn declared_users(n: usize, variant: usize) -> Vec<U> {
    let mut users: Vec<U> = (0..n)
        .map(|i| {
            let mut groups = vec![GROUPS[i % 4].to_string()];
            if i % 3 == 0 {
                groups.push(GROUPS[(i + 1) % 4].to_string());
            }
            U {
                name: format!("crash{i:04}"),
                email: format!("crash{i:04}@example.com"),
                full_name: format!("Crash User {i}"),
                locale: "en".into(),
                groups,
                enabled: i % 17 != 5,
            }
        })
        .collect();
    if variant == 1 {
        for (i, u) in users.iter_mut().enumerate() {
            if i % 7 == 1 {
                u.email = format!("moved.{}", u.email);
            }
            if i % 11 == 2 {
                u.full_name.push_str(" Jr");
                u.locale = "fr".into();
            }
            if i % 9 == 4 {
                u.groups = vec!["support".into(), "finance".into()];
            }
            if i % 13 == 6 {
                u.enabled = !u.enabled;
            }
        }
        users.retain(|u| !u.name.ends_with('3') || u.name.as_str() < "crash0100");
    }
    users
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
            "  - username: {}\n    email: {}\n    name: {}\n    attributes:\n      locale: {}\n    groups: [{}]\n    enabled: {}",
            u.name,
            u.email,
            u.full_name,
            u.locale,
            u.groups.join(", "),
            u.enabled
        );
    }
    std::fs::write(path, y).unwrap();
}

async fn cognito(moto: &Moto) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await)
}

/// The instance's pool as `apply` makes it (named and tagged), and an app client that signs
/// in with a username and password (to try the temporary passwords).
fn make_pool(moto: &Moto) -> (String, String) {
    proxy_runtime().block_on(async {
        let c = cognito(moto).await;
        let pool = c
            .create_user_pool()
            .pool_name(USERS_POOL)
            .user_pool_tags("ecomflow:stack", USERS_STACK)
            .user_pool_tags("ecomflow:managed-by", "ecomflow-infra")
            .send()
            .await
            .unwrap()
            .user_pool
            .unwrap()
            .id
            .unwrap();
        let client = c
            .create_user_pool_client()
            .user_pool_id(&pool)
            .client_name("crash-test")
            .explicit_auth_flows(
                aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowAdminUserPasswordAuth,
            )
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap()
            .client_id
            .unwrap();
        (pool, client)
    })
}

/// A user as the pool holds it.
#[derive(Debug, PartialEq)]
struct Held {
    attributes: BTreeMap<String, String>,
    enabled: bool,
    status: String,
    groups: Vec<String>,
}

/// A group as listed: name, description, precedence.
type GroupRow = (String, String, i32);

/// Every user of the pool (usernames listed once each, or the listing says otherwise), and
/// every group with its description and precedence.
fn pool_state(moto: &Moto, pool: &str) -> (Vec<(String, Held)>, Vec<GroupRow>) {
    proxy_runtime().block_on(async {
        let c = cognito(moto).await;
        let mut users = Vec::new();
        let mut pages = c
            .list_users()
            .user_pool_id(pool)
            .limit(60)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for u in page.unwrap().users() {
                let attributes = u
                    .attributes()
                    .iter()
                    .filter(|a| a.name() != "sub")
                    .map(|a| {
                        (
                            a.name().to_string(),
                            a.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                users.push((
                    u.username().unwrap().to_string(),
                    Held {
                        attributes,
                        enabled: u.enabled(),
                        status: u
                            .user_status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        groups: Vec::new(),
                    },
                ));
            }
        }
        let mut groups = Vec::new();
        for g in c
            .list_groups()
            .user_pool_id(pool)
            .limit(60)
            .send()
            .await
            .unwrap()
            .groups()
        {
            let name = g.group_name().unwrap().to_string();
            groups.push((
                name.clone(),
                g.description().unwrap_or_default().to_string(),
                g.precedence().unwrap_or(-1),
            ));
            let mut pages = c
                .list_users_in_group()
                .user_pool_id(pool)
                .group_name(&name)
                .limit(60)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                for member in page.unwrap().users() {
                    let m = member.username().unwrap();
                    for (u, h) in users.iter_mut() {
                        if u == m {
                            h.groups.push(name.clone());
                        }
                    }
                }
            }
        }
        for (_, h) in users.iter_mut() {
            h.groups.sort();
        }
        users.sort_by(|a, b| a.0.cmp(&b.0));
        groups.sort();
        (users, groups)
    })
}

/// The last password recorded per user in the passwords file.
fn recorded_passwords(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(','))
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect()
}

/// The checks after a sync converged: the pool holds exactly the declared users, each once,
/// with the declared attributes, groups and enabled flag; the groups are as declared; every
/// user signs in with the temporary password the passwords file records for it; and a further
/// sync makes no write.
fn check_synced(
    c: &Crash,
    pool: &str,
    client: &str,
    declared: &[U],
    passwords: &Path,
    file: &Path,
) {
    let (users, groups) = pool_state(&c.moto, pool);
    let want_groups: Vec<GroupRow> = {
        let mut g: Vec<_> = GROUPS
            .iter()
            .enumerate()
            .map(|(i, g)| (g.to_string(), format!("the {g} team"), i as i32 * 10))
            .collect();
        g.sort();
        g
    };
    c.check(groups == want_groups, || format!("groups: {groups:#?}"));
    let names: Vec<&String> = users.iter().map(|(u, _)| u).collect();
    let unique: BTreeSet<&String> = names.iter().copied().collect();
    c.check(unique.len() == names.len(), || {
        "a username is listed twice".to_string()
    });
    let want: BTreeMap<&str, &U> = declared.iter().map(|u| (u.name.as_str(), u)).collect();
    c.check(
        unique.iter().map(|s| s.as_str()).eq(want.keys().copied()),
        || {
            let have: BTreeSet<&str> = unique.iter().map(|s| s.as_str()).collect();
            let want: BTreeSet<&str> = want.keys().copied().collect();
            format!(
                "the pool's users differ from the file\nmissing: {:?}\nextra: {:?}",
                want.difference(&have).collect::<Vec<_>>(),
                have.difference(&want).collect::<Vec<_>>()
            )
        },
    );
    let recorded = recorded_passwords(passwords);
    let mut wrong = Vec::new();
    for (name, held) in &users {
        let u = want[name.as_str()];
        let mut groups = u.groups.clone();
        groups.sort();
        let attrs = &held.attributes;
        let ok = attrs.get("email") == Some(&u.email)
            && attrs.get("email_verified").map(String::as_str) == Some("true")
            && attrs.get("name") == Some(&u.full_name)
            && attrs.get("locale") == Some(&u.locale)
            && attrs
                .get("custom:ecomflow_sync")
                .is_some_and(|s| s.starts_with("c:"))
            && held.enabled == u.enabled
            && held.groups == groups;
        if !ok {
            wrong.push(format!("{name}: have {held:?}, want {u:?}"));
        }
    }
    c.check(wrong.is_empty(), || {
        format!("{} users differ:\n{}", wrong.len(), wrong.join("\n"))
    });
    // Every new user can sign in with the temporary password on record (its first sign-in
    // asks for a new password); a password lost by a kill would lock it out.
    let lost: Vec<String> = proxy_runtime().block_on(async {
        let cg = cognito(&c.moto).await;
        let mut lost = Vec::new();
        for (name, held) in &users {
            if held.status != "FORCE_CHANGE_PASSWORD" || !held.enabled {
                continue;
            }
            let Some(password) = recorded.get(name) else {
                lost.push(format!("{name}: no password recorded"));
                continue;
            };
            let auth = cg
                .admin_initiate_auth()
                .user_pool_id(pool)
                .client_id(client)
                .auth_flow(
                    aws_sdk_cognitoidentityprovider::types::AuthFlowType::AdminUserPasswordAuth,
                )
                .auth_parameters("USERNAME", name)
                .auth_parameters("PASSWORD", password)
                .send()
                .await;
            match auth {
                Ok(a)
                    if a.challenge_name().map(|c| c.as_str()) == Some("NEW_PASSWORD_REQUIRED") => {}
                other => lost.push(format!("{name}: {other:?}")),
            }
        }
        lost
    });
    c.check(lost.is_empty(), || {
        format!(
            "{} users cannot sign in with the recorded temporary password:\n{}",
            lost.len(),
            lost.join("\n")
        )
    });
    let again = users_sync(&c.moto.endpoint, file, passwords);
    c.check(again.code == 0 && again.mutations() == 0, || {
        format!(
            "a further sync is not a no-op (exit {}):\n{}\n{}",
            again.code, again.stdout, again.stderr
        )
    });
}

fn sync_args<'a>(file: &'a Path, passwords: &'a Path) -> Vec<&'a str> {
    vec![
        "users",
        "sync",
        "--yes",
        "--prune=delete",
        "--instance",
        USERS_INSTANCE,
        "--users",
        file.to_str().unwrap(),
        "--passwords-out",
        passwords.to_str().unwrap(),
        "--rate-create",
        "2000",
        "--rate-update",
        "2000",
        "--rate-list",
        "2000",
        "--rate-read",
        "2000",
        "--concurrency",
        "16",
    ]
}

fn users_sync(endpoint: &str, file: &Path, passwords: &Path) -> Run {
    run(endpoint, &sync_args(file, passwords))
}

/// `users sync` of 200 users in four groups, killed at least `KILLS` times at seeded writes
/// (a chain on the cold sync, a chain on an edit with `--prune=delete`, then single kills
/// while switching between the two files), converges every time to exactly the declared
/// users, groups and attributes, with every temporary password recorded; no lock is left, and
/// a further sync makes no write.
#[test]
fn users_sync_killed_at_seeded_points_converges() {
    let mut c = Crash::new("users-sync");
    let (pool, client) = make_pool(&c.moto);
    let dir = c.dir.path().to_path_buf();
    let files: [PathBuf; 2] = [dir.join("users-a.yaml"), dir.join("users-b.yaml")];
    let declared = [declared_users(200, 0), declared_users(200, 1)];
    write_users(&files[0], &declared[0]);
    write_users(&files[1], &declared[1]);
    let passwords = dir.join("passwords.csv");

    // The writes of the cold sync and of the edit, measured on a pool of another instance
    // (same emulator) with the same files.
    let measure = {
        proxy_runtime().block_on(async {
            cognito(&c.moto)
                .await
                .create_user_pool()
                .pool_name("ecomflow-dev-t-crash-ref-users")
                .user_pool_tags("ecomflow:stack", "ecomflow-dev-t-crash-ref")
                .send()
                .await
                .unwrap();
        });
        let mut w = Vec::new();
        let ref_passwords = dir.join("ref-passwords.csv");
        for f in &files {
            let mut args = sync_args(f, &ref_passwords);
            let i = args.iter().position(|a| *a == USERS_INSTANCE).unwrap();
            args[i] = "t-crash-ref";
            w.push(c.measured(&args));
        }
        w
    };
    let (cold_writes, edit_writes) = (measure[0], measure[1]);
    eprintln!("fault-free: cold sync {cold_writes} writes, edit {edit_writes} writes");

    let mut kills = 0;
    let mut singles = 0;
    let a = sync_args(&files[0], &passwords);
    let b = sync_args(&files[1], &passwords);
    kills += c.chain(&a, USERS_STACK, cold_writes.div_ceil(4), false);
    check_synced(&c, &pool, &client, &declared[0], &passwords, &files[0]);
    kills += c.chain(&b, USERS_STACK, edit_writes.div_ceil(4), false);
    check_synced(&c, &pool, &client, &declared[1], &passwords, &files[1]);
    let mut current = 1;
    for round in 0..MAX_CYCLES {
        if kills >= KILLS && singles >= SINGLES {
            break;
        }
        current = 1 - current;
        let args = if current == 0 { &a } else { &b };
        // Going back to file A recreates the ten users B dropped: about a tenth of a cold sync.
        let k = c.single(args, USERS_STACK, edit_writes, false);
        kills += k;
        singles += k;
        check_synced(
            &c,
            &pool,
            &client,
            &declared[current],
            &passwords,
            &files[current],
        );
        eprintln!("round {round}: {kills} kills ({singles} single)");
    }
    c.check(kills >= KILLS && singles >= SINGLES, || {
        format!("too few kills: {kills} ({singles} single)")
    });
    eprintln!("{} runs; {}", c.runs, c.context());
}

// ---------------------------------------------------------------------------------------------
// concurrency

/// Two instances applied in parallel on one emulator both converge, each then plans no
/// changes and holds a complete stack of its own (the same inventory under its own name,
/// nothing twice); destroying one leaves the other exactly as it was, still planning no
/// changes.
#[test]
fn two_instances_apply_in_parallel_without_interfering() {
    let moto = Moto::start();
    let ep = &moto.endpoint;
    let (a, b) = ("t-twin-a", "t-twin-b");
    let children: Vec<_> = [a, b]
        .iter()
        .map(|inst| {
            command(ep, &["apply", "--yes", "--instance", inst])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (inst, child) in [a, b].iter().zip(children) {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "apply of {inst} failed in parallel:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for inst in [a, b] {
        run(ep, &["plan", "--detailed-exitcode", "--instance", inst]).expect(0);
    }
    let inv_a = inventory(&moto, a);
    let inv_b = inventory(&moto, b);
    assert!(duplicates(&inv_a).is_empty(), "{inv_a:#?}");
    assert!(duplicates(&inv_b).is_empty(), "{inv_b:#?}");
    assert!(inv_a.len() > 40, "{inv_a:#?}");
    // The same stack under two names; a deployment's description holds a hash of the API's
    // definition, which names the instance's functions, so only its presence is compared.
    let (ga, gb) = (a.replace('-', "_"), b.replace('-', "_"));
    let masked = |inv: &[String]| -> Vec<String> {
        let mut out: Vec<String> = inv
            .iter()
            .map(|l| match l.strip_prefix("apigw_deployment ") {
                Some(rest) => format!("apigw_deployment {}", rest.rsplit_once(' ').unwrap().0),
                None => l.clone(),
            })
            .map(|l| l.replace(b, a).replace(&gb, &ga))
            .collect();
        out.sort();
        out
    };
    let (ma, mb) = (masked(&inv_a), masked(&inv_b));
    let only_a: Vec<&String> = ma.iter().filter(|l| !mb.contains(l)).collect();
    let only_b: Vec<&String> = mb.iter().filter(|l| !ma.contains(l)).collect();
    assert_eq!(
        ma, mb,
        "the two instances differ: only {a}: {only_a:#?}, only {b}: {only_b:#?}"
    );

    run(ep, &["destroy", "--yes", "--instance", a]).expect(0);
    assert_eq!(leftovers(&moto, a), Vec::<String>::new());
    assert_eq!(inventory(&moto, a), Vec::<String>::new());
    assert_eq!(inventory(&moto, b), inv_b, "destroying {a} changed {b}");
    run(ep, &["plan", "--detailed-exitcode", "--instance", b]).expect(0);
}
