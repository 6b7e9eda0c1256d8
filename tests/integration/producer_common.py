"""tests/integration/producer_common.py -- helpers shared by test_producer_*.py:
assertions, topic creation with configs, reading partitions to EOF, and a
reader of the batch headers stored in a partition's segment files (to see
which codec the broker actually stored)."""
import glob
import os
import struct
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import NewTopic

from kafka_raw import crc32c, varint

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CODEC_ID = {"none": 0, "uncompressed": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def create_topics(admin, specs):
    """specs: list of (name, partitions, {config})."""
    topics = [NewTopic(n, num_partitions=p, replication_factor=1, config=c) for n, p, c in specs]
    fs = admin.create_topics(topics, request_timeout=30)
    for name, f in fs.items():
        f.result(timeout=60)


def consumer(b, **extra):
    conf = {"bootstrap.servers": b.bootstrap, "group.id": "producer-tests",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "enable.partition.eof": True, "auto.offset.reset": "error",
            "fetch.wait.max.ms": 100}
    conf.update(extra)
    return Consumer(conf)


def read_all(b, tps, deadline_s=60, **extra):
    """Read every (topic, partition) in tps from the beginning to EOF;
    returns {tp: [Message...]} in offset order."""
    c = consumer(b, **extra)
    try:
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
        want = set(tps)
        got = {tp: [] for tp in tps}
        eof = set()
        deadline = time.monotonic() + deadline_s
        while eof != want:
            check(time.monotonic() < deadline,
                  "timed out reading; no EOF yet on %s" % sorted(want - eof)[:5])
            m = c.poll(0.2)
            if m is None:
                continue
            tp = (m.topic(), m.partition())
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    eof.add(tp)
                    continue
                raise AssertionError("consume error on %s: %s" % (tp, m.error()))
            eof.discard(tp)
            got[tp].append(m)
        return got
    finally:
        c.close()


def segment_batches(data_dir, topic, partition):
    """Yield (segment bytes, position) of every batch header in the
    partition's segment files, in order."""
    d = os.path.join(data_dir, "%s-%d" % (topic, partition))
    for seg in sorted(glob.glob(os.path.join(d, "*.log"))):
        with open(seg, "rb") as f:
            data = f.read()
        pos = 0
        while pos + 61 <= len(data):
            length, = struct.unpack_from(">i", data, pos + 8)
            if length <= 0:
                break       # preallocated zeros
            yield data, pos
            pos += 12 + length


def stored_batches(data_dir, topic, partition):
    """(base_offset, attributes, record_count, max_timestamp) of every batch
    in the partition's segment files, in order."""
    out = []
    for data, pos in segment_batches(data_dir, topic, partition):
        base, = struct.unpack_from(">q", data, pos)
        attrs, = struct.unpack_from(">h", data, pos + 21)
        max_ts, = struct.unpack_from(">q", data, pos + 35)
        count, = struct.unpack_from(">i", data, pos + 57)
        out.append((base, attrs, count, max_ts))
    return out


# ---- a minimal raw Produce client (exact error codes, one connection) ------

MESSAGE_TOO_LARGE = 10
INVALID_TXN_STATE = 48
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53


def raw_batch(values, ts, attributes=0, producer_id=-1, producer_epoch=-1, base_sequence=-1):
    """An uncompressed RecordBatch v2 of the given values (keys null)."""
    recs = b""
    for i, v in enumerate(values):
        body = b"\0" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, ts, ts, producer_id,
                            producer_epoch, base_sequence, len(values)) + recs
    crc = crc32c(after_crc)
    length = 4 + 1 + 4 + len(after_crc)
    return struct.pack(">qiibI", 0, length, -1, 2, crc) + after_crc


class RawProducer:
    """One TCP connection sending Produce v3 requests."""

    def __init__(self, host, port, timeout=15.0):
        import socket
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.cid = 0

    def close(self):
        self.s.close()

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise ConnectionError("broker closed the connection")
            buf += d
        return buf

    def produce(self, topic, partition, batch, acks=-1, transactional_id=None):
        """-> (error, base_offset, log_append_time)."""
        self.cid += 1
        tid = struct.pack(">h", -1) if transactional_id is None else \
            struct.pack(">h", len(transactional_id)) + transactional_id.encode()
        cl = b"producer-test"
        body = (struct.pack(">hhih", 0, 3, self.cid, len(cl)) + cl + tid +
                struct.pack(">hii", acks, 10000, 1) + struct.pack(">h", len(topic)) +
                topic.encode() + struct.pack(">iii", 1, partition, len(batch)) + batch)
        self.s.sendall(struct.pack(">i", len(body)) + body)
        size, = struct.unpack(">i", self._recv(4))
        r = self._recv(size)
        cid, ntopics = struct.unpack_from(">ii", r, 0)
        check(cid == self.cid and ntopics == 1, "bad Produce response header")
        tl, = struct.unpack_from(">h", r, 8)
        p = 10 + tl
        nparts, idx, err, base, lat = struct.unpack_from(">iihqq", r, p)
        check(nparts == 1 and idx == partition, "bad Produce response partition")
        return err, base, lat
