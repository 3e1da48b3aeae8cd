use super::*;
use crate::model::dynamodb::{KeyAttribute, TableSpec};
use crate::model::kinesis::StreamSpec;
use crate::model::{Resource, Tags};
use std::collections::BTreeMap;

fn tags(stack: &str) -> Tags {
    Tags::from([
        ("ecomflow:stack".into(), stack.into()),
        ("ecomflow:managed-by".into(), "ecomflow-infra".into()),
    ])
}

fn stream(retention: i32) -> Resource {
    Resource::new(
        "orders",
        &StreamSpec {
            name: "s-orders".into(),
            mode: "ON_DEMAND".into(),
            shard_count: None,
            retention_hours: retention,
            kms_key: None,
            tags: tags("s"),
        },
    )
}

fn table(sort: &str) -> Resource {
    Resource::new(
        "invoices",
        &TableSpec {
            name: "s-invoices".into(),
            partition_key: KeyAttribute {
                name: "InvoiceNo".into(),
                kind: "S".into(),
            },
            sort_key: Some(KeyAttribute {
                name: sort.into(),
                kind: "S".into(),
            }),
            billing_mode: "PAY_PER_REQUEST".into(),
            read_capacity: None,
            write_capacity: None,
            pitr: true,
            sse_kms: true,
            deletion_protection: false,
            tags: tags("s"),
        },
    )
}

fn live_of(r: &Resource, ownership: Ownership) -> Option<LiveResource> {
    Some(LiveResource {
        kind: r.kind,
        physical: r.physical.clone(),
        spec: r.spec.clone(),
        outputs: Default::default(),
        ownership,
    })
}

fn plan(desired: &[Resource], live: LiveState) -> Result<Plan, Vec<Conflict>> {
    diff(
        "s",
        "123456789012",
        "us-east-1",
        "stacks/dev.yaml",
        desired,
        &live,
    )
}

#[test]
fn absent_resources_are_created_and_equal_ones_left_alone() {
    let d = [stream(24), table("StockCode")];
    let mut live = LiveState::default();
    live.declared
        .insert(d[1].address(), live_of(&d[1], Ownership::Ours));
    let p = plan(&d, live).unwrap();
    assert_eq!(p.changes[0].action, Action::Create);
    assert_eq!(p.changes[1].action, Action::NoOp);
    assert_eq!(
        p.summary,
        Summary {
            add: 1,
            change: 0,
            replace: 0,
            destroy: 0,
            unchanged: 1
        }
    );
    assert!(!p.is_empty());
}

#[test]
fn a_changed_knob_is_an_update_of_exactly_that_field() {
    let mut live = LiveState::default();
    live.declared
        .insert(stream(24).address(), live_of(&stream(24), Ownership::Ours));
    let p = plan(&[stream(48)], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.attributes.len(), 1);
    assert_eq!(c.attributes[0].path, "retention_hours");
    assert_eq!(c.attributes[0].before, Some(serde_json::json!(24)));
    assert_eq!(c.attributes[0].after, Some(serde_json::json!(48)));
    assert!(!c.attributes[0].forces_replacement);
}

#[test]
fn a_key_schema_change_forces_replacement() {
    let mut live = LiveState::default();
    live.declared.insert(
        table("StockCode").address(),
        live_of(&table("StockCode"), Ownership::Ours),
    );
    let p = plan(&[table("Sku")], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Replace);
    assert!(c.stateful);
    assert!(c
        .attributes
        .iter()
        .any(|a| a.path == "sort_key.name" && a.forces_replacement));
    assert!(crate::engine::check_stateful(&p, false).is_err());
    assert!(crate::engine::check_stateful(&p, true).is_ok());
    let text = render_text(&p);
    assert!(text.contains("-/+ dynamodb_table.invoices"), "{text}");
    assert!(text.contains("# forces replacement"), "{text}");
    assert!(
        text.contains("Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy."),
        "{text}"
    );
}

