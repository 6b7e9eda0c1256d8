#!/usr/bin/python3
"""tests/integration/test_fault_corrupt.py -- damaged segment files.

Topics (one partition each, 16 KiB segments so there are sealed ones):
"good" (the control: it must keep serving throughout), "bad1", "bad2",
"torn". Every acknowledged record of "good" is checked after each step.

  corrupt_running   with the broker running, the header of a batch in a
                    sealed segment of bad1 is overwritten (magic 7, and a
                    batch length of 2^31-256 in the next one). A Fetch at
                    those offsets gets an error (KAFKA_STORAGE_ERROR or
                    CORRUPT_MESSAGE), never the bytes as records; the broker
                    logs an ERROR naming the segment; bad1 is marked offline
                    (Metadata: partition error or no leader; Produce:
                    KAFKA_STORAGE_ERROR / not leader); "good" serves reads
                    and writes.
  unreadable        the broker is stopped, bad2's first segment is replaced
                    by a directory of the same name (open() fails: EISDIR;
                    as root chmod would not stop reads), and the broker is
                    started: it must start, log an ERROR naming the file,
                    report bad2 offline, and serve "good" (all records,
                    new writes). The segment is then put back and a restart
                    serves bad2 again.
  torn_tail         kill -9, then garbage is appended to the active segment
                    of "torn" (a torn write): the restart truncates exactly
                    the garbage (log line), the partition stays online, every
                    record before it reads back, and the next Produce lands
                    at the old log end offset.
"""
import os
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, BrokerError  # noqa: E402
import kafka_raw as k  # noqa: E402

