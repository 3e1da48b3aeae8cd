"""GlueContext: wraps the SparkContext; the stand-in gives its SparkSession only.

https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-crawler-pyspark-extensions-glue-context.html
"""


class GlueContext:
    def __init__(self, sparkContext, **options):
        from pyspark.sql import SparkSession

        self._sc = sparkContext
        self.spark_session = SparkSession(sparkContext)
