#!/usr/bin/python3
"""tests/integration/test_produce_pipeline.py -- pipelined Produce requests
of mixed sizes keep their order.

A client may send many Produce requests without waiting for replies
(librdkafka keeps up to 5 in flight, and acks=0 producers never wait).
These scenarios check, on raw connections, that the broker keeps every
connection's requests in order, replies in order, and loses none of the
requests it has read when the connection or the broker goes away:

1. order: 90 Produce requests sent back to back without reading, big
   (256 records x 1000 B) and small (1-3 records) interleaved, acks=1 and
   acks=-1 mixed, over two partitions. Every reply comes in request order,
   every base offset equals the number of records sent to that partition
   before it, and reading the partitions back gives each request's records
   in request order.
2. two connections pipelining into the same partition at once: each
   connection's requests land in its own order, offsets contiguous, nothing
   lost or duplicated.
3. acks=0: 12 big requests, then the socket closes at once. A new
   connection finds all of them, in order.
4. acks=0 big requests still arriving when SIGTERM comes: the broker exits
   0, and after a restart the partition is a clean, contiguous prefix of
   what was sent.
"""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402
import kafka_raw as kr  # noqa: E402

BIG = 256           # records per big request (x 1000 B: 256 KB)
VALUE = 1000


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def values_for(tag, i, big):
    n = BIG if big else 1 + i % 3
    return [b"%s:%d:%d:" % (tag, i, k) + b"x" * (VALUE if big else 10) for k in range(n)]


def read_values(c, topic, part):
    err, hw, batches = c.read_all(topic, part)
    check(err == kr.NONE, "fetch %s-%d: error %d" % (topic, part, err))
    kr.check_log(batches)
    return [v for b in batches for (_, _, v) in b["records"]], hw


def parse_produce_reply(frame, cid):
    r = kr.R(frame)
    got = r.i32()
    check(got == cid, "reply for correlation id %d, expected %d" % (got, cid))
    res = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
    _, parts = res[0]
    _, err, base, _ = parts[0]
    return err, base


def scenario_order(b):
    topic = "pipe-order"
    c = kr.connect(b)
    c.create_topics([(topic, 2)])
    sent = {0: [], 1: []}
    expect = []                  # (cid, partition, first offset, acks)
    frames = []
    for i in range(90):
        big = i % 3 != 1
        part = (i // 5) % 2
        acks = [1, -1, 1, 0][i % 4]
        vals = values_for(b"o", i, big)
        cid = 1000 + i
        frames.append(kr.produce_frame(topic, part, vals, acks=acks, cid=cid))
        if acks != 0:
            expect.append((cid, part, len(sent[part])))
        sent[part] += vals
    sock = c.sock
    # one writer thread, so the replies are read while requests still go
    writer = threading.Thread(target=lambda: [c.send_frame(f) for f in frames])
    writer.start()
    for cid, part, first in expect:
        err, base = parse_produce_reply(c.recv_frame(), cid)
        check(err == kr.NONE, "cid %d: error %d" % (cid, err))
        check(base == first, "cid %d: base offset %d, expected %d" % (cid, base, first))
    writer.join()
    for part in (0, 1):
        got, hw = read_values(c, topic, part)
        check(hw == len(sent[part]), "%s-%d: high watermark %d, sent %d" %
              (topic, part, hw, len(sent[part])))
        check(got == sent[part], "%s-%d: records differ from what was sent, in order" %
              (topic, part))
    sock.close()


def scenario_two_connections(b):
    topic = "pipe-two"
    admin = kr.connect(b)
    admin.create_topics([(topic, 1)])
    tags = [b"a", b"b"]
    per_conn = 40
    errors = []

    def run(tag):
        try:
            c = kr.connect(b)
            n = 0
            for i in range(per_conn):
                c.send_frame(kr.produce_frame(topic, 0, values_for(tag, i, i % 2 == 0),
                                              acks=1, cid=i + 1))
            for i in range(per_conn):
                err, _ = parse_produce_reply(c.recv_frame(), i + 1)
                if err != kr.NONE:
                    errors.append("%s %d: error %d" % (tag, i, err))
                n += 1
            c.sock.close()
        except Exception as e:      # reported below
            errors.append("%s: %r" % (tag, e))

    threads = [threading.Thread(target=run, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, "; ".join(errors))
    got, hw = read_values(admin, topic, 0)
    for tag in tags:
        mine = [v for v in got if v.startswith(tag + b":")]
        want = [v for i in range(per_conn) for v in values_for(tag, i, i % 2 == 0)]
        check(mine == want, "connection %s: its records are not all there in its order" % tag)
    check(len(got) == hw, "high watermark %d, %d records" % (hw, len(got)))
    admin.sock.close()


def scenario_acks0_close(b):
    topic = "pipe-acks0"
    c = kr.connect(b)
    c.create_topics([(topic, 1)])
    sent = []
    data = b""
    for i in range(12):
        vals = values_for(b"z", i, True)
        sent += vals
        f = kr.produce_frame(topic, 0, vals, acks=0, cid=i + 1)
        data += len(f).to_bytes(4, "big") + f
    s = socket.create_connection((b.host, b.port))
    s.sendall(data)
    s.close()
    wait_for(lambda: c.fetch(topic, 0, 0, 1024)[1] == len(sent), timeout=30,
            what="all 12 acks=0 requests appended")
    got, hw = read_values(c, topic, 0)
    check(got == sent, "acks=0 records differ from what was sent")
    c.sock.close()


def scenario_sigterm_midstream(b):
    topic = "pipe-term"
    c = kr.connect(b)
    c.create_topics([(topic, 1)])
    c.sock.close()
    sent = []
    s = socket.create_connection((b.host, b.port))
    for i in range(9):
        vals = values_for(b"t", i, True)
        sent += vals
        f = kr.produce_frame(topic, 0, vals, acks=0, cid=i + 1)
        s.sendall(len(f).to_bytes(4, "big") + f)
    rc = b.stop()           # at once: appends are still in flight
    check(rc == 0, "exit status %r after SIGTERM with appends in flight" % rc)
    s.close()
    b.start()
    c = kr.connect(b)
    got, hw = read_values(c, topic, 0)
    check(got == sent[:len(got)], "after SIGTERM: the log is not a prefix of what was sent")
    check(len(got) % BIG == 0, "after SIGTERM: a request was appended in part (%d records)" %
          len(got))
    c.sock.close()


def main():
    b = Broker(name="pipeline")

    def body():
        b.start()
        return kr.run_scenarios([
            ("order, mixed sizes and acks", lambda: scenario_order(b)),
            ("two connections, one partition", lambda: scenario_two_connections(b)),
            ("acks=0 then close", lambda: scenario_acks0_close(b)),
            ("SIGTERM mid-stream", lambda: scenario_sigterm_midstream(b)),
        ])
    return kr.run_main(b, body)


if __name__ == "__main__":
    sys.exit(main())
