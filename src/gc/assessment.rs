//! Whether a found instance is due: the rules of `gc`, pure, with the clock as an argument.

use super::listing::FoundInstance;
use crate::config;
use crate::names::{TAG_CREATED, TAG_EXPIRES};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// Which copies `gc` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Those whose expiry tag has passed.
    Expired,
    /// Those created at least this long ago: at their earliest creation tag or, for copies
    /// without one, at their last tag stamp (latest expiry minus the TTL).
    OlderThan(std::time::Duration),
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Expired => write!(f, "expired (their {TAG_EXPIRES} tag has passed)"),
            Rule::OlderThan(d) => write!(f, "older than {}", humantime::format_duration(*d)),
        }
    }
}

/// What `gc` makes of one found instance at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The latest expiry among its resources, if it has a readable one.
    pub expires_at: Option<DateTime<Utc>>,
    /// When its tags were last written: `expires_at` minus the TTL.
    pub tagged_at: Option<DateTime<Utc>>,
    /// The earliest creation tag among its resources, if it has any and all are readable.
    pub created_at: Option<DateTime<Utc>>,
    /// Whether it is to be destroyed.
    pub due: bool,
    /// Why, in words.
    pub reason: String,
}

/// A whole number of seconds, as humantime writes it (`1h 2m 3s`).
fn span(d: TimeDelta) -> String {
    let seconds = u64::try_from(d.num_seconds()).unwrap_or(0);
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}

pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Decides whether `found` is due under `rule` at `now`, for a stack whose copies live
/// `ttl_hours`. Pure: the clock is an argument.
pub fn assess(found: &FoundInstance, rule: Rule, ttl_hours: u32, now: DateTime<Utc>) -> Assessment {
    let keep = |reason: String| Assessment {
        expires_at: None,
        tagged_at: None,
        created_at: None,
        due: false,
        reason,
    };
    let Some(suffix) = &found.suffix else {
        return keep("the stack's own instance, not an --instance copy: never collected".into());
    };
    if let Err(e) = config::validate_instance_suffix(suffix) {
        return keep(format!(
            "`{suffix}` is not an --instance suffix this tool makes ({e}): never collected"
        ));
    }
    if found.expiry_tags.is_empty() {
        return keep(format!(
            "no {TAG_EXPIRES} tag: not ephemeral, never collected"
        ));
    }
    let mut latest: Option<DateTime<Utc>> = None;
    for (resource, value) in &found.expiry_tags {
        match DateTime::parse_from_rfc3339(value) {
            Ok(t) => latest = latest.max(Some(t.with_timezone(&Utc))),
            Err(_) => {
                return keep(format!(
                "unreadable {TAG_EXPIRES} tag `{value}` on {resource}: left for a person to check"
            ))
            }
        }
    }
    let expires_at = latest.expect("there is at least one expiry tag");
    let tagged_at = expires_at - TimeDelta::hours(i64::from(ttl_hours));
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut unreadable: Option<(&String, &String)> = None;
    for (resource, value) in &found.created_tags {
        match DateTime::parse_from_rfc3339(value) {
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
            Err(_) => {
                unreadable.get_or_insert((resource, value));
            }
        }
    }
    let created_at = earliest.filter(|_| unreadable.is_none());
    if let (Rule::OlderThan(_), Some((resource, value))) = (rule, unreadable) {
        return Assessment {
            expires_at: Some(expires_at),
            tagged_at: Some(tagged_at),
            created_at,
            due: false,
            reason: format!(
                "unreadable {TAG_CREATED} tag `{value}` on {resource}: left for a person to check"
            ),
        };
    }
    let (due, reason) = match rule {
        Rule::Expired if expires_at <= now => (
            true,
            format!(
                "expired at {} ({} ago)",
                rfc3339(expires_at),
                span(now - expires_at)
            ),
        ),
        Rule::Expired => (
            false,
            format!(
                "expires at {} (in {})",
                rfc3339(expires_at),
                span(expires_at - now)
            ),
        ),
        Rule::OlderThan(min) => {
            let wanted = humantime::format_duration(min);
            // The creation time, or for a copy made before the creation tag, the last apply's.
            let (born, stamp) = match created_at {
                Some(t) => (t, format!("created at {}", rfc3339(t))),
                None => (
                    tagged_at,
                    format!(
                        "no {TAG_CREATED} tag, so counted from the latest expiry minus the TTL: \
                         tagged at {}",
                        rfc3339(tagged_at)
                    ),
                ),
            };
            let age = now - born;
            if age < TimeDelta::zero() {
                (false, format!("{stamp}, in the future (clock skew?)"))
            } else {
                // A minimum age too large for the clock's range is never reached.
                let old_enough = TimeDelta::from_std(min).is_ok_and(|min| age >= min);
                let verdict = if old_enough { "older" } else { "not older" };
                (
                    old_enough,
                    format!("{stamp} ({} ago), {verdict} than {wanted}", span(age)),
                )
            }
        }
    };
    Assessment {
        expires_at: Some(expires_at),
        tagged_at: Some(tagged_at),
        created_at,
        due,
        reason,
    }
}
