"""Lambda functions: the limit on environment variables that moto does not keep.

- CreateFunction and UpdateFunctionConfiguration refuse environment variables over 4 KB in
  aggregate (InvalidParameterValueException).
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
  https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
  https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html

(The module is `lambda_` because `lambda` is a Python keyword.)
"""

import json

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


def install():
    refuse_environment_over_4_kb()
