//! Sending one batch: as a `POST /records` to the API, or through the `ingest` handler
//! straight to Kinesis. Both answer with the handler's JSON counts.

use super::auth::CognitoSession;
use super::batches::Batch;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Attempts per batch for answers worth retrying (throttling, 5xx, broken connections).
const ATTEMPTS: u32 = 6;
/// First retry delay; doubled after each attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What the pipeline said about one batch (the `ingest` handler's answer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Answer {
    /// Rows put on the stream.
    pub accepted: u64,
    /// Rows refused by the cleaning rules.
    pub rejected: u64,
    /// Refused rows by reason.
    #[serde(default)]
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Valid rows the stream kept refusing.
    #[serde(default)]
    pub failed: u64,
}

/// Why a batch did not get through.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The pipeline refused the request itself (4xx other than throttling): not retried.
    #[error("the API refused the batch with HTTP {status}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The answer's message.
        message: String,
    },
    /// Retries ran out.
    #[error("gave up after {ATTEMPTS} attempts: {0}")]
    GaveUp(String),
}

/// Where batches go.
pub enum Sender {
    /// `POST {url}/records` with the user's ID token.
    Api {
        /// HTTP client.
        http: reqwest::Client,
        /// The `/records` URL.
        url: String,
        /// The signed-in user.
        auth: CognitoSession,
    },
    /// The `ingest` handler in-process, writing to the stream.
    Direct {
        /// The handler's configuration (the deployed function's environment).
        config: ingest::Config,
        /// The stream writer (and the rejects' bucket).
        sink: ingest::AwsBackend,
    },
}

/// One try's outcome: an answer, or a failure and whether another try may help.
enum Try {
    Done(Answer),
    Retry(String),
    Fatal(SendError),
}

impl Sender {
    /// Sends a batch, retrying throttling, server errors and broken connections with
    /// exponential backoff, and renewing the token once on a 401.
    pub async fn send(&self, batch: &Batch) -> Result<Answer, SendError> {
        let mut delay = FIRST_BACKOFF;
        let mut last = String::new();
        let mut renewed = false;
        for attempt in 1..=ATTEMPTS {
            let outcome = match self {
                Sender::Api { http, url, auth } => {
                    match self.post(http, url, auth, batch, &mut renewed).await {
                        Ok(t) => t,
                        Err(e) => Try::Retry(e),
                    }
                }
                Sender::Direct { config, sink } => {
                    let mut req = ApiGatewayProxyRequest::default();
                    req.http_method = aws_lambda_events::http::Method::POST;
                    req.path = Some("/records".into());
                    req.headers.insert(
                        "content-type",
                        aws_lambda_events::http::HeaderValue::from_static("text/csv"),
                    );
                    req.body = Some(batch.body.clone());
                    // `ingest`, not `handle`: no API and no Cognito caller here; this
                    // process's own AWS credentials decide whether it may write the stream.
                    let resp = ingest::ingest(&req, config, sink).await;
                    let text = match resp.body {
                        Some(aws_lambda_events::encodings::Body::Text(t)) => t,
                        _ => String::new(),
                    };
                    judge(resp.status_code as u16, &text)
                }
            };
            match outcome {
                Try::Done(a) => return Ok(a),
                Try::Fatal(e) => return Err(e),
                Try::Retry(why) => {
                    tracing::warn!(first_row = batch.first_row, attempt, reason = %why, "batch will be retried");
                    last = why;
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
        Err(SendError::GaveUp(last))
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        url: &str,
        auth: &CognitoSession,
        batch: &Batch,
        renewed: &mut bool,
    ) -> Result<Try, String> {
        let token = auth.id_token(false).await.map_err(|e| format!("{e:#}"))?;
        let resp = http
            .post(url)
            .header("authorization", token)
            .header("content-type", "text/csv; charset=utf-8")
            .body(batch.body.clone())
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        if status == 401 && !*renewed {
            *renewed = true;
            auth.id_token(true).await.map_err(|e| format!("{e:#}"))?;
            return Ok(Try::Retry("401: token refused; renewed it".into()));
        }
        Ok(judge(status, &text))
    }
}

/// Classifies the pipeline's answer to one batch.
fn judge(status: u16, body: &str) -> Try {
    match status {
        200..=299 => match serde_json::from_str::<Answer>(body) {
            Ok(a) => Try::Done(a),
            Err(e) => Try::Fatal(SendError::Refused {
                status,
                message: format!("unreadable answer ({e}): {}", excerpt(body)),
            }),
        },
        // The stream kept refusing some rows: the answer counts them as failed, and
        // retrying the whole batch would duplicate the rows that did get through.
        503 if serde_json::from_str::<Answer>(body).is_ok_and(|a| a.failed > 0) => {
            Try::Done(serde_json::from_str(body).unwrap_or_default())
        }
        429 | 500..=599 => Try::Retry(format!("HTTP {status}: {}", excerpt(body))),
        _ => Try::Fatal(SendError::Refused {
            status,
            message: message_of(body),
        }),
    }
}

fn message_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| excerpt(body))
}

fn excerpt(body: &str) -> String {
    body.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_answers_are_read() {
        let body =
            r#"{"accepted":3,"rejected":1,"rejected_by_reason":{"bad_price":1},"rejections":[]}"#;
        match judge(202, body) {
            Try::Done(a) => {
                assert_eq!((a.accepted, a.rejected, a.failed), (3, 1, 0));
                assert_eq!(a.rejected_by_reason["bad_price"], 1);
            }
            _ => panic!("expected an answer"),
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried_and_bad_requests_are_not() {
        assert!(matches!(judge(429, "{}"), Try::Retry(_)));
        assert!(matches!(judge(502, "bad gateway"), Try::Retry(_)));
        assert!(matches!(judge(503, "{}"), Try::Retry(_)));
        match judge(400, r#"{"error":"body is empty"}"#) {
            Try::Fatal(SendError::Refused { status, message }) => {
                assert_eq!((status, message.as_str()), (400, "body is empty"));
            }
            _ => panic!("expected a refusal"),
        }
    }

    #[test]
    fn a_partial_stream_failure_is_counted_not_resent() {
        let body = r#"{"accepted":2,"rejected":0,"failed":3,"rejected_by_reason":{}}"#;
        match judge(503, body) {
            Try::Done(a) => assert_eq!((a.accepted, a.failed), (2, 3)),
            _ => panic!("expected an answer"),
        }
    }
}