ledger = k.Ledger()
b = None
OFFLINE_PRODUCE = (k.KAFKA_STORAGE_ERROR, k.NOT_LEADER_OR_FOLLOWER, k.LEADER_NOT_AVAILABLE)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def produce_ok(c, topic, values, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        err, base = c.produce(topic, 0, values)
        if err == k.NONE:
            ledger.add(topic, 0, base, values)
            return base
        check(err in (k.UNKNOWN_TOPIC_OR_PARTITION, k.LEADER_NOT_AVAILABLE) and
              time.monotonic() < deadline, "produce to %s: error %d" % (topic, err))
        time.sleep(0.1)


def fill(c, topic, n):
    for i in range(n):
        produce_ok(c, topic, [b"%s-%03d-" % (topic.encode(), i) + b"x" * 1000] * 2)


def good_serves(what):
    check(b.running, "%s: broker died (exit %r)" % (what, b.proc.poll()))
    with k.connect(b) as c:
        produce_ok(c, "good", [b"good-after-" + what.encode()])
        err, hw, batches = c.read_all("good", 0)
        check(err == k.NONE, "%s: reading good: error %d" % (what, err))
        got = k.check_log(batches)
        for off, v in ledger.acked[("good", 0)].items():
            check(got.get(off, (None, None))[1] == v, "%s: good-0@%d lost or changed" % (what, off))
    k.healthy(b, ledger=ledger)


def seg_files(topic):
    d = os.path.join(b.data_dir, topic + "-0")
    return d, sorted(f for f in os.listdir(d) if f.endswith(".log"))


def assert_offline(c, topic, what):
    md = c.metadata([topic])
    e, parts = md[topic]
    pe, leader = parts.get(0, (None, None))
    check(e != k.NONE or pe != k.NONE or leader == -1,
          "%s: %s-0 not reported offline by Metadata (topic error %d, partition error %r, leader %r)"
          % (what, topic, e, pe, leader))
    err, base = c.produce(topic, 0, [b"must-not-land"])
    check(err in OFFLINE_PRODUCE, "%s: produce to offline %s-0: error %d (offset %r), want "
          "KAFKA_STORAGE_ERROR" % (what, topic, err, base))


def s_corrupt_running():
    d, segs = seg_files("bad1")
    check(len(segs) >= 3, "bad1 has only %d segments" % len(segs))
    path = os.path.join(d, segs[1])
    with open(path, "rb") as f:
        batches, _ = k.decode_batches(f.read())
    check(len(batches) >= 4, "segment %s has %d batches" % (segs[1], len(batches)))
    b2, b3 = batches[2], batches[3]
    with open(path, "r+b") as f:
        f.seek(b2["pos"] + 16)
        f.write(b"\x07")                                    # magic
        f.seek(b3["pos"] + 8)
        f.write(struct.pack(">i", 0x7fffff00))              # batch length
    ledger.acked.pop(("bad1", 0))       # destroyed on purpose
    log_before = os.path.getsize(b.log_path)
    with k.connect(b) as c:
        for bt in (b2, b3):
            err, hw, got, _ = c.fetch("bad1", 0, bt["base_offset"])
            check(err in (k.KAFKA_STORAGE_ERROR, k.CORRUPT_MESSAGE),
                  "fetch at corrupt offset %d: error %d, %d batches" % (bt["base_offset"], err, len(got)))
        # reading from the start never yields the corrupt batch as records
        err, hw, got = c.read_all("bad1", 0)
        for x in got:
            check(x.get("corrupt") or x["base_offset"] < b2["base_offset"] or x["base_offset"] > b3["last_offset"],
                  "corrupt batch at %d served as valid records" % x["base_offset"])
        check(b.running, "broker died reading a corrupt segment")
        with open(b.log_path, "rb") as f:
            f.seek(log_before)
            new = f.read().decode("utf-8", "replace")
        problems = []
        if not any(" ERROR " in l and segs[1][:20] in l for l in new.splitlines()):
            problems.append("no ERROR log line naming the corrupt segment %s; new log lines:\n%s"
                            % (segs[1], new))
        try:
            assert_offline(c, "bad1", "corrupt segment")
        except AssertionError as e:
            problems.append(str(e))
    good_serves("corrupt_running")
    check(not problems, "\n".join(problems))


def s_unreadable():
    d, segs = seg_files("bad2")
    check(len(segs) >= 2, "bad2 has only %d segments" % len(segs))
    path = os.path.join(d, segs[0])
    saved = path + ".saved"
    rc = b.stop()
    check(rc == 0, "SIGTERM exit %r" % rc)
    os.rename(path, saved)
    os.mkdir(path)
    log_before = os.path.getsize(b.log_path)
    try:
        try:
            b.start(timeout=20)
        except BrokerError as e:
            raise AssertionError("the broker does not start with one unreadable segment (%s): "
                                 "it must mark bad2-0 offline and serve the rest" % e)
        with open(b.log_path, "rb") as f:
            f.seek(log_before)
            new = f.read().decode("utf-8", "replace")
        check(any(" ERROR " in l and segs[0][:20] in l for l in new.splitlines()),
              "no ERROR log line naming the unreadable segment; log:\n%s" % new)
        with k.connect(b) as c:
            assert_offline(c, "bad2", "unreadable segment")
            err, _, _, _ = c.fetch("bad2", 0, 0)
            check(err != k.NONE, "fetch from an offline partition: no error")
        good_serves("unreadable")
        check(b.stop() == 0, "SIGTERM exit code")
    finally:
        if b.running:
            b.stop()
        os.rmdir(path)
        os.rename(saved, path)
        b.failed = False
    b.start()
    with k.connect(b) as c:
        err, hw, got = c.read_all("bad2", 0)
        check(err == k.NONE, "bad2 after the segment came back: error %d" % err)
        k.check_log(got)
    ledger.verify(b, "segment restored")
    good_serves("segment restored")


def s_torn_tail():
    if not b.running:
        b.start()           # an earlier scenario left it down
    with k.connect(b) as c:
        _, leo, _, _ = c.fetch("torn", 0, 0, max_bytes=1)
    b.kill9()
    d, segs = seg_files("torn")
    active = os.path.join(d, segs[-1])
    garbage = b"\x00\x00\x00\x00\x00\x00\x00\x63\x00\x00\x10\x00" + os.urandom(300)
    with open(active, "ab") as f:
        f.write(garbage)
    log_before = os.path.getsize(b.log_path)
    b.start()
    with open(b.log_path, "rb") as f:
        f.seek(log_before)
        new = f.read().decode("utf-8", "replace")
    check("truncated %d" % len(garbage) in new,
          "recovery did not report truncating the %d garbage bytes:\n%s" % (len(garbage), new))
    check("offline" not in new, "a partition went offline:\n%s" % new)
    with k.connect(b) as c:
        err, hw, got = c.read_all("torn", 0)
        check(err == k.NONE and hw == leo, "torn after recovery: error %d, hw %d (was %d)" % (err, hw, leo))
        k.check_log(got)
        base = produce_ok(c, "torn", [b"after-torn"])
        check(base == leo, "first record after recovery at %d, log end was %d" % (base, leo))
    ledger.verify(b, "torn tail")
    good_serves("torn_tail")


def main():
    global b
    b = Broker(overrides={"log.segment.bytes": str(16 << 10), "num.partitions": "1"})

    def body():
        b.start()
        with k.connect(b) as c:
            topics = ["good", "bad1", "bad2", "torn"]
            res = c.create_topics([(t, 1) for t in topics])
            check(all(v == 0 for v in res.values()), "create topics: %r" % res)
            for t in topics:
                fill(c, t, 40)
        good_serves("start")
        return k.run_scenarios([
            ("corrupt_running", s_corrupt_running),
            ("unreadable", s_unreadable),
            ("torn_tail", s_torn_tail),
        ])

    return k.run_main(b, body)


if __name__ == "__main__":
    sys.exit(main())
