//! The fault mix of the proxy and its seeded, replayable decisions.
//!
//! Each request's fate is drawn from a counter-based generator: a SplitMix64 hash of the seed,
//! the request's content (service, operation, method, path, query and body, never the
//! signature or date headers) and how many times that same request was seen before. The same
//! seed therefore gives the same fate to the same request even when concurrent calls reach the
//! proxy in another order, and a retry of a faulted request gets a fresh draw.
//!
//! A dropped connection takes one of three shapes: closed before forwarding
//! ([`Fault::DropRequest`]), or after forwarding (the call took effect) either before any byte
//! of the answer ([`Fault::DropResponse`]) or mid-answer, after the status line, the headers
//! and part of the body ([`Fault::CutResponse`]). The two shapes after forwarding are even
//! odds, from a draw of their own.

use std::collections::BTreeMap;
use std::time::Duration;

/// Environment variable that overrides the seed of every fault proxy (to replay a failure).
pub const SEED_ENV: &str = "ECOMFLOW_FAULT_SEED";

/// Rates (0.0 to 1.0) of the faults injected per request, on top of any quota, optionally
/// aimed at chosen operations.
///
/// ```
/// # use ecomflow_testkit::{Drops, Faults};
/// let mix = Faults { throttle: 0.10, server_error: 0.03, drop: 0.01, ..Faults::default() };
/// // Every first PutMethod and CreateResource call happens, but its answer is lost.
/// let lost = Faults {
///     drop: 1.0,
///     drops: Drops::AfterForwarding,
///     only: Some(vec!["PutMethod".into(), "CreateResource".into()]),
///     first_sightings: Some(1),
///     ..Faults::default()
/// };
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Answer with the service's throttling error, without forwarding.
    pub throttle: f64,
    /// Answer with HTTP 500 or 503 (even odds) in the service's error format, without forwarding.
    pub server_error: f64,
    /// Close the connection without a whole answer: half of these before forwarding (the call
    /// never happened), half after forwarding (the call happened, its answer is lost), as
    /// [`Faults::drops`] says. Of those after forwarding, half close before any byte of the
    /// answer and half cut it mid-body ([`Fault::CutResponse`]).
    pub drop: f64,
    /// Seed of the decisions; `None` picks one from the clock. `ECOMFLOW_FAULT_SEED` overrides
    /// both. The proxy prints the seed it uses and returns it from `seed()`.
    pub seed: Option<u64>,
    /// Aim the mix at these operations only (names as the proxy reports them: `PutItem`,
    /// `CreateUser`, `PutMethod`, ...); every other request is forwarded untouched. `None`:
    /// every operation.
    pub only: Option<Vec<String>>,
    /// Which side of forwarding the dropped connections are on.
    pub drops: Drops,
    /// Only the first this-many sightings of each distinct request can be faulted; later ones
    /// (retries of the same request) are forwarded untouched. `None`: no limit.
    pub first_sightings: Option<u64>,
    /// Per-operation mixes that replace this one for the operations named (their own `seed`
    /// and `overrides` are ignored), e.g. the general mix everywhere and more lost answers on
    /// `PutRecords`.
    pub overrides: BTreeMap<String, Faults>,
}

/// When a dropped connection is closed, relative to forwarding the request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Drops {
    /// Half before forwarding (the call never happened), half after (its answer is lost).
    #[default]
    Either,
    /// Always before forwarding.
    BeforeForwarding,
    /// Always after forwarding: the call happened, its answer is lost (half of these before
    /// any byte of it, half cut mid-body: [`Fault::DropResponse`], [`Fault::CutResponse`]).
    AfterForwarding,
}

impl Faults {
    /// No faults at all (the plain latency proxy).
    pub fn none() -> Faults {
        Faults::default()
    }

