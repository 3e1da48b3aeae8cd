//! What a stack instance has in the emulator, read with the SDK directly (never through the
//! tool): the top-level names ([`leftovers`]) and a deep listing of every resource and
//! sub-resource, duplicates kept ([`inventory`]), to prove an end state independently.

use super::Moto;
use std::collections::BTreeMap;

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Names of every bucket, table, stream, topic, role, function, pool, REST API, Firehose
/// stream, Redshift cluster and Glue database that mention `instance`.
pub fn leftovers(moto: &Moto, instance: &str) -> Vec<String> {
    block_on(async {
        let conf = moto.sdk_config().await;
        let mut names = Vec::new();
        for b in moto
            .s3()
            .await
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
        {
            names.push(b.name().unwrap_or_default().to_string());
        }
        names.extend(
            aws_sdk_dynamodb::Client::new(&conf)
                .list_tables()
                .send()
                .await
                .unwrap()
                .table_names()
                .iter()
                .cloned(),
        );
        names.extend(
            aws_sdk_kinesis::Client::new(&conf)
                .list_streams()
                .send()
                .await
                .unwrap()
                .stream_names()
                .iter()
                .cloned(),
        );
        for t in aws_sdk_sns::Client::new(&conf)
            .list_topics()
            .send()
            .await
            .unwrap()
            .topics()
        {
            names.push(t.topic_arn().unwrap_or_default().to_string());
        }
        for r in aws_sdk_iam::Client::new(&conf)
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
        {
            names.push(r.role_name().to_string());
        }
        for f in aws_sdk_lambda::Client::new(&conf)
            .list_functions()
            .send()
            .await
            .unwrap()
            .functions()
        {
            names.push(f.function_name().unwrap_or_default().to_string());
        }
        let pools = aws_sdk_cognitoidentityprovider::Client::new(&conf)
            .list_user_pools()
            .max_results(60)
            .send()
            .await
            .unwrap();
        for p in pools.user_pools() {
            names.push(p.name().unwrap_or_default().to_string());
        }
        for a in aws_sdk_apigateway::Client::new(&conf)
            .get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
        {
            names.push(a.name().unwrap_or_default().to_string());
        }
        let streams = aws_sdk_firehose::Client::new(&conf)
            .list_delivery_streams()
            .send()
            .await
            .unwrap();
        names.extend(streams.delivery_stream_names().iter().cloned());
        for c in aws_sdk_redshift::Client::new(&conf)
            .describe_clusters()
            .send()
            .await
            .unwrap()
            .clusters()
        {
            names.push(c.cluster_identifier().unwrap_or_default().to_string());
        }
        for d in aws_sdk_glue::Client::new(&conf)
            .get_databases()
            .send()
            .await
            .unwrap()
            .database_list()
        {
            // Glue names use `_` where the instance has `-`.
            names.push(d.name().replace('_', "-"));
        }
        names.retain(|n| n.contains(instance));
        names
    })
}

