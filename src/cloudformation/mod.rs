//! The declared stack as a CloudFormation template (`export cloudformation`). Pure: it reads
//! the blueprint only, never the account.
//!
//! The blueprint is built for a placeholder account, and every string holding that account
//! or the stack file's region is written with `Fn::Sub` and `${AWS::AccountId}` /
//! `${AWS::Region}`, so one template deploys in any account and region (StackSets).
//!
//! Each kind's mapping (one file per area, as the blueprint has) turns its typed spec into
//! CloudFormation resources, or into properties of its owner's resource (a bucket's
//! encryption, versioning, ... are properties of `AWS::S3::Bucket`), or names it as having no
//! CloudFormation equivalent. One pass ([`refs`]) then writes every name or ARN of a resource
//! the template creates as `Ref`/`Fn::GetAtt`/`Fn::Sub`, except where the reference would
//! close a cycle (the named resource already follows the one naming it), and each blueprint
//! edge that no reference carries becomes a `DependsOn`.

mod analytics;
mod api;
mod compute;
mod refs;
mod storage;
mod streaming;
mod yaml;

use crate::blueprint::Blueprint;
use crate::model::{Kind, Resource};
use crate::names::Names;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub use yaml::to_yaml;

/// The largest template CloudFormation takes inline (`TemplateBody`), in bytes; a larger one
/// goes through S3 (`TemplateURL`).
pub const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// The template's parameter holding the bucket of the Lambda packages.
pub const CODE_BUCKET_PARAMETER: &str = "LambdaCodeBucket";

/// The S3 key a function's package is uploaded under for the template: content-addressed, so
/// a new build is a new key and CloudFormation sees the change (it does not look inside an
/// object whose key stays the same). `build` prints it; the template's parameter defaults
/// to it.
pub fn code_key(function: &str, code_sha256_base64: &str) -> String {
    use base64::Engine;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(code_sha256_base64)
        .map(hex::encode)
        .unwrap_or_default();
    format!("ecomflow-infra/lambda/{function}/{digest}.zip")
}

/// The name of the template parameter holding a function's package key.
pub fn code_key_parameter(function: &str) -> String {
    format!("{}CodeKey", logical_id(function))
}

/// One resource of the template under construction.
#[derive(Debug, Clone)]
pub(crate) struct CfnResource {
    /// The logical ID.
    logical: String,
    /// `AWS::Service::Type`.
    kind: &'static str,
    /// Its `Properties`.
    properties: Map<String, Value>,
    /// Logical IDs it must follow that no property references.
    depends_on: BTreeSet<String>,
}

impl CfnResource {
    fn new(logical: impl Into<String>, kind: &'static str, properties: Value) -> Self {
        let Value::Object(properties) = properties else {
            unreachable!("properties are built as JSON objects")
        };
        Self {
            logical: logical.into(),
            kind,
            properties,
            depends_on: BTreeSet::new(),
        }
    }

    /// Follows another resource of the template.
    fn after(mut self, logical: &str) -> Self {
        self.depends_on.insert(logical.to_string());
        self
    }
}

/// What a kind's mapping makes of one declared resource.
pub(crate) enum Mapped {
    /// Resources of the template.
    Resources(Vec<CfnResource>),
    /// Properties of the resource of another address (its owner), merged into it.
    Into {
        /// The owner's address.
        owner: String,
        /// The properties it adds.
        properties: Map<String, Value>,
    },
    /// No CloudFormation equivalent: what it is and what to run instead.
    Elsewhere {
        /// What the template leaves out.
        what: String,
        /// The command that does it.
        instead: String,
    },
}

/// What the mappings may look up: the other declared resources, by kind and physical name.
pub(crate) struct Scope<'a> {
    blueprint: &'a Blueprint,
    selected: &'a dyn Fn(Kind) -> bool,
}

impl Scope<'_> {
    /// The names of the stack instance.
    pub(crate) fn names(&self) -> &Names {
        &self.blueprint.names
    }

    /// The logical ID of the declared resource of `kind` named `physical`, if the template
    /// creates it.
    pub(crate) fn logical_of(&self, kind: Kind, physical: &str) -> Option<String> {
        self.blueprint
            .resources
            .iter()
            .find(|r| r.kind == kind && r.physical == physical && (self.selected)(kind))
            .map(|r| logical_id(&r.address()))
    }

    /// The typed spec of the declared resource of `kind` named `physical`.
    pub(crate) fn spec_of<S: crate::model::Spec>(&self, kind: Kind, physical: &str) -> Option<S> {
        self.blueprint
            .resources
            .iter()
            .find(|r| r.kind == kind && r.physical == physical)
            .and_then(|r| r.typed().ok())
    }

    /// A name or ARN as a reader should see it: the placeholder account written
    /// `<account-id>`.
    pub(crate) fn shown(&self, text: &str) -> String {
        text.replace(crate::names::PLACEHOLDER_ACCOUNT, "<account-id>")
    }

    /// `Ref` of that resource if the template creates it, else the literal.
    pub(crate) fn reference(&self, kind: Kind, physical: &str, literal: &str) -> Value {
        match self.logical_of(kind, physical) {
            Some(logical) => json!({ "Ref": logical }),
            None => Value::String(literal.to_string()),
        }
    }

    /// `Fn::GetAtt` of an attribute of that resource if the template creates it, else the
    /// literal.
    pub(crate) fn attribute(&self, kind: Kind, physical: &str, attr: &str, literal: &str) -> Value {
        match self.logical_of(kind, physical) {
            Some(logical) => json!({ "Fn::GetAtt": [logical, attr] }),
            None => Value::String(literal.to_string()),
        }
    }
}

