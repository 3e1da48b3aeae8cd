"""getResolvedOptions: the job's arguments, by name, from sys.argv.

https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-get-resolved-options.html
"""

import argparse


class GlueArgumentError(Exception):
    """A requested argument is missing (or has no value): the run fails with this error."""


class _Parser(argparse.ArgumentParser):
    # Glue's parser raises instead of exiting, so the script's traceback names the problem.
    def error(self, message):
        raise GlueArgumentError(message)


def getResolvedOptions(args, options):
    """{name: value} for each name in `options`, read from `args` (sys.argv: the script's path,
    then `--name value` pairs). Every requested name is required; arguments not requested are
    ignored; a name given twice takes its last value. Names are referenced without their two
    hyphens, and values are strings."""
    parser = _Parser(add_help=False, allow_abbrev=False)
    for name in options:
        parser.add_argument("--" + name, dest=name, required=True)
    parsed, _ = parser.parse_known_args(list(args[1:]))
    return {name: getattr(parsed, name) for name in options}
