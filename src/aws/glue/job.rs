//! The Glue Spark ETL job.

use super::{arn, glue_tags, hash_tags, Found, Named, NOT_FOUND};
use crate::aws::kit::{sent, Absent};
use crate::aws::{Aws, AwsError, Inputs, Observed};
use crate::model::catalog::JobSpec;
use crate::model::Tags;
use async_trait::async_trait;
use aws_sdk_glue::types as gt;
use std::collections::HashMap;

fn job_command(s: &JobSpec) -> gt::JobCommand {
    gt::JobCommand::builder()
        .name(&s.command)
        .script_location(&s.script_location)
        .python_version(&s.python_version)
        .build()
}

fn job_connections(s: &JobSpec) -> gt::ConnectionsList {
    gt::ConnectionsList::builder()
        .set_connections(Some(s.connections.clone()))
        .build()
}

fn job_arguments(s: &JobSpec) -> HashMap<String, String> {
    s.default_arguments
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A Glue ETL job.
pub struct Job;

/// The job's settings, set alike on CreateJob's builder and on UpdateJob's `JobUpdate`: two
/// SDK builder types with the same setters and no common trait, hence a macro.
macro_rules! job_settings {
    ($builder:expr, $s:expr) => {
        $builder
            .role(&$s.role)
            .command(job_command($s))
            .glue_version(&$s.glue_version)
            .worker_type(gt::WorkerType::from($s.worker_type.as_str()))
            .number_of_workers($s.workers)
            .timeout($s.timeout_minutes)
            .max_retries($s.max_retries)
            .set_default_arguments(Some(job_arguments($s)))
            .connections(job_connections($s))
            .set_security_configuration($s.security_configuration.clone())
    };
}

#[async_trait]
impl Named for Job {
    type Spec = JobSpec;
    const NOUN: &'static str = "Glue job";
    const ARN_TYPE: &'static str = "job";
    const EXISTS: &'static [&'static str] = &[
        "IdempotentParameterMismatchException",
        "AlreadyExistsException",
    ];
    const SETTINGS: &'static [&'static str] = &[
        "role",
        "command",
        "script_location",
        "python_version",
        "glue_version",
        "worker_type",
        "workers",
        "timeout_minutes",
        "max_retries",
        "default_arguments",
        "connections",
        "security_configuration",
    ];

    fn tags(s: &JobSpec) -> &Tags {
        &s.tags
    }

    async fn read_named(aws: &Aws, name: &str, _inputs: &Inputs) -> Found<JobSpec> {
        let out = aws
            .glue
            .get_job()
            .job_name(name)
            .send()
            .await
            .map_err(AwsError::from)
            .or_absent(NOT_FOUND)
            .map_err(|e| e.context(format!("failed to read Glue job {name}")))?;
        let Some(j) = out.and_then(|o| o.job) else {
            return Ok(None);
        };
        let cmd = j.command();
        let arn = arn::<Self>(aws, name);
        let spec = JobSpec {
            name: name.to_string(),
            role: j.role().unwrap_or_default().to_string(),
            command: cmd.and_then(|c| c.name()).unwrap_or_default().to_string(),
            script_location: cmd
                .and_then(|c| c.script_location())
                .unwrap_or_default()
                .to_string(),
            python_version: cmd
                .and_then(|c| c.python_version())
                .unwrap_or_default()
                .to_string(),
            glue_version: j.glue_version().unwrap_or_default().to_string(),
            worker_type: j
                .worker_type()
                .map(|w| w.as_str().to_string())
                .unwrap_or_default(),
            workers: j.number_of_workers().unwrap_or_default(),
            timeout_minutes: j.timeout().unwrap_or_default(),
            max_retries: j.max_retries(),
            default_arguments: j
                .default_arguments()
                .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            connections: j
                .connections()
                .map(|c| c.connections().to_vec())
                .unwrap_or_default(),
            security_configuration: j.security_configuration().map(str::to_string),
            tags: glue_tags(aws, &arn).await?,
        };
        Ok(Some(Observed::with(spec, "arn", arn)))
    }

    async fn create_call(aws: &Aws, s: &JobSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let call = job_settings!(aws.glue.create_job().name(&s.name), s);
        sent(call.set_tags(Some(hash_tags(&s.tags))).send()).await
    }

    async fn put_settings(aws: &Aws, s: &JobSpec, _inputs: &Inputs) -> Result<(), AwsError> {
        let update = job_settings!(gt::JobUpdate::builder(), s).build();
        let call = aws.glue.update_job().job_name(&s.name).job_update(update);
        sent(call.send()).await
    }

    async fn delete_named(aws: &Aws, name: &str) -> Result<(), AwsError> {
        sent(aws.glue.delete_job().job_name(name).send())
            .await
            .tolerate(NOT_FOUND)
    }

    async fn names(aws: &Aws) -> Result<Vec<String>, AwsError> {
        let pages = aws.glue.list_jobs().into_paginator().items().send();
        let all: Result<Vec<_>, _> = pages.collect().await;
        all.map_err(|e| AwsError::from(e).context("failed to list Glue jobs"))
    }
}
