//! SNS: the alerts topic (with its policy) and its subscriptions.

use super::kit::{all_pages, converge_tags, listed, Absent};
use super::{built, Aws, AwsError, Changes, Gone, Inputs, Listed, Observed, Outputs, Provider};
use crate::aws::Found;
use crate::model::sns::{SubscriptionsSpec, TopicSpec};
use crate::model::{policy, Service, Tags};
use async_trait::async_trait;
use aws_sdk_sns::types::Tag;
use serde_json::Value;

const NOT_FOUND: &[&str] = &["NotFound", "NotFoundException"];
const SNS: Service = Service::Sns;

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
    let tag = |(k, v): (&String, &String)| built(Tag::builder().key(k).value(v).build());
    tags.iter().map(tag).collect()
}

async fn set_attribute(aws: &Aws, arn: &str, name: &str, value: &str) -> Result<(), AwsError> {
    let call = aws
        .sns
        .set_topic_attributes()
        .topic_arn(arn)
        .attribute_name(name)
        .attribute_value(value)
        .send();
    aws.mutate(
        SNS,
        format!("failed to set {name} of SNS topic {arn}"),
        call,
    )
    .await?;
    Ok(())
}

async fn read_topic(aws: &Aws, name: &str) -> Result<Option<Observed<TopicSpec>>, AwsError> {
    let arn = topic_arn(aws, name);
    let found = aws
        .sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .map_err(AwsError::from)
        .or_absent(NOT_FOUND)
        .map_err(|e| e.context(format!("failed to read SNS topic {name}")))?;
    let Some(out) = found else {
        return Ok(None);
    };
    let attrs = out.attributes.unwrap_or_default();
    let doc: Value = attrs
        .get("Policy")
        .map(|p| serde_json::from_str(p).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let spec = TopicSpec {
        name: name.to_string(),
        kms_key: attrs
            .get("KmsMasterKeyId")
            .filter(|k| !k.is_empty())
            .cloned(),
        policy: policy::normalize(&doc),
        tags: topic_tags(aws, &arn).await?,
    };
    Ok(Some(Observed::with(spec, "arn", arn)))
}

/// The alerts topic.
pub struct Topic;

#[async_trait]
impl Provider for Topic {
    type Spec = TopicSpec;

    async fn read(&self, aws: &Aws, desired: &TopicSpec, _: &Inputs) -> Found<TopicSpec> {
        read_topic(aws, &desired.name).await
    }

    async fn create(&self, aws: &Aws, s: &TopicSpec, inputs: &Inputs) -> Result<Outputs, AwsError> {
        let mut req = aws
            .sns
            .create_topic()
            .name(&s.name)
            .attributes("Policy", policy::wire(&s.policy))
            .set_tags(Some(tag_list(&s.tags)?));
        if let Some(key) = &s.kms_key {
            req = req.attributes("KmsMasterKeyId", key);
        }
        let what = format!("failed to create SNS topic {}", s.name);
        aws.mutate(SNS, what, req.send()).await?;
        // CreateTopic returns an existing topic unchanged: converge its settings too.
        self.settle(aws, s, inputs).await
    }

    /// Brings a live topic to the declaration where `changes` says they differ; shared by create
    /// (against the read-back) and update (against the plan).
    async fn update(
        &self,
        aws: &Aws,
        s: &TopicSpec,
        live: &Observed<TopicSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let l = live;
        let name = &s.name;
        let arn = &topic_arn(aws, name);
        if changes.touches("policy") {
            set_attribute(aws, arn, "Policy", &policy::wire(&s.policy)).await?;
        }
        if changes.touches("kms_key") {
            let key = s.kms_key.as_deref().unwrap_or("");
            set_attribute(aws, arn, "KmsMasterKeyId", key).await?;
        }
        if changes.touches("tags") {
            converge_tags(
                aws,
                SNS,
                &format!("SNS topic {name}"),
                (&s.tags, &l.spec.tags),
                |stale| {
                    aws.sns
                        .untag_resource()
                        .resource_arn(arn)
                        .set_tag_keys(Some(stale))
                        .send()
                },
                |set| async move {
                    let call = aws.sns.tag_resource().resource_arn(arn);
                    Ok::<_, AwsError>(call.set_tags(Some(tag_list(&set)?)).send().await?)
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Deleting a topic also deletes its subscriptions; DeleteTopic is idempotent.
    async fn delete(&self, aws: &Aws, gone: &Gone<TopicSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let call = aws
            .sns
            .delete_topic()
            .topic_arn(topic_arn(aws, name))
            .send();
        aws.mutate(SNS, format!("failed to delete SNS topic {name}"), call)
            .await
            .tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let pages = aws.sns.list_topics().into_paginator().items().send();
        let topics: Result<Vec<_>, _> = pages.collect().await;
        let topics = topics.map_err(|e| AwsError::from(e).context("failed to list SNS topics"))?;
        let names: Vec<_> = topics
            .iter()
            .filter_map(|t| t.topic_arn())
            .map(|arn| {
                let name = arn.rsplit(':').next().unwrap_or_default().to_string();
                (name, Outputs::from([("arn".to_string(), arn.to_string())]))
            })
            .collect();
        let gone = [NOT_FOUND, &["ResourceNotFound"]].concat();
        let gone = &gone;
        listed(names, prefix, skip, |_, outputs| async move {
            topic_tags(aws, &outputs["arn"]).await.or_absent(gone)
        })
        .await
    }
}

/// The subscriptions of a topic with `protocol`: (lowercase endpoint, subscription ARN).
/// `Ok(None)` if the topic does not exist.
async fn subscriptions(
    aws: &Aws,
    topic: &str,
    protocol: &str,
) -> Result<Option<Vec<(String, String)>>, AwsError> {
    let pages = aws.sns.list_subscriptions_by_topic().topic_arn(topic);
    let what = format!("failed to list subscriptions of SNS topic {topic}");
    let Some(pages) = all_pages(pages.into_paginator().send(), what)
        .await
        .or_absent(NOT_FOUND)?
    else {
        return Ok(None);
    };
    let all = pages.iter().flat_map(|p| p.subscriptions());
    let wanted = all.filter(|s| s.protocol() == Some(protocol)).map(|s| {
        (
            s.endpoint().unwrap_or_default().to_ascii_lowercase(),
            s.subscription_arn().unwrap_or_default().to_string(),
        )
    });
    Ok(Some(wanted.collect()))
}

async fn unsubscribe(aws: &Aws, topic: &str, endpoint: &str, arn: &str) -> Result<(), AwsError> {
    if !arn.starts_with("arn:") {
        tracing::warn!(
            "the subscription of {endpoint} to {topic} is pending confirmation and cannot be removed; \
             AWS deletes it after 3 days, or with the topic"
        );
        return Ok(());
    }
    let call = aws.sns.unsubscribe().subscription_arn(arn).send();
    let what = format!("failed to unsubscribe {endpoint} from {topic}");
    aws.mutate(SNS, what, call).await.tolerate(NOT_FOUND)
}

/// The e-mail subscriptions of a topic, converged as one set: missing addresses are
/// subscribed, addresses no longer declared are unsubscribed.
pub struct Subscriptions;

/// Subscribes the declared endpoints that are missing and unsubscribes the others; the live
/// set is listed again because unsubscribing needs the subscription ARNs.
async fn converge_subscriptions(aws: &Aws, s: &SubscriptionsSpec) -> Result<(), AwsError> {
    let topic = &s.topic_arn;
    let live = subscriptions(aws, topic, &s.protocol)
        .await?
        .unwrap_or_default();
    for endpoint in &s.endpoints {
        if live.iter().any(|(e, _)| e == endpoint) {
            continue;
        }
        let call = aws
            .sns
            .subscribe()
            .topic_arn(topic)
            .protocol(&s.protocol)
            .endpoint(endpoint)
            .send();
        let what = format!("failed to subscribe {endpoint} to {topic}");
        aws.mutate(SNS, what, call).await?;
    }
    for (endpoint, arn) in &live {
        if !s.endpoints.contains(endpoint) {
            unsubscribe(aws, topic, endpoint, arn).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Provider for Subscriptions {
    type Spec = SubscriptionsSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &SubscriptionsSpec,
        _: &Inputs,
    ) -> Found<SubscriptionsSpec> {
        let found = subscriptions(aws, &desired.topic_arn, &desired.protocol).await?;
        Ok(found.map(|subs| {
            let mut endpoints: Vec<String> = subs.into_iter().map(|(e, _)| e).collect();
            endpoints.sort();
            endpoints.dedup();
            Observed::bare(SubscriptionsSpec {
                endpoints,
                ..desired.clone()
            })
        }))
    }

    async fn create(
        &self,
        aws: &Aws,
        desired: &SubscriptionsSpec,
        _: &Inputs,
    ) -> Result<Outputs, AwsError> {
        converge_subscriptions(aws, desired).await?;
        Ok(Outputs::new())
    }

    async fn update(
        &self,
        aws: &Aws,
        desired: &SubscriptionsSpec,
        _live: &Observed<SubscriptionsSpec>,
        _changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        converge_subscriptions(aws, desired).await
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<SubscriptionsSpec>) -> Result<(), AwsError> {
        let topic = &gone.physical;
        let protocol = gone.spec.as_ref().map_or("email", |s| s.protocol.as_str());
        let live = subscriptions(aws, topic, protocol).await?;
        for (endpoint, arn) in live.unwrap_or_default() {
            unsubscribe(aws, topic, &endpoint, &arn).await?;
        }
        Ok(())
    }
}
