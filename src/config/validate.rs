//! Semantic checks of a deserialised [`StackConfig`]: AWS naming rules, ranges, e-mails.

use super::errors::ConfigError;
use super::load::{error_at, find};
use super::schema::{Billing, StackConfig, StreamMode};
use crate::names::{instance_name, Names, PLACEHOLDER_ACCOUNT};
use marked_yaml::Node;
use std::collections::BTreeSet;

/// Checks an `--instance` suffix: lowercase letters, digits and hyphens, 1 to 24 characters.
pub fn validate_instance_suffix(suffix: &str) -> Result<(), String> {
    if suffix.is_empty() || suffix.len() > 24 {
        return Err(format!("must be 1 to 24 characters (got {})", suffix.len()));
    }
    if !is_dns_label(suffix) {
        return Err(format!(
            "`{suffix}` must use lowercase letters, digits and hyphens, and start and end with a letter or digit"
        ));
    }
    Ok(())
}

/// True for an address with a local part, an `@` and a dotted domain.
pub fn is_valid_email(address: &str) -> bool {
    use std::str::FromStr;
    match email_address::EmailAddress::from_str(address) {
        Ok(parsed) => {
            let domain = parsed.domain();
            // The RFC allows `user@localhost` and IP literals; SNS delivers only to real domains.
            domain.contains('.')
                && !domain.starts_with('[')
                && domain.split('.').all(|l| !l.is_empty() && l.len() <= 63)
                && !address.chars().any(char::is_whitespace)
        }
        Err(_) => false,
    }
}

fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_region(s: &str) -> bool {
    // e.g. us-east-1, eu-central-2, us-gov-west-1, ap-southeast-5
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy, `retentionInDays`).
const LOG_RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Collects semantic errors of a parsed YAML file, pointing each at its line.
pub(crate) struct Checker<'a> {
    /// The file name used in errors.
    pub file: &'a str,
    /// The parsed tree, for positions.
    pub root: &'a Node,
    /// The errors so far.
    pub errors: Vec<ConfigError>,
}

impl Checker<'_> {
    /// Records an error at `field` (dotted path), or at its closest present parent.
    pub fn fail(&mut self, field: &str, message: String) {
        // Point at the value if the key is present, else at its closest present parent.
        let mut path = field.to_string();
        let mark = loop {
            if let Some(node) = find(self.root, &path) {
                break node.span().start().copied();
            }
            match path.rfind('.') {
                Some(i) => path.truncate(i),
                None => break find(self.root, "").and_then(|n| n.span().start().copied()),
            }
        };
        self.errors.push(error_at(self.file, mark, field, message));
    }

    fn range(&mut self, field: &str, value: u32, min: u32, max: u32) {
        if value < min || value > max {
            self.fail(
                field,
                format!("must be between {min} and {max} (got {value})"),
            );
        }
    }
}

