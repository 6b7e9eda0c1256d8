#!/usr/bin/python3
"""tests/integration/test_python_client.py -- confluent_kafka (librdkafka 2.0.2)
Producer/Consumer/AdminClient against a fresh broker.

Checks:
  * list_topics: every partition led by broker 0, replicas = isrs = [0]
  * produce to several topics and partitions with acks=all, 1 and 0; every
    delivery succeeds (acks=0: offsets unknown), records read back exactly
  * get_watermark_offsets (ListOffsets earliest/latest) = 0 / record count
  * consume from earliest, from latest (only records produced afterwards),
    by timestamp (offsets_for_times), with assign + seek
  * long-poll: a consumer parked on an empty partition with
    fetch.wait.max.ms=5000 receives a record produced later well within
    2000 ms (the parked fetch wakes on append), three times
  * a record larger than the topic's max.message.bytes fails with
    MSG_SIZE_TOO_LARGE and the same producer then delivers small records
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, Producer, TopicPartition,  # noqa: E402
                             OFFSET_BEGINNING, OFFSET_END)
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NPARTS = 4
PER_PART = 50


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def consumer(b, **extra):
    conf = {"bootstrap.servers": b.bootstrap, "group.id": "pytest-assign",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "enable.partition.eof": True, "auto.offset.reset": "error"}
    conf.update(extra)
    return Consumer(conf)


def read_until_eof(c, tps, deadline_s=60):
    """Poll until every (topic, partition) in tps reported EOF; returns the
    records per (topic, partition) in order."""
    want = set(tps)
    got = {tp: [] for tp in tps}
    eof = set()
    deadline = time.monotonic() + deadline_s
    while eof != want:
        check(time.monotonic() < deadline, "timed out reading %s; EOF on %s" % (want, eof))
        m = c.poll(0.5)
        if m is None:
            continue
        tp = (m.topic(), m.partition())
        if m.error():
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(tp)
                continue
            raise AssertionError("consume error: %s" % m.error())
        check(tp in want, "record from unassigned %s" % (tp,))
        got[tp].append(m)
    return got


def create_topics(admin, topics):
    fs = admin.create_topics(topics, request_timeout=30)
    for name, f in fs.items():
        f.result(timeout=60)


def test_metadata(b, admin):
    md = admin.list_topics(timeout=30)
    check(list(md.brokers.keys()) == [0], "brokers %s" % md.brokers)
    br = md.brokers[0]
    check((br.host, br.port) == ("127.0.0.1", b.port), "broker 0 at %s:%s" % (br.host, br.port))
    for t in ("acks_all", "acks_one", "acks_zero"):
        check(t in md.topics, "topic %s missing from list_topics" % t)
        tm = md.topics[t]
        check(tm.error is None, "%s: %s" % (t, tm.error))
        check(sorted(tm.partitions) == list(range(NPARTS)), "%s partitions %s" % (t, tm.partitions))
        for p, pm in tm.partitions.items():
            check(pm.leader == 0 and list(pm.replicas) == [0] and list(pm.isrs) == [0],
                  "%s[%d]: leader %d replicas %s isrs %s" % (t, p, pm.leader, pm.replicas, pm.isrs))
    print("ok: list_topics: broker 0 leads every partition, replicas = isrs = [0]")


def test_acks(b):
    expected = {}
    for topic, acks in (("acks_all", "all"), ("acks_one", "1"), ("acks_zero", "0")):
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": acks, "linger.ms": 5})
        reports = []

        def dr(err, msg, reports=reports):
            reports.append((err, msg.partition(), msg.offset(), msg.value()))
        for i in range(PER_PART):
            for part in range(NPARTS):
                v = ("%s-%d-%d" % (topic, part, i)).encode()
                p.produce(topic, key=b"k%d" % i, value=v, partition=part,
                          headers=[("acks", acks.encode())], on_delivery=dr)
                expected.setdefault((topic, part), []).append(v)
            p.poll(0)
        check(p.flush(60) == 0, "%s: flush timed out" % topic)
        check(len(reports) == NPARTS * PER_PART, "%s: %d reports" % (topic, len(reports)))
        errs = [r for r in reports if r[0] is not None]
        check(not errs, "%s: delivery errors %s" % (topic, errs[:3]))
        if acks != "0":
            for part in range(NPARTS):
                offs = [r[2] for r in reports if r[1] == part]
                check(offs == list(range(PER_PART)),
                      "%s[%d]: delivered offsets %s" % (topic, part, offs[:10]))
    # read everything back from the beginning
    c = consumer(b)
    try:
        tps = [(t, p) for t in ("acks_all", "acks_one", "acks_zero") for p in range(NPARTS)]
        # acks=0 gives no confirmation: wait for the high watermark to reach the count
        for t, p in tps:
            wait_for(lambda: c.get_watermark_offsets(TopicPartition(t, p), timeout=10) ==
                     (0, PER_PART), timeout=30, what="watermarks of %s[%d] = (0, %d)" % (t, p, PER_PART))
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
        got = read_until_eof(c, tps)
        for tp in tps:
            vals = [m.value() for m in got[tp]]
            check(vals == expected[tp], "%s: read back %d records, differ from produced" %
                  (tp, len(vals)))
            check([m.offset() for m in got[tp]] == list(range(PER_PART)), "%s: offsets" % (tp,))
            check(all(m.headers() == [("acks", {"acks_all": b"all", "acks_one": b"1",
                                                 "acks_zero": b"0"}[tp[0]])] for m in got[tp]),
                  "%s: headers" % (tp,))
            check(all(m.key() == b"k%d" % i for i, m in enumerate(got[tp])), "%s: keys" % (tp,))
    finally:
        c.close()
    print("ok: acks=all/1/0 to %d partitions of 3 topics; watermarks and earliest read-back exact"
          % NPARTS)


def test_latest(b):
    c = consumer(b)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    try:
        c.assign([TopicPartition("acks_all", 1, OFFSET_END)])
        # the EOF event tells the consumer's position was resolved to the end
        deadline = time.monotonic() + 30
        while True:
            check(time.monotonic() < deadline, "no EOF at latest")
            m = c.poll(0.5)
            if m is None:
                continue
            check(m.error() is not None, "latest: old record at offset %d" % m.offset())
            if m.error().code() == KafkaError._PARTITION_EOF:
                check(m.offset() == PER_PART, "latest: EOF at %d" % m.offset())
                break
        p.produce("acks_all", value=b"after-latest", partition=1)
        check(p.flush(30) == 0, "flush")
        deadline = time.monotonic() + 30
        while True:
            check(time.monotonic() < deadline, "latest: new record never arrived")
            m = c.poll(0.5)
            if m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF):
                continue
            check(m.error() is None, "latest: %s" % m.error())
            check((m.offset(), m.value()) == (PER_PART, b"after-latest"),
                  "latest: got %d %r" % (m.offset(), m.value()))
            break
    finally:
        c.close()
    print("ok: latest: nothing old, then the record produced afterwards")


def test_timestamps_and_seek(b):
    now = int(time.time() * 1000)
    t1, t2 = now - 400000, now - 200000
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    for base, tag in ((t1, "A"), (t2, "B")):
        for i in range(10):
            p.produce("ts_topic", value=("%s%d" % (tag, i)).encode(), partition=0,
                      timestamp=base + i * 100)
        check(p.flush(30) == 0, "flush")
    c = consumer(b)
    try:
        cases = [((t1 + t2) // 2, 10), (t1, 0), (t1 + 250, 3), (t2 + 900, 19), (t1 - 1, 0),
                 (now + 3600000, -1)]
        # one query per timestamp: a request names each partition once
        res = [c.offsets_for_times([TopicPartition("ts_topic", 0, ts)], timeout=30)[0]
               for ts, _ in cases]
        for (ts, exp), tp in zip(cases, res):
            check(tp.error is None, "offsets_for_times(%d): %s" % (ts, tp.error))
            check(tp.offset == exp, "offsets_for_times(%d) = %d, expected %d" % (ts, tp.offset, exp))
        # consume from the offset found for the midpoint
        c.assign([TopicPartition("ts_topic", 0, res[0].offset)])
        got = read_until_eof(c, [("ts_topic", 0)])[("ts_topic", 0)]
        check([m.value() for m in got] == [b"B%d" % i for i in range(10)],
              "from midpoint: %s" % [m.value() for m in got])
        check([m.timestamp() for m in got] == [(1, t2 + i * 100) for i in range(10)],
              "timestamps %s" % [m.timestamp() for m in got])
        # assign + seek: read from the start, then seek back to 4
        c.unassign()
        c.assign([TopicPartition("ts_topic", 0, OFFSET_BEGINNING)])
        first = None
        deadline = time.monotonic() + 30
        while first is None:
            check(time.monotonic() < deadline, "nothing consumed after assign")
            m = c.poll(0.5)
            if m is not None and not m.error():
                first = m
        check(first.offset() == 0 and first.value() == b"A0", "first %d" % first.offset())
        c.seek(TopicPartition("ts_topic", 0, 14))
        deadline = time.monotonic() + 30
        while True:
            check(time.monotonic() < deadline, "nothing consumed after seek")
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            if m.offset() != 14:
                # records fetched before the seek may still be delivered once
                check(m.offset() < 14, "after seek(14) got offset %d" % m.offset())
                continue
            check(m.value() == b"B4", "seek(14) value %r" % m.value())
            break
        m2 = None
        while m2 is None:
            check(time.monotonic() < deadline, "nothing after 14")
            m = c.poll(0.5)
            if m is not None and not m.error():
                m2 = m
        check(m2.offset() == 15, "after seek: 14 then %d" % m2.offset())
    finally:
        c.close()
    print("ok: offsets_for_times (between batches, exact, inside, before all, future = -1), "
          "consume from it, assign + seek")


def test_long_poll(b):
    c = consumer(b, **{"fetch.wait.max.ms": 5000})
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "1", "linger.ms": 0})
    try:
        md = p.list_topics("longpoll", timeout=30)   # auto-create
        wait_for(lambda: "longpoll" in p.list_topics(timeout=10).topics and
                 p.list_topics(timeout=10).topics["longpoll"].error is None,
                 timeout=30, what="topic longpoll")
        del md
        c.assign([TopicPartition("longpoll", 0, OFFSET_BEGINNING)])
        lat = []
        for n in range(3):
            deadline = time.monotonic() + 30
            while n == 0:      # wait for EOF: the consumer is at the end
                check(time.monotonic() < deadline, "longpoll: no EOF")
                m = c.poll(0.2)
                if m is not None and m.error() and m.error().code() == KafkaError._PARTITION_EOF:
                    break
                check(m is None or m.error() is None, "longpoll: unexpected %s" % (m and m.error()))
            # keep polling a moment so the next fetch is parked at the broker
            t_end = time.monotonic() + 0.5
            while time.monotonic() < t_end:
                m = c.poll(0.1)
                check(m is None or (m.error() and m.error().code() == KafkaError._PARTITION_EOF),
                      "longpoll: unexpected message before produce")
            t0 = time.monotonic()
            p.produce("longpoll", value=b"wake-%d" % n, partition=0)
            p.poll(0)
            deadline = time.monotonic() + 30
            while True:
                check(time.monotonic() < deadline, "longpoll: record never arrived")
                m = c.poll(0.05)
                if m is None:
                    continue
                check(m.error() is None, "longpoll: %s" % m.error())
                break
            lat.append((time.monotonic() - t0) * 1000)
            check(m.value() == b"wake-%d" % n and m.offset() == n, "longpoll: got %r" % m.value())
            check(p.flush(30) == 0, "flush")
        print("   long-poll wake latencies: %s ms" % ", ".join("%.0f" % x for x in lat))
        check(max(lat) < 2000, "a parked fetch (fetch.wait.max.ms=5000) took %.0f ms to deliver "
              "a new record: it does not wake on append" % max(lat))
    finally:
        c.close()
    print("ok: a parked fetch wakes on append")


def test_too_large(b):
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
    res = []

    def dr(err, msg):
        res.append((err, msg.value(), msg.offset()))
    p.produce("small_max", value=b"x" * 50000, partition=0, on_delivery=dr)
    check(p.flush(30) == 0, "flush")
    check(len(res) == 1 and res[0][0] is not None and
          res[0][0].code() == KafkaError.MSG_SIZE_TOO_LARGE,
          "50000-byte record to a max.message.bytes=10000 topic: %s" % (res[0][0],))
    res.clear()
    for i in range(5):
        p.produce("small_max", value=b"small-%d" % i, partition=0, on_delivery=dr)
    check(p.flush(30) == 0, "flush")
    check([(e, v) for e, v, _ in res] == [(None, b"small-%d" % i) for i in range(5)],
          "small records after the rejected one: %s" % res)
    check([o for _, _, o in res] == list(range(5)), "offsets %s" % [o for _, _, o in res])
    # just under the limit still passes (batch overhead ~ 61 + record ~ 20 bytes)
    res.clear()
    p.produce("small_max", value=b"y" * 9000, partition=0, on_delivery=dr)
    check(p.flush(30) == 0, "flush")
    check(res[0][0] is None and res[0][2] == 5, "9000-byte record: %s" % (res,))
    print("ok: a record over max.message.bytes fails with MSG_SIZE_TOO_LARGE, the producer goes on")


def main():
    with Broker(overrides={"num.partitions": "1"}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        create_topics(admin, [NewTopic(t, NPARTS, 1) for t in ("acks_all", "acks_one", "acks_zero")]
                      + [NewTopic("ts_topic", 1, 1),
                         NewTopic("small_max", 1, 1, config={"max.message.bytes": "10000"})])
        test_metadata(b, admin)
        test_acks(b)
        test_latest(b)
        test_timestamps_and_seek(b)
        test_long_poll(b)
        test_too_large(b)
        check(b.running, "broker died")
    print("PASS test_python_client.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
