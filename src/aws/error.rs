//! One error type for AWS calls, carrying the service's error code for classification.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS call: the error code (if the service gave one) and the full message chain.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    /// The service's error code, e.g. `NoSuchBucket`.
    pub code: Option<String>,
    /// What happened, with context.
    pub message: String,
}

impl AwsError {
    /// An error raised by the tool itself (no service code).
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            code: None,
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

impl<E, R> From<SdkError<E, R>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn from(e: SdkError<E, R>) -> Self {
        let code = e.code().map(str::to_string);
        let detail = e.message().map(str::to_string);
        let message = match (&code, detail) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.clone(),
            _ => DisplayErrorContext(&e).to_string(),
        };
        Self { code, message }
    }
}
