//! The Glue JDBC connection to the Redshift cluster. Its URL, the secret of the master
//! password and its network placement come from the cluster's outputs.

use super::{arn, glue_tags, hash_tags, Found, Named, NOT_FOUND};
use crate::aws::kit::{sent, Absent};
use crate::aws::redshift::{jdbc_target, parse_jdbc, JdbcTarget};
use crate::aws::{built, Aws, AwsError, Inputs, Observed};
use crate::model::catalog::ConnectionSpec;
use crate::model::Tags;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;

fn connection_input(s: &ConnectionSpec, t: &JdbcTarget) -> Result<gt::ConnectionInput, AwsError> {
    let mut b = gt::ConnectionInput::builder()
        .name(&s.name)
        .description(format!("JDBC to Redshift cluster {}", s.cluster))
        .connection_type(gt::ConnectionType::Jdbc)
        .connection_properties(gt::ConnectionPropertyKey::JdbcConnectionUrl, &t.url)
        .connection_properties(gt::ConnectionPropertyKey::JdbcEnforceSsl, "true");
    // The password is never in the connection: the job reads the cluster's AWS-managed
    // secret. Real AWS always reports it for a cluster with ManageMasterPassword.
    if let Some(secret) = &t.secret {
        b = b.connection_properties(gt::ConnectionPropertyKey::SecretId, secret);
    }
    if t.availability_zone.is_some() || !t.security_groups.is_empty() || t.subnet.is_some() {
        b = b.physical_connection_requirements(
            gt::PhysicalConnectionRequirements::builder()
                .set_availability_zone(t.availability_zone.clone())
                .set_subnet_id(t.subnet.clone())
                .set_security_group_id_list(Some(t.security_groups.clone()))
                .build(),
        );
    }
    built(b.build())
}

/// The JDBC target of the declared database, or an error naming who needs it.
fn target(s: &ConnectionSpec, inputs: &Inputs) -> Result<JdbcTarget, AwsError> {
    jdbc_target(inputs, &s.database, s.port).ok_or_else(|| {
        AwsError::msg(format!(
            "Redshift cluster {} has no endpoint yet; the connection {} needs it",
            s.cluster, s.name
        ))
    })
}

/// A Glue JDBC connection to the Redshift cluster.
pub struct Connection;

#[async_trait]
impl Named for Connection {
    type Spec = ConnectionSpec;
    const NOUN: &'static str = "Glue connection";
    const ARN_TYPE: &'static str = "connection";
    const SETTINGS: &'static [&'static str] = &["cluster", "database", "port", "matches_cluster"];

    fn tags(s: &ConnectionSpec) -> &Tags {
        &s.tags
    }

    async fn read_named(aws: &Aws, name: &str, inputs: &Inputs) -> Found<ConnectionSpec> {
        let out = aws
            .glue
            .get_connection()
            .name(name)
            .hide_password(true)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Glue connection {name}")))?;
        let Some(c) = out.and_then(|o| o.connection) else {
            return Ok(None);
        };
        let props = c.connection_properties().cloned().unwrap_or_default();
        let url = props
            .get(&gt::ConnectionPropertyKey::JdbcConnectionUrl)
            .cloned()
            .unwrap_or_default();
        let (host, port, database) = parse_jdbc(&url).unwrap_or_default();
        let cluster = host.split('.').next().unwrap_or_default().to_string();
        let arn = arn::<Self>(aws, name);
        let matches_cluster = jdbc_target(inputs, &database, port).is_some_and(|t| {
            let pcr = c.physical_connection_requirements();
            let mut groups: Vec<String> = pcr
                .map(|p| p.security_group_id_list().to_vec())
                .unwrap_or_default();
            groups.sort();
            t.url == url
                && t.secret.as_ref() == props.get(&gt::ConnectionPropertyKey::SecretId)
                && t.availability_zone.as_deref() == pcr.and_then(|p| p.availability_zone())
                && t.subnet.as_deref() == pcr.and_then(|p| p.subnet_id())
                && t.security_groups == groups
        });
        let spec = ConnectionSpec {
            name: name.to_string(),
            cluster,
            database,
            port,
            matches_cluster,
            tags: glue_tags(aws, &arn).await?,
        };
        Ok(Some(Observed::with(spec, "arn", arn)))
    }

    async fn create_call(aws: &Aws, s: &ConnectionSpec, inputs: &Inputs) -> Result<(), AwsError> {
        let input = connection_input(s, &target(s, inputs)?)?;
        let call = aws.glue.create_connection().connection_input(input);
        sent(call.set_tags(Some(hash_tags(&s.tags))).send()).await
    }

    async fn put_settings(aws: &Aws, s: &ConnectionSpec, inputs: &Inputs) -> Result<(), AwsError> {
        let input = connection_input(s, &target(s, inputs)?)?;
        let call = aws.glue.update_connection().name(&s.name);
        sent(call.connection_input(input).send()).await
    }

    async fn delete_named(aws: &Aws, name: &str) -> Result<(), AwsError> {
        sent(aws.glue.delete_connection().connection_name(name).send())
            .await
            .tolerate(NOT_FOUND)
    }

    async fn names(aws: &Aws) -> Result<Vec<String>, AwsError> {
        let mut names = Vec::new();
        let mut pages = aws
            .glue
            .get_connections()
            .hide_password(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Glue connections"))?;
            names.extend(
                page.connection_list()
                    .iter()
                    .filter_map(|c| c.name().map(str::to_string)),
            );
        }
        Ok(names)
    }
}