/// Every semantic problem of a config, each pointing at its line in `root`.
pub(super) fn validate(
    file: &str,
    root: &Node,
    c: &StackConfig,
    instance: Option<&str>,
) -> Vec<ConfigError> {
    let mut ck = Checker {
        file,
        root,
        errors: Vec::new(),
    };
    for (field, value) in [("app", &c.app), ("env", &c.env)] {
        if value.is_empty()
            || value.len() > 20
            || !is_dns_label(value)
            || !value.as_bytes()[0].is_ascii_lowercase()
        {
            ck.fail(
                field,
                format!("`{value}` must be 1 to 20 lowercase letters, digits or hyphens, starting with a letter"),
            );
        }
    }
    if !is_region(&c.region) {
        ck.fail(
            "region",
            format!("`{}` is not an AWS region name such as us-east-1", c.region),
        );
    }
    if let Some(suffix) = instance {
        if let Err(message) = validate_instance_suffix(suffix) {
            ck.errors.push(ConfigError {
                file: "command line".into(),
                line: 0,
                column: 0,
                field: "--instance".into(),
                message,
            });
        }
    }
    check_derived_names(&mut ck, c, instance);

    ck.range("ephemeral_ttl_hours", c.ephemeral_ttl_hours, 1, 720);
    if c.stream.mode == StreamMode::Provisioned {
        ck.range("stream.shards", c.stream.shards, 1, 500);
    }
    ck.range("stream.retention_hours", c.stream.retention_hours, 24, 8760);
    if c.tables.billing == Billing::Provisioned {
        ck.range("tables.read_capacity", c.tables.read_capacity, 1, 40_000);
        ck.range("tables.write_capacity", c.tables.write_capacity, 1, 40_000);
    }
    ck.range(
        "bucket.rejects_expire_days",
        c.bucket.rejects_expire_days,
        1,
        3650,
    );
    ck.range(
        "bucket.noncurrent_expire_days",
        c.bucket.noncurrent_expire_days,
        1,
        3650,
    );
    if let Some(days) = c.bucket.access_log_days {
        ck.range("bucket.access_log_days", days, 1, 3650);
    }

    ck.range("functions.memory_mb", c.functions.memory_mb, 128, 10_240);
    ck.range(
        "functions.timeout_seconds",
        c.functions.timeout_seconds,
        1,
        900,
    );
    if let Some(n) = c.functions.reserved_concurrency {
        ck.range("functions.reserved_concurrency", n, 0, 1000);
    }
    ck.range("processing.batch_size", c.processing.batch_size, 1, 10_000);
    ck.range(
        "processing.batching_window_seconds",
        c.processing.batching_window_seconds,
        0,
        300,
    );
    ck.range(
        "processing.parallelization_factor",
        c.processing.parallelization_factor,
        1,
        10,
    );
    if c.processing.maximum_retries < -1 || c.processing.maximum_retries > 10_000 {
        ck.fail(
            "processing.maximum_retries",
            format!(
                "must be -1 (retry until expiry) or 0 to 10000 (got {})",
                c.processing.maximum_retries
            ),
        );
    }
    if !(0.0..=1.0).contains(&c.processing.reject_alert_threshold) {
        ck.fail(
            "processing.reject_alert_threshold",
            format!(
                "must be a fraction between 0 and 1 (got {})",
                c.processing.reject_alert_threshold
            ),
        );
    }
    if let Some(limit) = c.api.waf_rate_limit {
        // RateBasedStatement.Limit: 10 to 2,000,000,000 (WAF API reference).
        ck.range("api.waf_rate_limit", limit, 10, 2_000_000_000);
    }
    ck.range(
        "kms_key.deletion_window_days",
        c.kms_key.deletion_window_days,
        7,
        30,
    );
    ck.range(
        "cognito.password_min_length",
        c.cognito.password_min_length,
        8,
        99,
    );
    let mut groups = BTreeSet::new();
    for (i, g) in c.cognito.groups.iter().enumerate() {
        let field = format!("cognito.groups.{i}.name");
        // No `,`: API Gateway passes a user's groups to the handlers comma-joined in one
        // claim, where `a,b` would read as two groups.
        let ok = !g.name.is_empty()
            && g.name.len() <= 128
            && g.name
                .chars()
                .all(|ch| ch.is_alphanumeric() || "_-.@+=".contains(ch));
        if !ok {
            ck.fail(
                &field,
                format!(
                    "`{}` is not a valid group name: 1 to 128 letters, digits and _ - . @ + = \
                     (no `,`: the API reads a user's groups as one comma-separated claim)",
                    g.name
                ),
            );
        } else if !groups.insert(g.name.to_ascii_lowercase()) {
            ck.fail(&field, format!("group `{}` is declared twice", g.name));
        }
        check_routes(&mut ck, i, &g.routes);
    }
    for (i, a) in c.cognito.custom_attributes.iter().enumerate() {
        let ok = !a.is_empty()
            && a.len() <= 20
            && a != crate::names::SYNC_ATTRIBUTE_NAME
            && a.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !ok {
            ck.fail(
                &format!("cognito.custom_attributes.{i}"),
                format!("`{a}` must be 1 to 20 letters, digits or `_` (and not the reserved `ecomflow_sync`)"),
            );
        }
    }
    if c.api.stage.is_empty()
        || c.api.stage.len() > 128
        || !c
            .api
            .stage
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    {
        ck.fail(
            "api.stage",
            format!("`{}` must be letters, digits, `-` or `_`", c.api.stage),
        );
    }
    if !(1.0..=10_000.0).contains(&c.api.throttling_rate_limit) {
        ck.fail(
            "api.throttling_rate_limit",
            format!(
                "must be between 1 and 10000 requests per second (got {})",
                c.api.throttling_rate_limit
            ),
        );
    }
    ck.range(
        "api.throttling_burst_limit",
        c.api.throttling_burst_limit,
        1,
        5000,
    );
    if let Some(days) = c.api.access_log_retention_days {
        if !LOG_RETENTION_DAYS.contains(&days) {
            ck.fail(
                "api.access_log_retention_days",
                format!("must be one of CloudWatch Logs' retention periods {LOG_RETENTION_DAYS:?} (got {days})"),
            );
        }
    }
    // Firehose's BufferingHints.IntervalInSeconds: 0 (zero buffering) to 900.
    // https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
    ck.range("delivery.buffer_seconds", c.delivery.buffer_seconds, 0, 900);
    ck.range("alerts.digest_minutes", c.alerts.digest_minutes, 0, 1440);
    ck.range("delivery.buffer_mb", c.delivery.buffer_mb, 64, 128);
    if let Some(cron) = &c.catalog.crawler_schedule {
        if !(cron.starts_with("cron(")
            && cron.ends_with(')')
            && cron[5..cron.len() - 1].split_whitespace().count() == 6)
        {
            ck.fail(
                "catalog.crawler_schedule",
                format!("`{cron}` is not a six-field `cron(...)` expression such as `cron(0 2 * * ? *)`"),
            );
        }
    }
    ck.range("catalog.job_workers", c.catalog.job_workers, 2, 100);
    ck.range(
        "catalog.job_timeout_minutes",
        c.catalog.job_timeout_minutes,
        1,
        2880,
    );
    if c.warehouse.enabled {
        ck.range("warehouse.nodes", c.warehouse.nodes, 1, 128);
        ck.range(
            "warehouse.wait_timeout_minutes",
            c.warehouse.wait_timeout_minutes,
            1,
            180,
        );
        for (field, value) in [
            ("warehouse.database", &c.warehouse.database),
            ("warehouse.master_username", &c.warehouse.master_username),
        ] {
            let ok = !value.is_empty()
                && value.len() <= 63
                && value.as_bytes()[0].is_ascii_lowercase()
                && value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                ck.fail(field, format!("`{value}` must be 1 to 63 lowercase letters, digits or `_`, starting with a letter"));
            }
        }
    }
    if c.warehouse.firehose_copy {
        ck.fail(
            "warehouse.firehose_copy",
            "Firehose's Redshift destination needs a publicly accessible cluster and the warehouse is private; its COPY job loads everything under clean/ instead: remove this key".into(),
        );
    }

    if c.tags.len() > 40 {
        ck.fail(
            "tags",
            format!("at most 40 extra tags are allowed (got {})", c.tags.len()),
        );
    }
    for (key, value) in &c.tags {
        let field = format!("tags.{key}");
        if key.is_empty() || key.chars().count() > 128 {
            ck.fail(&field, "tag keys must be 1 to 128 characters".into());
        }
        if key.to_ascii_lowercase().starts_with("aws:") || key.starts_with("ecomflow:") {
            ck.fail(
                &field,
                "the `aws:` and `ecomflow:` tag prefixes are reserved".into(),
            );
        }
        if value.chars().count() > 256 {
            ck.fail(&field, "tag values must be at most 256 characters".into());
        }
        let allowed = |ch: char| ch.is_alphanumeric() || " _.:/=+-@".contains(ch);
        if !key.chars().all(allowed) || !value.chars().all(allowed) {
            ck.fail(
                &field,
                "tags may use letters, digits, spaces and _ . : / = + - @ only".into(),
            );
        }
    }

    let mut seen = BTreeSet::new();
    for (i, email) in c.alerts.emails.iter().enumerate() {
        let field = format!("alerts.emails.{i}");
        if !is_valid_email(email) {
            ck.fail(&field, format!("`{email}` is not a valid e-mail address"));
        } else if !seen.insert(email.to_ascii_lowercase()) {
            ck.fail(&field, format!("`{email}` is listed twice"));
        }
    }
    ck.errors
}

