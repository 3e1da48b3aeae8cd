"""A minimal stand-in for AWS Glue's `awsglue` library, for scripts the emulator runs under a
local PySpark (`ecomflow_emulator.glue_run`, which puts this folder on the script's PYTHONPATH).

Glue's own library needs Glue's JVM classes (DynamicFrame, the bookmark service, the catalog
and connection readers), which exist only in Glue's runtime. This stand-in has what the
project's ETL script (src/model/assets/glue_etl.py) calls, and nothing else:

- `awsglue.utils.getResolvedOptions(argv, names)`: `--name value` pairs from sys.argv; every
  requested name must be there (GlueArgumentError otherwise); other arguments are ignored.
  https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-get-resolved-options.html
- `awsglue.context.GlueContext(sc)` with `spark_session` (the SparkSession of `sc`).
  https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-glue-context.html
- `awsglue.job.Job(glue_context)` with `init(name, args)` and `commit()`, which keep no
  bookmark state.
  https://docs.aws.amazon.com/glue/latest/dg/programming-etl-connect-bookmarks.html

Not covered: DynamicFrame and its readers and writers (create_dynamic_frame,
write_dynamic_frame, from_jdbc_conf), transforms, job bookmarks, the Data Catalog as a Spark
catalog, connections, Glue's reserved arguments (--job-bookmark-option, --JOB_ID, ...) and
their checks. A script that imports any of them fails with ImportError or AttributeError,
which the emulator reports as the run's error.
"""
