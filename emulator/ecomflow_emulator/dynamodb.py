"""DynamoDB: item writes that are atomic, as DynamoDB's are, and queries that read only the
queried partition.
"""

import threading


def index_queries():
    """A Query on a table's own key reads only the queried partition. moto sorted every item of
    the table on each Query and kept those of the partition, so a query cost time in the
    table's size (`process` queries each invoice it touches, and this was most of the
    emulator's time at 200 rows/s). A Query names one partition key value and returns the items
    that have it, ordered by sort key; the results are unchanged: the same items in the same
    order, the same pages.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.html
    """
    import inspect

    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)
    # The partition the current thread's Query on a table's own key reads (moto serves each
    # request on its own thread).
    scope = threading.local()

    def all_items(self):
        table, partition = getattr(scope, "query", (None, None))
        if table is not self:
            return original_all_items(self)
        items = list(self.items.get(partition, {}).values())
        return sorted(
            items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key
        )

    def query(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or not self.range_key_attr or hash_key is None:
            return original_query(self, *args, **kwargs)
        scope.query = (self, hash_key)
        try:
            return original_query(self, *args, **kwargs)
        finally:
            scope.query = (None, None)

    Table.all_items = all_items
    Table.query = query


def serialise_writes():
    """Item writes one at a time. moto read an item, evaluated the condition and wrote it back
    without a lock, so two concurrent `UpdateItem ADD`s to one item (the creation journal, when
    several creates start together) could lose one, and two conditional puts could both
    succeed. DynamoDB documents PutItem, UpdateItem and DeleteItem as atomic, and a conditional
    write as succeeding only if the item meets the condition when it is written.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html
    `tests/lock.rs` proves both under concurrency.

    CreateTable and DeleteTable take the same turn: moto checked that the name was free, built
    the table, then stored it, so two concurrent CreateTables of one name both succeeded and
    the second replaced the first, with the items already written to it (two runs making the
    tool's lock table at once lost a stack lock). DynamoDB answers ResourceInUseException to
    the second. `emulator/tests/test_dynamodb.py` proves it.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html
    """
    from moto.dynamodb.models import DynamoDBBackend

    # Re-entrant: a batch or transaction calls the single-item writes itself.
    lock = threading.RLock()
    for name in (
        "create_table",
        "delete_table",
        "put_item",
        "update_item",
        "delete_item",
        "batch_write_item",
        "transact_write_items",
    ):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def serialised(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, serialised)


def install():
    index_queries()
    serialise_writes()
