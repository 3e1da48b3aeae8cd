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
        // A trust policy's statements name no resource (the role is the resource).
        if !self.resources.is_empty() {
            m.insert("Resource".into(), json!(self.resources));
        }
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

/// A role trust policy letting the AWS service `service` (its principal, such as
/// `glue.amazonaws.com`) assume the role, only on behalf of resources of `account`
/// (`aws:SourceAccount`, StringEquals) and, when given, only for resources matching
/// `source_arn` (`aws:SourceArn`, ArnLike: an exact ARN or a pattern). These are the
/// confused-deputy conditions: without them any account's resource of that service could be
/// pointed at the role. A service only sets the keys it documents: see
/// `blueprint::trust` for which each service gets.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html#cross-service-confused-deputy-prevention>
pub fn service_trust(service: &str, account: &str, source_arn: Option<&str>) -> Value {
    let mut condition = Map::new();
    condition.insert(
        "StringEquals".into(),
        json!({ "aws:SourceAccount": account }),
    );
    if let Some(arn) = source_arn {
        condition.insert("ArnLike".into(), json!({ "aws:SourceArn": arn }));
    }
    document(&[Statement {
        sid: "ServiceAssumes".into(),
        principal: Some(json!({ "Service": service })),
        actions: vec!["sts:AssumeRole".into()],
        condition: Some(Value::Object(condition)),
        ..Statement::default()
    }])
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

/// The text of a normalised document as it is sent to AWS: a list of one element written as
/// that element (`"Action": "s3:*"`, `"aws:SecureTransport": "false"`). AWS reads both forms
/// alike; security scanners (Prowler's TLS-only check, for one) recognise some rules only in
/// the scalar form.
pub fn wire(doc: &Value) -> String {
    let mut doc = doc.clone();
    if let Some(list) = doc.get_mut("Statement").and_then(Value::as_array_mut) {
        for st in list.iter_mut().filter_map(Value::as_object_mut) {
            for key in ["Action", "NotAction", "Resource", "NotResource"] {
                if let Some(v) = st.get_mut(key) {
                    single(v);
                }
            }
            if let Some(Value::Object(p)) = st.get_mut("Principal") {
                p.values_mut().for_each(single);
            }
            if let Some(Value::Object(c)) = st.get_mut("Condition") {
                for ops in c.values_mut().filter_map(Value::as_object_mut) {
                    ops.values_mut().for_each(single);
                }
            }
        }
    }
    doc.to_string()
}

fn single(v: &mut Value) {
    if let Value::Array(a) = v {
        if a.len() == 1 {
            *v = a.remove(0);
        }
    }
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
    fn sent_in_the_scalar_form_read_back_equal() {
        let doc = document(&[Statement {
            sid: "DenyInsecureTransport".into(),
            deny: true,
            principal: Some(json!("*")),
            actions: vec!["s3:*".into()],
            resources: vec!["arn:aws:s3:::b".into(), "arn:aws:s3:::b/*".into()],
            condition: Some(json!({"Bool": {"aws:SecureTransport": "false"}})),
        }]);
        let sent: Value = serde_json::from_str(&wire(&doc)).unwrap();
        let st = &sent["Statement"][0];
        assert_eq!(st["Action"], json!("s3:*"));
        assert_eq!(st["Principal"], json!("*"));
        assert_eq!(
            st["Resource"],
            json!(["arn:aws:s3:::b", "arn:aws:s3:::b/*"])
        );
        assert_eq!(
            st["Condition"]["Bool"]["aws:SecureTransport"],
            json!("false")
        );
        assert_eq!(normalize(&sent), doc);
        let trust: Value =
            serde_json::from_str(&wire(&service_trust("glue.amazonaws.com", "1", None))).unwrap();
        assert_eq!(
            trust["Statement"][0]["Principal"]["Service"],
            json!("glue.amazonaws.com")
        );
    }

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

    #[test]
    fn service_trust_has_no_resource_and_the_confused_deputy_conditions() {
        let doc = service_trust("glue.amazonaws.com", "123456789012", None);
        let st = &doc["Statement"][0];
        assert!(st.get("Resource").is_none(), "{doc}");
        assert_eq!(st["Principal"]["Service"], json!(["glue.amazonaws.com"]));
        assert_eq!(st["Action"], json!(["sts:AssumeRole"]));
        assert_eq!(
            st["Condition"],
            json!({"StringEquals": {"aws:SourceAccount": ["123456789012"]}})
        );
        let arn = "arn:aws:glue:us-east-1:123456789012:job/ecomflow-dev-*";
        let doc = service_trust("glue.amazonaws.com", "123456789012", Some(arn));
        assert_eq!(
            doc["Statement"][0]["Condition"]["ArnLike"],
            json!({"aws:SourceArn": [arn]})
        );
    }
}
