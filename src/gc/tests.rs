//! Grouping and assessing, with fixed tags and a fixed clock.

use super::*;
use crate::model::Kind;
use crate::names::{TAG_CREATED, TAG_ENV, TAG_EXPIRES, TAG_STACK};
use chrono::{DateTime, Utc};
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn resource(kind: Kind, physical: &str, tags: &[(&str, &str)]) -> TaggedResource {
    TaggedResource {
        kind,
        physical: physical.into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A resource of `instance` in env `ci`, with an expiry tag if given.
fn of(instance: &str, what: &str, expires: Option<&str>) -> TaggedResource {
    let mut tags = vec![(TAG_STACK, instance), (TAG_ENV, "ci")];
    if let Some(e) = expires {
        tags.push((TAG_EXPIRES, e));
    }
    resource(Kind::KinesisStream, &format!("{instance}-{what}"), &tags)
}

/// A resource of `instance` in env `ci` with an expiry and a creation tag.
fn made(instance: &str, what: &str, expires: &str, created: &str) -> TaggedResource {
    let mut r = of(instance, what, Some(expires));
    r.tags.insert(TAG_CREATED.into(), created.into());
    r
}

fn one(resources: Vec<TaggedResource>) -> FoundInstance {
    let mut found = group("ecomflow", "ci", resources);
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

const NOW: &str = "2026-11-25T12:00:00Z";

#[test]
fn resources_group_by_their_ownership_tag() {
    let found = group(
        "ecomflow",
        "ci",
        vec![
            of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
            made(
                "ecomflow-ci-pr-1",
                "alerts",
                "2026-11-25T11:00:00Z",
                "2026-11-24T09:00:00Z",
            ),
            of("ecomflow-ci-pr-2", "orders", Some("2026-11-26T10:00:00Z")),
            of("ecomflow-ci", "orders", None),
            // Named like pr-3's, but without the ownership tag: not anyone's.
            resource(
                Kind::S3Bucket,
                "ecomflow-ci-pr-3-lake",
                &[(TAG_ENV, "ci"), (TAG_EXPIRES, "2000-01-01T00:00:00Z")],
            ),
            // Env `ci-x` shares the name prefix; its env tag tells it apart.
            resource(
                Kind::S3Bucket,
                "ecomflow-ci-x-pr-1-lake",
                &[
                    (TAG_STACK, "ecomflow-ci-x-pr-1"),
                    (TAG_ENV, "ci-x"),
                    (TAG_EXPIRES, "2000-01-01T00:00:00Z"),
                ],
            ),
            // Another app's instance.
            resource(
                Kind::S3Bucket,
                "other-ci-pr-1-lake",
                &[(TAG_STACK, "other-ci-pr-1"), (TAG_ENV, "ci")],
            ),
        ],
    );
    let names: Vec<(&str, Option<&str>, usize)> = found
        .iter()
        .map(|f| (f.instance.as_str(), f.suffix.as_deref(), f.resources.len()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("ecomflow-ci", None, 1),
            ("ecomflow-ci-pr-1", Some("pr-1"), 2),
            ("ecomflow-ci-pr-2", Some("pr-2"), 1),
        ]
    );
    assert_eq!(
        found[1].expiry_tags,
        vec![
            (
                "kinesis_stream ecomflow-ci-pr-1-alerts".to_string(),
                "2026-11-25T11:00:00Z".to_string()
            ),
            (
                "kinesis_stream ecomflow-ci-pr-1-orders".to_string(),
                "2026-11-25T10:00:00Z".to_string()
            ),
        ]
    );
    assert_eq!(
        found[1].created_tags,
        vec![(
            "kinesis_stream ecomflow-ci-pr-1-alerts".to_string(),
            "2026-11-24T09:00:00Z".to_string()
        )]
    );
    assert!(found[2].created_tags.is_empty());
}

#[test]
fn an_expired_copy_is_due_and_a_live_one_is_not() {
    let expired = one(vec![of(
        "ecomflow-ci-pr-1",
        "orders",
        Some("2026-11-25T10:00:00Z"),
    )]);
    let a = assess(&expired, Rule::Expired, 24, at(NOW));
    assert!(a.due, "{a:?}");
    assert_eq!(a.expires_at, Some(at("2026-11-25T10:00:00Z")));
    assert_eq!(a.tagged_at, Some(at("2026-11-24T10:00:00Z")));
    assert!(a.reason.contains("(2h ago)"), "{}", a.reason);

    let live = one(vec![of(
        "ecomflow-ci-pr-2",
        "orders",
        Some("2026-11-25T12:00:01Z"),
    )]);
    let a = assess(&live, Rule::Expired, 24, at(NOW));
    assert!(!a.due, "{a:?}");
    assert!(a.reason.contains("in 1s"), "{}", a.reason);

    // Exactly at the expiry time: due.
    let edge = one(vec![of("ecomflow-ci-pr-3", "orders", Some(NOW))]);
    assert!(assess(&edge, Rule::Expired, 24, at(NOW)).due);
}

#[test]
fn the_latest_expiry_of_an_instance_counts() {
    // One resource expired, another refreshed by a later apply: not due yet.
    let mixed = one(vec![
        of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
        of("ecomflow-ci-pr-1", "alerts", Some("2026-11-25T13:00:00Z")),
    ]);
    let a = assess(&mixed, Rule::Expired, 24, at(NOW));
    assert!(!a.due, "{a:?}");
    assert_eq!(a.expires_at, Some(at("2026-11-25T13:00:00Z")));
    // A resource without the tag (e.g. one that could not be tagged yet) does not make an
    // instance non-ephemeral when others carry it.
    let partly = one(vec![
        of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T10:00:00Z")),
        of("ecomflow-ci-pr-1", "alerts", None),
    ]);
    assert!(assess(&partly, Rule::Expired, 24, at(NOW)).due);
}

#[test]
fn non_ephemeral_instances_are_never_due() {
    let rules = [
        Rule::Expired,
        Rule::OlderThan(Duration::ZERO),
        Rule::OlderThan(Duration::from_secs(3600)),
    ];
    // The stack's own instance has no expiry tag.
    let own = one(vec![of("ecomflow-ci", "orders", None)]);
    // A copy without any expiry tag.
    let untagged = one(vec![of("ecomflow-ci-keep", "orders", None)]);
    // The stack's own instance even if someone tagged it with an expiry.
    let own_tagged = one(vec![of(
        "ecomflow-ci",
        "orders",
        Some("2000-01-01T00:00:00Z"),
    )]);
    // A suffix this tool never makes.
    let odd = one(vec![of(
        "ecomflow-ci-PR_1",
        "orders",
        Some("2000-01-01T00:00:00Z"),
    )]);
    for found in [&own, &untagged, &own_tagged, &odd] {
        for rule in rules {
            let a = assess(found, rule, 24, at(NOW));
            assert!(!a.due, "{} under {rule}: {a:?}", found.instance);
        }
    }
    assert!(assess(&untagged, Rule::Expired, 24, at(NOW))
        .reason
        .contains("not ephemeral"));
    assert!(assess(&own_tagged, Rule::Expired, 24, at(NOW))
        .reason
        .contains("stack's own instance"));
}

#[test]
fn an_unreadable_expiry_keeps_the_instance() {
    let bad = one(vec![
        of("ecomflow-ci-pr-1", "orders", Some("2000-01-01T00:00:00Z")),
        of("ecomflow-ci-pr-1", "alerts", Some("tomorrow")),
    ]);
    for rule in [Rule::Expired, Rule::OlderThan(Duration::ZERO)] {
        let a = assess(&bad, rule, 24, at(NOW));
        assert!(!a.due, "{a:?}");
        assert!(a.reason.contains("`tomorrow`"), "{}", a.reason);
    }
}

#[test]
fn older_than_counts_from_the_creation_tag() {
    // Created 3 h before NOW; its expiry is creation plus the 24 h TTL.
    let copy = one(vec![
        made(
            "ecomflow-ci-pr-1",
            "orders",
            "2026-11-26T09:00:00Z",
            "2026-11-25T09:00:00Z",
        ),
        made(
            "ecomflow-ci-pr-1",
            "alerts",
            "2026-11-26T09:00:00Z",
            "2026-11-25T09:00:00Z",
        ),
    ]);
    let now = at(NOW);
    let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
    let a = assess(&copy, hours(2), 24, now);
    assert!(a.due, "{a:?}");
    assert_eq!(a.created_at, Some(at("2026-11-25T09:00:00Z")));
    assert_eq!(
        a.reason,
        "created at 2026-11-25T09:00:00Z (3h ago), older than 2h"
    );
    assert!(assess(&copy, hours(3), 24, now).due);
    let a = assess(&copy, hours(4), 24, now);
    assert!(!a.due, "{a:?}");
    assert!(a.reason.ends_with("(3h ago), not older than 4h"), "{a:?}");
    // The TTL plays no part when the creation tag is there.
    assert!(!assess(&copy, hours(4), 1, now).due);
    // Under the default rule only the expiry counts; the creation time is still reported.
    let a = assess(&copy, Rule::Expired, 24, now);
    assert!(!a.due, "{a:?}");
    assert_eq!(a.created_at, Some(at("2026-11-25T09:00:00Z")));
    // A creation in the future (clock skew) is not old, even for 0s.
    let a = assess(
        &copy,
        Rule::OlderThan(Duration::ZERO),
        24,
        at("2026-11-25T08:00:00Z"),
    );
    assert!(!a.due, "{a:?}");
    assert_eq!(
        a.reason,
        "created at 2026-11-25T09:00:00Z, in the future (clock skew?)"
    );
}

#[test]
fn the_earliest_creation_tag_of_an_instance_counts() {
    // A resource added by a later apply carries that apply's time; one made by an older
    // version carries none. The copy is as old as its oldest stamped resource: 5 h.
    let copy = one(vec![
        made(
            "ecomflow-ci-pr-1",
            "orders",
            "2026-11-26T10:00:00Z",
            "2026-11-25T10:00:00Z",
        ),
        made(
            "ecomflow-ci-pr-1",
            "alerts",
            "2026-11-26T10:00:00Z",
            "2026-11-25T07:00:00Z",
        ),
        made(
            "ecomflow-ci-pr-1",
            "rejects",
            "2026-11-26T11:00:00Z",
            "2026-11-25T11:00:00Z",
        ),
        of("ecomflow-ci-pr-1", "legacy", Some("2026-11-26T10:00:00Z")),
    ]);
    let now = at(NOW);
    let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
    let a = assess(&copy, hours(5), 24, now);
    assert!(a.due, "{a:?}");
    assert_eq!(a.created_at, Some(at("2026-11-25T07:00:00Z")));
    assert!(a
        .reason
        .starts_with("created at 2026-11-25T07:00:00Z (5h ago)"));
    assert!(!assess(&copy, hours(6), 24, now).due);
}

#[test]
fn a_copy_applied_again_recently_but_created_long_ago_is_due() {
    // Created five days ago; applied again half an hour ago, which refreshed every expiry
    // but left the creation tags as they were.
    let copy = one(vec![
        made(
            "ecomflow-ci-pr-1",
            "orders",
            "2026-11-26T11:30:00Z",
            "2026-11-20T12:00:00Z",
        ),
        made(
            "ecomflow-ci-pr-1",
            "alerts",
            "2026-11-26T11:30:00Z",
            "2026-11-20T12:00:00Z",
        ),
    ]);
    let now = at(NOW);
    let day = Rule::OlderThan(Duration::from_secs(86400));
    let a = assess(&copy, day, 24, now);
    assert!(a.due, "{a:?}");
    assert_eq!(
        a.reason,
        "created at 2026-11-20T12:00:00Z (5days ago), older than 1day"
    );
    // Its last tag stamp is recent: it is neither expired nor, by that stamp, old.
    assert_eq!(a.tagged_at, Some(at("2026-11-25T11:30:00Z")));
    assert!(!assess(&copy, Rule::Expired, 24, now).due);
    // Without the creation tags, the same copy would have counted from the last apply.
    let mut untagged = copy.clone();
    untagged.created_tags.clear();
    assert!(!assess(&untagged, day, 24, now).due);
}

#[test]
fn an_unreadable_creation_tag_keeps_the_instance_under_older_than() {
    let bad = one(vec![
        made(
            "ecomflow-ci-pr-1",
            "orders",
            "2000-01-02T00:00:00Z",
            "2000-01-01T00:00:00Z",
        ),
        made(
            "ecomflow-ci-pr-1",
            "alerts",
            "2000-01-02T00:00:00Z",
            "long ago",
        ),
    ]);
    let a = assess(&bad, Rule::OlderThan(Duration::ZERO), 24, at(NOW));
    assert!(!a.due, "{a:?}");
    assert!(
        a.reason
            .contains("unreadable ecomflow:created-at tag `long ago` on "),
        "{}",
        a.reason
    );
    assert_eq!(a.created_at, None);
    // The default rule does not read it.
    assert!(assess(&bad, Rule::Expired, 24, at(NOW)).due);
}

#[test]
fn without_creation_tags_older_than_counts_from_the_latest_stamp() {
    // Made before the creation tag existed. Tagged (expiry minus 24 h TTL) at
    // 2026-11-24T13:00:00Z, i.e. 23 h before NOW.
    let copy = one(vec![
        of("ecomflow-ci-pr-1", "orders", Some("2026-11-25T09:00:00Z")),
        of("ecomflow-ci-pr-1", "alerts", Some("2026-11-25T13:00:00Z")),
    ]);
    let now = at(NOW);
    let hours = |h: u64| Rule::OlderThan(Duration::from_secs(h * 3600));
    let a = assess(&copy, hours(24), 24, now);
    assert!(!a.due, "{a:?}");
    assert_eq!(a.tagged_at, Some(at("2026-11-24T13:00:00Z")));
    assert_eq!(a.created_at, None);
    assert_eq!(
        a.reason,
        "no ecomflow:created-at tag, so counted from the latest expiry minus the TTL: \
         tagged at 2026-11-24T13:00:00Z (23h ago), not older than 1day"
    );
    assert!(assess(&copy, hours(23), 24, now).due);
    assert!(assess(&copy, Rule::OlderThan(Duration::ZERO), 24, now).due);
    // The TTL is the stack file's: a 1 h TTL puts the stamp at 12:00 on the 25th.
    let a = assess(&copy, Rule::OlderThan(Duration::ZERO), 1, now);
    assert!(a.due);
    assert_eq!(a.tagged_at, Some(now));
    assert!(!assess(&copy, Rule::OlderThan(Duration::from_secs(1)), 1, now).due);
    // Not expired under the default rule, whatever its age.
    assert!(!assess(&copy, Rule::Expired, 24, now).due);
    // A stamp in the future (clock skew) is not old, even for 0s.
    let a = assess(
        &copy,
        Rule::OlderThan(Duration::ZERO),
        24,
        at("2026-11-24T12:00:00Z"),
    );
    assert!(!a.due && a.reason.contains("future"), "{a:?}");
    // An age beyond the clock's range is never reached, and does not panic.
    assert!(
        !assess(
            &copy,
            Rule::OlderThan(Duration::from_secs(u64::MAX)),
            24,
            now
        )
        .due
    );
}

#[test]
fn rules_read_well() {
    assert_eq!(
        Rule::OlderThan(Duration::from_secs(86400)).to_string(),
        "older than 1day"
    );
    assert!(Rule::Expired.to_string().contains(TAG_EXPIRES));
}
