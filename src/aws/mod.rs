//! The only part of the tool that talks to AWS: clients, call accounting, rate limits, and one
//! [`Provider`] per resource kind (read, create, update, delete, list).

mod apigateway;
mod athena;
mod checked;
pub(crate) mod cognito;
mod dynamodb;
mod error;
mod fence;
mod firehose;
mod glue;
mod iam;
mod kinesis;
pub(crate) mod kit;
pub(crate) mod kms;
mod lambda;
mod logs;
mod provider;
mod redshift;
mod s3;
pub(crate) use dynamodb::update_pitr;
pub(crate) use s3::misnamed_root;
mod sns;
mod stats;
mod waf;

pub use error::{AwsError, ErrorKind};
pub use fence::Fence;
pub use provider::{
    Changes, DynProvider, Found, Gone, Inputs, Listed, LiveValue, Observed, Outputs, Provider,
};
pub use redshift::{execute as redshift_execute, query as redshift_query, ResultSet};
pub use stats::{CallCounts, CallStats};

use crate::model::{Kind, Service};
use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

/// How to reach AWS: the global CLI flags.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Region (else the stack's, else the SDK's default chain).
    pub region: Option<String>,
    /// Named profile.
    pub profile: Option<String>,
    /// Endpoint override, e.g. a local emulator. `AWS_ENDPOINT_URL` is honoured by the SDK too.
    pub endpoint_url: Option<String>,
    /// The stack lock's lease and how long to wait for a lock another run holds.
    pub lock: LockOptions,
}

/// How the stack lock is held and waited for (`--lock-lease`, `--lock-timeout`).
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long the lock stays this run's without a renewal; the run renews it every third
    /// of that. A run killed without releasing its lock loses it after this long.
    pub lease: std::time::Duration,
    /// How long to wait for a lock that another run holds before giving up (0: at once).
    pub timeout: std::time::Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            lease: std::time::Duration::from_secs(60),
            timeout: std::time::Duration::ZERO,
        }
    }
}

/// Clients of every service the tool manages, sharing call accounting and rate limits.
#[derive(Clone)]
pub struct Aws {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// Kinesis.
    pub kinesis: aws_sdk_kinesis::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// API Gateway (REST).
    pub apigateway: aws_sdk_apigateway::Client,
    /// Cognito user pools.
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// Glue.
    pub glue: aws_sdk_glue::Client,
    /// Kinesis Data Firehose.
    pub firehose: aws_sdk_firehose::Client,
    /// Redshift.
    pub redshift: aws_sdk_redshift::Client,
    /// Redshift Data API.
    pub redshift_data: aws_sdk_redshiftdata::Client,
    /// CloudWatch Logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Athena.
    pub athena: aws_sdk_athena::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// AWS WAF (v2).
    pub waf: aws_sdk_wafv2::Client,
    /// CloudFormation: `export cloudformation --validate` and nothing else (the tool calls
    /// the services' own APIs).
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// DynamoDB for the lock table only; its calls are not counted as stack calls.
    pub lock_dynamodb: aws_sdk_dynamodb::Client,
    /// STS: who the caller is, and the execution roles' credentials for `local serve`.
    pub sts: aws_sdk_sts::Client,
    /// Calls made through the stack clients.
    pub stats: CallStats,
    /// Holds back the stack clients' mutating calls once the stack lock is no longer held.
    pub fence: Fence,
    /// How the stack lock is held and waited for.
    pub lock_options: LockOptions,
    /// The caller's account ID.
    pub account: String,
    /// The region in use.
    pub region: String,
    /// Listings shared by the reads of one live-state read.
    pub(crate) listings: Arc<kit::Listings>,
    limiters: Arc<HashMap<Service, DefaultDirectRateLimiter>>,
}

/// Client-side limits on mutating control-plane calls: (per second, burst), at or below the
/// documented AWS quotas (e.g. Kinesis CreateStream/DeleteStream: 5 per second per account),
/// so a large apply does not throttle itself. The SDK's retries handle whatever slips
/// through.
fn control_plane_quota(service: Service) -> (u32, u32) {
    match service {
        Service::Kinesis => (5, 5),
        Service::DynamoDb => (10, 10),
        Service::Iam => (10, 10),
        Service::Sns => (10, 10),
        Service::S3 => (20, 20),
        Service::Lambda => (10, 10),
        // API Gateway's "total operations" quota: 10 per second with a burst of 40; its
        // stricter per-operation quotas are enforced in `apigateway.rs`.
        Service::ApiGateway => (10, 40),
        Service::Cognito => (10, 10),
        Service::Glue => (10, 10),
        Service::Firehose => (5, 5),
        Service::Redshift => (5, 5),
        // CloudWatch Logs: CreateLogGroup, DeleteLogGroup and PutRetentionPolicy are held to
        // 5 per second per account.
        Service::Logs => (5, 5),
        // Athena: CreateWorkGroup and its kin share a few calls per second per account.
        Service::Athena => (5, 5),
        // KMS: CreateKey, CreateAlias, PutKeyPolicy and their kin are held to 5 per second.
        Service::Kms => (5, 5),
        // WAF: its control-plane calls are held to a few per second per account.
        Service::Waf => (2, 2),
    }
}