#[test]
fn undeclared_resources_of_this_stack_are_deleted() {
    let mut live = LiveState::default();
    let old = stream(24);
    live.undeclared
        .push(live_of(&old, Ownership::Ours).unwrap());
    let p = plan(&[], live).unwrap();
    assert_eq!(p.changes[0].action, Action::Delete);
    assert_eq!(p.changes[0].address, "kinesis_stream.s-orders");
    assert!(render_text(&p).contains("  - kinesis_stream.s-orders"));
}

#[test]
fn foreign_resources_are_conflicts_not_takeovers() {
    let mut live = LiveState::default();
    live.declared.insert(
        stream(24).address(),
        live_of(&stream(24), Ownership::Foreign(None)),
    );
    let conflicts = plan(&[stream(24)], live).unwrap_err();
    assert_eq!(conflicts.len(), 1);
    assert!(conflicts[0]
        .to_string()
        .contains("refusing to take it over"));
}

#[test]
fn an_expiry_tag_moved_by_the_clock_alone_never_makes_a_plan_dirty() {
    let mut desired = stream(24);
    desired.spec["tags"]["ecomflow:expires-at"] = serde_json::json!("2030-01-02T00:00:00Z");
    let mut l = stream(24);
    l.spec["tags"]["ecomflow:expires-at"] = serde_json::json!("2030-01-01T23:05:00Z");
    let mut live = LiveState::default();
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[desired.clone()], live.clone()).unwrap();
    assert!(p.is_empty());
    // ... nor a saved plan stale.
    let mut other = desired;
    other.spec["tags"]["ecomflow:expires-at"] = serde_json::json!("2031-01-01T00:00:00Z");
    assert_eq!(
        p.desired_fingerprint,
        plan(&[other], live).unwrap().desired_fingerprint
    );
}

#[test]
fn an_expiry_more_than_an_hour_behind_is_refreshed() {
    let mut desired = stream(24);
    desired.spec["tags"]["ecomflow:expires-at"] = serde_json::json!("2030-01-02T00:00:00Z");
    let mut l = stream(24);
    l.spec["tags"]["ecomflow:expires-at"] = serde_json::json!("2030-01-01T22:59:59Z");
    let mut live = LiveState::default();
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[desired.clone()], live).unwrap();
    assert_eq!(p.changes.len(), 1);
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.attributes.len(), 1);
    assert_eq!(c.attributes[0].path, "tags.ecomflow:expires-at");

    // A copy made before the instance was ephemeral (no expiry tag) gets one too.
    let l = stream(24);
    let mut live = LiveState::default();
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    assert_eq!(plan(&[desired], live).unwrap().changes.len(), 1);
}

/// `r` with its creation tag set to `at`, or without one.
fn created(mut r: Resource, at: Option<&str>) -> Resource {
    let tags = r.spec["tags"].as_object_mut().unwrap();
    match at {
        Some(at) => tags.insert("ecomflow:created-at".into(), serde_json::json!(at)),
        None => tags.remove("ecomflow:created-at"),
    };
    r
}

/// The creation tag in the declared spec a change carries to apply.
fn carried(c: &Change) -> Option<&str> {
    c.desired.as_ref().unwrap().spec["tags"]["ecomflow:created-at"].as_str()
}

const THIS_RUN: &str = "2030-01-02T00:00:00Z";
const MADE: &str = "2029-06-01T08:30:00Z";

#[test]
fn the_creation_tag_is_kept_from_the_live_resource() {
    let desired = created(stream(24), Some(THIS_RUN));
    let l = created(stream(24), Some(MADE));
    let mut live = LiveState::default();
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(std::slice::from_ref(&desired), live.clone()).unwrap();
    assert!(p.is_empty(), "{}", render_text(&p));
    assert!(p.changes[0].attributes.is_empty());
    assert_eq!(carried(&p.changes[0]), Some(MADE));
    // The declaration itself is left as it was.
    assert_eq!(
        desired.spec["tags"]["ecomflow:created-at"],
        serde_json::json!(THIS_RUN)
    );
    // Nor does the run's time make a saved plan stale.
    let later = created(stream(24), Some("2031-01-01T00:00:00Z"));
    assert_eq!(
        p.desired_fingerprint,
        plan(&[later], live).unwrap().desired_fingerprint
    );
}

