//! SNS: the alerts topic (with its policy) and its subscriptions.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{spec, Aws, AwsError};
use crate::model::sns::{SubscriptionsSpec, TopicSpec};
use crate::model::{policy, Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_sns::types::Tag;
use serde_json::{json, Value};

const NOT_FOUND: &[&str] = &["NotFound", "NotFoundException"];

fn topic_arn(aws: &Aws, name: &str) -> String {
    format!("arn:aws:sns:{}:{}:{name}", aws.region, aws.account)
}

async fn topic_tags(aws: &Aws, arn: &str) -> Result<Tags, AwsError> {
    let out = aws
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to list tags of SNS topic {arn}"))
        })?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

fn tag_list(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::msg(format!("invalid SNS tag: {e}")))
        })
        .collect()
}

async fn set_attribute(aws: &Aws, arn: &str, name: &str, value: &str) -> Result<(), AwsError> {
    aws.throttle(Service::Sns).await;
    aws.sns
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name(name)
        .attribute_value(value)
        .send()
        .await
        .map_err(|e| {
            AwsError::from(e).context(format!("failed to set {name} of SNS topic {arn}"))
        })?;
    Ok(())
}

/// The alerts topic.
pub struct Topic;

#[async_trait]
impl Provider for Topic {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let arn = topic_arn(aws, name);
        let attrs = match aws.sns.get_topic_attributes().topic_arn(&arn).send().await {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read SNS topic {name}")))
                };
            }
        };
        let doc: Value = attrs
            .get("Policy")
            .map(|p| serde_json::from_str(p).unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        let spec = TopicSpec {
            name: name.clone(),
            kms_key: attrs
                .get("KmsMasterKeyId")
                .filter(|k| !k.is_empty())
                .cloned(),
            policy: policy::normalize(&doc),
            tags: topic_tags(aws, &arn).await?,
        };
        Ok(Some(serde_json::to_value(spec).expect("specs serialise")))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: TopicSpec = spec(&desired.spec)?;
        aws.throttle(Service::Sns).await;
        let mut req = aws
            .sns
            .create_topic()
            .name(&s.name)
            .attributes("Policy", s.policy.to_string())
            .set_tags(Some(tag_list(&s.tags)?));
        if let Some(key) = &s.kms_key {
            req = req.attributes("KmsMasterKeyId", key);
        }
        req.send().await.map_err(|e| {
            AwsError::from(e).context(format!("failed to create SNS topic {}", s.name))
        })?;
        // CreateTopic returns an existing topic unchanged: converge its settings too.
        let live = self.read(aws, desired).await?.ok_or_else(|| {
            AwsError::msg(format!("SNS topic {} vanished after creation", s.name))
        })?;
        self.update(aws, desired, &live).await
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: TopicSpec = spec(&desired.spec)?;
        let l: TopicSpec = spec(live)?;
        let arn = topic_arn(aws, &s.name);
        if s.policy != l.policy {
            set_attribute(aws, &arn, "Policy", &s.policy.to_string()).await?;
        }
        if s.kms_key != l.kms_key {
            set_attribute(
                aws,
                &arn,
                "KmsMasterKeyId",
                s.kms_key.as_deref().unwrap_or(""),
            )
            .await?;
        }
        let stale = crate::model::stale_tags(&s.tags, &l.tags);
        if !stale.is_empty() {
            aws.throttle(Service::Sns).await;
            aws.sns
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to untag SNS topic {}", s.name))
                })?;
        }
        let changed: Tags = crate::model::changed_tags(&s.tags, &l.tags)
            .into_iter()
            .collect();
        if !changed.is_empty() {
            aws.throttle(Service::Sns).await;
            aws.sns
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(tag_list(&changed)?))
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to tag SNS topic {}", s.name))
                })?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        // Deleting a topic also deletes its subscriptions; DeleteTopic is idempotent.
        aws.throttle(Service::Sns).await;
        if let Err(e) = aws
            .sns
            .delete_topic()
            .topic_arn(topic_arn(aws, physical))
            .send()
            .await
        {
            let e = AwsError::from(e);
            if !e.is(NOT_FOUND) {
                return Err(e.context(format!("failed to delete SNS topic {physical}")));
            }
        }
        Ok(())
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = aws.sns.list_topics().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from(e).context("failed to list SNS topics"))?;
            for topic in page.topics() {
                let arn = topic.topic_arn().unwrap_or_default();
                let name = arn.rsplit(':').next().unwrap_or_default();
                if !name.starts_with(prefix) || skip.iter().any(|s| s == name) {
                    continue;
                }
                let tags = match topic_tags(aws, arn).await {
                    Ok(t) => t,
                    Err(e) if e.is(NOT_FOUND) || e.is(&["ResourceNotFound"]) => continue,
                    Err(e) => return Err(e),
                };
                out.push(Listed {
                    physical: name.to_string(),
                    spec: json!({"name": name, "tags": tags}),
                });
            }
        }
        Ok(out)
    }
}