impl Aws {
    /// Loads credentials and region, builds the clients, and asks STS who the caller is.
    pub async fn connect(opts: &ConnectOptions, default_region: &str) -> Result<Aws, AwsError> {
        // The SDK's standard retries, which AWS recommends for all uses: each call backs off on
        // its own. Adaptive mode adds one client-wide rate limiter that every throttling answer
        // cuts, so a throttled Glue table would slow every other Glue call of the apply; this
        // tool paces its mutating calls to the documented quotas itself (`throttle`). Under
        // the tests' random 10% throttling, adaptive mode made `users sync` of 1,000 users take
        // 446 s instead of 30 s.
        // https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(8));
        if let Some(profile) = &opts.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &opts.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let region = opts
            .region
            .clone()
            .unwrap_or_else(|| default_region.to_string());
        loader = loader.region(aws_config::Region::new(region.clone()));
        let shared = loader.load().await;
        let stats = CallStats::default();
        let emulated = shared.endpoint_url().is_some();
        let fence = Fence::default();
        // Every stack client counts its calls and is fenced by the stack lock's lease.
        macro_rules! stack_client {
            ($sdk:ident $(, $setting:ident($value:expr))*) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(&shared)
                        $(.$setting($value))*
                        .interceptor(stats.clone())
                        .interceptor(fence.clone())
                        .build(),
                )
            };
        }
        let s3 = stack_client!(aws_sdk_s3, force_path_style(emulated));
        let iam = stack_client!(aws_sdk_iam);
        let kinesis = stack_client!(aws_sdk_kinesis);
        let dynamodb = stack_client!(aws_sdk_dynamodb);
        let sns = stack_client!(aws_sdk_sns);
        let lambda = stack_client!(aws_sdk_lambda);
        let apigateway = stack_client!(aws_sdk_apigateway);
        let cognito = stack_client!(aws_sdk_cognitoidentityprovider);
        let glue = stack_client!(aws_sdk_glue);
        let firehose = stack_client!(aws_sdk_firehose);
        let redshift = stack_client!(aws_sdk_redshift);
        let redshift_data = stack_client!(aws_sdk_redshiftdata);
        let logs = stack_client!(aws_sdk_cloudwatchlogs);
        let athena = stack_client!(aws_sdk_athena);
        let kms = stack_client!(aws_sdk_kms);
        let waf = stack_client!(aws_sdk_wafv2);
        let cloudformation = aws_sdk_cloudformation::Client::new(&shared);
        let lock_dynamodb = aws_sdk_dynamodb::Client::new(&shared);
        let sts = aws_sdk_sts::Client::new(&shared);
        let identity = sts.get_caller_identity().send().await.map_err(|e| {
            AwsError::from(e).context("failed to identify the AWS account (sts:GetCallerIdentity)")
        })?;
        let account = identity.account().unwrap_or_default().to_string();
        let limiters = Service::ALL
            .into_iter()
            .map(|s| {
                let (rate, burst) = control_plane_quota(s);
                let positive = |n| NonZeroU32::new(n).expect("quotas are positive");
                let quota = Quota::per_second(positive(rate)).allow_burst(positive(burst));
                (s, RateLimiter::direct(quota))
            })
            .collect();
        Ok(Aws {
            s3,
            iam,
            kinesis,
            dynamodb,
            sns,
            lambda,
            apigateway,
            cognito,
            glue,
            firehose,
            redshift,
            redshift_data,
            logs,
            athena,
            kms,
            waf,
            cloudformation,
            lock_dynamodb,
            sts,
            stats,
            fence,
            lock_options: opts.lock,
            account,
            region,
            listings: Arc::default(),
            limiters: Arc::new(limiters),
        })
    }

    /// Waits until one more mutating control-plane call to `service` fits its quota.
    pub async fn throttle(&self, service: Service) {
        if let Some(limiter) = self.limiters.get(&service) {
            limiter.until_ready().await;
        }
    }
}

/// An SDK request builder's error (a required field left unset) as an [`AwsError`].
pub(crate) fn built<T>(
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, AwsError> {
    r.map_err(|e| AwsError::msg(format!("invalid request: {e}")))
}

/// The provider of each kind, from the registry's table (`model::kind_table`).
macro_rules! define_providers {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $service:ident, [$($replace:literal),*], [$($secret:literal),*],
        $stateful:literal, $taggable:literal, $members:expr, $provider:expr;
    )*) => {
        /// The provider of a kind.
        pub fn provider(kind: Kind) -> &'static dyn DynProvider {
            match kind {
                $(Kind::$variant => &$provider,)*
            }
        }
    };
}

crate::model::kind_table!(define_providers);
