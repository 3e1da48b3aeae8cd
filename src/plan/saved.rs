//! Saved plans (`plan --out`, `apply FILE`): the plan's JSON plus a `digest` of everything
//! else in the file, so that a file edited or cut short by hand is refused as soon as it is
//! read, before any API call. The digest guards against accidents, not against an attacker
//! (anyone can recompute it); the fingerprints inside the plan still decide whether it is
//! stale.

use super::{Plan, PLAN_FORMAT_VERSION};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The key of the digest in a saved plan file.
const DIGEST: &str = "digest";

/// Why a saved plan file is refused; each message follows the file's name.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// Not JSON of a plan's shape.
    #[error(
        "is not a plan saved by `ecomflow-infra plan --out` (or it was edited or truncated): {0}"
    )]
    NotAPlan(#[from] serde_json::Error),
    /// Another format version.
    #[error(
        "has plan format {0}, this tool reads format {PLAN_FORMAT_VERSION}; make the plan again"
    )]
    Version(u32),
    /// No digest, or one that does not match the content.
    #[error("was edited after `ecomflow-infra plan --out` wrote it ({0}); make the plan again")]
    Edited(&'static str),
}

/// SHA-256 of a JSON value as serde_json writes it compactly (object keys sorted).
fn digest_of(value: &Value) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(value).expect("JSON serialises"),
    ))
}

/// The file `plan --out` writes: the plan's JSON with its digest.
pub fn render_saved(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).expect("plans serialise");
    let digest = digest_of(&value);
    value
        .as_object_mut()
        .expect("a plan is a JSON object")
        .insert(DIGEST.into(), Value::String(digest));
    serde_json::to_string_pretty(&value).expect("plans serialise")
}

/// Reads a saved plan, refusing anything `render_saved` did not write as it is now.
pub fn parse_saved(text: &str) -> Result<Plan, SavedPlanError> {
    // Typed first, so shape errors carry their line and column.
    let plan: Plan = serde_json::from_str(text)?;
    if plan.format_version != PLAN_FORMAT_VERSION {
        return Err(SavedPlanError::Version(plan.format_version));
    }
    let mut value: Value = serde_json::from_str(text)?;
    let found = match value.as_object_mut().and_then(|m| m.remove(DIGEST)) {
        Some(Value::String(d)) => d,
        Some(_) => return Err(SavedPlanError::Edited("its digest is not a string")),
        None => return Err(SavedPlanError::Edited("it has no digest")),
    };
    if found != digest_of(&value) {
        return Err(SavedPlanError::Edited(
            "its digest does not match its content",
        ));
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Summary;

    fn plan() -> Plan {
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            stack: "ecomflow-dev".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stack_file: "stacks/dev.yaml".into(),
            desired_fingerprint: "a".repeat(64),
            live_fingerprint: "b".repeat(64),
            summary: Summary::default(),
            changes: Vec::new(),
        }
    }

    #[test]
    fn a_saved_plan_reads_back() {
        let text = render_saved(&plan());
        assert_eq!(parse_saved(&text).unwrap(), plan());
        // Reformatting keeps the content, and so the digest.
        let compact = serde_json::to_string(&serde_json::from_str::<Value>(&text).unwrap());
        assert_eq!(parse_saved(&compact.unwrap()).unwrap(), plan());
    }

    #[test]
    fn any_edit_is_refused() {
        let text = render_saved(&plan());
        for (from, to) in [
            ("ecomflow-dev", "ecomflow-prod"),
            ("123456789012", "999999999999"),
            (&"b".repeat(64), &"c".repeat(64)),
        ] {
            let edited = text.replace(from, to);
            assert!(
                matches!(parse_saved(&edited), Err(SavedPlanError::Edited(_))),
                "{from} -> {to}"
            );
        }
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove(DIGEST);
        assert!(matches!(
            parse_saved(&v.to_string()),
            Err(SavedPlanError::Edited("it has no digest"))
        ));
    }

    #[test]
    fn the_version_is_judged_before_the_digest() {
        let text = render_saved(&plan()).replace("\"format_version\": 1", "\"format_version\": 2");
        assert!(matches!(
            parse_saved(&text),
            Err(SavedPlanError::Version(2))
        ));
    }
}
