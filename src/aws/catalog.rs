//! Providers of the catalog kinds: the Glue database, table, crawler, connection and job. The
//! Firehose delivery stream is in `firehose.rs`; the uploaded script object in `s3/object.rs`.
//!
//! Emulator gaps (moto 5.2): Glue `UpdateCrawler`, `UpdateJob`, `UpdateConnection` and
//! `DeleteConnection` are not implemented (HTTP 500). The tests' emulator
//! (`tests/testkit/moto_ext.py`) adds them, as documented for AWS.

use super::legacy::{LegacyProvider as Provider, Listed};
use super::{built, Aws, AwsError};
use crate::model::catalog::*;
use crate::model::{Kind, Resource, Service, Tags};
use async_trait::async_trait;
use aws_sdk_glue::types as gt;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const GLUE_NOT_FOUND: &[&str] = &["EntityNotFoundException"];
const GLUE_EXISTS: &[&str] = &["AlreadyExistsException"];

pub(super) fn typed<S: serde::de::DeserializeOwned>(v: &Value, kind: Kind) -> Result<S, AwsError> {
    serde_json::from_value(v.clone())
        .map_err(|e| AwsError::msg(format!("malformed {kind} spec: {e}")))
}

pub(super) fn to_value<S: serde::Serialize>(s: &S) -> Value {
    serde_json::to_value(s).expect("specs serialise")
}

/// Tolerates the codes in `ok` (e.g. "not found" on delete).
pub(super) fn tolerate<T>(r: Result<T, AwsError>, ok: &[&str]) -> Result<(), AwsError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is(ok) => Ok(()),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Glue tags

fn glue_arn(aws: &Aws, what: &str) -> String {
    format!("arn:aws:glue:{}:{}:{what}", aws.region, aws.account)
}

async fn glue_tags(aws: &Aws, arn: &str) -> Result<Tags, AwsError> {
    let out = aws
        .glue
        .get_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| AwsError::from(e).context(format!("failed to read tags of {arn}")))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

async fn converge_glue_tags(
    aws: &Aws,
    arn: &str,
    wanted: &Tags,
    live: &Tags,
) -> Result<(), AwsError> {
    let stale: Vec<String> = live
        .keys()
        .filter(|k| !wanted.contains_key(*k))
        .cloned()
        .collect();
    if !stale.is_empty() {
        aws.throttle(Service::Glue).await;
        aws.glue
            .untag_resource()
            .resource_arn(arn)
            .set_tags_to_remove(Some(stale))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context(format!("failed to untag {arn}")))?;
    }
    let changed: HashMap<String, String> = wanted
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        aws.throttle(Service::Glue).await;
        aws.glue
            .tag_resource()
            .resource_arn(arn)
            .set_tags_to_add(Some(changed))
            .send()
            .await
            .map_err(|e| AwsError::from(e).context(format!("failed to tag {arn}")))?;
    }
    Ok(())
}

