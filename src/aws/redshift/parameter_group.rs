//! The cluster parameter group: the parameters the stack sets (TLS required, user activity
//! logged for the audit logs). Its live parameters are those Redshift reports with source
//! `user`, so one set by hand shows as a change and is reset.
//!
//! Redshift applies a static parameter to a cluster at its next reboot; a cluster made with
//! the group has it from the start.
//! https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-parameter-groups.html

use super::{converge_arn_tags, tag, tags_of, REDSHIFT};
use crate::aws::kit::{listed_with_tags, Absent};
use crate::aws::{
    Aws, AwsError, Changes, Found, Gone, Inputs, Listed, Observed, Outputs, Provider,
};
use crate::model::redshift::ParameterGroupSpec;
use async_trait::async_trait;
use aws_sdk_redshift::types as rt;
use std::collections::BTreeMap;

const NOT_FOUND: &[&str] = &[
    "ClusterParameterGroupNotFound",
    "ClusterParameterGroupNotFoundFault",
];

fn group_arn(aws: &Aws, name: &str) -> String {
    format!(
        "arn:aws:redshift:{}:{}:parametergroup:{name}",
        aws.region, aws.account
    )
}

/// The groups whose names start with `prefix` (all of them for an empty one).
async fn groups(aws: &Aws, prefix: &str) -> Result<Vec<rt::ClusterParameterGroup>, AwsError> {
    let all: Result<Vec<_>, _> = aws
        .redshift
        .describe_cluster_parameter_groups()
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    let all = all.map_err(|e| {
        AwsError::from(e).context("failed to list the Redshift cluster parameter groups")
    })?;
    Ok(all
        .into_iter()
        .filter(|g| {
            g.parameter_group_name()
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect())
}

/// The parameters of `name` set to other than their defaults.
async fn user_parameters(aws: &Aws, name: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let all: Result<Vec<_>, _> = aws
        .redshift
        .describe_cluster_parameters()
        .parameter_group_name(name)
        .source("user")
        .into_paginator()
        .items()
        .send()
        .collect()
        .await;
    let all = all.map_err(|e| {
        AwsError::from(e).context(format!("failed to read the parameters of {name}"))
    })?;
    Ok(all
        .into_iter()
        .filter_map(|p| {
            Some((
                p.parameter_name()?.to_string(),
                p.parameter_value().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}

fn parameter(name: &str, value: Option<&str>) -> rt::Parameter {
    rt::Parameter::builder()
        .parameter_name(name)
        .set_parameter_value(value.map(str::to_string))
        .build()
}

/// A Redshift cluster parameter group.
pub struct ParameterGroup;

#[async_trait]
impl Provider for ParameterGroup {
    type Spec = ParameterGroupSpec;

    async fn read(
        &self,
        aws: &Aws,
        desired: &ParameterGroupSpec,
        _: &Inputs,
    ) -> Found<ParameterGroupSpec> {
        let name = &desired.name;
        let out = aws
            .redshift
            .describe_cluster_parameter_groups()
            .parameter_group_name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Redshift parameter group {name}")))?;
        let Some(g) = out.and_then(|o| o.parameter_groups.unwrap_or_default().into_iter().next())
        else {
            return Ok(None);
        };
        let spec = ParameterGroupSpec {
            name: name.clone(),
            family: g.parameter_group_family().unwrap_or_default().to_string(),
            description: g.description().unwrap_or_default().to_string(),
            parameters: user_parameters(aws, name).await?,
            tags: tags_of(g.tags()),
        };
        Ok(Some(Observed::with(spec, "arn", group_arn(aws, name))))
    }

    async fn create(
        &self,
        aws: &Aws,
        s: &ParameterGroupSpec,
        inputs: &Inputs,
    ) -> Result<Outputs, AwsError> {
        let call = aws
            .redshift
            .create_cluster_parameter_group()
            .parameter_group_name(&s.name)
            .parameter_group_family(&s.family)
            .description(&s.description)
            .set_tags(Some(s.tags.iter().map(|(k, v)| tag(k, v)).collect()))
            .send();
        let what = format!("failed to create Redshift parameter group {}", s.name);
        aws.mutate(REDSHIFT, what, call).await.tolerate(&[
            "ClusterParameterGroupAlreadyExists",
            "ClusterParameterGroupAlreadyExistsFault",
        ])?;
        // The parameters, and what an interrupted run's group lacks.
        self.settle(aws, s, inputs).await
    }

    async fn update(
        &self,
        aws: &Aws,
        s: &ParameterGroupSpec,
        live: &Observed<ParameterGroupSpec>,
        changes: &Changes,
        _: &Inputs,
    ) -> Result<(), AwsError> {
        let name = &s.name;
        let l = &live.spec;
        if changes.touches("parameters") {
            let stale: Vec<_> = l
                .parameters
                .keys()
                .filter(|k| !s.parameters.contains_key(*k))
                .map(|k| parameter(k, None))
                .collect();
            if !stale.is_empty() {
                let call = aws
                    .redshift
                    .reset_cluster_parameter_group()
                    .parameter_group_name(name)
                    .set_parameters(Some(stale))
                    .send();
                let what = format!("failed to reset parameters of {name}");
                aws.mutate(REDSHIFT, what, call).await?;
            }
            let set: Vec<_> = s
                .parameters
                .iter()
                .filter(|(k, v)| l.parameters.get(*k) != Some(*v))
                .map(|(k, v)| parameter(k, Some(v)))
                .collect();
            if !set.is_empty() {
                let call = aws
                    .redshift
                    .modify_cluster_parameter_group()
                    .parameter_group_name(name)
                    .set_parameters(Some(set))
                    .send();
                let what = format!("failed to set parameters of {name}");
                aws.mutate(REDSHIFT, what, call).await?;
            }
        }
        if changes.touches("tags") {
            let what = format!("Redshift parameter group {name}");
            converge_arn_tags(aws, &what, &group_arn(aws, name), &s.tags, &l.tags).await?;
        }
        Ok(())
    }

    async fn delete(&self, aws: &Aws, gone: &Gone<ParameterGroupSpec>) -> Result<(), AwsError> {
        let name = &gone.physical;
        let call = aws
            .redshift
            .delete_cluster_parameter_group()
            .parameter_group_name(name)
            .send();
        let what = format!("failed to delete Redshift parameter group {name}");
        aws.mutate(REDSHIFT, what, call).await.tolerate(NOT_FOUND)
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let found = groups(aws, prefix).await?;
        let found = found.iter().map(|g| {
            let name = g.parameter_group_name().unwrap_or_default().to_string();
            let arn = Outputs::from([("arn".to_string(), group_arn(aws, &name))]);
            (name, tags_of(g.tags()), arn)
        });
        Ok(listed_with_tags(found, prefix, skip))
    }
}