    /// The seed to use: `ECOMFLOW_FAULT_SEED` if set, else `self.seed`, else the clock.
    pub fn resolve_seed(&self) -> u64 {
        if let Some(s) = std::env::var(SEED_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return s;
        }
        self.seed.unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            mix(nanos, u64::from(std::process::id()))
        })
    }

    /// True if no fault can ever be injected.
    pub fn is_none(&self) -> bool {
        let this = (self.throttle <= 0.0 && self.server_error <= 0.0 && self.drop <= 0.0)
            || self.only.as_ref().is_some_and(Vec::is_empty)
            || self.first_sightings == Some(0);
        this && self.overrides.values().all(Faults::is_none)
    }

    /// True if the mix applies to `operation` (see [`Faults::only`]).
    pub fn targets(&self, operation: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|ops| ops.iter().any(|o| o == operation))
    }
}

/// Latency added before each request is handled: `base` plus a uniform draw in `0..=jitter`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Fixed part.
    pub base: Duration,
    /// Largest random extra.
    pub jitter: Duration,
}

impl Latency {
    /// Always `d`.
    pub fn fixed(d: Duration) -> Latency {
        Latency {
            base: d,
            jitter: Duration::ZERO,
        }
    }

    /// `base` plus up to `jitter`, drawn per request from the proxy's seeded generator.
    pub fn jittered(base: Duration, jitter: Duration) -> Latency {
        Latency { base, jitter }
    }

    /// The delay for a draw `u` in `[0, 1)`.
    pub fn delay(&self, u: f64) -> Duration {
        self.base + self.jitter.mul_f64(u.clamp(0.0, 1.0))
    }
}

/// What the proxy did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Forwarded, answer relayed.
    None,
    /// Answered with the service's throttling error because a [`crate::Quota`] was exhausted.
    Quota,
    /// Answered with the service's throttling error (injected).
    Throttle,
    /// Answered with HTTP 500 (`InternalFailure` or the service's equivalent).
    InternalError,
    /// Answered with HTTP 503 (`ServiceUnavailable` or the service's equivalent).
    Unavailable,
    /// The whole request was read, then the connection closed before forwarding and without
    /// any byte of an answer: the call never reached the emulator.
    DropRequest,
    /// Forwarded, then the connection closed before any byte of the answer: the call happened.
    /// Also what a [`Fault::CutResponse`] becomes when the answer's body is too short to cut
    /// (under 2 bytes); the report counts it here then.
    DropResponse,
    /// Forwarded, then the answer cut mid-body: the real status line and headers (with the
    /// real `Content-Length`) and the first half of the body are sent, then the connection
    /// closes. The call happened.
    CutResponse,
}

impl Fault {
    /// Every kind, in a stable order.
    pub const ALL: [Fault; 8] = [
        Fault::None,
        Fault::Quota,
        Fault::Throttle,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::DropRequest,
        Fault::DropResponse,
        Fault::CutResponse,
    ];

    /// Short name, as in the counters' report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "ok",
            Fault::Quota => "quota",
            Fault::Throttle => "throttle",
            Fault::InternalError => "500",
            Fault::Unavailable => "503",
            Fault::DropRequest => "drop-request",
            Fault::DropResponse => "drop-response",
            Fault::CutResponse => "cut-response",
        }
    }

    /// True if the request reached the emulator.
    pub fn forwarded(self) -> bool {
        matches!(self, Fault::None | Fault::DropResponse | Fault::CutResponse)
    }

    /// True if the request reached the emulator and its answer was lost (not received
    /// whole): [`Fault::DropResponse`] or [`Fault::CutResponse`].
    pub fn lost_answer(self) -> bool {
        matches!(self, Fault::DropResponse | Fault::CutResponse)
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit hash of `x`.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Combines two values into one well-mixed value.
pub fn mix(a: u64, b: u64) -> u64 {
    splitmix(a ^ splitmix(b))
}

/// A 64-bit FNV-1a hash of `bytes` (stable across runs and platforms, unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// A uniform draw in `[0, 1)` from 64 random bits.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The draws for one request: its fate and its jitter, both functions of the inputs only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// The injected fault (never [`Fault::Quota`]: quotas are decided by rate, not by chance).
    pub fault: Fault,
    /// A uniform value in `[0, 1)` for the latency jitter.
    pub jitter: f64,
}

