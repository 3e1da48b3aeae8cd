"""DynamoDB: concurrent CreateTables of one name, in process (moto's backend with the
emulator's additions), with the table's construction slowed so that the two calls overlap."""

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
