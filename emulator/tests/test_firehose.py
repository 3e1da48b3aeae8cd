"""Firehose delivery to S3 on a running emulator (`ecomflow_emulator.firehose`): buffering,
object names, record format conversion to Parquet with a Glue table's schema, and the error
output of records that do not convert; each rule with small records, and with the case AWS
refuses where the rule refuses something. The pure parts (timestamp patterns, deserializers,
types) are also tested in-process, with the conversion rate measured.
"""

import base64
import io
import json
import os
import re
import time
import unittest
from datetime import datetime, timezone
from decimal import Decimal

from support import ACCOUNT, COLUMNS, EmulatorCase

from ecomflow_emulator import firehose as fh

BUCKET = "lake"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/firehose"
DATABASE = "lake"
TABLE = "invoice_lines"


def line(invoice="536365", quantity=6, date="2010-12-01 08:26:00", price="2.55", **extra):
    """A clean invoice line as the project's process Lambda writes it (lambdas/records)."""
    record = {
        "InvoiceNo": invoice,
        "StockCode": "85123A",
        "Description": "WHITE HANGING HEART T-LIGHT HOLDER",
        "Quantity": quantity,
        "InvoiceDate": date,
        "UnitPrice": "__PRICE__",
        "CustomerID": 17850,
        "Country": "United Kingdom",
        "IsCancellation": False,
        **extra,
    }
    # The price as a JSON number written exactly as given (2.55, not 2.5499999...).
    return (json.dumps(record).replace('"__PRICE__"', price) + "\n").encode()


def conversion(deserializer=None, serializer=None, table=TABLE, **schema):
    return {
        "Enabled": True,
        "SchemaConfiguration": {
            "DatabaseName": DATABASE,
            "TableName": table,
            "Region": "us-east-1",
            "RoleARN": ROLE,
            "VersionId": "LATEST",
            **schema,
        },
        "InputFormatConfiguration": {"Deserializer": deserializer or {"OpenXJsonSerDe": {}}},
        "OutputFormatConfiguration": {
            "Serializer": serializer or {"ParquetSerDe": {"Compression": "SNAPPY"}}
        },
    }


def destination(prefix, size=64, interval=0, converted=True, error=None, **extra):
    config = {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{BUCKET}",
        "Prefix": prefix,
        "ErrorOutputPrefix": error if error is not None else "errors/" + prefix.split("/")[0]
        + "/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
        "BufferingHints": {"SizeInMBs": size, "IntervalInSeconds": interval},
        "CompressionFormat": "UNCOMPRESSED",
        **extra,
    }
    if converted is True:
        config["DataFormatConversionConfiguration"] = conversion()
    elif converted:
        config["DataFormatConversionConfiguration"] = converted
    return config


class FirehoseCase(EmulatorCase):
    @classmethod
    def build(cls):
        cls.s3 = cls.client("s3")
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.glue = cls.client("glue")
        cls.glue.create_database(DatabaseInput={"Name": DATABASE})
        cls.create_table(TABLE, COLUMNS)
        cls.firehose = cls.client("firehose")

    @classmethod
    def create_table(cls, name, columns):
        cls.glue.create_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": name,
                "StorageDescriptor": {
                    "Columns": [{"Name": n, "Type": t} for n, t in columns],
                    "Location": f"s3://{BUCKET}/{name}/",
                },
                "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            },
        )

    def create(self, name, **config):
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name, DeliveryStreamType="DirectPut", ExtendedS3DestinationConfiguration=config
        )

    def put(self, name, *records):
        answer = self.firehose.put_record_batch(
            DeliveryStreamName=name, Records=[{"Data": r} for r in records]
        )
        self.assertEqual(answer["FailedPutCount"], 0)
        return answer

    def keys(self, prefix, count=1, timeout=20.0):
        """The keys under `prefix` once there are `count` of them (or the timeout passed)."""
        deadline = time.time() + timeout
        while True:
            listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
            keys = sorted(o["Key"] for o in listed)
            if len(keys) >= count or time.time() > deadline:
                return keys
            time.sleep(0.05)

    def body(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def parquet(self, key):
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(self.body(key)))

    def errors(self, key):
        return [json.loads(l) for l in self.body(key).decode().splitlines()]

    def describe(self, name):
        described = self.firehose.describe_delivery_stream(DeliveryStreamName=name)
        return described["DeliveryStreamDescription"]


def today(pattern="%Y-%m-%d"):
    return datetime.now(timezone.utc).strftime(pattern)


