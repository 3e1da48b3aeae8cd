"""DynamoDB: item writes that are atomic, as DynamoDB's are, queries that read only the
queried partition, and items built, projected and answered (Query, Scan) without moto's
per-attribute detours.
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


def answer_item_lists_directly():
    """Query and Scan answers with their items written as plain JSON. moto's generic serializer
    walks the service model for every attribute value it writes: for a Query of 21 items (an
    invoice, as `process` reads it back) that was half of the request's time (py-spy over 2,000
    Queries), and Query was the largest part of the emulator's time while streaming. The rest
    of the answer (Count, ScannedCount, LastEvaluatedKey, ConsumedCapacity, the headers) is
    still moto's. The items are the same AttributeValue JSON, binary values base64-encoded as
    the JSON protocol carries them; `tests/test_dynamodb.py` compares both answers.
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.LowLevelAPI.html
    """
    import base64
    import json

    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    if hasattr(original, "original"):
        return

    def wire(value):
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, dict):
            return {k: wire(v) for k, v in value.items()}
        if isinstance(value, list):
            return [wire(v) for v in value]
        return value

    def execute_result(self, context):
        result = self.result
        items = result.get("Items") if isinstance(result, dict) else None
        if context.operation_model.name not in ("Query", "Scan") or not items:
            return original(self, context)
        result["Items"] = []
        try:
            status, headers, body = original(self, context)
        finally:
            result["Items"] = items
        answer = json.loads(body)
        answer["Items"] = wire(items)
        return status, headers, json.dumps(answer, separators=(",", ":"))

    execute_result.original = original
    DynamoResult.execute_result = execute_result


def build_items_directly():
    """Items built, and projected onto top-level attributes, without moto's detours; the items
    are the same. moto summed the whole item's size again for each attribute it added (the
    item size limit, checked once here on the total: the same items pass and fail), and
    projected an item by converting it to Python values and back for every attribute named: a
    Query of 21 items with a projection (how `process` reads an invoice back) spent half its
    time there (py-spy). Projections with nested paths or list indexes stay moto's.
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html
    """
    import copy

    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    original_project = Item.project
    if hasattr(original_project, "original"):
        return

    def attributes():
        # LimitedSizeDict without its check on every insert: the callers check the total.
        return LimitedSizeDict.__new__(LimitedSizeDict)

    def init(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = attributes()
        size = 0
        for key, value in attrs.items():
            value = DynamoType(value)
            size += bytesize(key) + value.size()
            dict.__setitem__(self.attrs, key, value)
        # moto's limit (LimitedSizeDict), on the same sum of names and values.
        if size > 405000:
            raise ItemSizeTooLarge

    def project(self, projection_expressions):
        if any(len(path) != 1 or "[" in path[0] for path in projection_expressions):
            return original_project(self, projection_expressions)
        result = Item.__new__(Item)
        result.hash_key = self.hash_key
        result.range_key = self.range_key
        result.attrs = attributes()
        for (name,) in projection_expressions:
            if name in self.attrs:
                dict.__setitem__(result.attrs, name, copy.deepcopy(self.attrs[name]))
        return result

    project.original = original_project
    init.original = Item.__init__
    Item.__init__ = init
    Item.project = project


def install():
    index_queries()
    answer_item_lists_directly()
    build_items_directly()
    serialise_writes()
