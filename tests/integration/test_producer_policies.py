#!/usr/bin/python3
"""tests/integration/test_producer_policies.py -- topic record policies and
refused producers.

1. LogAppendTime: topics with message.timestamp.type=LogAppendTime (one with
   compression.type=producer, one with compression.type=zstd so the broker
   also re-encodes) receive records with old CreateTime timestamps (2001)
   from uncompressed and gzip producers; the delivery reports and the
   consumer both see timestamp type LOG_APPEND_TIME with a broker timestamp
   inside the test's wall-clock window, and the stored batches carry the
   LogAppendTime attribute. A CreateTime topic keeps the producer's 2001
   timestamps. A raw Produce gets the log_append_time in its response.
2. max.message.bytes: a topic with max.message.bytes=2000; a 5000-byte
   record (incompressible) fails with MSG_SIZE_TOO_LARGE, then small records
   from the same producer succeed without a reconnect (librdkafka statistics:
   one connection). On a raw connection: MESSAGE_TOO_LARGE (10), then a
   small batch on the same socket is appended.
3. Transactions (not supported yet) are refused cleanly: a confluent_kafka
   producer with transactional.id gets a fatal, non-retriable error from
   init_transactions within seconds (no hang); a raw Produce carrying a
   transactional_id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED and one with
   a transactional batch INVALID_TXN_STATE, each followed by a normal
   produce on the same connection.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from producer_common import (INVALID_TXN_STATE, MESSAGE_TOO_LARGE,  # noqa: E402
                             TRANSACTIONAL_ID_AUTHORIZATION_FAILED, RawProducer, check,
                             create_topics, raw_batch, read_all, stored_batches)

from confluent_kafka import (KafkaError, KafkaException, Producer,  # noqa: E402
                             TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME)
from confluent_kafka.admin import AdminClient  # noqa: E402

OLD_TS = 978307200000          # 2001-01-01
LAT_ATTR = 0x08


def now_ms():
    return int(time.time() * 1000)


def test_log_append_time(b, admin):
    create_topics(admin, [
        ("lat", 1, {"message.timestamp.type": "LogAppendTime"}),
        ("lat-zstd", 1, {"message.timestamp.type": "LogAppendTime", "compression.type": "zstd"}),
        # retention.ms=-1: records stamped 2001 are otherwise past the 7-day
        # retention, and the retention pass may delete them mid-test (as Kafka would)
        ("ct", 1, {"message.timestamp.type": "CreateTime", "retention.ms": "-1"}),
    ])
    n = 200
    drs = []
    t0 = now_ms()
    for codec in ("none", "gzip"):
        p = Producer({"bootstrap.servers": b.bootstrap, "compression.codec": codec,
                      "linger.ms": 10, "acks": "all"})
        for topic in ("lat", "lat-zstd", "ct"):
            for i in range(n):
                p.produce(topic, value=b"%s-%d some compressible text text text" % (codec.encode(), i),
                          key=b"k%d" % i, partition=0, timestamp=OLD_TS + i,
                          on_delivery=lambda err, msg: drs.append((err, msg)))
        check(p.flush(30) == 0, "undelivered records")
    t1 = now_ms()
    check(len(drs) == 2 * 3 * n, "%d delivery reports" % len(drs))
    for err, msg in drs:
        check(err is None, "delivery error %s" % err)
        if msg.topic() == "ct":
            check(msg.timestamp()[1] >= OLD_TS and msg.timestamp()[1] < OLD_TS + n,
                  "ct delivery report timestamp %r" % (msg.timestamp(),))
        else:
            ts_type, ts = msg.timestamp()
            check(ts_type == TIMESTAMP_LOG_APPEND_TIME and t0 <= ts <= t1,
                  "%s delivery report timestamp %r, window [%d, %d]"
                  % (msg.topic(), msg.timestamp(), t0, t1))
    got = read_all(b, [("lat", 0), ("lat-zstd", 0), ("ct", 0)])
    for topic in ("lat", "lat-zstd", "ct"):
        msgs = got[(topic, 0)]
        check(len(msgs) == 2 * n, "%s: %d records" % (topic, len(msgs)))
        for j, m in enumerate(msgs):
            i = j % n
            check(m.key() == b"k%d" % i, "%s@%d key %r" % (topic, j, m.key()))
            if topic == "ct":
                check(m.timestamp() == (TIMESTAMP_CREATE_TIME, OLD_TS + i),
                      "ct@%d timestamp %r" % (j, m.timestamp()))
            else:
                ts_type, ts = m.timestamp()
                check(ts_type == TIMESTAMP_LOG_APPEND_TIME and t0 <= ts <= t1,
                      "%s@%d timestamp %r, window [%d, %d]" % (topic, j, m.timestamp(), t0, t1))
        for base, attrs, count, max_ts in stored_batches(b.data_dir, topic, 0):
            if topic == "ct":
                check(not attrs & LAT_ATTR, "ct batch at %d has the LogAppendTime bit" % base)
            else:
                check(attrs & LAT_ATTR and t0 <= max_ts <= t1,
                      "%s batch at %d: attributes %#x max ts %d" % (topic, base, attrs, max_ts))
            if topic == "lat-zstd":
                check(attrs & 7 == 4, "lat-zstd batch at %d stored with codec %d" % (base, attrs & 7))
    # raw: the response carries the append time
    rp = RawProducer("127.0.0.1", b.port)
    try:
        t0 = now_ms()
        err, base, lat = rp.produce("lat", 0, raw_batch([b"raw"], OLD_TS))
        t1 = now_ms()
        check(err == 0 and base == 2 * n and t0 <= lat <= t1,
              "raw produce to LogAppendTime topic: err %d base %d log_append_time %d" % (err, base, lat))
        err, base, lat = rp.produce("ct", 0, raw_batch([b"raw"], OLD_TS))
        check(err == 0 and lat == -1, "raw produce to CreateTime topic: err %d lat %d" % (err, lat))
    finally:
        rp.close()
    print("LogAppendTime: ok")


def test_too_large(b, admin):
    create_topics(admin, [("small", 1, {"max.message.bytes": "2000"})])
    stats = []
    drs = []
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0, "acks": "all",
                  "statistics.interval.ms": 100, "stats_cb": stats.append,
                  "message.send.max.retries": 0})
    big = os.urandom(5000)
    p.produce("small", value=big, partition=0, on_delivery=lambda e, m: drs.append(("big", e, m)))
    check(p.flush(30) == 0, "big record not reported")
    for i in range(5):
        p.produce("small", value=b"small-%d" % i, partition=0,
                  on_delivery=lambda e, m: drs.append(("small", e, m)))
        check(p.flush(30) == 0, "small record not reported")
    check(drs[0][0] == "big" and drs[0][1] is not None and
          drs[0][1].code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "big record: %s" % (drs[0][1],))
    for what, err, m in drs[1:]:
        check(err is None, "small record after the refused one: %s" % err)
    check([m.offset() for _, _, m in drs[1:]] == list(range(5)), "offsets %s" % [m.offset() for _, _, m in drs[1:]])
    # one connection to the broker all along (the refusal did not close it)
    n0 = len(stats)
    deadline = time.monotonic() + 10
    while len(stats) < n0 + 2 and time.monotonic() < deadline:
        p.poll(0.1)
    st = json.loads(stats[-1])
    connects = {name: br["connects"] for name, br in st["brokers"].items() if br["nodeid"] >= 0}
    check(connects and all(c == 1 for c in connects.values()),
          "connections to the broker: %s (expected one, never re-opened)" % connects)
    # raw: same socket
    rp = RawProducer("127.0.0.1", b.port)
    try:
        err, _, _ = rp.produce("small", 0, raw_batch([os.urandom(3000)], now_ms()))
        check(err == MESSAGE_TOO_LARGE, "raw big batch: error %d, expected MESSAGE_TOO_LARGE" % err)
        err, base, _ = rp.produce("small", 0, raw_batch([b"after"], now_ms()))
        check(err == 0 and base == 5, "raw small batch after the refused one: err %d base %d" % (err, base))
    finally:
        rp.close()
    msgs = read_all(b, [("small", 0)])[("small", 0)]
    check([m.value() for m in msgs] == [b"small-%d" % i for i in range(5)] + [b"after"],
          "small topic holds %r" % [m.value()[:10] for m in msgs])
    print("max.message.bytes: ok (connects %s)" % connects)


def test_transactional(b, admin):
    create_topics(admin, [("txn", 1, {})])
    p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "sluice-txn-test"})
    t0 = time.monotonic()
    try:
        p.init_transactions(30)
        raise AssertionError("init_transactions succeeded on a broker without transactions")
    except KafkaException as e:
        err = e.args[0]
        took = time.monotonic() - t0
        check(took < 15, "init_transactions took %.1fs" % took)
        check(err.fatal() and not err.retriable(),
              "transactional init error not fatal: %s (fatal %s, retriable %s)"
              % (err, err.fatal(), err.retriable()))
        print("transactional.id: fatal %s after %.2fs" % (err.name(), took))
    # nothing was written
    rp = RawProducer("127.0.0.1", b.port)
    try:
        err, _, _ = rp.produce("txn", 0, raw_batch([b"t"], now_ms()), transactional_id="raw-txn")
        check(err == TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
              "produce with a transactional_id: error %d" % err)
        batch = raw_batch([b"t1", b"t2"], now_ms(), attributes=0x10, producer_id=1000,
                          producer_epoch=0, base_sequence=0)
        err, _, _ = rp.produce("txn", 0, batch)
        check(err == INVALID_TXN_STATE, "transactional batch: error %d" % err)
        err, base, _ = rp.produce("txn", 0, raw_batch([b"plain"], now_ms()))
        check(err == 0 and base == 0, "plain batch after the refusals: err %d base %d" % (err, base))
    finally:
        rp.close()
    print("transactions refused: ok")


def main():
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        test_log_append_time(b, admin)
        test_too_large(b, admin)
        test_transactional(b, admin)
    print("test_producer_policies: ok")


if __name__ == "__main__":
    main()
