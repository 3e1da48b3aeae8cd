//! Names and ARNs written as references: wherever a property holds the name or ARN of a
//! resource the template creates, alone or inside a longer string (a policy's
//! `arn:aws:s3:::<lake>/*`, a function's environment), it becomes `Ref`/`Fn::GetAtt`, or
//! `Fn::Sub` for the longer string, and the blueprint's account (the placeholder one) and
//! region become `${AWS::AccountId}` and `${AWS::Region}`.
//!
//! The caller decides which resources a property may reference (`allow`): one that follows
//! the resource would make a cycle, so a key policy naming a role that itself uses the key
//! keeps the role's ARN literal.

use super::logical_id;
use crate::blueprint::Blueprint;
use crate::model::{self, Kind};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A name or ARN the template can write as a reference.
pub(super) struct Literal {
    text: String,
    logical: String,
    /// `None` for `Ref`, else the `Fn::GetAtt` attribute.
    attr: Option<&'static str>,
}

/// The names and ARNs of the resources written as their own logical ID, longest first (so
/// an ARN wins over the name inside it).
pub(super) fn literals(
    blueprint: &Blueprint,
    written_as: &BTreeMap<String, String>,
) -> Vec<Literal> {
    let names = &blueprint.names;
    let (region, account) = (&names.region, &names.account);
    let mut out = Vec::new();
    for r in &blueprint.resources {
        let address = r.address();
        let logical = logical_id(&address);
        if written_as.get(&address) != Some(&logical) {
            continue;
        }
        let mut add = |text: String, attr: Option<&'static str>, logical: &str| {
            out.push(Literal {
                text,
                logical: logical.to_string(),
                attr,
            })
        };
        let name = r.physical.clone();
        match r.kind {
            Kind::S3Bucket => {
                add(format!("arn:aws:s3:::{name}"), Some("Arn"), &logical);
                add(name, None, &logical);
            }
            Kind::IamRole => {
                if let Ok(role) = r.typed::<model::iam::RoleSpec>() {
                    add(
                        format!("arn:aws:iam::{account}:role{}{}", role.path, role.name),
                        Some("Arn"),
                        &logical,
                    );
                    add(role.name, None, &logical);
                }
            }
            Kind::KinesisStream => {
                add(
                    format!("arn:aws:kinesis:{region}:{account}:stream/{name}"),
                    Some("Arn"),
                    &logical,
                );
                add(name, None, &logical);
            }
            Kind::DynamodbTable => {
                add(
                    format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
                    Some("Arn"),
                    &logical,
                );
                add(name, None, &logical);
            }
            Kind::SnsTopic => {
                add(
                    format!("arn:aws:sns:{region}:{account}:{name}"),
                    None,
                    &logical,
                );
                add(name, Some("TopicName"), &logical);
            }
            Kind::LambdaFunction => {
                add(
                    format!("arn:aws:lambda:{region}:{account}:function:{name}"),
                    Some("Arn"),
                    &logical,
                );
                add(name, None, &logical);
            }
            Kind::FirehoseDeliveryStream => {
                add(
                    format!("arn:aws:firehose:{region}:{account}:deliverystream/{name}"),
                    Some("Arn"),
                    &logical,
                );
                add(name, None, &logical);
            }
            Kind::KmsKey => {
                add(
                    format!("arn:aws:kms:{region}:{account}:{name}"),
                    Some("Arn"),
                    &logical,
                );
                add(name, None, &format!("{logical}Alias"));
            }
            Kind::WafWebAcl => {
                // Its ARN holds the ID WAF assigns: only the attribute can name it.
            }
            Kind::LogGroup
            | Kind::GlueDatabase
            | Kind::GlueCrawler
            | Kind::GlueJob
            | Kind::GlueSecurityConfiguration
            | Kind::RedshiftCluster
            | Kind::RedshiftParameterGroup
            | Kind::AthenaWorkgroup => add(name, None, &logical),
            _ => {}
        }
    }
    // A name two resources share (a function and its role are both `<instance>-process`)
    // could mean either: it stays literal, and mappings name such parents explicitly.
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &out {
        *count.entry(l.text.as_str()).or_default() += 1;
    }
    let ambiguous: BTreeSet<String> = count
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(t, _)| t.to_string())
        .collect();
    out.retain(|l| !ambiguous.contains(&l.text));
    out.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.text.cmp(&b.text)));
    out
}

