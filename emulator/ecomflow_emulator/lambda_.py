"""Lambda functions: the limit on environment variables that moto does not keep, and a
deployment package that GetFunction's Code.Location really serves.

- CreateFunction and UpdateFunctionConfiguration refuse environment variables over 4 KB in
  aggregate (InvalidParameterValueException).
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
  https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html
- GetFunction's Code.Location is a URL on the emulator that serves the function's zip for 10
  minutes.
  https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
  https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html

(The module is `lambda_` because `lambda` is a Python keyword.)
"""

import json
import time
from urllib.parse import quote, unquote

ENVIRONMENT_LIMIT = 4096
ENVIRONMENT_MESSAGE = (
    "Lambda was unable to configure your environment variables because the environment "
    "variables you have provided exceeded the 4KB limit. String measured: "
)


def measured(variables):
    """The string Lambda measures: the variables as compact JSON (no spaces, `"` and `\\`
    escaped), as the refusal quotes it. Its size is taken in UTF-8 bytes, non-ASCII characters
    unescaped: the pages say "4 KB" and do not say how such characters count."""
    return json.dumps(variables, separators=(",", ":"), ensure_ascii=False)


def check_environment(request):
    """Refuses a request whose Environment.Variables measure over 4096 bytes."""
    variables = ((request or {}).get("Environment") or {}).get("Variables")
    if not variables:
        return
    text = measured(variables)
    if len(text.encode("utf-8")) > ENVIRONMENT_LIMIT:
        from moto.awslambda.exceptions import InvalidParameterValueException

        raise InvalidParameterValueException(ENVIRONMENT_MESSAGE + text)


def refuse_environment_over_4_kb():
    """CreateFunction and UpdateFunctionConfiguration refuse environment variables over 4 KB.
    moto stored any size. AWS's quota is "Function environment variables: 4 KB, for all
    environment variables associated with the function, in aggregate" (fixed, not adjustable);
    both operations list InvalidParameterValueException (HTTP 400). What counts is the whole
    map as one string, names, values and JSON punctuation included: AWS's refusal reads
    "Lambda was unable to configure your environment variables because the environment
    variables you have provided exceeded the 4KB limit. String measured: {"NAME":"value",...}",
    and exactly 4096 bytes is accepted. An update's Environment replaces the function's
    variables, so only the request's are measured.
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
    https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
    https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html
    """
    from moto.awslambda.models import LambdaBackend

    create = LambdaBackend.create_function
    update = LambdaBackend.update_function_configuration

    def create_function(self, spec):
        check_environment(spec)
        return create(self, spec)

    def update_function_configuration(self, function_name, qualifier, body):
        check_environment(body)
        return update(self, function_name, qualifier, body)

    LambdaBackend.create_function = create_function
    LambdaBackend.update_function_configuration = update_function_configuration


# How long a Code.Location URL serves the package: "valid for 10 minutes" (API_GetFunction).
LOCATION_SECONDS = 600
# The URL's path. The emulator routes an unsigned request by its first path segment,
# `<service>_<region>` (moto's own way for requests it sends itself).
LOCATION_PATH = "/lambda_{region}/snapshots/{account}/{name}/{version}"
EXPIRED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    "<Message>Request has expired</Message></Error>"
)
NO_SUCH_KEY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    "<Message>The specified key does not exist.</Message></Error>"
)


def serve_code(request, full_url, headers):
    """GET of a Code.Location URL: the version's deployment package, as the presigned S3 URL
    AWS hands out answers: the zip, or S3's AccessDenied "Request has expired" (HTTP 403) once
    its 10 minutes are over, or NoSuchKey (404) when the function is gone."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends

    _, segment, _, account, name, version = request.path.split("/")
    region = segment[len("lambda_"):]
    try:
        expires = int(request.args.get("X-Amz-Date", "0")) + LOCATION_SECONDS
    except ValueError:
        expires = 0
    if time.time() > expires:
        return 403, {"Content-Type": "application/xml"}, EXPIRED
    try:
        fn = lambda_backends[account][region].get_function(unquote(name), unquote(version))
    except UnknownFunctionException:
        return 404, {"Content-Type": "application/xml"}, NO_SUCH_KEY
    return 200, {"Content-Type": "application/zip"}, fn.code_bytes


def serve_code_location():
    """GetFunction's Code.Location is a URL that serves the function's deployment package.

    moto answered `https://awslambda-<region>-tasks.s3.<region>.amazonaws.com/<key>`, a host
    that does not resolve, so whoever downloads the code (Prowler scans it for secrets) fails.
    AWS documents Location as "A presigned URL that you can use to download the deployment
    package", valid for 10 minutes. Here it is `http://<the host the call reached>` plus
    LOCATION_PATH and the time it was issued, served by `serve_code` to anyone holding it (a
    presigned URL needs no credentials). Container images keep their ImageUri, no Location.
    https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html
    https://docs.aws.amazon.com/lambda/latest/api/API_FunctionCodeLocation.html
    """
    from moto.awslambda.responses import LambdaResponse
    from moto.awslambda.urls import url_paths

    url_paths[
        r"{0}/lambda_(?P<region>[^/]+)/snapshots/(?P<account>[0-9]+)/(?P<name>[^/]+)/(?P<version>[^/]+)$"
    ] = serve_code
    original = LambdaResponse.get_function

    def get_function(self):
        body = original(self)
        answer = json.loads(body)
        code = answer.get("Code") or {}
        if "Location" not in code:
            return body
        configuration = answer.get("Configuration") or {}
        path = LOCATION_PATH.format(
            region=self.region,
            account=self.current_account,
            name=quote(configuration.get("FunctionName", ""), safe=""),
            version=quote(configuration.get("Version", "$LATEST"), safe=""),
        )
        host = self.headers.get("Host")
        code["Location"] = f"http://{host}{path}?X-Amz-Date={int(time.time())}"
        return json.dumps(answer)

    LambdaResponse.get_function = get_function


def install():
    refuse_environment_over_4_kb()
    serve_code_location()