/// Every resource and sub-resource of `instance` (names containing it; Glue spells it with
/// `_`), one `kind name` line each, sorted, duplicates kept. Sub-resources name their parent:
/// bucket objects, topic subscriptions, role inline policies, function event source mappings
/// and permission statements, pool app clients and groups, REST API authorizers, resources
/// with their methods, deployments (by description) and stages, Glue tables. Redshift
/// clusters and integrations are listed too. Assigned IDs never appear, so two fault-free
/// runs give the same inventory.
pub fn inventory(moto: &Moto, instance: &str) -> Vec<String> {
    let glue = instance.replace('-', "_");
    let ours = |n: &str| n.contains(instance) || n.contains(&glue);
    block_on(async {
        let conf = moto.sdk_config().await;
        let mut out: Vec<String> = Vec::new();
        let mut add = |kind: &str, name: &str| out.push(format!("{kind} {name}"));

        let s3 = moto.s3().await;
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            let bucket = b.name().unwrap_or_default();
            if !ours(bucket) {
                continue;
            }
            add("s3_bucket", bucket);
            // The access-log bucket's records are S3's, one per request to the lake: they
            // tell how many calls a run made, not what it left.
            if bucket.contains("-logs-") {
                continue;
            }
            let versions = s3
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
            for v in versions.versions() {
                if v.is_latest() == Some(true) {
                    add("s3_object", &format!("{bucket}/{}", v.key().unwrap_or("")));
                }
            }
        }
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        for t in ddb.list_tables().send().await.unwrap().table_names() {
            if ours(t) {
                add("dynamodb_table", t);
            }
        }
        let kinesis = aws_sdk_kinesis::Client::new(&conf);
        for s in kinesis.list_streams().send().await.unwrap().stream_names() {
            if ours(s) {
                add("kinesis_stream", s);
            }
        }
        let sns = aws_sdk_sns::Client::new(&conf);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap_or_default();
            if !ours(arn) {
                continue;
            }
            add("sns_topic", arn);
            let subs = sns
                .list_subscriptions_by_topic()
                .topic_arn(arn)
                .send()
                .await
                .unwrap();
            for s in subs.subscriptions() {
                add(
                    "sns_subscription",
                    &format!(
                        "{arn} {}:{}",
                        s.protocol().unwrap_or_default(),
                        s.endpoint().unwrap_or_default()
                    ),
                );
            }
        }
        let iam = aws_sdk_iam::Client::new(&conf);
        for r in iam
            .list_roles()
            .max_items(1000)
            .send()
            .await
            .unwrap()
            .roles()
        {
            let role = r.role_name();
            if !ours(role) {
                continue;
            }
            add("iam_role", role);
            let policies = iam
                .list_role_policies()
                .role_name(role)
                .send()
                .await
                .unwrap();
            for p in policies.policy_names() {
                add("iam_role_policy", &format!("{role}/{p}"));
            }
        }
        let lambda = aws_sdk_lambda::Client::new(&conf);
        for f in lambda.list_functions().send().await.unwrap().functions() {
            let function = f.function_name().unwrap_or_default();
            if !ours(function) {
                continue;
            }
            add("lambda_function", function);
            let mappings = lambda
                .list_event_source_mappings()
                .function_name(function)
                .send()
                .await
                .unwrap();
            for m in mappings.event_source_mappings() {
                add(
                    "lambda_event_source_mapping",
                    &format!("{function} <- {}", m.event_source_arn().unwrap_or_default()),
                );
            }
            if let Ok(policy) = lambda.get_policy().function_name(function).send().await {
                let doc: serde_json::Value =
                    serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap();
                for st in doc["Statement"].as_array().into_iter().flatten() {
                    add(
                        "lambda_permission",
                        &format!("{function}/{}", st["Sid"].as_str().unwrap_or("")),
                    );
                }
            }
        }
        let cognito = aws_sdk_cognitoidentityprovider::Client::new(&conf);
        let pools = cognito.list_user_pools().max_results(60).send().await;
        for p in pools.unwrap().user_pools() {
            let name = p.name().unwrap_or_default();
            if !ours(name) {
                continue;
            }
            add("cognito_user_pool", name);
            let id = p.id().unwrap_or_default();
            let clients = cognito
                .list_user_pool_clients()
                .user_pool_id(id)
                .max_results(60)
                .send()
                .await
                .unwrap();
            for c in clients.user_pool_clients() {
                add(
                    "cognito_app_client",
                    &format!("{name}/{}", c.client_name().unwrap_or_default()),
                );
            }
            let groups = cognito
                .list_groups()
                .user_pool_id(id)
                .limit(60)
                .send()
                .await
                .unwrap();
            for g in groups.groups() {
                add(
                    "cognito_group",
                    &format!("{name}/{}", g.group_name().unwrap_or_default()),
                );
            }
        }
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        for a in apigw
            .get_rest_apis()
            .limit(500)
            .send()
            .await
            .unwrap()
            .items()
        {
            let name = a.name().unwrap_or_default();
            if !ours(name) {
                continue;
            }
            add("apigw_rest_api", name);
            let id = a.id().unwrap_or_default();
            let auths = apigw
                .get_authorizers()
                .rest_api_id(id)
                .send()
                .await
                .unwrap();
            for au in auths.items() {
                add(
                    "apigw_authorizer",
                    &format!("{name}/{}", au.name().unwrap_or_default()),
                );
            }
            let resources = apigw
                .get_resources()
                .rest_api_id(id)
                .limit(500)
                .send()
                .await
                .unwrap();
            for r in resources.items() {
                let path = r.path().unwrap_or_default();
                add("apigw_resource", &format!("{name}{path}"));
                let mut methods: Vec<&String> = r
                    .resource_methods()
                    .map(|m| m.keys().collect())
                    .unwrap_or_default();
                methods.sort();
                for m in methods {
                    add("apigw_method", &format!("{m} {name}{path}"));
                }
            }
            let deployments = apigw
                .get_deployments()
                .rest_api_id(id)
                .limit(500)
                .send()
                .await
                .unwrap();
            for d in deployments.items() {
                add(
                    "apigw_deployment",
                    &format!("{name} {}", d.description().unwrap_or_default()),
                );
            }
            let stages = apigw.get_stages().rest_api_id(id).send().await.unwrap();
            for s in stages.item() {
                add(
                    "apigw_stage",
                    &format!("{name}/{}", s.stage_name().unwrap_or_default()),
                );
            }
        }
        let firehose = aws_sdk_firehose::Client::new(&conf);
        let streams = firehose.list_delivery_streams().send().await.unwrap();
        for s in streams.delivery_stream_names() {
            if ours(s) {
                add("firehose_delivery_stream", s);
            }
        }
        let glue_client = aws_sdk_glue::Client::new(&conf);
        for d in glue_client
            .get_databases()
            .send()
            .await
            .unwrap()
            .database_list()
        {
            if !ours(d.name()) {
                continue;
            }
            add("glue_database", d.name());
            let tables = glue_client
                .get_tables()
                .database_name(d.name())
                .send()
                .await
                .unwrap();
            for t in tables.table_list() {
                add("glue_table", &format!("{}.{}", d.name(), t.name()));
            }
        }
        for j in glue_client.list_jobs().send().await.unwrap().job_names() {
            if ours(j) {
                add("glue_job", j);
            }
        }
        for c in glue_client
            .list_crawlers()
            .send()
            .await
            .unwrap()
            .crawler_names()
        {
            if ours(c) {
                add("glue_crawler", c);
            }
        }
        let redshift = aws_sdk_redshift::Client::new(&conf);
        for c in redshift
            .describe_clusters()
            .send()
            .await
            .unwrap()
            .clusters()
        {
            let id = c.cluster_identifier().unwrap_or_default();
            if ours(id) {
                add("redshift_cluster", id);
            }
        }
        for i in redshift
            .describe_integrations()
            .send()
            .await
            .unwrap()
            .integrations()
        {
            let name = i.integration_name().unwrap_or_default();
            if ours(name) {
                add("redshift_integration", name);
            }
        }
        out.sort();
        out
    })
}

/// Lines present more than once, with their counts.
pub fn duplicates(inventory: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for n in inventory {
        *counts.entry(n.clone()).or_insert(0) += 1;
    }
    counts.retain(|_, n| *n > 1);
    counts
}