class Validation(FirehoseCase):
    """What CreateDeliveryStream, UpdateDestination and Start/StopDeliveryStreamEncryption
    refuse.
    https://docs.aws.amazon.com/firehose/latest/dev/enable-record-format-conversion.html
    https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html
    https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
    """

    def refused_create(self, name, code, **config):
        return self.refused(lambda: self.create(name, **config), code, 400)

    def test_the_projects_stream_is_accepted(self):
        # src/blueprint/catalog.rs: prefix, error prefix, 64 MiB / 300 s, OpenX, Parquet SNAPPY.
        self.create(
            "project",
            **destination(
                "clean/dt=!{timestamp:yyyy-MM-dd}/",
                size=64,
                interval=300,
                error="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
            ),
        )
        described = self.describe("project")["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(described["BufferingHints"], {"SizeInMBs": 64, "IntervalInSeconds": 300})

    def test_conversion_needs_64_mib(self):
        message = self.refused_create("small", "InvalidArgumentException", **destination("small/", size=63))
        self.assertEqual(
            message, "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."
        )
        # Without conversion 1 MiB is fine, and so is a disabled conversion.
        self.create("small-raw", **destination("small-raw/", size=1, converted=False))
        disabled = {**conversion(), "Enabled": False}
        self.create("small-disabled", **destination("small-disabled/", size=1, converted=disabled))

    def test_conversion_needs_uncompressed_s3_output(self):
        config = destination("gz/", CompressionFormat="GZIP")
        message = self.refused_create("gz", "InvalidArgumentException", **config)
        self.assertIn("compression format must be set to UNCOMPRESSED", message)

    def test_conversion_needs_its_three_parts(self):
        config = destination("parts/")
        del config["DataFormatConversionConfiguration"]["SchemaConfiguration"]
        message = self.refused_create("parts", "InvalidArgumentException", **config)
        self.assertEqual(message, "SchemaConfiguration must not be null")
        config = destination("parts/")
        config["DataFormatConversionConfiguration"]["InputFormatConfiguration"]["Deserializer"] = {
            "OpenXJsonSerDe": {},
            "HiveJsonSerDe": {},
        }
        message = self.refused_create("parts", "InvalidArgumentException", **config)
        self.assertEqual(message, "More than one deserializer specified. Only one may be chosen.")

    def test_default_buffer_is_128_mib_with_conversion_and_5_without(self):
        config = destination("defaults/")
        del config["BufferingHints"]
        self.create("defaults", **config)
        config = destination("defaults-raw/", converted=False)
        del config["BufferingHints"]
        self.create("defaults-raw", **config)
        hints = lambda name: self.describe(name)["Destinations"][0]["ExtendedS3DestinationDescription"][
            "BufferingHints"
        ]
        self.assertEqual(hints("defaults"), {"SizeInMBs": 128, "IntervalInSeconds": 300})
        self.assertEqual(hints("defaults-raw"), {"SizeInMBs": 5, "IntervalInSeconds": 300})

    def test_buffering_ranges(self):
        message = self.refused_create("big", "ValidationException", **destination("big/", size=129))
        self.assertIn("Member must have value less than or equal to 128", message)
        message = self.refused_create("long", "ValidationException", **destination("long/", interval=901))
        self.assertIn("Member must have value less than or equal to 900", message)
        config = destination("half/")
        config["BufferingHints"] = {"SizeInMBs": 64}
        self.refused_create("half", "InvalidArgumentException", **config)
        # 0 seconds is in range: zero buffering.
        self.create("zero", **destination("zero/", interval=0))

    def test_buffering_range_edges(self):
        # Below the minimums (botocore would refuse them before sending; the tool's SDK sends).
        unchecked = self.client("firehose", validate=False)
        for name, config, bound in (
            ("empty", destination("empty/", size=0, converted=False), "greater than or equal to 1"),
            ("negative", destination("negative/", interval=-1), "greater than or equal to 0"),
        ):
            message = self.refused(
                lambda: unchecked.create_delivery_stream(
                    DeliveryStreamName=name, DeliveryStreamType="DirectPut", ExtendedS3DestinationConfiguration=config
                ),
                "ValidationException",
                400,
            )
            self.assertIn("at 'extendedS3DestinationConfiguration.bufferingHints.", message)
            self.assertIn(f"Member must have value {bound}", message)
        # The ends of the ranges are in them: 1 MiB without conversion, 64 (the least with
        # conversion) and 128 MiB with it, 900 seconds.
        self.create("edge-1", **destination("edge-1/", size=1, interval=900, converted=False))
        self.create("edge-64", **destination("edge-64/", size=64, interval=900))
        self.create("edge-128", **destination("edge-128/", size=128, interval=900))
        described = self.describe("edge-128")["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(described["BufferingHints"], {"SizeInMBs": 128, "IntervalInSeconds": 900})

    def test_prefix_rules(self):
        # ErrorOutputPrefix can't be null when Prefix contains expressions.
        config = destination("p/!{timestamp:yyyy}/", converted=False)
        del config["ErrorOutputPrefix"]
        self.refused_create("p1", "InvalidArgumentException", **config)
        # An ErrorOutputPrefix with expressions needs !{firehose:error-output-type}.
        config = destination("p/", error="e/!{timestamp:yyyy}/", converted=False)
        self.refused_create("p2", "InvalidArgumentException", **config)
        # error-output-type is for ErrorOutputPrefix only.
        config = destination("p/!{firehose:error-output-type}/", converted=False)
        self.refused_create("p3", "InvalidArgumentException", **config)
        # !{ only in expressions; a timestamp value is a valid pattern; known namespaces.
        for prefix in ("p/!{oops/", "p/!{timestamp:yyyy-bb}/", "p/!{nope:x}/"):
            self.refused_create("p4", "InvalidArgumentException", **destination(prefix, converted=False))
        # Without expressions an ErrorOutputPrefix may be absent.
        config = destination("plain/", converted=False)
        del config["ErrorOutputPrefix"]
        self.create("p5", **config)

    def test_update_destination_is_checked_too(self):
        self.create("upd", **destination("upd/"))
        described = self.describe("upd")
        update = lambda **change: self.firehose.update_destination(
            DeliveryStreamName="upd",
            CurrentDeliveryStreamVersionId=described["VersionId"],
            DestinationId=described["Destinations"][0]["DestinationId"],
            ExtendedS3DestinationUpdate=change,
        )
        message = self.refused(
            lambda: update(BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60}), "InvalidArgumentException", 400
        )
        self.assertIn("at least 64", message)
        # Turning conversion on over a 5 MiB raw stream is refused as well.
        self.create("upd-raw", **destination("upd-raw/", size=5, converted=False))
        raw = self.describe("upd-raw")
        self.refused(
            lambda: self.firehose.update_destination(
                DeliveryStreamName="upd-raw",
                CurrentDeliveryStreamVersionId=raw["VersionId"],
                DestinationId=raw["Destinations"][0]["DestinationId"],
                ExtendedS3DestinationUpdate={"DataFormatConversionConfiguration": conversion()},
            ),
            "InvalidArgumentException",
            400,
        )
        update(BufferingHints={"SizeInMBs": 100, "IntervalInSeconds": 60})
        self.assertEqual(self.describe("upd")["VersionId"], "2")

    # -- Server-side encryption (`ecomflow_emulator.firehose_sse`)
    # https://docs.aws.amazon.com/firehose/latest/APIReference/API_StartDeliveryStreamEncryption.html

    def sse(self, name):
        return self.describe(name)["DeliveryStreamEncryptionConfiguration"]

    def create_sse(self, name, sse, stream_type="DirectPut", **extra):
        self.firehose.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType=stream_type,
            DeliveryStreamEncryptionConfigurationInput=sse,
            ExtendedS3DestinationConfiguration=destination(name + "/", size=5, converted=False),
            **extra,
        )

    def customer_key(self):
        kms = self.client("kms")
        return kms.create_key(
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*", "Resource": "*",
            }]})
        )["KeyMetadata"]["Arn"]

    def test_sse_at_creation_is_described_enabled(self):
        self.create_sse("sse-owned", {"KeyType": "AWS_OWNED_CMK"})
        self.assertEqual(self.sse("sse-owned"), {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"})
        self.assertTrue(self.put("sse-owned", line())["Encrypted"])
        key = self.customer_key()
        self.create_sse("sse-cmk", {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key})
        self.assertEqual(
            self.sse("sse-cmk"), {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key, "Status": "ENABLED"}
        )
        self.create("sse-none", **destination("sse-none/", size=5, converted=False))
        self.assertEqual(self.sse("sse-none"), {"Status": "DISABLED"})
        self.assertFalse(self.put("sse-none", line())["Encrypted"])

    def test_sse_key_arn_iff_customer_managed(self):
        self.refused(
            lambda: self.create_sse("sse-no-arn", {"KeyType": "CUSTOMER_MANAGED_CMK"}), "InvalidArgumentException", 400
        )
        self.refused(
            lambda: self.create_sse("sse-arn", {"KeyType": "AWS_OWNED_CMK", "KeyARN": self.customer_key()}),
            "InvalidArgumentException", 400,
        )
        self.create("sse-later", **destination("sse-later/", size=5, converted=False))
        self.refused(
            lambda: self.firehose.start_delivery_stream_encryption(
                DeliveryStreamName="sse-later",
                DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"},
            ),
            "InvalidArgumentException", 400,
        )
        self.assertEqual(self.sse("sse-later"), {"Status": "DISABLED"})

    def test_sse_customer_key_must_exist_and_be_enabled(self):
        missing = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        self.refused(
            lambda: self.create_sse("sse-missing", {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": missing}),
            "InvalidKMSResourceException", 400,
        )
        key = self.customer_key()
        self.client("kms").disable_key(KeyId=key)
        self.refused(
            lambda: self.create_sse("sse-disabled", {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key}),
            "InvalidKMSResourceException", 400,
        )
        self.client("kms").enable_key(KeyId=key)
        self.create_sse("sse-enabled", {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key})

    def test_sse_start_and_stop(self):
        self.create("sse-switch", **destination("sse-switch/", size=5, converted=False))
        start = lambda sse: self.firehose.start_delivery_stream_encryption(
            DeliveryStreamName="sse-switch", DeliveryStreamEncryptionConfigurationInput=sse
        )
        start({"KeyType": "AWS_OWNED_CMK"})
        self.assertEqual(self.sse("sse-switch"), {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"})
        key = self.customer_key()
        start({"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key})  # changing the key
        self.assertEqual(
            self.sse("sse-switch"), {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": key, "Status": "ENABLED"}
        )
        self.firehose.stop_delivery_stream_encryption(DeliveryStreamName="sse-switch")
        self.assertEqual(self.sse("sse-switch"), {"Status": "DISABLED"})
        self.firehose.stop_delivery_stream_encryption(DeliveryStreamName="sse-switch")
        self.create("sse-never", **destination("sse-never/", size=5, converted=False))
        self.firehose.stop_delivery_stream_encryption(DeliveryStreamName="sse-never")  # moto failed here
        self.refused(
            lambda: self.firehose.stop_delivery_stream_encryption(DeliveryStreamName="no-such-stream"),
            "ResourceNotFoundException", 400,
        )

    def test_sse_only_for_direct_put(self):
        source = {
            "KinesisStreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders",
            "RoleARN": ROLE,
        }
        message = self.refused(
            lambda: self.create_sse(
                "sse-kinesis", {"KeyType": "AWS_OWNED_CMK"}, stream_type="KinesisStreamAsSource",
                KinesisStreamSourceConfiguration=source,
            ),
            "InvalidArgumentException", 400,
        )
        self.assertIn("DirectPut", message)
        self.firehose.create_delivery_stream(
            DeliveryStreamName="from-kinesis",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration=source,
            ExtendedS3DestinationConfiguration=destination("from-kinesis/", size=5, converted=False),
        )
        self.refused(
            lambda: self.firehose.start_delivery_stream_encryption(
                DeliveryStreamName="from-kinesis",
                DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
            ),
            "InvalidArgumentException", 400,
        )
        self.assertEqual(self.sse("from-kinesis"), {"Status": "DISABLED"})


class Buffering(FirehoseCase):
    """Size or interval, whichever first; one object per delivery.
    https://docs.aws.amazon.com/firehose/latest/dev/buffering-hints.html"""

    def test_records_wait_for_the_interval_then_land_in_one_object(self):
        self.create("interval", **destination("interval/", size=1, interval=2, converted=False))
        self.put("interval", b"a\n", b"b\n")
        self.put("interval", b"c\n")
        time.sleep(0.8)
        self.assertEqual(self.keys("interval/", timeout=0), [], "delivered before the interval")
        keys = self.keys("interval/")
        self.assertEqual(len(keys), 1)
        # Raw records are concatenated as they are, without a delimiter added.
        self.assertEqual(self.body(keys[0]), b"a\nb\nc\n")

    def test_a_full_buffer_is_delivered_before_the_interval(self):
        self.create("size", **destination("size/", size=1, interval=900, converted=False))
        chunk = b"x" * 300_000
        self.put("size", chunk, chunk)
        time.sleep(0.5)
        self.assertEqual(self.keys("size/", timeout=0), [], "600 KB is below 1 MiB")
        self.put("size", chunk, chunk)  # 1.2 MB >= 1 MiB
        keys = self.keys("size/", timeout=10)
        self.assertEqual(len(keys), 1)
        self.assertEqual(len(self.body(keys[0])), 4 * 300_000)

    def test_zero_interval_delivers_at_once(self):
        self.create("now", **destination("now/", size=1, interval=0, converted=False))
        self.put("now", b"r1")
        self.assertEqual(len(self.keys("now/", timeout=5)), 1)

    def test_an_update_delivers_the_buffer_under_the_old_configuration(self):
        self.create("moved", **destination("before/", size=1, interval=600, converted=False))
        self.put("moved", b"old")
        described = self.describe("moved")
        self.firehose.update_destination(
            DeliveryStreamName="moved",
            CurrentDeliveryStreamVersionId=described["VersionId"],
            DestinationId=described["Destinations"][0]["DestinationId"],
            ExtendedS3DestinationUpdate={"Prefix": "after/", "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}},
        )
        before = self.keys("before/", timeout=5)
        self.assertEqual(len(before), 1)
        self.assertIn("/moved-1-", before[0])
        self.put("moved", b"new")
        after = self.keys("after/", timeout=5)
        self.assertEqual(len(after), 1)
        self.assertIn("/moved-2-", after[0], "the stream's version is in the name")


class Naming(FirehoseCase):
    """<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>.
    https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
    https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html"""

    SUFFIX = r"-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

    def test_timestamp_expression_evaluated_and_nothing_appended(self):
        self.create("named", **destination("named/dt=!{timestamp:yyyy-MM-dd}/", converted=False, size=1))
        self.put("named", b"x")
        [key] = self.keys("named/")
        self.assertRegex(key, rf"^named/dt={today()}/named{self.SUFFIX}$")

    def test_default_time_prefix_appended_without_a_timestamp_expression(self):
        self.create("plain", **destination("plain/", converted=False, size=1))
        self.put("plain", b"x")
        [key] = self.keys("plain/")
        self.assertRegex(key, rf"^plain/{today('%Y/%m/%d')}/\d{{2}}/plain{self.SUFFIX}$")
        # With only a random string the default still comes after it.
        config = destination("rand/!{firehose:random-string}/", converted=False, size=1)
        self.create("rand", **config)
        self.put("rand", b"x")
        [key] = self.keys("rand/")
        self.assertRegex(key, rf"^rand/[0-9a-z]{{11}}/{today('%Y/%m/%d')}/\d{{2}}/rand{self.SUFFIX}$")

    def test_no_prefix_is_the_default_time_prefix(self):
        config = destination("", converted=False, size=1)
        del config["Prefix"], config["ErrorOutputPrefix"]
        self.create("bare", **config)
        self.put("bare", b"x")
        year = today("%Y/")
        [key] = [k for k in self.keys(year) if "/bare-" in k]
        self.assertRegex(key, rf"^{today('%Y/%m/%d')}/\d{{2}}/bare{self.SUFFIX}$")

    def test_parquet_extension_and_file_extension_override(self):
        self.create("ext", **destination("ext/"))
        self.put("ext", line())
        [key] = self.keys("ext/")
        self.assertRegex(key, rf"^ext/{today('%Y/%m/%d')}/\d{{2}}/ext{self.SUFFIX}\.parquet$")
        self.create("custom", **destination("custom/", FileExtension=".snappy.parquet"))
        self.put("custom", line())
        [key] = self.keys("custom/")
        self.assertTrue(key.endswith(".snappy.parquet"), key)

    def test_quoted_text_and_time_zone(self):
        config = destination(
            "tz/!{timestamp:'y='yyyy'/h='HH}/", converted=False, size=1, CustomTimeZone="Asia/Tokyo"
        )
        self.create("tz", **config)
        self.put("tz", b"x")
        [key] = self.keys("tz/")
        tokyo = (datetime.now(timezone.utc).hour + 9) % 24
        hour = int(re.search(r"/h=(\d{2})/", key).group(1))
        self.assertIn(hour, (tokyo, (tokyo + 1) % 24))


class Conversion(FirehoseCase):
    """Records to Parquet with the Glue table's columns, read at delivery; failed records to
    the error output. https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion-error-handling.html"""

    def test_the_projects_records_become_typed_parquet(self):
        self.create("clean", **destination("clean/dt=!{timestamp:yyyy-MM-dd}/"))
        self.put(
            "clean",
            line(price="2.55", Description="£ sign"),
            line(invoice="C536379", quantity=-1, price="27.5", IsCancellation=True),
            line(price="0.001", CustomerID=None),
        )
        [key] = self.keys("clean/")
        self.assertTrue(key.startswith(f"clean/dt={today()}/clean-1-"), key)
        table = self.parquet(key)
        import pyarrow as pa

        self.assertEqual(table.column_names, [n for n, _ in COLUMNS])
        self.assertEqual(table.schema.field("quantity").type, pa.int64())
        self.assertEqual(table.schema.field("unitprice").type, pa.decimal128(10, 3))
        self.assertEqual(table.schema.field("invoicedate").type, pa.timestamp("ns"))
        self.assertEqual(table.schema.field("iscancellation").type, pa.bool_())
        rows = table.to_pylist()
        self.assertEqual([r["unitprice"] for r in rows], [Decimal("2.550"), Decimal("27.500"), Decimal("0.001")])
        self.assertEqual(rows[0]["invoicedate"], datetime(2010, 12, 1, 8, 26))
        self.assertEqual(rows[0]["description"], "£ sign")
        self.assertEqual(rows[1]["invoiceno"], "C536379")
        self.assertEqual(rows[1]["quantity"], -1)
        self.assertIs(rows[1]["iscancellation"], True)
        self.assertIsNone(rows[2]["customerid"])
        import pyarrow.parquet as pq

        metadata = pq.ParquetFile(io.BytesIO(self.body(key))).metadata
        self.assertEqual(metadata.row_group(0).column(0).compression, "SNAPPY")

    def test_failed_records_go_to_the_error_prefix_and_the_rest_is_delivered(self):
        self.create("mixed", **destination("mixed/"))
        bad = [
            b"not json at all",
            line().replace(b'"Quantity": 6', b'"Quantity": "abc"'),  # "abc" for a bigint
            line(date="2010-13-45 08:26:00"),  # no such date
        ]
        good = line(invoice="1")
        self.put("mixed", bad[0], good, bad[1], bad[2])
        [data] = self.keys("mixed/")
        self.assertEqual([r["invoiceno"] for r in self.parquet(data).to_pylist()], ["1"])
        [errors] = self.keys("errors/mixed/")
        self.assertTrue(errors.startswith(f"errors/mixed/format-conversion-failed/{today('%Y/%m/%d')}/mixed-1-"), errors)
        records = self.errors(errors)
        self.assertEqual(len(records), 3)
        for record, raw in zip(records, bad):
            self.assertEqual(
                set(record),
                {
                    "attemptsMade", "arrivalTimestamp", "lastErrorCode", "lastErrorMessage",
                    "attemptEndingTimestamp", "rawData", "sequenceNumber", "subSequenceNumber",
                    "dataCatalogTable",
                },
            )
            self.assertEqual(base64.b64decode(record["rawData"]), raw)
            self.assertEqual(record["attemptsMade"], 1)
            self.assertLessEqual(record["arrivalTimestamp"], record["attemptEndingTimestamp"])
            self.assertEqual(record["dataCatalogTable"]["databaseName"], DATABASE)
            self.assertEqual(record["dataCatalogTable"]["tableName"], TABLE)
            self.assertEqual(record["dataCatalogTable"]["versionId"], "LATEST")
        self.assertEqual(records[0]["lastErrorCode"], "DataFormatConversion.ParseError")
        self.assertEqual(records[1]["lastErrorCode"], "DataFormatConversion.MalformedData")
        self.assertIn("quantity", records[1]["lastErrorMessage"])
        self.assertEqual(records[2]["lastErrorCode"], "DataFormatConversion.MalformedData")
        self.assertIn("invoicedate", records[2]["lastErrorMessage"])

    def test_the_table_is_read_at_delivery(self):
        # The stream exists before its table; the table then gains a column.
        self.create("late", **destination("late/", converted=conversion(table="late_table")))
        self.create_table("late_table", [("id", "int")])
        self.put("late", b'{"id": 1, "extra": "x"}')
        [first] = self.keys("late/")
        self.assertEqual(self.parquet(first).to_pylist(), [{"id": 1}])
        self.glue.update_table(
            DatabaseName=DATABASE,
            TableInput={
                "Name": "late_table",
                "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "int"}, {"Name": "extra", "Type": "string"}]},
            },
        )
        self.put("late", b'{"id": 2, "extra": "y"}')
        keys = self.keys("late/", count=2)
        self.assertEqual(len(keys), 2)
        second = [k for k in keys if k != first][0]
        self.assertEqual(self.parquet(second).to_pylist(), [{"id": 2, "extra": "y"}])

    def test_a_missing_table_fails_every_record_into_the_error_output(self):
        self.create("orphan", **destination("orphan/", converted=conversion(table="no_such_table")))
        self.put("orphan", b'{"id": 1}')
        [errors] = self.keys("errors/orphan/")
        self.assertEqual(len(self.errors(errors)), 1)
        self.assertEqual(self.keys("orphan/", timeout=0), [])

    def test_parquet_compression_from_the_serializer(self):
        import pyarrow.parquet as pq

        for codec in ("GZIP", "UNCOMPRESSED"):
            name = f"codec-{codec.lower()}"
            config = conversion(serializer={"ParquetSerDe": {"Compression": codec}})
            self.create(name, **destination(f"{name}/", converted=config))
            self.put(name, line())
            [key] = self.keys(f"{name}/")
            metadata = pq.ParquetFile(io.BytesIO(self.body(key))).metadata
            self.assertEqual(metadata.row_group(0).column(0).compression, codec)

    def test_several_json_documents_in_one_record_are_several_rows(self):
        self.create_table("pairs", [("a", "int")])
        self.create("pairs", **destination("pairs/", converted=conversion(table="pairs")))
        self.put("pairs", b'{"a":1}{"a":2}\n', b'[{"a":3}]')
        [key] = self.keys("pairs/")
        self.assertEqual(self.parquet(key).to_pylist(), [{"a": 1}, {"a": 2}])
        [errors] = self.keys("errors/pairs/")
        self.assertEqual(self.errors(errors)[0]["lastErrorCode"], "DataFormatConversion.MalformedData")

    def test_openx_options(self):
        self.create_table("openx", [("ts", "string"), ("a_b", "string"), ("name", "string")])
        options = {
            "CaseInsensitive": False,
            "ColumnToJsonKeyMappings": {"ts": "timestamp"},
            "ConvertDotsInJsonKeysToUnderscores": True,
        }
        config = conversion(deserializer={"OpenXJsonSerDe": options}, table="openx")
        self.create("openx", **destination("openx/", converted=config))
        self.put("openx", b'{"timestamp": "t", "a.b": "dots", "Name": "case-sensitive now"}')
        [key] = self.keys("openx/")
        self.assertEqual(self.parquet(key).to_pylist(), [{"ts": "t", "a_b": "dots", "name": None}])

    def test_hive_json_serde(self):
        self.create_table("hive", [("ts", "timestamp"), ("n", "int")])
        serde = {"HiveJsonSerDe": {"TimestampFormats": ["dd/MM/yyyy HH:mm", "millis"]}}
        self.create("hive", **destination("hive/", converted=conversion(deserializer=serde, table="hive")))
        self.put(
            "hive",
            b'{"ts": "07/02/2017 15:13", "n": 1}',
            b'{"ts": 1518033528123}',
            b'{"ts": "2017-02-07 15:13:01.5"}',
            b'{"n": "1"}',  # the Hive SerDe takes no numbers written as strings
        )
        [key] = self.keys("hive/")
        self.assertEqual(
            [r["ts"] for r in self.parquet(key).to_pylist()],
            [
                datetime(2017, 2, 7, 15, 13),
                datetime(2018, 2, 7, 19, 58, 48, 123000),
                datetime(2017, 2, 7, 15, 13, 1, 500000),
            ],
        )
        [errors] = self.keys("errors/hive/")
        self.assertEqual(len(self.errors(errors)), 1)


class InProcess(unittest.TestCase):
    """The pure rules, without a server."""

    def test_java_patterns(self):
        at = datetime(2018, 8, 27, 10, 30, 5, 123456, tzinfo=timezone.utc)
        cases = {
            "yyyy/MM/dd/HH/": "2018/08/27/10/",
            "yyyy-MM-dd": "2018-08-27",
            "'year='yyyy'/month='MM": "year=2018/month=08",
            "D": "239",
            "HH:mm:ss.SSS": "10:30:05.123",
            "EEE, d MMM yy": "Mon, 27 Aug 18",
        }
        for pattern, expected in cases.items():
            self.assertEqual(fh.java_pattern(pattern)(at), expected, pattern)
        for bad in ("yyyy-bb", "[yyyy]", "'open"):
            with self.assertRaises(ValueError):
                fh.java_pattern(bad)

    def test_openx_timestamp_formats(self):
        # https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
        ns = lambda *a: int(datetime(*a, tzinfo=timezone.utc).timestamp()) * fh.NS
        self.assertEqual(fh.openx_timestamp("2017-02-07T15:13:01.39256Z"), ns(2017, 2, 7, 15, 13, 1) + 392_560_000)
        self.assertEqual(fh.openx_timestamp("2017-02-07 15:13:01.14"), ns(2017, 2, 7, 15, 13, 1) + 140_000_000)
        self.assertEqual(fh.openx_timestamp("2017-2-7 15:13:01"), ns(2017, 2, 7, 15, 13, 1))
        self.assertEqual(fh.openx_timestamp(1518033528), 1518033528 * fh.NS)
        self.assertEqual(fh.openx_timestamp("1518033528123"), 1518033528123 * 1_000_000)
        self.assertEqual(fh.openx_timestamp(Decimal("1518033528.123")), 1518033528123 * 1_000_000)
        self.assertEqual(fh.openx_timestamp("2017-02-07 15:13:01.123456789") % fh.NS, 123456789)
        for bad in ("2017-02-07T15:13:01", "07/02/2017", "2017-02-30 00:00:00", "2017-02-07 25:00:00", True):
            with self.assertRaises(ValueError, msg=bad):
                fh.openx_timestamp(bad)

    def test_decimals_are_exact(self):
        to = fh.value_converter(fh.parse_hive_type("decimal(10,3)"), fh.Deserializer({"OpenXJsonSerDe": {}}))
        self.assertEqual(to(Decimal("0.1")), Decimal("0.100"))
        self.assertEqual(to(Decimal("9999999.999")), Decimal("9999999.999"))
        self.assertEqual(to(Decimal("1.0005")), Decimal("1.001"))  # half-up to the scale
        self.assertEqual(to("2.10"), Decimal("2.100"))
        with self.assertRaises(ValueError):
            to(Decimal("10000000"))  # 8 integer digits > 10 - 3
        hive = fh.value_converter(fh.parse_hive_type("decimal(10,3)"), fh.Deserializer({"HiveJsonSerDe": {}}))
        with self.assertRaises(ValueError):
            hive("2.10")

    def test_hive_types(self):
        import pyarrow as pa

        expected = {
            "varchar(10)": pa.string(),
            "char(2)": pa.string(),
            "tinyint": pa.int8(),
            "smallint": pa.int16(),
            "int": pa.int32(),
            "double": pa.float64(),
            "float": pa.float32(),
            "date": pa.date32(),
            "decimal(38,10)": pa.decimal128(38, 10),
            "array<struct<a:int,b:map<string,decimal(5,2)>>>": pa.list_(
                pa.struct([("a", pa.int32()), ("b", pa.map_(pa.string(), pa.decimal128(5, 2)))])
            ),
        }
        for text, arrow in expected.items():
            self.assertEqual(fh.arrow_type(fh.parse_hive_type(text)), arrow, text)
        small = fh.value_converter(fh.parse_hive_type("tinyint"), fh.Deserializer({"OpenXJsonSerDe": {}}))
        self.assertEqual(small(127), 127)
        with self.assertRaises(ValueError):
            small(128)

    def test_conversion_rate(self):
        """Rows per second of the conversion (deserialize, convert, write Parquet) of the
        project's records; it runs in the emulator's delivery thread, off the PutRecordBatch
        path, and must keep up with the ~8k rows/s the project streams."""
        serde = fh.Deserializer({"OpenXJsonSerDe": {}})
        columns = [{"Name": n, "Type": t} for n, t in COLUMNS]
        rows = int(os.environ.get("FIREHOSE_RATE_ROWS", "40000"))
        records = [
            line(invoice=str(536365 + i), quantity=i % 50, price=f"{i % 1000}.{i % 100:02d}",
                 date=f"2011-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00")
            for i in range(rows)
        ]
        started = time.perf_counter()
        converter = fh.Converter(columns, serde)
        for record in records:
            converter.add(record)
        body, _ = fh.serialize(converter.table(), {"ParquetSerDe": {}})
        seconds = time.perf_counter() - started
        rate = rows / seconds
        print(f"\nconversion: {rows} rows in {seconds:.2f} s = {rate:,.0f} rows/s ({len(body):,} bytes of Parquet)")
        self.assertGreater(rate, 8000)


if __name__ == "__main__":
    unittest.main()
