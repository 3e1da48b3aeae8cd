//! IAM-style policy documents: building them and normalising them for comparison.

use serde_json::{json, Map, Value};

/// One policy statement.
#[derive(Debug, Clone, Default)]
pub struct Statement {
    /// Statement ID.
    pub sid: String,
    /// `Allow` (default) or `Deny`.
    pub deny: bool,
    /// The principal block, if any (`{"Service": "..."}`, `"*"`).
    pub principal: Option<Value>,
    /// Actions.
    pub actions: Vec<String>,
    /// Resource ARNs.
    pub resources: Vec<String>,
    /// Condition block, if any.
    pub condition: Option<Value>,
}

impl Statement {
    /// An Allow statement of `actions` on `resources`.
    pub fn allow(sid: &str, actions: &[&str], resources: &[impl AsRef<str>]) -> Self {
        Self {
            sid: sid.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|r| r.as_ref().to_string()).collect(),
            ..Self::default()
        }
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Sid".into(), json!(self.sid));
        m.insert(
            "Effect".into(),
            json!(if self.deny { "Deny" } else { "Allow" }),
        );
        if let Some(p) = &self.principal {
            m.insert("Principal".into(), p.clone());
        }
        m.insert("Action".into(), json!(self.actions));
        m.insert("Resource".into(), json!(self.resources));
        if let Some(c) = &self.condition {
            m.insert("Condition".into(), c.clone());
        }
        Value::Object(m)
    }
}

/// A normalised policy document from statements.
pub fn document(statements: &[Statement]) -> Value {
    normalize(&json!({
        "Version": "2012-10-17",
        "Statement": statements.iter().map(Statement::to_value).collect::<Vec<_>>(),
    }))
}

/// Normalises a policy document so that equal policies compare equal: single values and
/// one-element lists are the same list, lists of strings are sorted, statements keep their order.
pub fn normalize(doc: &Value) -> Value {
    let mut doc = doc.clone();
    if let Some(statements) = doc.get_mut("Statement") {
        if statements.is_object() {
            *statements = Value::Array(vec![statements.take()]);
        }
        if let Some(list) = statements.as_array_mut() {
            for st in list.iter_mut() {
                if let Some(obj) = st.as_object_mut() {
                    for key in ["Action", "NotAction", "Resource", "NotResource"] {
                        if let Some(v) = obj.get_mut(key) {
                            *v = string_set(v);
                        }
                    }
                    if let Some(Value::Object(p)) = obj.get_mut("Principal") {
                        for v in p.values_mut() {
                            *v = string_set(v);
                        }
                    }
                    if let Some(Value::Object(c)) = obj.get_mut("Condition") {
                        for ops in c.values_mut() {
                            if let Value::Object(ops) = ops {
                                for v in ops.values_mut() {
                                    *v = string_set(v);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    doc
}

fn string_set(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    items.sort_by_key(|x| x.to_string());
    items.dedup();
    Value::Array(items)
}

/// Every statement of a normalised document, as (effect, actions, resources).
pub fn statements(doc: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    doc.get("Statement")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|st| {
                    (
                        st.get("Effect")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        strings(st.get("Action")),
                        strings(st.get("Resource")),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_shapes_aws_returns() {
        let ours = document(&[Statement::allow(
            "Put",
            &["kinesis:PutRecords", "kinesis:PutRecord"],
            &["arn:aws:kinesis:us-east-1:1:stream/s".to_string()],
        )]);
        let theirs = json!({
            "Version": "2012-10-17",
            "Statement": {"Sid": "Put", "Effect": "Allow",
                "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                "Resource": "arn:aws:kinesis:us-east-1:1:stream/s"}
        });
        assert_eq!(ours, normalize(&theirs));
    }
}
