//! The one trust-policy builder of the stack's service roles, and which confused-deputy
//! condition keys each service gets.
//!
//! Every role trusts one AWS service and only on behalf of this stack's account
//! (`aws:SourceAccount`). `aws:SourceArn` would narrow it further to this stack's resources,
//! but a condition on a key the service does not put in the request context never matches:
//! the service could then no longer assume the role. So a service gets `aws:SourceArn` only
//! where AWS documents that it sends one when it assumes a role, and none of the four
//! services here does (see each variant). The keys are only in the request context of calls
//! made directly by a service principal:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>

use crate::model::policy;
use crate::names::Names;
use serde_json::Value;

/// A service that assumes one of the stack's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assumer {
    /// Lambda, assuming a function's execution role. `aws:SourceAccount` only: Lambda's guide
    /// names the keys for execution-role trust policies
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/permissions-managed-policies.html>), but
    /// documents `aws:SourceArn` as applying only to policies whose target resource is the
    /// function (its resource policy), not to the role Lambda assumes
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html>).
    Lambda,
    /// Glue, assuming the crawler's and job's role. `aws:SourceAccount` only: Glue documents no
    /// `aws:SourceArn` (nor which resource ARN it would be) for the role it assumes
    /// (<https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html>).
    Glue,
    /// Firehose, assuming a delivery stream's role. `aws:SourceAccount` only: the trust policy
    /// Firehose documents carries no `aws:SourceArn`
    /// (<https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#firehose-assume-role>).
    Firehose,
    /// Redshift, assuming the role a cluster COPYs with. `aws:SourceAccount` only: Redshift
    /// documents no `aws:SourceArn` for the roles a cluster assumes
    /// (<https://docs.aws.amazon.com/redshift/latest/mgmt/authorizing-redshift-service.html>).
    Redshift,
}

impl Assumer {
    /// The service principal.
    pub fn principal(self) -> &'static str {
        match self {
            Assumer::Lambda => "lambda.amazonaws.com",
            Assumer::Glue => "glue.amazonaws.com",
            Assumer::Firehose => "firehose.amazonaws.com",
            Assumer::Redshift => "redshift.amazonaws.com",
        }
    }

    /// The `aws:SourceArn` pattern the trust policy requires, for a service documented to
    /// send the key when it assumes a role (none of these: see each variant).
    fn source_arn(self, _names: &Names) -> Option<String> {
        match self {
            Assumer::Lambda | Assumer::Glue | Assumer::Firehose | Assumer::Redshift => None,
        }
    }
}

/// The trust policy of a role `assumer` assumes for this stack: its principal, the stack's
/// account as `aws:SourceAccount`, and `aws:SourceArn` where the service sends it.
pub fn trust(assumer: Assumer, names: &Names) -> Value {
    policy::service_trust(
        assumer.principal(),
        &names.account,
        assumer.source_arn(names).as_deref(),
    )
}
