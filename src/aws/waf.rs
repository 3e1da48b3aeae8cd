//! AWS WAF (v2) regional web ACLs, found by name. Every update sends the whole definition with
//! the lock token of the last read, as WAF requires.

use super::kit::{converge_tags, listed, Absent};
use super::{
    built, Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::waf::{WebAclSpec, RATE_RULE};
use crate::model::{Service, Tags};
use async_trait::async_trait;
use aws_sdk_wafv2::types as wt;

const WAF: Service = Service::Waf;
const NOT_FOUND: &[&str] = &["WAFNonexistentItemException"];

/// `(name, id, arn)` of every regional web ACL. WAF pages them by `NextMarker` and the SDK
/// has no paginator for ListWebACLs, hence the loop.
async fn acls(aws: &Aws) -> Result<Vec<(String, String, String)>, AwsError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = aws
            .waf
            .list_web_acls()
            .scope(wt::Scope::Regional)
            .set_next_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::from(e).context("failed to list the WAF web ACLs"))?;
        for a in page.web_acls() {
            if let (Some(name), Some(id), Some(arn)) = (a.name(), a.id(), a.arn()) {
                out.push((name.to_string(), id.to_string(), arn.to_string()));
            }
        }
        match page.next_marker() {
            Some(next) if !page.web_acls().is_empty() && Some(next) != marker.as_deref() => {
                marker = Some(next.to_string());
            }
            _ => return Ok(out),
        }
    }
}