/// Checks a group's `routes`: each one of the API's route keys, listed once.
fn check_routes(ck: &mut Checker<'_>, group: usize, routes: &[String]) {
    let known: Vec<String> = crate::blueprint::ROUTES
        .iter()
        .map(|(method, path, _)| format!("{method} {path}"))
        .collect();
    let mut seen = BTreeSet::new();
    for (j, route) in routes.iter().enumerate() {
        let field = format!("cognito.groups.{group}.routes.{j}");
        if !known.contains(route) {
            ck.fail(
                &field,
                format!(
                    "`{route}` is not a route of the API; expected one of: {}",
                    known.join(", ")
                ),
            );
        } else if !seen.insert(route.as_str()) {
            ck.fail(&field, format!("`{route}` is listed twice"));
        }
    }
}

/// Checks the names the blueprint will derive against each service's rules.
fn check_derived_names(ck: &mut Checker<'_>, c: &StackConfig, instance: Option<&str>) {
    let names = Names::new(
        instance_name(&c.app, &c.env, instance),
        PLACEHOLDER_ACCOUNT,
        &c.region,
    );
    let hint = "shorten `app`, `env` or `--instance`";
    let bucket = names.lake_bucket();
    if bucket.len() > 63 {
        ck.fail(
            "app",
            format!(
                "the lake bucket name `{bucket}` would be {} characters; S3 allows 63 ({hint})",
                bucket.len()
            ),
        );
    }
    for role in ["ingest", "process", "query"] {
        let name = names.role(role);
        if name.len() > 64 {
            ck.fail(
                "app",
                format!(
                    "the IAM role name `{name}` would be {} characters; IAM allows 64 ({hint})",
                    name.len()
                ),
            );
            break;
        }
    }
    // Stream (128), table (255) and topic (256) limits are far above what the checks above allow;
    // their character sets are supersets of the DNS-label alphabet enforced on app/env/instance.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_valid_email("data-team@example.com"));
        assert!(is_valid_email("a.b+tag@sub.example.co.uk"));
        assert!(!is_valid_email("not-an-email"));
        assert!(!is_valid_email("a@b"));
        assert!(!is_valid_email("a b@example.com"));
        assert!(!is_valid_email("@example.com"));
    }

    #[test]
    fn regions_and_labels() {
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("useast1"));
        assert!(!is_region("US-EAST-1"));
        assert!(validate_instance_suffix("pr-123").is_ok());
        assert!(validate_instance_suffix("PR_1").is_err());
        assert!(validate_instance_suffix("-x").is_err());
    }
}