/// Properties with the literals of the resources `allow` accepts (by logical ID), the
/// account and the region written as references. Tags stay as they are: their values are
/// labels, not names to resolve.
pub(super) fn substitute(
    value: Value,
    literals: &[Literal],
    allow: &mut dyn FnMut(&str) -> bool,
    blueprint: &Blueprint,
) -> Value {
    let mut ctx = Ctx {
        literals,
        allow,
        account: &blueprint.names.account,
        region: &blueprint.names.region,
    };
    ctx.walk(value)
}

struct Ctx<'a> {
    literals: &'a [Literal],
    allow: &'a mut dyn FnMut(&str) -> bool,
    account: &'a str,
    region: &'a str,
}

impl Ctx<'_> {
    fn walk(&mut self, value: Value) -> Value {
        match value {
            Value::String(s) => self.string(&s),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.walk(v)).collect()),
            // An intrinsic function a mapping wrote itself is already what it should be.
            Value::Object(map)
                if map.len() == 1 && map.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) =>
            {
                Value::Object(map)
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = if k == "Tags" || k == "UserPoolTags" {
                            v
                        } else {
                            self.walk(v)
                        };
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn string(&mut self, s: &str) -> Value {
        let literals = self.literals;
        let whole = literals.iter().find(|l| l.text == s);
        if let Some(l) = whole.filter(|l| (self.allow)(&l.logical)) {
            return match l.attr {
                None => json!({ "Ref": l.logical }),
                Some(attr) => json!({ "Fn::GetAtt": [l.logical, attr] }),
            };
        }
        if s == self.account {
            return json!({ "Ref": "AWS::AccountId" });
        }
        if s == self.region {
            return json!({ "Ref": "AWS::Region" });
        }
        let mut out = String::new();
        let mut replaced = false;
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            let before = s[..i].chars().next_back();
            let found = literals
                .iter()
                .find(|l| {
                    rest.starts_with(l.text.as_str())
                        && !before.is_some_and(name_char)
                        && !rest[l.text.len()..].chars().next().is_some_and(name_char)
                })
                .filter(|l| (self.allow)(&l.logical));
            if let Some(l) = found {
                match l.attr {
                    None => out.push_str(&format!("${{{}}}", l.logical)),
                    Some(attr) => out.push_str(&format!("${{{}.{attr}}}", l.logical)),
                }
                i += l.text.len();
                replaced = true;
            } else if rest.starts_with(self.account) {
                out.push_str("${AWS::AccountId}");
                i += self.account.len();
                replaced = true;
            } else if rest.starts_with(self.region) {
                out.push_str("${AWS::Region}");
                i += self.region.len();
                replaced = true;
            } else if rest.starts_with("${") {
                // A literal `${` in a substituted string is written `${!`.
                out.push_str("${!");
                i += 2;
            } else {
                let c = rest.chars().next().expect("i < len");
                out.push(c);
                i += c.len_utf8();
            }
        }
        if replaced {
            json!({ "Fn::Sub": out })
        } else {
            Value::String(s.to_string())
        }
    }
}

/// Characters a name is made of: a literal must not start or end inside a longer name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// The logical IDs (and parameters) a value references through `Ref`, `Fn::GetAtt` or
/// `Fn::Sub`; pseudo parameters (`AWS::...`) left out.
pub(super) fn referenced(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("Ref", Value::String(target)) => add_target(target, out),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        if let Some(Value::String(target)) = parts.first() {
                            add_target(target, out)
                        }
                    }
                    ("Fn::Sub", Value::String(text)) => sub_targets(text, out),
                    _ => collect(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn add_target(target: &str, out: &mut BTreeSet<String>) {
    if !target.starts_with("AWS::") {
        out.insert(target.to_string());
    }
}

fn sub_targets(text: &str, out: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let inner = &rest[..end];
        if !inner.starts_with('!') {
            add_target(inner.split('.').next().unwrap_or(inner), out);
        }
        rest = &rest[end + 1..];
    }
}
