//! Which service a request is for, which wire protocol it speaks, and the errors each service
//! really answers with (throttling, 500, 503) in that protocol's format.

use bytes::Bytes;
use http_body_util::Full;
use hyper::http::request::Parts;
use hyper::Response;

/// The wire protocol of an AWS service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `awsJson1_0` (DynamoDB, ...): `X-Amz-Target`, `__type` errors.
    Json10,
    /// `awsJson1_1` (Kinesis, Cognito, Glue, Firehose, ...): `X-Amz-Target`, `__type` errors.
    Json11,
    /// `awsQuery` (IAM, SNS, STS, Redshift): form `Action=`, `<ErrorResponse>` errors.
    Query,
    /// `restJson1` (Lambda, API Gateway): `x-amzn-ErrorType` header and JSON body.
    RestJson,
    /// `restXml` (S3): `<Error>` body.
    RestXml,
}

/// The service (SigV4 signing name, e.g. `dynamodb`, `cognito-idp`) a request is for.
///
/// The `Authorization` header's credential scope (`.../<date>/<region>/<service>/aws4_request`)
/// decides; without it, the `X-Amz-Target` prefix, then the host name; else `unknown`.
pub fn service(parts: &Parts) -> String {
    if let Some(s) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(scope_service)
    {
        return s;
    }
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        let prefix = target.split('.').next().unwrap_or("");
        let known = [
            ("DynamoDB", "dynamodb"),
            ("Kinesis", "kinesis"),
            ("AWSCognitoIdentityProviderService", "cognito-idp"),
            ("AWSGlue", "glue"),
            ("Firehose", "firehose"),
            ("RedshiftData", "redshift-data"),
        ];
        for (p, s) in known {
            if prefix.starts_with(p) {
                return s.to_string();
            }
        }
    }
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(first) = host.split('.').next() {
        if host.contains(".amazonaws.com") && !first.is_empty() {
            return first.to_string();
        }
    }
    "unknown".to_string()
}

/// The service of a SigV4 `Authorization` header's credential scope.
pub fn scope_service(authorization: &str) -> Option<String> {
    let cred = authorization.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    let mut parts = scope.rsplit('/');
    if parts.next()? != "aws4_request" {
        return None;
    }
    let service = parts.next()?;
    (!service.is_empty()).then(|| service.to_string())
}

/// The protocol `service` speaks for this request.
pub fn protocol(service: &str, parts: &Parts) -> Protocol {
    let json_target = parts.headers.contains_key("x-amz-target");
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match service {
        "s3" => Protocol::RestXml,
        "iam" | "sns" | "sts" | "redshift" | "sqs" if !json_target => Protocol::Query,
        "lambda" | "apigateway" | "execute-api" => Protocol::RestJson,
        _ if json_target && content_type.contains("1.0") => Protocol::Json10,
        _ if json_target => Protocol::Json11,
        _ if content_type.starts_with("application/x-www-form-urlencoded") => Protocol::Query,
        _ => Protocol::RestJson,
    }
}