fn hash_tags(tags: &Tags) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Lists Glue resources named with the instance prefix (in either alphabet: Glue catalog
/// names use `_` for `-`), with their tags.
async fn listed_with_tags(
    aws: &Aws,
    names: Vec<String>,
    prefix: &str,
    skip: &[String],
    arn_of: impl Fn(&str) -> String,
) -> Result<Vec<Listed>, AwsError> {
    let glue_prefix = prefix.to_ascii_lowercase().replace('-', "_");
    let mut out = Vec::new();
    for name in names {
        if !(name.starts_with(prefix) || name.starts_with(&glue_prefix)) || skip.contains(&name) {
            continue;
        }
        let tags = match glue_tags(aws, &arn_of(&name)).await {
            Ok(t) => t,
            Err(e) if e.is(GLUE_NOT_FOUND) => continue,
            Err(e) => return Err(e),
        };
        out.push(Listed {
            physical: name.clone(),
            spec: serde_json::json!({"name": name, "tags": tags}),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Glue database

/// A Glue database.
pub struct Database;

#[async_trait]
impl Provider for Database {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let db = match aws.glue.get_database().name(name).send().await {
            Ok(out) => match out.database {
                Some(d) => d,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(GLUE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read Glue database {name}")))
                };
            }
        };
        let tags = glue_tags(aws, &glue_arn(aws, &format!("database/{name}"))).await?;
        Ok(Some(to_value(&DatabaseSpec {
            name: name.clone(),
            description: db.description().unwrap_or_default().to_string(),
            tags,
        })))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: DatabaseSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .create_database()
            .database_input(built(
                gt::DatabaseInput::builder()
                    .name(&s.name)
                    .description(&s.description)
                    .build(),
            )?)
            .set_tags(Some(hash_tags(&s.tags)))
            .send()
            .await
            .map_err(AwsError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.is(GLUE_EXISTS) => {
                // Adopted after an interrupted run: bring it to the declaration.
                let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                self.update(aws, desired, &live).await
            }
            Err(e) => Err(e.context(format!("failed to create Glue database {}", s.name))),
        }
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: DatabaseSpec = typed(&desired.spec, desired.kind)?;
        let l: DatabaseSpec = typed(live, desired.kind)?;
        if s.description != l.description {
            aws.throttle(Service::Glue).await;
            aws.glue
                .update_database()
                .name(&s.name)
                .database_input(built(
                    gt::DatabaseInput::builder()
                        .name(&s.name)
                        .description(&s.description)
                        .build(),
                )?)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to update Glue database {}", s.name))
                })?;
        }
        converge_glue_tags(
            aws,
            &glue_arn(aws, &format!("database/{}", s.name)),
            &s.tags,
            &l.tags,
        )
        .await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .delete_database()
            .name(physical)
            .send()
            .await
            .map_err(AwsError::from);
        tolerate(r, GLUE_NOT_FOUND)
            .map_err(|e| e.context(format!("failed to delete Glue database {physical}")))
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut names = Vec::new();
        let mut pages = aws.glue.get_databases().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Glue databases"))?;
            names.extend(page.database_list().iter().map(|d| d.name().to_string()));
        }
        listed_with_tags(aws, names, prefix, skip, |n| {
            glue_arn(aws, &format!("database/{n}"))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Glue table

/// A Glue table.
pub struct Table;

fn columns(cols: &[Column]) -> Result<Vec<gt::Column>, AwsError> {
    cols.iter()
        .map(|c| built(gt::Column::builder().name(&c.name).r#type(&c.kind).build()))
        .collect()
}

fn table_input(s: &TableSpec) -> Result<gt::TableInput, AwsError> {
    let sd = gt::StorageDescriptor::builder()
        .set_columns(Some(columns(&s.columns)?))
        .location(&s.location)
        .input_format(&s.input_format)
        .output_format(&s.output_format)
        .serde_info(
            gt::SerDeInfo::builder()
                .serialization_library(&s.serde)
                .set_parameters(Some(
                    s.serde_parameters
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ))
                .build(),
        )
        .build();
    built(
        gt::TableInput::builder()
            .name(&s.name)
            .table_type(&s.table_type)
            .storage_descriptor(sd)
            .set_partition_keys(Some(columns(&s.partition_keys)?))
            .set_parameters(Some(
                s.parameters
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
            .build(),
    )
}

fn read_columns(cols: &[gt::Column]) -> Vec<Column> {
    cols.iter()
        .map(|c| Column {
            name: c.name().to_string(),
            kind: c.r#type().unwrap_or_default().to_string(),
        })
        .collect()
}

#[async_trait]
impl Provider for Table {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let s: TableSpec = typed(&desired.spec, desired.kind)?;
        let t = match aws
            .glue
            .get_table()
            .database_name(&s.database)
            .name(&s.name)
            .send()
            .await
        {
            Ok(out) => match out.table {
                Some(t) => t,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(GLUE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read Glue table {}", desired.physical)))
                };
            }
        };
        let sd = t.storage_descriptor();
        let serde = sd.and_then(|d| d.serde_info());
        // Crawlers and Athena add bookkeeping parameters (`UPDATED_BY_CRAWLER`, counts...):
        // only the declared keys are compared.
        let parameters: BTreeMap<String, String> = t
            .parameters()
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| s.parameters.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(to_value(&TableSpec {
            database: s.database.clone(),
            name: t.name().to_string(),
            table_type: t.table_type().unwrap_or_default().to_string(),
            location: sd
                .and_then(|d| d.location())
                .unwrap_or_default()
                .to_string(),
            columns: read_columns(sd.map(|d| d.columns()).unwrap_or_default()),
            partition_keys: read_columns(t.partition_keys()),
            input_format: sd
                .and_then(|d| d.input_format())
                .unwrap_or_default()
                .to_string(),
            output_format: sd
                .and_then(|d| d.output_format())
                .unwrap_or_default()
                .to_string(),
            serde: serde
                .and_then(|i| i.serialization_library())
                .unwrap_or_default()
                .to_string(),
            serde_parameters: serde
                .and_then(|i| i.parameters())
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            parameters,
        })))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: TableSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .create_table()
            .database_name(&s.database)
            .table_input(table_input(&s)?)
            .send()
            .await
            .map_err(AwsError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.is(GLUE_EXISTS) => self.update(aws, desired, &Value::Null).await,
            Err(e) => Err(e.context(format!("failed to create Glue table {}", desired.physical))),
        }
    }

    async fn update(&self, aws: &Aws, desired: &Resource, _live: &Value) -> Result<(), AwsError> {
        let s: TableSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Glue).await;
        aws.glue
            .update_table()
            .database_name(&s.database)
            .table_input(table_input(&s)?)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e)
                    .context(format!("failed to update Glue table {}", desired.physical))
            })?;
        Ok(())
    }

    async fn delete(&self, aws: &Aws, physical: &str, live: &Value) -> Result<(), AwsError> {
        let s: TableSpec = typed(live, Kind::GlueTable)?;
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .delete_table()
            .database_name(&s.database)
            .name(&s.name)
            .send()
            .await
            .map_err(AwsError::from);
        tolerate(r, GLUE_NOT_FOUND)
            .map_err(|e| e.context(format!("failed to delete Glue table {physical}")))
    }
}

// ---------------------------------------------------------------------------------------------
// Glue crawler

/// A Glue crawler.
pub struct Crawler;

/// JSON numbers as floats, so `1` and `1.0` compare equal.
fn normalize_numbers(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().and_then(serde_json::Number::from_f64) {
                *n = f;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize_numbers),
        Value::Object(o) => o.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

fn crawler_targets(s: &CrawlerSpec) -> Result<gt::CrawlerTargets, AwsError> {
    Ok(gt::CrawlerTargets::builder()
        .catalog_targets(built(
            gt::CatalogTarget::builder()
                .database_name(&s.database)
                .set_tables(Some(s.tables.clone()))
                .build(),
        )?)
        .build())
}

fn schema_policy(s: &CrawlerSpec) -> gt::SchemaChangePolicy {
    gt::SchemaChangePolicy::builder()
        .update_behavior(gt::UpdateBehavior::from(s.update_behavior.as_str()))
        .delete_behavior(gt::DeleteBehavior::from(s.delete_behavior.as_str()))
        .build()
}

#[async_trait]
impl Provider for Crawler {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let c = match aws.glue.get_crawler().name(name).send().await {
            Ok(out) => match out.crawler {
                Some(c) => c,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(GLUE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read Glue crawler {name}")))
                };
            }
        };
        let target = c.targets().and_then(|t| t.catalog_targets().first());
        let mut configuration = c
            .configuration()
            .and_then(|j| serde_json::from_str::<Value>(j).ok())
            .unwrap_or(Value::Null);
        normalize_numbers(&mut configuration);
        let policy = c.schema_change_policy();
        Ok(Some(to_value(&CrawlerSpec {
            name: name.clone(),
            role: c.role().unwrap_or_default().to_string(),
            database: c.database_name().unwrap_or_default().to_string(),
            tables: target.map(|t| t.tables().to_vec()).unwrap_or_default(),
            schedule: c
                .schedule()
                .and_then(|s| s.schedule_expression())
                .filter(|e| !e.is_empty())
                .map(str::to_string),
            update_behavior: policy
                .and_then(|p| p.update_behavior())
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            delete_behavior: policy
                .and_then(|p| p.delete_behavior())
                .map(|b| b.as_str().to_string())
                .unwrap_or_default(),
            configuration,
            tags: glue_tags(aws, &glue_arn(aws, &format!("crawler/{name}"))).await?,
        })))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: CrawlerSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .create_crawler()
            .name(&s.name)
            .role(&s.role)
            .database_name(&s.database)
            .targets(crawler_targets(&s)?)
            .set_schedule(s.schedule.clone())
            .schema_change_policy(schema_policy(&s))
            .configuration(s.configuration.to_string())
            .set_tags(Some(hash_tags(&s.tags)))
            .send()
            .await
            .map_err(AwsError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e) if e.is(GLUE_EXISTS) => {
                let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                self.update(aws, desired, &live).await
            }
            Err(e) => Err(e.context(format!("failed to create Glue crawler {}", s.name))),
        }
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: CrawlerSpec = typed(&desired.spec, desired.kind)?;
        let l: CrawlerSpec = typed(live, desired.kind)?;
        let mut settings = s.clone();
        settings.tags = l.tags.clone();
        if settings != l {
            aws.throttle(Service::Glue).await;
            aws.glue
                .update_crawler()
                .name(&s.name)
                .role(&s.role)
                .database_name(&s.database)
                .targets(crawler_targets(&s)?)
                // An empty expression removes the schedule (on demand only).
                .schedule(s.schedule.clone().unwrap_or_default())
                .schema_change_policy(schema_policy(&s))
                .configuration(s.configuration.to_string())
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to update Glue crawler {}", s.name))
                })?;
        }
        converge_glue_tags(
            aws,
            &glue_arn(aws, &format!("crawler/{}", s.name)),
            &s.tags,
            &l.tags,
        )
        .await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            aws.throttle(Service::Glue).await;
            let r = aws
                .glue
                .delete_crawler()
                .name(physical)
                .send()
                .await
                .map_err(AwsError::from);
            match r {
                Ok(_) => return Ok(()),
                Err(e) if e.is(GLUE_NOT_FOUND) => return Ok(()),
                // A running crawler cannot be deleted: stop it and retry.
                Err(e)
                    if e.is(&["CrawlerRunningException", "SchedulerTransitioningException"])
                        && Instant::now() < deadline =>
                {
                    let _ = aws.glue.stop_crawler().name(physical).send().await;
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                Err(e) => {
                    return Err(e.context(format!("failed to delete Glue crawler {physical}")))
                }
            }
        }
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut names = Vec::new();
        let mut pages = aws.glue.list_crawlers().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| AwsError::from(e).context("failed to list Glue crawlers"))?;
            names.extend(page.crawler_names().iter().cloned());
        }
        listed_with_tags(aws, names, prefix, skip, |n| {
            glue_arn(aws, &format!("crawler/{n}"))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Glue connection

/// A Glue JDBC connection to the Redshift cluster.
pub struct Connection;

/// What a JDBC client of the cluster (the Glue connection, Firehose's COPY) is resolved to
/// from the cluster as it is now.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Resolved {
    /// `jdbc:redshift://host:port/database`.
    pub url: String,
    /// ARN of the cluster's AWS-managed master-password secret.
    pub secret: Option<String>,
    availability_zone: Option<String>,
    security_groups: Vec<String>,
    subnet: Option<String>,
}

/// Reads the cluster's endpoint, the ARN of its managed master-password secret and its
/// network placement. `None` if the cluster does not exist or has no endpoint yet.
pub(super) async fn resolve_cluster(
    aws: &Aws,
    cluster: &str,
    database: &str,
    port: i32,
) -> Result<Option<Resolved>, AwsError> {
    let out = match aws
        .redshift
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from(e);
            return if e.is(&["ClusterNotFound", "ClusterNotFoundFault"]) {
                Ok(None)
            } else {
                Err(e.context(format!("failed to read Redshift cluster {cluster}")))
            };
        }
    };
    let Some(cluster) = out.clusters().first() else {
        return Ok(None);
    };
    let Some(address) = cluster.endpoint().and_then(|e| e.address()) else {
        return Ok(None);
    };
    let port = cluster.endpoint().and_then(|e| e.port()).unwrap_or(port);
    let az = cluster.availability_zone().map(str::to_string);
    let mut subnet = None;
    if let (Some(group), Some(az)) = (cluster.cluster_subnet_group_name(), &az) {
        let groups = aws
            .redshift
            .describe_cluster_subnet_groups()
            .cluster_subnet_group_name(group)
            .send()
            .await
            .map_err(|e| {
                AwsError::from(e).context(format!("failed to read Redshift subnet group {group}"))
            })?;
        subnet = groups
            .cluster_subnet_groups()
            .iter()
            .flat_map(|g| g.subnets())
            .find(|sn| sn.subnet_availability_zone().and_then(|z| z.name()) == Some(az.as_str()))
            .and_then(|sn| sn.subnet_identifier())
            .map(str::to_string);
    }
    let mut security_groups: Vec<String> = cluster
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
        .collect();
    security_groups.sort();
    Ok(Some(Resolved {
        url: format!("jdbc:redshift://{address}:{port}/{database}"),
        secret: cluster.master_password_secret_arn().map(str::to_string),
        availability_zone: az,
        security_groups,
        subnet,
    }))
}