/// The subscriptions of a topic with `protocol`: (lowercase endpoint, subscription ARN).
/// `Ok(None)` if the topic does not exist.
async fn subscriptions(
    aws: &Aws,
    topic: &str,
    protocol: &str,
) -> Result<Option<Vec<(String, String)>>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let e = AwsError::from(e);
                if e.is(NOT_FOUND) {
                    return Ok(None);
                }
                return Err(e.context(format!("failed to list subscriptions of SNS topic {topic}")));
            }
        };
        for s in page.subscriptions() {
            if s.protocol() == Some(protocol) {
                out.push((
                    s.endpoint().unwrap_or_default().to_ascii_lowercase(),
                    s.subscription_arn().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    Ok(Some(out))
}

async fn unsubscribe(aws: &Aws, topic: &str, endpoint: &str, arn: &str) -> Result<(), AwsError> {
    if !arn.starts_with("arn:") {
        tracing::warn!(
            "the subscription of {endpoint} to {topic} is pending confirmation and cannot be removed; \
             AWS deletes it after 3 days, or with the topic"
        );
        return Ok(());
    }
    aws.throttle(Service::Sns).await;
    if let Err(e) = aws.sns.unsubscribe().subscription_arn(arn).send().await {
        let e = AwsError::from(e);
        if !e.is(NOT_FOUND) {
            return Err(e.context(format!("failed to unsubscribe {endpoint} from {topic}")));
        }
    }
    Ok(())
}

/// The e-mail subscriptions of a topic, converged as one set: missing addresses are
/// subscribed, addresses no longer declared are unsubscribed.
pub struct Subscriptions;

#[async_trait]
impl Provider for Subscriptions {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: SubscriptionsSpec = spec(&desired.spec)?;
        Ok(subscriptions(aws, &s.topic_arn, &s.protocol)
            .await?
            .map(|subs| {
                let mut endpoints: Vec<String> = subs.into_iter().map(|(e, _)| e).collect();
                endpoints.sort();
                endpoints.dedup();
                serde_json::to_value(SubscriptionsSpec { endpoints, ..s }).expect("specs serialise")
            }))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: SubscriptionsSpec = spec(&desired.spec)?;
        let live = subscriptions(aws, &s.topic_arn, &s.protocol)
            .await?
            .unwrap_or_default();
        for endpoint in &s.endpoints {
            if live.iter().any(|(e, _)| e == endpoint) {
                continue;
            }
            aws.throttle(Service::Sns).await;
            aws.sns
                .subscribe()
                .topic_arn(&s.topic_arn)
                .protocol(&s.protocol)
                .endpoint(endpoint)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e)
                        .context(format!("failed to subscribe {endpoint} to {}", s.topic_arn))
                })?;
        }
        for (endpoint, arn) in &live {
            if !s.endpoints.contains(endpoint) {
                unsubscribe(aws, &s.topic_arn, endpoint, arn).await?;
            }
        }
        Ok(())
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        self.create(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let protocol = live
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("email");
        for (endpoint, arn) in subscriptions(aws, physical, protocol)
            .await?
            .unwrap_or_default()
        {
            unsubscribe(aws, physical, &endpoint, &arn).await?;
        }
        Ok(())
    }
}