/// The operation name of an API Gateway (REST APIs) request, from its method and path, e.g.
/// `PUT /restapis/a1/resources/r1/methods/GET` -> `PutMethod`; `None` for a path it does not
/// know. (The REST protocols name the operation only by method and path.)
pub fn apigateway_operation(method: &str, path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let op = match (method, segs.as_slice()) {
        ("POST", ["restapis"]) => "CreateRestApi",
        ("GET", ["restapis"]) => "GetRestApis",
        ("GET", ["restapis", _]) => "GetRestApi",
        ("PATCH", ["restapis", _]) => "UpdateRestApi",
        ("DELETE", ["restapis", _]) => "DeleteRestApi",
        ("GET", ["restapis", _, "resources"]) => "GetResources",
        ("POST", ["restapis", _, "resources", _]) => "CreateResource",
        ("GET", ["restapis", _, "resources", _]) => "GetResource",
        ("DELETE", ["restapis", _, "resources", _]) => "DeleteResource",
        ("PUT", ["restapis", _, "resources", _, "methods", _]) => "PutMethod",
        ("GET", ["restapis", _, "resources", _, "methods", _]) => "GetMethod",
        ("PATCH", ["restapis", _, "resources", _, "methods", _]) => "UpdateMethod",
        ("DELETE", ["restapis", _, "resources", _, "methods", _]) => "DeleteMethod",
        ("PUT", ["restapis", _, "resources", _, "methods", _, "integration"]) => "PutIntegration",
        ("GET", ["restapis", _, "resources", _, "methods", _, "integration"]) => "GetIntegration",
        ("DELETE", ["restapis", _, "resources", _, "methods", _, "integration"]) => {
            "DeleteIntegration"
        }
        ("POST", ["restapis", _, "authorizers"]) => "CreateAuthorizer",
        ("GET", ["restapis", _, "authorizers"]) => "GetAuthorizers",
        ("GET", ["restapis", _, "authorizers", _]) => "GetAuthorizer",
        ("PATCH", ["restapis", _, "authorizers", _]) => "UpdateAuthorizer",
        ("DELETE", ["restapis", _, "authorizers", _]) => "DeleteAuthorizer",
        ("POST", ["restapis", _, "deployments"]) => "CreateDeployment",
        ("GET", ["restapis", _, "deployments"]) => "GetDeployments",
        ("GET", ["restapis", _, "deployments", _]) => "GetDeployment",
        ("DELETE", ["restapis", _, "deployments", _]) => "DeleteDeployment",
        ("POST", ["restapis", _, "stages"]) => "CreateStage",
        ("GET", ["restapis", _, "stages"]) => "GetStages",
        ("GET", ["restapis", _, "stages", _]) => "GetStage",
        ("PATCH", ["restapis", _, "stages", _]) => "UpdateStage",
        ("DELETE", ["restapis", _, "stages", _]) => "DeleteStage",
        ("POST" | "PUT", ["tags", ..]) => "TagResource",
        ("DELETE", ["tags", ..]) => "UntagResource",
        ("GET", ["tags", ..]) => "GetTags",
        _ => return None,
    };
    Some(op)
}

/// The operation name of a Lambda request, from its method and path, e.g.
/// `POST /2015-03-31/event-source-mappings/` -> `CreateEventSourceMapping`; `None` for a path
/// it does not know. (Lambda's REST protocol names the operation only by method and path.)
pub fn lambda_operation(method: &str, path: &str) -> Option<&'static str> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let op = match (method, segs.as_slice()) {
        ("POST", ["2015-03-31", "functions"]) => "CreateFunction",
        ("GET", ["2015-03-31", "functions"]) => "ListFunctions",
        ("GET", ["2015-03-31", "functions", _]) => "GetFunction",
        ("DELETE", ["2015-03-31", "functions", _]) => "DeleteFunction",
        ("PUT", ["2015-03-31", "functions", _, "code"]) => "UpdateFunctionCode",
        ("GET", ["2015-03-31", "functions", _, "configuration"]) => "GetFunctionConfiguration",
        ("PUT", ["2015-03-31", "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("POST", ["2015-03-31", "functions", _, "policy"]) => "AddPermission",
        ("GET", ["2015-03-31", "functions", _, "policy"]) => "GetPolicy",
        ("DELETE", ["2015-03-31", "functions", _, "policy", _]) => "RemovePermission",
        ("POST", ["2015-03-31", "event-source-mappings"]) => "CreateEventSourceMapping",
        ("GET", ["2015-03-31", "event-source-mappings"]) => "ListEventSourceMappings",
        ("GET", ["2015-03-31", "event-source-mappings", _]) => "GetEventSourceMapping",
        ("PUT", ["2015-03-31", "event-source-mappings", _]) => "UpdateEventSourceMapping",
        ("DELETE", ["2015-03-31", "event-source-mappings", _]) => "DeleteEventSourceMapping",
        ("POST", ["2017-03-31", "tags", _]) => "TagResource",
        ("DELETE", ["2017-03-31", "tags", _]) => "UntagResource",
        ("GET", ["2017-03-31", "tags", _]) => "ListTags",
        _ => return None,
    };
    Some(op)
}

/// The kind of error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service's throttling error.
    Throttle,
    /// HTTP 500.
    Internal,
    /// HTTP 503.
    Unavailable,
}