/// The ID and ARN of the web ACL `name`, if it exists.
async fn find(aws: &Aws, name: &str) -> Result<Option<(String, String)>, AwsError> {
    Ok(acls(aws)
        .await?
        .into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, id, arn)| (id, arn)))
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<Tags, AwsError> {
    let out = aws
        .waf
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read the tags of {arn}")))?;
    Ok(out
        .tag_info_for_resource()
        .map(|t| {
            t.tag_list()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

fn tag_list(tags: &Tags) -> Result<Vec<wt::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| built(wt::Tag::builder().key(k).value(v).build()))
        .collect()
}

/// CloudWatch metrics and sampled requests for the ACL and each rule.
fn visibility(metric: &str) -> Result<wt::VisibilityConfig, AwsError> {
    built(
        wt::VisibilityConfig::builder()
            .sampled_requests_enabled(true)
            .cloud_watch_metrics_enabled(true)
            .metric_name(metric)
            .build(),
    )
}

/// The rate rule first (it blocks), then each managed group as its vendor set it.
fn rules(s: &WebAclSpec) -> Result<Vec<wt::Rule>, AwsError> {
    let rate = built(
        wt::RateBasedStatement::builder()
            .limit(s.rate_limit)
            .aggregate_key_type(wt::RateBasedStatementAggregateKeyType::Ip)
            .build(),
    )?;
    let mut out = vec![built(
        wt::Rule::builder()
            .name(RATE_RULE)
            .priority(0)
            .statement(wt::Statement::builder().rate_based_statement(rate).build())
            .action(
                wt::RuleAction::builder()
                    .block(wt::BlockAction::builder().build())
                    .build(),
            )
            .visibility_config(visibility(RATE_RULE)?)
            .build(),
    )?];
    for (i, group) in s.managed_rule_groups.iter().enumerate() {
        let statement = built(
            wt::ManagedRuleGroupStatement::builder()
                .vendor_name("AWS")
                .name(group)
                .build(),
        )?;
        out.push(built(
            wt::Rule::builder()
                .name(group)
                .priority(i as i32 + 1)
                .statement(
                    wt::Statement::builder()
                        .managed_rule_group_statement(statement)
                        .build(),
                )
                .override_action(
                    wt::OverrideAction::builder()
                        .none(wt::NoneAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility(group)?)
                .build(),
        )?);
    }
    Ok(out)
}

fn allow() -> wt::DefaultAction {
    wt::DefaultAction::builder()
        .allow(wt::AllowAction::builder().build())
        .build()
}

/// The declared shape of a live ACL's rules: the rate rule's limit and the managed groups in
/// priority order.
fn observed(name: &str, acl: &wt::WebAcl, tags: Tags) -> WebAclSpec {
    let mut rules: Vec<&wt::Rule> = acl.rules().iter().collect();
    rules.sort_by_key(|r| r.priority());
    let statement = |r: &&wt::Rule| r.statement().cloned();
    WebAclSpec {
        name: name.to_string(),
        rate_limit: rules
            .iter()
            .filter_map(statement)
            .find_map(|s| s.rate_based_statement().map(|r| r.limit()))
            .unwrap_or_default(),
        managed_rule_groups: rules
            .iter()
            .filter_map(statement)
            .filter_map(|s| {
                s.managed_rule_group_statement()
                    .map(|m| m.name().to_string())
            })
            .collect(),
        tags,
    }
}

/// The live ACL and the lock token an update or delete needs.
async fn get(aws: &Aws, name: &str, id: &str) -> Result<Option<(wt::WebAcl, String)>, AwsError> {
    let out = aws
        .waf
        .get_web_acl()
        .name(name)
        .scope(wt::Scope::Regional)
        .id(id)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read WAF web ACL {name}")))?;
    Ok(out.and_then(|o| Some((o.web_acl?, o.lock_token?))))
}

/// A regional AWS WAF web ACL.
pub struct WebAcl;

#[async_trait]
impl Provider for WebAcl {
    type Spec = WebAclSpec;

    async fn read(&self, aws: &Aws, desired: &WebAclSpec, _: &Inputs) -> Found<WebAclSpec> {
        let name = &desired.name;
        let Some((id, arn)) = find(aws, name).await? else {
            return Ok(None);
        };
        let Some((acl, _)) = get(aws, name, &id).await? else {
            return Ok(None);
        };
        let spec = observed(name, &acl, tags_of(aws, &arn).await?);
        let outputs = Outputs::from([("id".to_string(), id), ("arn".to_string(), arn)]);
        Ok(Some(Observed { spec, outputs }))
    }

    /// Names are unique per Region: one made by an interrupted run is brought to the
    /// declaration instead.
    async fn create(
        &self,
        aws: &Aws,
        s: &WebAclSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let call = aws
            .waf
            .create_web_acl()
            .name(&s.name)
            .scope(wt::Scope::Regional)
            .default_action(allow())
            .set_rules(Some(rules(s)?))
            .visibility_config(visibility(&s.name)?)
            .set_tags(Some(tag_list(&s.tags)?))
            .send();
        aws.mutate(
            WAF,
            format!("failed to create WAF web ACL {}", s.name),
            call,
        )
        .await
        .tolerate(&["WAFDuplicateItemException"])?;
        self.settle(aws, s, inputs).await
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &WebAclSpec,
        live: &Observed<WebAclSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let name = &s.name;
        let id = live.outputs.get("id").cloned().unwrap_or_default();
        let arn = live.outputs.get("arn").cloned().unwrap_or_default();
        if changes.touches("rate_limit") || changes.touches("managed_rule_groups") {
            let Some((_, token)) = get(aws, name, &id).await? else {
                return Err(AwsError::msg(format!("WAF web ACL {name} vanished")));
            };
            let call = aws
                .waf
                .update_web_acl()
                .name(name)
                .scope(wt::Scope::Regional)
                .id(&id)
                .lock_token(token)
                .default_action(allow())
                .set_rules(Some(rules(s)?))
                .visibility_config(visibility(name)?)
                .send();
            aws.mutate(WAF, format!("failed to update WAF web ACL {name}"), call)
                .await?;
        }
        if changes.touches("tags") {
            let tags = tag_list(&crate::model::changed_tags(&s.tags, &live.spec.tags))?;
            converge_tags(
                aws,
                WAF,
                &format!("WAF web ACL {name}"),
                (&s.tags, &live.spec.tags),
                |stale| {
                    aws.waf
                        .untag_resource()
                        .resource_arn(&arn)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |_| {
                    aws.waf
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(tags))
                        .send()
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The stages it still protects (its API no longer declares it) are let go first: WAF
    /// refuses to delete a web ACL that is associated.
    async fn delete(&self, aws: &Aws, gone: &Gone<WebAclSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let Some((id, arn)) = find(aws, name).await? else {
            return Ok(());
        };
        let protected = aws
            .waf
            .list_resources_for_web_acl()
            .web_acl_arn(&arn)
            .resource_type(wt::ResourceType::ApiGateway)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to list what {name} protects")))?;
        for resource in protected
            .map(|p| p.resource_arns)
            .unwrap_or_default()
            .unwrap_or_default()
        {
            let call = aws
                .waf
                .disassociate_web_acl()
                .resource_arn(&resource)
                .send();
            aws.mutate(WAF, format!("failed to take {name} off {resource}"), call)
                .await?;
        }
        let Some((_, token)) = get(aws, name, &id).await? else {
            return Ok(());
        };
        let call = aws
            .waf
            .delete_web_acl()
            .name(name)
            .scope(wt::Scope::Regional)
            .id(&id)
            .lock_token(token)
            .send();
        aws.mutate(WAF, format!("failed to delete WAF web ACL {name}"), call)
            .await
            .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let names = acls(aws)
            .await?
            .into_iter()
            .map(|(name, id, arn)| {
                let outputs = Outputs::from([("id".to_string(), id), ("arn".to_string(), arn)]);
                (name, outputs)
            })
            .collect();
        listed(names, prefix, skip, |_, outputs| async move {
            tags_of(aws, &outputs["arn"]).await.map(Some)
        })
        .await
    }
}
