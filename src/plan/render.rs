//! Plan output: Terraform-style text, and JSON with a stable schema.

use super::{Action, Plan};
use serde_json::Value;
use std::fmt::Write;

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(none)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    }
}

/// The plan as text: one block per changed resource, then the `Plan:` summary line.
pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The live account matches stack {} ({} resources).",
            plan.stack, plan.summary.unchanged
        );
        return out;
    }
    let _ = writeln!(
        out,
        "Stack {} in account {} ({}):\n",
        plan.stack, plan.account, plan.region
    );
    for c in plan.actionable() {
        let (symbol, verb) = match c.action {
            Action::Create => ("  +", "will be created"),
            Action::Update => ("  ~", "will be updated in place"),
            Action::Replace => ("-/+", "must be replaced"),
            Action::Delete => ("  -", "will be destroyed"),
            Action::NoOp => continue,
        };
        let _ = writeln!(out, "  # {} {verb}", c.address);
        let _ = writeln!(out, "{symbol} {} ({})", c.address, c.physical);
        for a in &c.attributes {
            let line = match (c.action, &a.before, &a.after) {
                (Action::Create, _, after) => format!("      + {} = {}", a.path, show(after)),
                (Action::Delete, before, _) => format!("      - {} = {}", a.path, show(before)),
                (_, None, after) => format!("      + {} = {}", a.path, show(after)),
                (_, before, None) => format!("      - {} = {}", a.path, show(before)),
                (_, before, after) => {
                    format!("      ~ {} = {} -> {}", a.path, show(before), show(after))
                }
            };
            let note = if a.forces_replacement {
                " # forces replacement"
            } else {
                ""
            };
            let _ = writeln!(out, "{line}{note}");
        }
        out.push('\n');
    }
    let s = plan.summary;
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
        s.add, s.change, s.replace, s.destroy
    );
    out
}

/// The plan as pretty JSON (the schema is [`Plan`], documented in the README).
pub fn render_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).expect("plans serialise")
}