/// What part of the declared stack to write.
pub struct Selection<'a> {
    /// Kinds to write; references to resources of other kinds stay literal.
    pub kinds: &'a dyn Fn(Kind) -> bool,
}

impl Selection<'_> {
    /// Every kind.
    pub fn all() -> Selection<'static> {
        Selection { kinds: &|_| true }
    }
}

/// A template and what it leaves to other commands.
#[derive(Debug, Clone)]
pub struct Export {
    /// The template, as JSON.
    pub template: Value,
    /// What has no CloudFormation equivalent: (address, what, what to run instead).
    pub elsewhere: Vec<(String, String, String)>,
}

/// The template of a blueprint (built for [`crate::names::PLACEHOLDER_ACCOUNT`]).
pub fn template(blueprint: &Blueprint, stack_file: &str, selection: &Selection) -> Export {
    let scope = Scope {
        blueprint,
        selected: selection.kinds,
    };
    let mut resources: BTreeMap<String, CfnResource> = BTreeMap::new();
    // The logical ID of the address each resource was made for (a key's alias, a topic's
    // policy, an API's methods are made with their parent's).
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    // The resources in the order the blueprint declares them: the first of two resources
    // naming each other gets the reference.
    let mut order: Vec<String> = Vec::new();
    // The logical ID each address is written as (its owner's for merged properties).
    let mut written_as: BTreeMap<String, String> = BTreeMap::new();
    let mut elsewhere = Vec::new();
    for r in &blueprint.resources {
        if !(selection.kinds)(r.kind) {
            continue;
        }
        match map(r, &scope) {
            Mapped::Resources(made) => {
                let primary = logical_id(&r.address());
                written_as.insert(r.address(), primary.clone());
                for resource in made {
                    order.push(resource.logical.clone());
                    origin.insert(resource.logical.clone(), primary.clone());
                    resources.insert(resource.logical.clone(), resource);
                }
            }
            Mapped::Into { owner, properties } => {
                let logical = logical_id(&owner);
                if let Some(target) = resources.get_mut(&logical) {
                    target.properties.extend(properties);
                    written_as.insert(r.address(), logical);
                }
            }
            Mapped::Elsewhere { what, instead } => elsewhere.push((r.address(), what, instead)),
        }
    }
    elsewhere.extend(api::outside_the_blueprint(&scope));
    let declared = edges(blueprint, &written_as);
    let literals = refs::literals(blueprint, &written_as);
    // What each resource follows: what its address follows in the blueprint (a resource made
    // beside another for the same address, such as a key's alias or a stage's deployment,
    // follows what that address follows), and what its mapping references itself.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (logical, resource) in &resources {
        let primary = origin.get(logical).unwrap_or(logical);
        let mut follows = declared.get(primary).cloned().unwrap_or_default();
        follows.extend(resource.depends_on.iter().cloned());
        follows.extend(refs::referenced(&Value::Object(
            resource.properties.clone(),
        )));
        follows.retain(|d| d != logical && resources.contains_key(d));
        graph.insert(logical.clone(), follows);
    }
    let declared_follows = graph.clone();
    let mut out = Map::new();
    for logical in order {
        let Some(mut resource) = resources.remove(&logical) else {
            continue;
        };
        // A name or ARN of another resource becomes a reference unless that resource
        // follows this one, directly or not: references never make a cycle.
        let mut allow = |target: &str| {
            if target == logical || reachable(&graph, target).contains(&logical) {
                return false;
            }
            graph
                .entry(logical.clone())
                .or_default()
                .insert(target.to_string());
            true
        };
        let properties = refs::substitute(
            Value::Object(std::mem::take(&mut resource.properties)),
            &literals,
            &mut allow,
            blueprint,
        );
        // Edges of the blueprint that no reference carries.
        let referenced = refs::referenced(&properties);
        let depends_on: BTreeSet<&String> = declared_follows[&logical]
            .iter()
            .filter(|d| !referenced.contains(*d))
            .collect();
        let mut body = Map::new();
        body.insert("Type".into(), json!(resource.kind));
        if !depends_on.is_empty() {
            body.insert("DependsOn".into(), json!(depends_on));
        }
        body.insert("Properties".into(), properties);
        out.insert(logical, Value::Object(body));
    }
    let parameters = parameters(blueprint, &out);
    let mut template = Map::new();
    template.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
    template.insert(
        "Description".into(),
        json!(format!(
            "EcomFlow pipeline {} (ecomflow-infra export of {stack_file})",
            blueprint.names.instance
        )),
    );
    template.insert(
        "Metadata".into(),
        json!({
            "ecomflow-infra": {
                "stack": blueprint.names.instance,
                "stackFile": stack_file,
                "notInTemplate": elsewhere.iter().map(|(address, what, instead)| json!({
                    "address": address,
                    "what": what,
                    "instead": instead,
                })).collect::<Vec<_>>(),
            }
        }),
    );
    if !parameters.is_empty() {
        template.insert("Parameters".into(), Value::Object(parameters));
    }
    template.insert("Resources".into(), Value::Object(out));
    Export {
        template: Value::Object(template),
        elsewhere,
    }
}