fn connection_input(s: &ConnectionSpec, r: &Resolved) -> Result<gt::ConnectionInput, AwsError> {
    let mut b = gt::ConnectionInput::builder()
        .name(&s.name)
        .description(format!("JDBC to Redshift cluster {}", s.cluster))
        .connection_type(gt::ConnectionType::Jdbc)
        .connection_properties(gt::ConnectionPropertyKey::JdbcConnectionUrl, &r.url)
        .connection_properties(gt::ConnectionPropertyKey::JdbcEnforceSsl, "true");
    // The password is never in the connection: the job reads the cluster's AWS-managed
    // secret. Real AWS always reports it for a cluster with ManageMasterPassword.
    if let Some(secret) = &r.secret {
        b = b.connection_properties(gt::ConnectionPropertyKey::SecretId, secret);
    }
    if r.availability_zone.is_some() || !r.security_groups.is_empty() || r.subnet.is_some() {
        b = b.physical_connection_requirements(
            gt::PhysicalConnectionRequirements::builder()
                .set_availability_zone(r.availability_zone.clone())
                .set_subnet_id(r.subnet.clone())
                .set_security_group_id_list(Some(r.security_groups.clone()))
                .build(),
        );
    }
    built(b.build())
}

/// `(host, port, database)` of `jdbc:redshift://host:port/database`.
pub(super) fn parse_jdbc(url: &str) -> Option<(String, i32, String)> {
    let rest = url.strip_prefix("jdbc:redshift://")?;
    let (hostport, db) = rest.split_once('/')?;
    let (host, port) = hostport.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?, db.to_string()))
}

