//! Creates that must not be repeated blindly. The SDK's retry would send a create again after
//! a dropped connection or a 5xx, when the first call may well have happened: for a resource
//! whose name is not unique and whose ID the service assigns, that is a duplicate nobody
//! declared (found under faults: a lost CreateUserPool answer left two pools of one name).
//! [`create_checked`] makes each such call once with the SDK's retries off, and reads back
//! before it tries again.

use super::AwsError;
use std::future::Future;
use std::time::Duration;

/// What a create of something that already exists is answered with: API Gateway's (a
/// resource path, a method), Lambda's (a second mapping of one function and source).
pub(super) const CONFLICT: &[&str] = &["ConflictException", "ResourceConflictException"];
/// Throttling answers: the call was refused, it did not happen.
const THROTTLED: &[&str] = &[
    "TooManyRequestsException",
    "LimitExceededException",
    "ThrottlingException",
    "Throttling",
];
/// Server-side failures: the call may or may not have happened.
const SERVER_ERRORS: &[&str] = &[
    "InternalFailure",
    "InternalServerError",
    "InternalError",
    "InternalErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "BadGatewayException",
];
/// Attempts of a checked create (see [`create_checked`]) before giving up.
const CREATE_ATTEMPTS: u32 = 8;

/// Runs a create that the service does not make idempotent, without ever repeating it
/// blindly: a second CreateRestApi, CreateAuthorizer, CreateDeployment, CreateUserPool or
/// CreateUserPoolClient makes a duplicate (names are not unique, IDs are assigned); a second CreateResource makes
/// a duplicate on some implementations and a conflict on AWS.
///
/// `call` makes the request once, with the SDK's retries off. A throttling answer means it
/// did not happen: wait and call again. An answer that leaves it open (no answer at all, a
/// dropped connection, a 5xx) or a conflict means it may have happened: `lookup` reads back
/// what exists, and only if nothing is there is the call made again. Any other error is final.
pub(super) async fn create_checked<T, C, CF, L, LF>(
    what: &str,
    mut call: C,
    mut lookup: L,
) -> Result<T, AwsError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, AwsError>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        if attempt > 0 {
            // Exponential backoff with full jitter, as the SDK's standard retry does.
            let cap = Duration::from_millis(50u64 << attempt.min(6)).min(Duration::from_secs(5));
            tokio::time::sleep(cap.mul_f64(rand::random::<f64>())).await;
        }
        match call().await {
            Ok(made) => return Ok(made),
            Err(e) if e.is(THROTTLED) => last = Some(e),
            Err(e) if e.code.is_none() || e.is(SERVER_ERRORS) || e.is(CONFLICT) => {
                if let Some(found) = lookup().await? {
                    return Ok(found);
                }
                if e.is(CONFLICT) {
                    return Err(e.context(format!(
                        "failed to {what}: it conflicts with something that cannot be read back"
                    )));
                }
                last = Some(e);
            }
            Err(e) => return Err(e.context(format!("failed to {what}"))),
        }
    }
    Err(last
        .unwrap_or_else(|| AwsError::msg("no attempt made"))
        .context(format!("failed to {what} after {CREATE_ATTEMPTS} attempts")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn err(code: Option<&str>) -> AwsError {
        AwsError {
            code: code.map(str::to_string),
            ..AwsError::msg("boom")
        }
    }

    /// Runs `create_checked` over scripted answers: `calls` answers in turn, `found` is what the
    /// read-back finds. Returns the outcome, calls made and read-backs made.
    async fn script(
        calls: Vec<Result<&'static str, AwsError>>,
        found: Option<&'static str>,
    ) -> (Result<&'static str, AwsError>, usize, usize) {
        let answers = std::cell::RefCell::new(calls.into_iter());
        let (made, looked) = (Cell::new(0), Cell::new(0));
        let out = create_checked(
            "create a thing",
            || {
                made.set(made.get() + 1);
                let next = answers.borrow_mut().next().expect("a scripted answer");
                async move { next }
            },
            || {
                looked.set(looked.get() + 1);
                async move { Ok(found) }
            },
        )
        .await;
        (out, made.get(), looked.get())
    }

    #[tokio::test]
    async fn a_lost_answer_is_read_back_never_repeated() {
        // No answer (a dropped connection): the read-back finds it, no second call.
        let (out, made, looked) = script(vec![Err(err(None))], Some("id-1")).await;
        assert_eq!((out.unwrap(), made, looked), ("id-1", 1, 1));
        // A 5xx and nothing there: the call is made again.
        let (out, made, looked) = script(
            vec![Err(err(Some("ServiceUnavailableException"))), Ok("id-2")],
            None,
        )
        .await;
        assert_eq!((out.unwrap(), made, looked), ("id-2", 2, 1));
        // A conflict is the thing already there.
        let (out, made, _) = script(vec![Err(err(Some("ConflictException")))], Some("id-3")).await;
        assert_eq!((out.unwrap(), made), ("id-3", 1));
    }

    #[tokio::test]
    async fn throttles_are_retried_and_other_errors_are_final() {
        let (out, made, looked) = script(
            vec![
                Err(err(Some("TooManyRequestsException"))),
                Err(err(Some("TooManyRequestsException"))),
                Ok("id"),
            ],
            Some("never read"),
        )
        .await;
        assert_eq!((out.unwrap(), made, looked), ("id", 3, 0));
        let (out, made, looked) = script(vec![Err(err(Some("BadRequestException")))], None).await;
        assert!(out
            .unwrap_err()
            .message
            .contains("failed to create a thing"));
        assert_eq!((made, looked), (1, 0));
        // A conflict that cannot be read back is an error, not a retry.
        let (out, made, _) = script(vec![Err(err(Some("ConflictException")))], None).await;
        assert!(out.is_err());
        assert_eq!(made, 1);
    }
}
