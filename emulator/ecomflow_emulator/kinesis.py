"""Kinesis Data Streams: no acknowledged record lost under concurrent puts, and puts and reads
whose cost does not grow with the records a shard holds. The shards, sequence numbers,
records and answers stay moto's (`tests/emulator_kinesis.rs` checks them).
"""

import threading
import time


def serialise_puts():
    """Puts one record at a time. moto's shard assigns "last sequence number + 1" without a lock
    (its source says it is not safe for concurrency), so two concurrent PutRecords calls could
    give two records one number and one of them was silently lost. Kinesis answers each
    successfully put record with its own shard and sequence number, and keeps it.
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
    https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html
    """
    from moto.kinesis import models

    # Re-entrant, and taken once for a whole PutRecords call too: a lock taken per record
    # made concurrent calls hand the interpreter back and forth on every record (8 calls in
    # flight put half as many records per second as 4).
    lock = threading.RLock()
    for owner, name in ((models.Shard, "put_record"), (models.KinesisBackend, "put_records")):

        def serialised(self, *args, _original=getattr(owner, name), **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        setattr(owner, name, serialised)


def index_shards():
    """Shards find records by sequence number instead of scanning. moto copied every key of a
    shard to find its last sequence number on each put, and walked the shard from its first
    record on each GetRecords, so a put or read cost time proportional to the records the shard
    held (a whole-dataset replay spent most of its time there); real Kinesis has no such
    growth. Results are unchanged: the same sequence numbers, records, NextShardIterator and
    MillisBehindLatest (how far the answer is behind the shard's newest record).
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html
    """
    from moto.kinesis import models

    Shard = models.Shard
    original_get_records = Shard.get_records

    def get_max_sequence_number(self):
        return next(reversed(self.records)) if self.records else 0

    def get_min_sequence_number(self):
        return next(iter(self.records)) if self.records else 0

    def get_records(self, last_sequence_id, limit):
        # Shard.put_record numbers a shard's records 1, 2, 3...: while they still are
        # contiguous, the records after `last` are looked up by number. Else moto's scan.
        records = self.records
        if not records:
            return original_get_records(self, last_sequence_id, limit)
        first, last_key = next(iter(records)), next(reversed(records))
        if last_key - first + 1 != len(records):
            return original_get_records(self, last_sequence_id, limit)
        last = int(last_sequence_id)
        start = max(last + 1, first)
        end = last_key if limit is None else min(last_key, start + limit - 1)
        results = [records[n] for n in range(start, end + 1)]
        if not results:
            return [], last, 0
        behind = records[last_key].created_at - results[-1].created_at
        return results, results[-1].sequence_number, int(behind * 1000)

    Shard.get_max_sequence_number = get_max_sequence_number
    Shard.get_min_sequence_number = get_min_sequence_number
    Shard.get_records = get_records


def route_keys_by_search():
    """A record's shard found by binary search. Kinesis maps a partition key to a 128-bit
    integer with MD5 and puts the record on the shard whose hash key range holds it (an
    ExplicitHashKey overrides the hash). moto tested every shard of the stream in turn: with
    128 shards that was a fifth of a put's cost. While no two shards' ranges overlap (a stream
    never split or merged: a split keeps the closed parent beside its children), a binary
    search finds the same shard; otherwise, and for explicit hash keys, moto's own routing.
    https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html
    """
    import bisect

    from moto.kinesis import models
    from moto.utilities.utils import md5_hash

    original = models.Stream.get_shard_for_key
    tables = {}

    # Shards are only ever added and their ranges never change, so the search table is
    # rebuilt when the count of shards changes.
    def table_of(stream):
        owner, count, starts, ranked = tables.get(id(stream), (None, -1, None, None))
        if owner is not stream or count != len(stream.shards):
            count = len(stream.shards)
            ranked = sorted(stream.shards.values(), key=lambda s: s.starting_hash)
            pairs = zip(ranked, ranked[1:])
            disjoint = all(a.ending_hash <= b.starting_hash for a, b in pairs)
            starts = [s.starting_hash for s in ranked] if disjoint else None
            tables[id(stream)] = (stream, count, starts, ranked)
        return starts, ranked

    def get_shard_for_key(self, partition_key, explicit_hash_key):
        starts, ranked = table_of(self)
        plain = isinstance(partition_key, str) and len(partition_key) <= 256
        if starts is None or explicit_hash_key or not plain:
            return original(self, partition_key, explicit_hash_key)
        key = int(md5_hash(partition_key.encode("utf-8")).hexdigest(), 16)
        i = bisect.bisect_right(starts, key) - 1
        if i >= 0 and key < ranked[i].ending_hash:
            return ranked[i]
        return None

    models.Stream.get_shard_for_key = get_shard_for_key


def answer_puts_directly():
    """A PutRecords answer written as plain JSON. moto's generic serializer walks the service
    model for every value it writes: an answer of 500 entries cost it about 14 us per record,
    30% of the emulator's time in a whole-dataset replay (py-spy). The answer is the same
    JSON (ShardId and SequenceNumber per record, FailedRecordCount); CBOR callers keep moto's.
    https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html
    """
    import json

    from moto.kinesis.responses import KinesisResponse

    original = KinesisResponse.put_records

    def put_records(self):
        if "json" not in self.headers.get("Content-Type", ""):
            return original(self)
        answer = self.kinesis_backend.put_records(
            self._get_param("StreamARN"),
            self._get_param("StreamName"),
            self._get_param("Records"),
        )
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        return 200, headers, json.dumps(answer, separators=(",", ":"))

    KinesisResponse.put_records = put_records


def stamp_records_once():
    """One clock read per record. moto stamped each record with utcnow() and converted that back
    to epoch seconds through another datetime: about a tenth of the emulator's time in a
    whole-dataset replay (py-spy). The datetime (only GetRecords' ApproximateArrivalTimestamp
    reads it) is made from the one reading when asked.
    """
    from datetime import datetime, timezone

    from moto.kinesis import models

    def init(self, partition_key, data, sequence_number, explicit_hash_key):
        self.partition_key = partition_key
        self.data = data
        self.sequence_number = sequence_number
        self.explicit_hash_key = explicit_hash_key
        self.created_at = time.time()

    def created_at_datetime(self):
        at = datetime.fromtimestamp(self.created_at, timezone.utc)
        return at.replace(tzinfo=None)

    models.Record.__init__ = init
    models.Record.created_at_datetime = property(created_at_datetime)


def install():
    serialise_puts()
    index_shards()
    route_keys_by_search()
    answer_puts_directly()
    stamp_records_once()
