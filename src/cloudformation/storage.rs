//! Buckets (their settings are properties of `AWS::S3::Bucket`), bucket policies, the
//! uploaded objects (no CloudFormation equivalent) and the stack's KMS key.

use super::{tag_list, typed, CfnResource, Mapped, Scope};
use crate::model::catalog::ObjectSpec;
use crate::model::kms::KeySpec;
use crate::model::s3::*;
use crate::model::{Kind, Resource};
use serde_json::{json, Map, Value};

pub(super) fn map(r: &Resource, scope: &Scope) -> Mapped {
    let logical = super::logical_id(&r.address());
    let into = |properties: Value| Mapped::Into {
        owner: r.owner.clone().unwrap_or_default(),
        properties: object(properties),
    };
    match r.kind {
        Kind::S3Bucket => {
            let b: BucketSpec = typed(r);
            Mapped::Resources(vec![CfnResource::new(
                logical,
                "AWS::S3::Bucket",
                json!({ "BucketName": b.name, "Tags": tag_list(&b.tags) }),
            )])
        }
        Kind::S3PublicAccessBlock => {
            let p: PublicAccessBlockSpec = typed(r);
            into(json!({ "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": p.block_public_acls,
                "IgnorePublicAcls": p.ignore_public_acls,
                "BlockPublicPolicy": p.block_public_policy,
                "RestrictPublicBuckets": p.restrict_public_buckets,
            }}))
        }
        Kind::S3OwnershipControls => {
            let o: OwnershipControlsSpec = typed(r);
            into(
                json!({ "OwnershipControls": { "Rules": [{ "ObjectOwnership": o.object_ownership }] } }),
            )
        }
        Kind::S3Encryption => {
            let e: EncryptionSpec = typed(r);
            let mut default = json!({ "SSEAlgorithm": e.algorithm });
            if let Some(key) = e.kms_key {
                default["KMSMasterKeyID"] = json!(key);
            }
            into(
                json!({ "BucketEncryption": { "ServerSideEncryptionConfiguration": [
                    { "ServerSideEncryptionByDefault": default }
                ]}}),
            )
        }
        Kind::S3Versioning => {
            let v: VersioningSpec = typed(r);
            // A bucket CloudFormation creates was never versioned: "off" is no setting.
            if v.enabled {
                into(json!({ "VersioningConfiguration": { "Status": "Enabled" } }))
            } else {
                into(json!({}))
            }
        }
        Kind::S3Lifecycle => {
            let l: LifecycleSpec = typed(r);
            let rules: Vec<Value> = l.rules.iter().map(lifecycle_rule).collect();
            into(json!({ "LifecycleConfiguration": { "Rules": rules } }))
        }
        Kind::S3Logging => {
            let l: LoggingSpec = typed(r);
            into(json!({ "LoggingConfiguration": {
                "DestinationBucketName": l.target_bucket,
                "LogFilePrefix": l.target_prefix,
            }}))
        }
        Kind::S3BucketPolicy => {
            let p: BucketPolicySpec = typed(r);
            Mapped::Resources(vec![CfnResource::new(
                logical,
                "AWS::S3::BucketPolicy",
                json!({
                    "Bucket": scope.reference(Kind::S3Bucket, &p.bucket, &p.bucket),
                    "PolicyDocument": p.policy,
                }),
            )])
        }
        Kind::S3Object => {
            let o: ObjectSpec = typed(r);
            let target = scope.shown(&format!("s3://{}/{}", o.bucket, o.key));
            let source = format!("src/model/assets/{}", o.source);
            Mapped::Elsewhere {
                what: format!("the object {target}, the repository's {source}"),
                instead: format!(
                    "aws s3 cp {source} {target} --content-type {}",
                    o.content_type
                ),
            }
        }
        Kind::KmsKey => {
            let k: KeySpec = typed(r);
            let key = CfnResource::new(
                logical.clone(),
                "AWS::KMS::Key",
                json!({
                    "Description": k.description,
                    "KeyPolicy": k.policy,
                    "EnableKeyRotation": k.rotation,
                    "PendingWindowInDays": k.deletion_window_days,
                    "Tags": tag_list(&k.tags),
                }),
            );
            let alias = CfnResource::new(
                format!("{logical}Alias"),
                "AWS::KMS::Alias",
                json!({ "AliasName": k.alias, "TargetKeyId": { "Ref": logical } }),
            );
            Mapped::Resources(vec![key, alias])
        }
        other => unreachable!("{other} is not a storage kind"),
    }
}

fn lifecycle_rule(rule: &LifecycleRule) -> Value {
    let mut out = json!({ "Id": rule.id, "Status": "Enabled" });
    if !rule.prefix.is_empty() {
        out["Prefix"] = json!(rule.prefix);
    }
    if let Some(days) = rule.expire_days {
        out["ExpirationInDays"] = json!(days);
    }
    if let Some(days) = rule.noncurrent_expire_days {
        out["NoncurrentVersionExpiration"] = json!({ "NoncurrentDays": days });
    }
    if let Some(days) = rule.abort_multipart_days {
        out["AbortIncompleteMultipartUpload"] = json!({ "DaysAfterInitiation": days });
    }
    out
}

/// A JSON object's map.
fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
