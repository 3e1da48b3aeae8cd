"""DynamoDB, in process (moto's backend with the emulator's additions): concurrent
CreateTables of one name, with the table's construction slowed so that the two calls overlap;
Query and Scan answers written directly, and items built and projected directly, against
moto's own code."""

import json

import threading
import time
import unittest
from unittest import mock

from moto.dynamodb.exceptions import ResourceInUseException
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table

from ecomflow_emulator import dynamodb

ACCOUNT = "123456789012"


class CreateTableIsAtomic(unittest.TestCase):
    def test_the_second_of_two_concurrent_creates_is_refused_and_the_first_table_stays(self):
        dynamodb.install()
        backend = dynamodb_backends[ACCOUNT]["us-east-1"]
        name = "concurrent-locks"
        build = Table.__init__

        def slow_build(self, *args, **kwargs):
            time.sleep(0.3)
            build(self, *args, **kwargs)

        outcomes = []

        def create(marker):
            try:
                backend.create_table(
                    name,
                    schema=[{"AttributeName": "Stack", "KeyType": "HASH"}],
                    throughput=None,
                    attr=[{"AttributeName": "Stack", "AttributeType": "S"}],
                    global_indexes=None,
                    indexes=None,
                    streams=None,
                    billing_mode="PAY_PER_REQUEST",
                    sse_specification=None,
                    tags=[{"Key": "marker", "Value": marker}],
                    deletion_protection_enabled=False,
                    warm_throughput=None,
                )
                outcomes.append(("created", marker))
            except ResourceInUseException:
                outcomes.append(("in use", marker))

        with mock.patch.object(Table, "__init__", slow_build):
            threads = [threading.Thread(target=create, args=(m,)) for m in ("a", "b")]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        try:
            self.assertEqual(sorted(o[0] for o in outcomes), ["created", "in use"], outcomes)
            winner = next(m for o, m in outcomes if o == "created")
            tags = backend.tables[name].tags
            self.assertIn({"Key": "marker", "Value": winner}, tags)
        finally:
            backend.delete_table(name)


if __name__ == "__main__":
    unittest.main()


class ItemListsAnsweredDirectly(unittest.TestCase):
    """Query and Scan answers whose items are written (and projected) directly are moto's
    answers, for items holding every attribute type, with pages, projections and consumed
    capacity."""

    def test_query_and_scan_answers_equal_the_serializers(self):
        import boto3
        from moto import mock_aws
        from moto.core.serialize import BaseJSONSerializer
        from moto.dynamodb.models.dynamo_type import Item
        from moto.dynamodb.responses import DynamoResult

        dynamodb.install()
        direct = DynamoResult.execute_result
        serialize_map = BaseJSONSerializer._serialize_type_map
        answers = {"direct": [], "moto": []}
        maps = {"direct": 0, "moto": 0}
        current = []

        def counted(self, *args, **kwargs):
            maps[current[0]] += 1
            return serialize_map(self, *args, **kwargs)

        def capture(response_dict, **_):
            answers[current[0]].append(json.loads(response_dict["body"]))

        with mock_aws(), mock.patch.object(BaseJSONSerializer, "_serialize_type_map", counted):
            c = boto3.client(
                "dynamodb",
                region_name="us-east-1",
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            c.create_table(
                TableName="lines",
                KeySchema=[
                    {"AttributeName": "InvoiceNo", "KeyType": "HASH"},
                    {"AttributeName": "Line", "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": "InvoiceNo", "AttributeType": "S"},
                    {"AttributeName": "Line", "AttributeType": "N"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
            for line in range(5):
                c.put_item(
                    TableName="lines",
                    Item={
                        "InvoiceNo": {"S": "536365"},
                        "Line": {"N": str(line)},
                        "UnitPrice": {"N": "2.55"},
                        "Description": {"S": "WHITE HANGING HEART T-LIGHT HOLDER \u00e9"},
                        "Raw": {"B": bytes([0, 255, line])},
                        "Cancelled": {"BOOL": line % 2 == 0},
                        "Nothing": {"NULL": True},
                        "Codes": {"SS": ["85123A", "71053"]},
                        "Sizes": {"NS": ["1", "2.5"]},
                        "Blobs": {"BS": [b"\x01", b"\x02\x03"]},
                        "Nested": {
                            "M": {
                                "L": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"\xfe"}]},
                                "M": {"M": {"deep": {"BOOL": False}}},
                            }
                        },
                    },
                )
            c.meta.events.register("before-parse.dynamodb.*", capture)
            project = Item.project
            for kind, answer, projected in (
                ("direct", direct, project),
                ("moto", direct.original, project.original),
            ):
                current[:] = [kind]
                with mock.patch.object(
                    DynamoResult, "execute_result", answer
                ), mock.patch.object(Item, "project", projected):
                    query = {
                        "TableName": "lines",
                        "KeyConditionExpression": "InvoiceNo = :i",
                        "ExpressionAttributeValues": {":i": {"S": "536365"}},
                        "ConsistentRead": True,
                    }
                    page = c.query(**query, Limit=2, ReturnConsumedCapacity="TOTAL")
                    c.query(**query, ExclusiveStartKey=page["LastEvaluatedKey"])
                    c.query(
                        **query,
                        ProjectionExpression="#p, Nested.L",
                        ExpressionAttributeNames={"#p": "UnitPrice"},
                    )
                    c.query(
                        **query,
                        ProjectionExpression="#p, #r, Cancelled, Nothing, Nested, Absent",
                        ExpressionAttributeNames={"#p": "UnitPrice", "#r": "Raw"},
                    )
                    c.scan(TableName="lines", ReturnConsumedCapacity="INDEXES")
                    c.query(**{**query, "ExpressionAttributeValues": {":i": {"S": "none"}}})
        self.assertEqual(len(answers["moto"]), 6)
        self.assertEqual(answers["direct"], answers["moto"])
        self.assertEqual(answers["moto"][0]["Count"], 2)
        self.assertEqual(answers["moto"][1]["Count"], 3)
        self.assertEqual(sorted(answers["moto"][3]["Items"][0]), sorted(
            ["UnitPrice", "Raw", "Cancelled", "Nothing", "Nested"]
        ))
        # The direct answers leave the items to the emulator: moto's serializer wrote fewer maps.
        self.assertLess(maps["direct"], maps["moto"])


class ItemsBuiltDirectly(unittest.TestCase):
    """Items built with one size check on the total pass and fail where moto's check on every
    attribute does: the limit on the sum of names and values."""

    def test_the_size_limit_is_moto_s(self):
        from moto.dynamodb.exceptions import ItemSizeTooLarge
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        dynamodb.install()
        key = DynamoType({"S": "k"})
        for build in (Item.__init__, Item.__init__.original):
            with mock.patch.object(Item, "__init__", build):
                for size, fits in ((404_990, True), (405_001, False)):
                    # Names "pk", "a" and "b": 4 bytes; the two values make up the rest.
                    attrs = {
                        "pk": {"S": "k"},
                        "a": {"S": "x" * 1000},
                        "b": {"S": "y" * (size - 1000 - 4 - 1)},
                    }
                    if fits:
                        self.assertEqual(len(Item(key, None, attrs).attrs), 3)
                    else:
                        with self.assertRaises(ItemSizeTooLarge, msg=(build, size)):
                            Item(key, None, attrs)
