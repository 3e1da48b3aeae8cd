//! One error type for AWS calls, classified once: what went wrong (access denied, not found,
//! throttled, ...), on which operation, with which HTTP status. The SDK's debug form of an
//! error is logged at debug level (`-vv`), never shown as the message.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// What kind of failure an AWS answer is, judged from its code and HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller may not do this (HTTP 403, `AccessDenied*`, `*Unauthorized*`).
    AccessDenied,
    /// The resource does not exist (HTTP 404, `*NotFound*`, `NoSuch*`).
    NotFound,
    /// The call was refused for rate (HTTP 429, `Throttl*`, `TooManyRequests*`).
    Throttled,
    /// The resource is in a state that conflicts (HTTP 409, `*Conflict*`, `*InUse*`).
    Conflict,
    /// The request is invalid (`Validation*`, `InvalidParameter*`, other 4xx).
    Validation,
    /// Anything else: server errors, no answer at all, the tool's own errors.
    Other,
}

impl ErrorKind {
    fn classify(code: Option<&str>, status: Option<u16>) -> ErrorKind {
        let code = code.unwrap_or_default();
        let has = |part: &str| code.contains(part);
        if status == Some(403) || has("AccessDenied") || has("Unauthorized") {
            ErrorKind::AccessDenied
        } else if status == Some(404) || has("NotFound") || code.starts_with("NoSuch") {
            ErrorKind::NotFound
        } else if status == Some(429) || has("Throttl") || has("TooManyRequests") {
            ErrorKind::Throttled
        } else if status == Some(409) || has("Conflict") || has("InUse") {
            ErrorKind::Conflict
        } else if has("Validation")
            || has("InvalidParameter")
            || status.is_some_and(|s| (400..500).contains(&s))
        {
            ErrorKind::Validation
        } else {
            ErrorKind::Other
        }
    }

    /// How the failure reads when the service sent no code or message of its own, and what
    /// to check.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::AccessDenied => (
                "access denied",
                "check the resource's policy (bucket, key or topic policy) and the caller's permissions",
            ),
            ErrorKind::NotFound => ("not found", "the resource does not exist"),
            ErrorKind::Throttled => ("throttled", "the request rate exceeded the service quota"),
            ErrorKind::Conflict => ("conflict", "the resource is in a state that conflicts with the request"),
            ErrorKind::Validation => ("invalid request", "the service refused the request"),
            ErrorKind::Other => ("failed", "the service answered with an error"),
        }
    }
}

/// A failed AWS call: the error code (if the service gave one), its classification and the
/// full message chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    /// The service's error code, e.g. `NoSuchBucket`.
    pub code: Option<String>,
    /// The HTTP status of the answer, if there was one.
    pub status: Option<u16>,
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// What happened, with context.
    pub message: String,
}

impl AwsError {
    /// An error raised by the tool itself (no service code).
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            code: None,
            status: None,
            kind: ErrorKind::Other,
            message: message.into(),
        }
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl std::fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// True if the code is one of `codes`.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

/// The operation an SDK error type belongs to: `aws_sdk_s3::operation::head_object::
/// HeadObjectError` names `HeadObject`. The SDK keeps the operation name in the request's
/// config bag, which an error no longer carries; its type still does.
fn operation_of<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last)
}

impl<E, R> From<SdkError<E, R>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
{
    fn from(e: SdkError<E, R>) -> Self {
        let code = e.code().map(str::to_string);
        let status = e.raw_response().map(HttpStatus::status);
        let kind = ErrorKind::classify(code.as_deref(), status);
        let operation = operation_of::<E>();
        tracing::debug!(operation, error = ?e, "AWS call failed");
        let message = match (&code, e.message(), status) {
            (Some(c), Some(m), _) => format!("{c}: {m}"),
            (Some(c), None, _) => c.clone(),
            // An answer without a code (a HEAD has no body): say what it means.
            (None, _, Some(status)) => {
                let (what, hint) = kind.describe();
                format!("{what} (HTTP {status}) on {operation}: {hint}")
            }
            // No answer at all (a timeout, a dropped connection): the SDK says which.
            (None, _, None) => format!("{operation}: {}", DisplayErrorContext(&e)),
        };
        Self {
            code,
            status,
            kind,
            message,
        }
    }
}

/// The HTTP status of a raw response, for the SDK's response types.
pub trait HttpStatus {
    /// The status code.
    fn status(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_code_and_status() {
        let c = ErrorKind::classify;
        assert_eq!(c(None, Some(403)), ErrorKind::AccessDenied);
        assert_eq!(
            c(Some("AccessDeniedException"), Some(400)),
            ErrorKind::AccessDenied
        );
        assert_eq!(c(Some("NoSuchBucket"), Some(404)), ErrorKind::NotFound);
        assert_eq!(
            c(Some("ResourceNotFoundException"), Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            c(Some("ThrottlingException"), Some(400)),
            ErrorKind::Throttled
        );
        assert_eq!(c(None, Some(429)), ErrorKind::Throttled);
        assert_eq!(
            c(Some("ResourceInUseException"), Some(400)),
            ErrorKind::Conflict
        );
        assert_eq!(
            c(Some("ValidationException"), Some(400)),
            ErrorKind::Validation
        );
        assert_eq!(c(Some("InternalFailure"), Some(500)), ErrorKind::Other);
        assert_eq!(c(None, None), ErrorKind::Other);
    }

    #[test]
    fn the_operation_comes_from_the_error_type() {
        struct HeadObjectError;
        assert_eq!(operation_of::<HeadObjectError>(), "HeadObject");
    }
}