/// DynamoDB operations on items (data plane), throttled with
/// `ProvisionedThroughputExceededException` rather than `ThrottlingException`.
const DYNAMODB_DATA: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

/// Kinesis record operations (data plane), throttled with
/// `ProvisionedThroughputExceededException` rather than `LimitExceededException`.
const KINESIS_DATA: &[&str] = &["PutRecord", "PutRecords", "GetRecords", "GetShardIterator"];

/// The HTTP status and error code `service` answers `operation` with for `kind`.
pub fn error_code(service: &str, operation: &str, kind: ErrorKind) -> (u16, &'static str) {
    match kind {
        ErrorKind::Throttle => match service {
            "dynamodb" if DYNAMODB_DATA.contains(&operation) => {
                (400, "ProvisionedThroughputExceededException")
            }
            "dynamodb" => (400, "ThrottlingException"),
            "kinesis" if KINESIS_DATA.contains(&operation) => {
                (400, "ProvisionedThroughputExceededException")
            }
            "kinesis" => (400, "LimitExceededException"),
            "cognito-idp" => (400, "TooManyRequestsException"),
            "lambda" | "apigateway" => (429, "TooManyRequestsException"),
            "s3" => (503, "SlowDown"),
            "iam" | "sns" | "sts" | "redshift" => (400, "Throttling"),
            _ => (400, "ThrottlingException"),
        },
        ErrorKind::Internal => match service {
            "dynamodb" => (500, "InternalServerError"),
            "s3" => (500, "InternalError"),
            "lambda" => (500, "ServiceException"),
            _ => (500, "InternalFailure"),
        },
        ErrorKind::Unavailable => match service {
            "s3" => (503, "ServiceUnavailable"),
            "lambda" | "apigateway" => (503, "ServiceUnavailableException"),
            _ => (503, "ServiceUnavailable"),
        },
    }
}

fn message(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Throttle => "Rate exceeded",
        ErrorKind::Internal => "We encountered an internal error. Please try again.",
        ErrorKind::Unavailable => "Service is unavailable. Please try again.",
    }
}

