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
            tags: tags("s"),
        },
    )
}

fn live_of(r: &Resource, ownership: Ownership) -> Option<LiveResource> {
    Some(LiveResource {
        kind: r.kind,
        physical: r.physical.clone(),
        spec: r.spec.clone(),
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

#[test]
fn fingerprints_follow_the_live_state() {
    let d = [stream(24)];
    let empty = plan(&d, LiveState::default()).unwrap();
    let mut live = LiveState {
        declared: BTreeMap::new(),
        undeclared: Vec::new(),
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