#[async_trait]
impl Provider for Connection {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let c = match aws
            .glue
            .get_connection()
            .name(name)
            .hide_password(true)
            .send()
            .await
        {
            Ok(out) => match out.connection {
                Some(c) => c,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(GLUE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read Glue connection {name}")))
                };
            }
        };
        let props = c.connection_properties().cloned().unwrap_or_default();
        let url = props
            .get(&gt::ConnectionPropertyKey::JdbcConnectionUrl)
            .cloned()
            .unwrap_or_default();
        let (host, port, database) = parse_jdbc(&url).unwrap_or_default();
        let cluster = host.split('.').next().unwrap_or_default().to_string();
        let mut spec = ConnectionSpec {
            name: name.clone(),
            cluster,
            database,
            port,
            matches_cluster: false,
            tags: glue_tags(aws, &glue_arn(aws, &format!("connection/{name}"))).await?,
        };
        if let Some(r) = resolve_cluster(aws, &spec.cluster, &spec.database, spec.port).await? {
            let pcr = c.physical_connection_requirements();
            let mut groups: Vec<String> = pcr
                .map(|p| p.security_group_id_list().to_vec())
                .unwrap_or_default();
            groups.sort();
            spec.matches_cluster = r.url == url
                && r.secret.as_ref() == props.get(&gt::ConnectionPropertyKey::SecretId)
                && r.availability_zone.as_deref() == pcr.and_then(|p| p.availability_zone())
                && r.subnet.as_deref() == pcr.and_then(|p| p.subnet_id())
                && r.security_groups == groups;
        }
        Ok(Some(to_value(&spec)))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: ConnectionSpec = typed(&desired.spec, desired.kind)?;
        let r = resolve_cluster(aws, &s.cluster, &s.database, s.port)
            .await?
            .ok_or_else(|| {
                AwsError::msg(format!(
                    "Redshift cluster {} has no endpoint yet; the connection {} needs it",
                    s.cluster, s.name
                ))
            })?;
        aws.throttle(Service::Glue).await;
        let out = aws
            .glue
            .create_connection()
            .connection_input(connection_input(&s, &r)?)
            .set_tags(Some(hash_tags(&s.tags)))
            .send()
            .await
            .map_err(AwsError::from);
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.is(GLUE_EXISTS) => {
                let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                self.update(aws, desired, &live).await
            }
            Err(e) => Err(e.context(format!("failed to create Glue connection {}", s.name))),
        }
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: ConnectionSpec = typed(&desired.spec, desired.kind)?;
        let l: ConnectionSpec = typed(live, desired.kind)?;
        let mut settings = s.clone();
        settings.tags = l.tags.clone();
        if settings != l {
            let r = resolve_cluster(aws, &s.cluster, &s.database, s.port)
                .await?
                .ok_or_else(|| {
                    AwsError::msg(format!("Redshift cluster {} has no endpoint", s.cluster))
                })?;
            aws.throttle(Service::Glue).await;
            aws.glue
                .update_connection()
                .name(&s.name)
                .connection_input(connection_input(&s, &r)?)
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e)
                        .context(format!("failed to update Glue connection {}", s.name))
                })?;
        }
        converge_glue_tags(
            aws,
            &glue_arn(aws, &format!("connection/{}", s.name)),
            &s.tags,
            &l.tags,
        )
        .await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .delete_connection()
            .connection_name(physical)
            .send()
            .await
            .map_err(AwsError::from);
        tolerate(r, GLUE_NOT_FOUND)
            .map_err(|e| e.context(format!("failed to delete Glue connection {physical}")))
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
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
        listed_with_tags(aws, names, prefix, skip, |n| {
            glue_arn(aws, &format!("connection/{n}"))
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Glue job

/// A Glue ETL job.
pub struct Job;

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

#[async_trait]
impl Provider for Job {
    async fn read(&self, aws: &Aws, desired: &Resource) -> Result<Option<Value>, AwsError> {
        let name = &desired.physical;
        let j = match aws.glue.get_job().job_name(name).send().await {
            Ok(out) => match out.job {
                Some(j) => j,
                None => return Ok(None),
            },
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is(GLUE_NOT_FOUND) {
                    Ok(None)
                } else {
                    Err(e.context(format!("failed to read Glue job {name}")))
                };
            }
        };
        let cmd = j.command();
        Ok(Some(to_value(&JobSpec {
            name: name.clone(),
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
            tags: glue_tags(aws, &glue_arn(aws, &format!("job/{name}"))).await?,
        })))
    }

    async fn create(&self, aws: &Aws, desired: &Resource) -> Result<(), AwsError> {
        let s: JobSpec = typed(&desired.spec, desired.kind)?;
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .create_job()
            .name(&s.name)
            .role(&s.role)
            .command(job_command(&s))
            .glue_version(&s.glue_version)
            .worker_type(gt::WorkerType::from(s.worker_type.as_str()))
            .number_of_workers(s.workers)
            .timeout(s.timeout_minutes)
            .max_retries(s.max_retries)
            .set_default_arguments(Some(job_arguments(&s)))
            .connections(job_connections(&s))
            .set_tags(Some(hash_tags(&s.tags)))
            .send()
            .await
            .map_err(AwsError::from);
        match r {
            Ok(_) => Ok(()),
            Err(e)
                if e.is(&[
                    "IdempotentParameterMismatchException",
                    "AlreadyExistsException",
                ]) =>
            {
                let live = self.read(aws, desired).await?.unwrap_or(Value::Null);
                self.update(aws, desired, &live).await
            }
            Err(e) => Err(e.context(format!("failed to create Glue job {}", s.name))),
        }
    }

    async fn update(&self, aws: &Aws, desired: &Resource, live: &Value) -> Result<(), AwsError> {
        let s: JobSpec = typed(&desired.spec, desired.kind)?;
        let l: JobSpec = typed(live, desired.kind)?;
        let mut settings = s.clone();
        settings.tags = l.tags.clone();
        if settings != l {
            aws.throttle(Service::Glue).await;
            aws.glue
                .update_job()
                .job_name(&s.name)
                .job_update(
                    gt::JobUpdate::builder()
                        .role(&s.role)
                        .command(job_command(&s))
                        .glue_version(&s.glue_version)
                        .worker_type(gt::WorkerType::from(s.worker_type.as_str()))
                        .number_of_workers(s.workers)
                        .timeout(s.timeout_minutes)
                        .max_retries(s.max_retries)
                        .set_default_arguments(Some(job_arguments(&s)))
                        .connections(job_connections(&s))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| {
                    AwsError::from(e).context(format!("failed to update Glue job {}", s.name))
                })?;
        }
        converge_glue_tags(
            aws,
            &glue_arn(aws, &format!("job/{}", s.name)),
            &s.tags,
            &l.tags,
        )
        .await
    }

    async fn delete(&self, aws: &Aws, physical: &str, _live: &Value) -> Result<(), AwsError> {
        aws.throttle(Service::Glue).await;
        let r = aws
            .glue
            .delete_job()
            .job_name(physical)
            .send()
            .await
            .map_err(AwsError::from);
        tolerate(r, GLUE_NOT_FOUND)
            .map_err(|e| e.context(format!("failed to delete Glue job {physical}")))
    }

    async fn list(
        &self,
        aws: &Aws,
        prefix: &str,
        skip: &[String],
    ) -> Result<Vec<Listed>, AwsError> {
        let mut names = Vec::new();
        let mut pages = aws.glue.list_jobs().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from(e).context("failed to list Glue jobs"))?;
            names.extend(page.job_names().iter().cloned());
        }
        listed_with_tags(aws, names, prefix, skip, |n| {
            glue_arn(aws, &format!("job/{n}"))
        })
        .await
    }
}