/// The error answer of `kind` for `operation` of `service`, in `protocol`'s format.
/// `request_id` goes where the service puts its request ID.
pub fn error_response(
    service: &str,
    protocol: Protocol,
    operation: &str,
    kind: ErrorKind,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let (status, code) = error_code(service, operation, kind);
    let msg = message(kind);
    let builder = Response::builder().status(status);
    let (builder, body) = match protocol {
        Protocol::Json10 | Protocol::Json11 => {
            let ct = if protocol == Protocol::Json10 {
                "application/x-amz-json-1.0"
            } else {
                "application/x-amz-json-1.1"
            };
            (
                builder
                    .header("content-type", ct)
                    .header("x-amzn-requestid", request_id),
                format!(r#"{{"__type":"{code}","message":"{msg}"}}"#),
            )
        }
        Protocol::RestJson => (
            builder
                .header("content-type", "application/json")
                .header("x-amzn-errortype", code)
                .header("x-amzn-requestid", request_id),
            if kind == ErrorKind::Throttle && service == "lambda" {
                format!(r#"{{"Type":"User","message":"{msg}","Reason":"CallerRateLimitExceeded"}}"#)
            } else {
                format!(r#"{{"message":"{msg}"}}"#)
            },
        ),
        Protocol::Query => {
            let fault = if kind == ErrorKind::Throttle {
                "Sender"
            } else {
                "Receiver"
            };
            (
                builder.header("content-type", "text/xml"),
                format!(
                    "<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code>\
                     <Message>{msg}</Message></Error><RequestId>{request_id}</RequestId>\
                     </ErrorResponse>"
                ),
            )
        }
        Protocol::RestXml => (
            builder
                .header("content-type", "application/xml")
                .header("x-amz-request-id", request_id),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{msg}</Message><RequestId>{request_id}</RequestId>\
                 <HostId>fault-proxy</HostId></Error>"
            ),
        ),
    };
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("valid error response")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use hyper::Request;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method("POST").uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn auth(service: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc"
        )
    }

    async fn answer(
        service_name: &str,
        headers: &[(&str, &str)],
        op: &str,
        kind: ErrorKind,
    ) -> (u16, hyper::HeaderMap, String) {
        let a = auth(service_name);
        let mut all = vec![("authorization", a.as_str())];
        all.extend_from_slice(headers);
        let p = parts(&all);
        let svc = service(&p);
        assert_eq!(svc, service_name);
        let resp = error_response(&svc, protocol(&svc, &p), op, kind, "req-1");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn service_from_credential_scope_then_target_then_host() {
        assert_eq!(
            scope_service(&auth("cognito-idp")).as_deref(),
            Some("cognito-idp")
        );
        assert_eq!(scope_service("Bearer x"), None);
        let p = parts(&[("x-amz-target", "DynamoDB_20120810.PutItem")]);
        assert_eq!(service(&p), "dynamodb");
        let p = parts(&[("host", "iam.amazonaws.com")]);
        assert_eq!(service(&p), "iam");
        assert_eq!(service(&parts(&[("host", "127.0.0.1:5000")])), "unknown");
    }

    #[tokio::test]
    async fn json_services_answer_their_own_throttling_codes() {
        let ddb = [
            ("x-amz-target", "DynamoDB_20120810.PutItem"),
            ("content-type", "application/x-amz-json-1.0"),
        ];
        let (s, h, b) = answer("dynamodb", &ddb, "PutItem", ErrorKind::Throttle).await;
        assert_eq!(s, 400);
        assert_eq!(h["content-type"], "application/x-amz-json-1.0");
        assert_eq!(
            b,
            r#"{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"}"#
        );
        let (_, _, b) = answer("dynamodb", &ddb, "CreateTable", ErrorKind::Throttle).await;
        assert!(b.contains(r#""__type":"ThrottlingException""#), "{b}");

        let kin = [
            ("x-amz-target", "Kinesis_20131202.PutRecords"),
            ("content-type", "application/x-amz-json-1.1"),
        ];
        let (_, h, b) = answer("kinesis", &kin, "PutRecords", ErrorKind::Throttle).await;
        assert_eq!(h["content-type"], "application/x-amz-json-1.1");
        assert!(b.contains("ProvisionedThroughputExceededException"), "{b}");
        let (_, _, b) = answer("kinesis", &kin, "CreateStream", ErrorKind::Throttle).await;
        assert!(b.contains(r#""__type":"LimitExceededException""#), "{b}");

        let cog = [
            (
                "x-amz-target",
                "AWSCognitoIdentityProviderService.AdminCreateUser",
            ),
            ("content-type", "application/x-amz-json-1.1"),
        ];
        let (s, _, b) = answer("cognito-idp", &cog, "AdminCreateUser", ErrorKind::Throttle).await;
        assert_eq!(s, 400);
        assert!(b.contains(r#""__type":"TooManyRequestsException""#), "{b}");

        for (svc, target) in [
            ("glue", "AWSGlue.CreateJob"),
            ("firehose", "Firehose_20150804.X"),
        ] {
            let h = [
                ("x-amz-target", target),
                ("content-type", "application/x-amz-json-1.1"),
            ];
            let (_, _, b) = answer(svc, &h, "X", ErrorKind::Throttle).await;
            assert!(
                b.contains(r#""__type":"ThrottlingException""#),
                "{svc}: {b}"
            );
            let (s, _, b) = answer(svc, &h, "X", ErrorKind::Internal).await;
            assert_eq!(s, 500);
            assert!(b.contains(r#""__type":"InternalFailure""#), "{svc}: {b}");
            let (s, _, b) = answer(svc, &h, "X", ErrorKind::Unavailable).await;
            assert_eq!(s, 503);
            assert!(b.contains(r#""__type":"ServiceUnavailable""#), "{svc}: {b}");
        }
    }

    #[tokio::test]
    async fn query_services_answer_an_error_response_document() {
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        for svc in ["iam", "sns", "redshift", "sts"] {
            let (s, h, b) = answer(svc, &form, "CreateRole", ErrorKind::Throttle).await;
            assert_eq!(s, 400, "{svc}");
            assert_eq!(h["content-type"], "text/xml");
            assert!(
                b.starts_with("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"),
                "{svc}: {b}"
            );
            assert!(b.contains("<RequestId>req-1</RequestId>"), "{b}");
            let (s, _, b) = answer(svc, &form, "CreateRole", ErrorKind::Unavailable).await;
            assert_eq!(s, 503);
            assert!(
                b.contains("<Type>Receiver</Type><Code>ServiceUnavailable</Code>"),
                "{b}"
            );
        }
    }

    #[test]
    fn api_gateway_operations_are_named_from_method_and_path() {
        let cases = [
            ("POST", "/restapis", "CreateRestApi"),
            ("GET", "/restapis", "GetRestApis"),
            ("GET", "/restapis/a1/resources", "GetResources"),
            ("POST", "/restapis/a1/resources/r0", "CreateResource"),
            ("PUT", "/restapis/a1/resources/r1/methods/GET", "PutMethod"),
            (
                "DELETE",
                "/restapis/a1/resources/r1/methods/GET",
                "DeleteMethod",
            ),
            (
                "PUT",
                "/restapis/a1/resources/r1/methods/POST/integration",
                "PutIntegration",
            ),
            ("POST", "/restapis/a1/authorizers", "CreateAuthorizer"),
            ("POST", "/restapis/a1/deployments", "CreateDeployment"),
            ("PATCH", "/restapis/a1/stages/v1", "UpdateStage"),
            ("POST", "/tags/arn%3Aaws%3Aapigateway", "TagResource"),
        ];
        for (method, path, op) in cases {
            assert_eq!(
                apigateway_operation(method, path),
                Some(op),
                "{method} {path}"
            );
        }
        assert_eq!(apigateway_operation("GET", "/other"), None);
    }

    #[test]
    fn lambda_operations_from_method_and_path() {
        let cases = [
            ("POST", "/2015-03-31/functions", "CreateFunction"),
            ("PUT", "/2015-03-31/functions/f/code", "UpdateFunctionCode"),
            ("POST", "/2015-03-31/functions/f/policy", "AddPermission"),
            (
                "DELETE",
                "/2015-03-31/functions/f/policy/sid",
                "RemovePermission",
            ),
            (
                "POST",
                "/2015-03-31/event-source-mappings/",
                "CreateEventSourceMapping",
            ),
            (
                "DELETE",
                "/2015-03-31/event-source-mappings/u-1",
                "DeleteEventSourceMapping",
            ),
            ("POST", "/2017-03-31/tags/arn%3Aaws%3Alambda", "TagResource"),
        ];
        for (method, path, op) in cases {
            assert_eq!(lambda_operation(method, path), Some(op), "{method} {path}");
        }
        assert_eq!(lambda_operation("GET", "/other"), None);
    }

    #[tokio::test]
    async fn rest_json_and_s3_answers() {
        let (s, h, b) = answer(
            "lambda",
            &[],
            "POST /2015-03-31/functions",
            ErrorKind::Throttle,
        )
        .await;
        assert_eq!(s, 429);
        assert_eq!(h["x-amzn-errortype"], "TooManyRequestsException");
        assert!(b.contains("CallerRateLimitExceeded"), "{b}");
        let (s, h, _) = answer("lambda", &[], "GET /x", ErrorKind::Internal).await;
        assert_eq!(s, 500);
        assert_eq!(h["x-amzn-errortype"], "ServiceException");
        let (s, h, _) = answer("apigateway", &[], "GET /restapis", ErrorKind::Throttle).await;
        assert_eq!(s, 429);
        assert_eq!(h["x-amzn-errortype"], "TooManyRequestsException");

        let (s, h, b) = answer("s3", &[], "PUT /bucket", ErrorKind::Throttle).await;
        assert_eq!(s, 503);
        assert_eq!(h["content-type"], "application/xml");
        assert!(b.contains("<Error><Code>SlowDown</Code>"), "{b}");
        let (s, _, b) = answer("s3", &[], "PUT /bucket", ErrorKind::Internal).await;
        assert_eq!(s, 500);
        assert!(b.contains("<Code>InternalError</Code>"), "{b}");
    }
}