/// Decides the fate of the `occurrence`-th sighting (counting from 0) of the request to
/// `operation` whose content hashes to `key`, under `faults` and `seed`. Pure: the same inputs
/// always give the same [`Draw`]. A request outside the mix's aim ([`Faults::only`],
/// [`Faults::first_sightings`]) is never faulted but gets the same jitter draw.
pub fn decide(faults: &Faults, seed: u64, key: u64, occurrence: u64, operation: &str) -> Draw {
    let faults = faults.overrides.get(operation).unwrap_or(faults);
    let base = mix(mix(seed, key), occurrence);
    let u = unit(splitmix(base ^ 1));
    let pick = unit(splitmix(base ^ 2));
    let jitter = unit(splitmix(base ^ 3));
    let cut = unit(splitmix(base ^ 4)) < 0.5;
    let aimed = faults.targets(operation) && faults.first_sightings.is_none_or(|n| occurrence < n);
    if !aimed {
        return Draw {
            fault: Fault::None,
            jitter,
        };
    }
    let throttle = faults.throttle.max(0.0);
    let server = throttle + faults.server_error.max(0.0);
    let drop = server + faults.drop.max(0.0);
    let fault = if u < throttle {
        Fault::Throttle
    } else if u < server {
        if pick < 0.5 {
            Fault::InternalError
        } else {
            Fault::Unavailable
        }
    } else if u < drop {
        let before = match faults.drops {
            Drops::BeforeForwarding => true,
            Drops::AfterForwarding => false,
            Drops::Either => pick < 0.5,
        };
        if before {
            Fault::DropRequest
        } else if cut {
            Fault::CutResponse
        } else {
            Fault::DropResponse
        }
    } else {
        Fault::None
    };
    Draw { fault, jitter }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixed() -> Faults {
        Faults {
            throttle: 0.10,
            server_error: 0.03,
            drop: 0.01,
            ..Faults::default()
        }
    }

    #[test]
    fn same_inputs_same_draw_and_rates_match_the_mix() {
        let f = mixed();
        let mut counts = std::collections::HashMap::new();
        let n = 200_000u64;
        for i in 0..n {
            let a = decide(&f, 42, fnv1a(format!("req-{i}").as_bytes()), 0, "Op");
            assert_eq!(
                a,
                decide(&f, 42, fnv1a(format!("req-{i}").as_bytes()), 0, "Op")
            );
            *counts.entry(a.fault).or_insert(0u64) += 1;
        }
        let rate = |k: Fault| *counts.get(&k).unwrap_or(&0) as f64 / n as f64;
        assert!((rate(Fault::Throttle) - 0.10).abs() < 0.005, "{counts:?}");
        let five = rate(Fault::InternalError) + rate(Fault::Unavailable);
        assert!((five - 0.03).abs() < 0.003, "{counts:?}");
        let drops = rate(Fault::DropRequest) + rate(Fault::DropResponse) + rate(Fault::CutResponse);
        assert!((drops - 0.01).abs() < 0.002, "{counts:?}");
        assert!(rate(Fault::InternalError) > 0.0 && rate(Fault::Unavailable) > 0.0);
        // Half the drops before forwarding, a quarter each of the two shapes after it.
        assert!(
            (rate(Fault::DropRequest) - 0.005).abs() < 0.001,
            "{counts:?}"
        );
        assert!(
            (rate(Fault::DropResponse) - 0.0025).abs() < 0.001,
            "{counts:?}"
        );
        assert!(
            (rate(Fault::CutResponse) - 0.0025).abs() < 0.001,
            "{counts:?}"
        );
        assert_eq!(counts.get(&Fault::Quota), None);
    }

    #[test]
    fn another_seed_or_occurrence_gives_other_decisions() {
        let f = mixed();
        let seq = |seed: u64, occ: u64| -> Vec<Fault> {
            (0..2000u64)
                .map(|k| decide(&f, seed, k, occ, "Op").fault)
                .collect()
        };
        assert_eq!(seq(7, 0), seq(7, 0));
        assert_ne!(seq(7, 0), seq(8, 0));
        assert_ne!(seq(7, 0), seq(7, 1));
    }

    #[test]
    fn no_faults_never_fault_and_full_rates_always_do() {
        for k in 0..1000 {
            assert_eq!(decide(&Faults::none(), 1, k, 0, "Op").fault, Fault::None);
            let all = Faults {
                throttle: 1.0,
                ..Faults::default()
            };
            assert_eq!(decide(&all, 1, k, 0, "Op").fault, Fault::Throttle);
        }
    }

    /// Targeting: only the named operations are faulted, drops land on the chosen side, and
    /// only the first sightings of a request when so limited; the jitter draw is unchanged.
    #[test]
    fn targeting_by_operation_side_and_sighting() {
        let aimed = Faults {
            drop: 1.0,
            drops: Drops::AfterForwarding,
            only: Some(vec!["PutMethod".into(), "CreateResource".into()]),
            first_sightings: Some(1),
            ..Faults::default()
        };
        let mut shapes = BTreeMap::new();
        for k in 0..500 {
            for op in ["PutMethod", "CreateResource"] {
                let fault = decide(&aimed, 5, k, 0, op).fault;
                assert!(fault.lost_answer() && fault.forwarded(), "{fault:?}");
                *shapes.entry(fault).or_insert(0u64) += 1;
                assert_eq!(decide(&aimed, 5, k, 1, op).fault, Fault::None);
            }
            let other = decide(&aimed, 5, k, 0, "GetResources");
            assert_eq!(other.fault, Fault::None);
            assert_eq!(other.jitter, decide(&Faults::none(), 5, k, 0, "X").jitter);
            let before = Faults {
                drops: Drops::BeforeForwarding,
                first_sightings: None,
                ..aimed.clone()
            };
            assert_eq!(
                decide(&before, 5, k, 3, "PutMethod").fault,
                Fault::DropRequest
            );
        }
        // Lost answers come in both shapes, at even odds.
        let (dropped, cut) = (shapes[&Fault::DropResponse], shapes[&Fault::CutResponse]);
        assert_eq!(dropped + cut, 1000);
        assert!((400..=600).contains(&cut), "{shapes:?}");
        assert!(!aimed.is_none());
        assert!(Faults {
            only: Some(Vec::new()),
            ..aimed.clone()
        }
        .is_none());
        // The general mix aimed at one operation keeps its rates there.
        let one = Faults {
            only: Some(vec!["PutRecords".into()]),
            ..mixed()
        };
        let n = 100_000u64;
        let hits = (0..n)
            .filter(|k| decide(&one, 9, *k, 0, "PutRecords").fault == Fault::Throttle)
            .count() as f64;
        assert!((hits / n as f64 - 0.10).abs() < 0.01, "{hits}");
        assert!((0..n).all(|k| decide(&one, 9, k, 0, "ListShards").fault == Fault::None));

        // An override replaces the mix for its operation only.
        let lost = Faults {
            drop: 1.0,
            drops: Drops::AfterForwarding,
            ..Faults::default()
        };
        let over = Faults {
            overrides: BTreeMap::from([("PutRecords".to_string(), lost)]),
            ..Faults::none()
        };
        assert!(!over.is_none());
        for k in 0..500 {
            assert!(decide(&over, 2, k, 0, "PutRecords").fault.lost_answer());
            assert_eq!(decide(&over, 2, k, 0, "ListShards").fault, Fault::None);
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let l = Latency::jittered(Duration::from_millis(10), Duration::from_millis(5));
        for k in 0..1000 {
            let d = l.delay(decide(&Faults::none(), 3, k, 0, "Op").jitter);
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(15));
        }
        assert_eq!(
            Latency::fixed(Duration::from_millis(4)).delay(0.9),
            Duration::from_millis(4)
        );
    }

    #[test]
    fn seed_env_overrides() {
        // Only checks the parse path without touching the process environment.
        let f = Faults {
            seed: Some(99),
            ..Faults::default()
        };
        if std::env::var(SEED_ENV).is_err() {
            assert_eq!(f.resolve_seed(), 99);
        }
    }
}