/// The kind's mapping.
fn map(r: &Resource, scope: &Scope) -> Mapped {
    use Kind::*;
    match r.kind {
        S3Bucket | S3PublicAccessBlock | S3OwnershipControls | S3Encryption | S3BucketPolicy
        | S3Versioning | S3Lifecycle | S3Logging | S3Object | KmsKey => storage::map(r, scope),
        IamRole | LambdaFunction | LambdaEventSourceMapping | LambdaPermission | LogGroup => {
            compute::map(r, scope)
        }
        KinesisStream | DynamodbTable | SnsTopic | SnsSubscriptions | FirehoseDeliveryStream => {
            streaming::map(r)
        }
        CognitoUserPool | CognitoAppClient | CognitoGroup | ApigwRestApi | ApigwStage
        | WafWebAcl => api::map(r, scope),
        GlueDatabase
        | GlueTable
        | GlueCrawler
        | GlueSecurityConfiguration
        | GlueJob
        | RedshiftParameterGroup
        | RedshiftCluster
        | RedshiftIntegration
        | RedshiftSchema
        | AthenaWorkgroup => analytics::map(r, scope),
    }
}

/// The template's edges, by logical ID: each blueprint edge between two written resources.
fn edges(
    blueprint: &Blueprint,
    written_as: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &blueprint.resources {
        let Some(from) = written_as.get(&r.address()) else {
            continue;
        };
        for d in &r.depends_on {
            if let Some(to) = written_as.get(d) {
                if to != from {
                    edges.entry(from.clone()).or_default().insert(to.clone());
                }
            }
        }
    }
    edges
}

/// Every logical ID `from` follows, directly or not.
fn reachable(edges: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = vec![from];
    while let Some(at) = todo.pop() {
        for next in edges.get(at).into_iter().flatten() {
            if next != from && seen.insert(next.clone()) {
                todo.push(next);
            }
        }
    }
    seen
}

/// The parameters the resources reference: the code bucket and each function's key, with
/// the key of the packages the blueprint was built with as its default.
fn parameters(blueprint: &Blueprint, resources: &Map<String, Value>) -> Map<String, Value> {
    let used = refs::referenced(&Value::Object(resources.clone()));
    let mut parameters = Map::new();
    if used.contains(CODE_BUCKET_PARAMETER) {
        parameters.insert(
            CODE_BUCKET_PARAMETER.into(),
            json!({
                "Type": "String",
                "Description": "S3 bucket holding the Lambda packages (upload each to its key: `ecomflow-infra build` prints them)",
            }),
        );
    }
    for r in &blueprint.resources {
        if r.kind != Kind::LambdaFunction {
            continue;
        }
        let f: crate::model::lambda::FunctionSpec = typed(r);
        let function = compute::function_short_name(&blueprint.names, &f.name);
        let name = code_key_parameter(&function);
        if !used.contains(&name) {
            continue;
        }
        let mut p = json!({
            "Type": "String",
            "Description": format!("S3 key of the `{function}` function's package (bootstrap.zip)"),
        });
        if !f.code_sha256.is_empty() {
            p["Default"] = json!(code_key(&function, &f.code_sha256));
        }
        parameters.insert(name, p);
    }
    parameters
}

/// A CloudFormation logical ID (alphanumeric) from an address or name: `s3_bucket.lake` ->
/// `S3BucketLake`.
pub fn logical_id(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// Tags as CloudFormation's list of `Key`/`Value`.
pub(crate) fn tag_list(tags: &crate::model::Tags) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

/// The typed spec of a resource of the blueprint, which made it from that type.
pub(crate) fn typed<S: crate::model::Spec>(r: &Resource) -> S {
    r.typed()
        .unwrap_or_else(|e| panic!("{} is not a {}: {e}", r.address(), S::KIND))
}

#[cfg(test)]
mod tests;