#[test]
fn a_live_resource_without_a_creation_tag_is_no_change_on_its_own() {
    let desired = created(stream(24), Some(THIS_RUN));
    let l = created(stream(24), None);
    let mut live = LiveState::default();
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[desired], live.clone()).unwrap();
    assert!(p.is_empty(), "{}", render_text(&p));
    // An update for another reason writes this run's stamp along the way, and says so.
    let p = plan(&[created(stream(48), Some(THIS_RUN))], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    let paths: Vec<&str> = c.attributes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["retention_hours", "tags.ecomflow:created-at"]);
    assert_eq!(c.attributes[1].before, None);
    assert_eq!(carried(c), Some(THIS_RUN));
}

#[test]
fn an_update_writes_the_live_creation_tag_back() {
    let mut live = LiveState::default();
    let l = created(stream(24), Some(MADE));
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[created(stream(48), Some(THIS_RUN))], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    let paths: Vec<&str> = c.attributes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["retention_hours"]);
    // Providers write the declared tags on update: the declared spec carries the live stamp.
    assert_eq!(carried(c), Some(MADE));
    assert_eq!(c.desired.as_ref().unwrap().spec["retention_hours"], 48);
    // So does a replacement: the resource is made again, the instance was not.
    let mut live = LiveState::default();
    let l = created(table("StockCode"), Some(MADE));
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[created(table("Sku"), Some(THIS_RUN))], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Replace);
    assert!(c.attributes.iter().all(|a| !a.path.contains("created-at")));
    assert_eq!(carried(c), Some(MADE));
}

#[test]
fn a_creation_tag_on_a_resource_no_longer_ephemeral_is_removed() {
    // Declared without the tag (the instance is not an --instance copy): the live stamp is
    // not kept, like a stale expiry tag.
    let mut live = LiveState::default();
    let l = created(stream(24), Some(MADE));
    live.declared
        .insert(l.address(), live_of(&l, Ownership::Ours));
    let p = plan(&[stream(24)], live).unwrap();
    let c = &p.changes[0];
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.attributes.len(), 1);
    assert_eq!(c.attributes[0].path, "tags.ecomflow:created-at");
    assert_eq!(c.attributes[0].after, None);
    assert_eq!(carried(c), None);
}

#[test]
fn fingerprints_follow_the_live_state() {
    let d = [stream(24)];
    let empty = plan(&d, LiveState::default()).unwrap();
    let mut live = LiveState {
        declared: BTreeMap::new(),
        undeclared: Vec::new(),
        unreadable: Vec::new(),
    };
    live.declared
        .insert(d[0].address(), live_of(&stream(12), Ownership::Ours));
    let changed = plan(&d, live).unwrap();
    assert_ne!(empty.live_fingerprint, changed.live_fingerprint);
    assert_eq!(empty.desired_fingerprint, changed.desired_fingerprint);
}

#[test]
fn json_output_has_the_documented_fields() {
    let p = plan(&[stream(24)], LiveState::default()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&render_json(&p)).unwrap();
    for key in [
        "format_version",
        "stack",
        "account",
        "region",
        "desired_fingerprint",
        "live_fingerprint",
        "summary",
        "changes",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["changes"][0]["action"], "create");
    assert_eq!(v["summary"]["add"], 1);
    let back: Plan = serde_json::from_value(v).unwrap();
    assert_eq!(back.changes.len(), 1);
}

#[test]
fn no_changes_text() {
    let mut live = LiveState::default();
    live.declared
        .insert(stream(24).address(), live_of(&stream(24), Ownership::Ours));
    let p = plan(&[stream(24)], live).unwrap();
    assert!(render_text(&p).starts_with("No changes."));
}
