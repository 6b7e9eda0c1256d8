#!/usr/bin/python3
"""tests/integration/test_restart.py -- durability across restarts.

1. Produce N records with acks=all to a 3-partition topic (every delivery
   must succeed; partition+offset recorded), SIGTERM the broker: exit code 0.
   Restart on the same data directory: the log must not show any recovery
   ("recover..." lines) after a clean stop, and every record is there at its
   offset with its content.
2. Three times: a producer thread sends acks=all records continuously; once
   enough of them were acknowledged, kill -9 the broker mid-stream. Restart:
   every record acknowledged before the kill is present at the same
   partition and offset with the same key and value (unacknowledged ones may
   or may not be), offsets are contiguous from 0, and the log reports the
   recovery scan.
"""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, OFFSET_BEGINNING  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "durable"
NPARTS = 3
N_CLEAN = 5000
KILL_AFTER_ACKS = 3000
ROUNDS = 3


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def key_of(n):
    return b"k%d" % (n % 97)


def value_of(n):
    return b"id=%d;" % n + (b"%08x" % (n * 2654435761 % (1 << 32))) * (1 + n % 7)


def id_of(value):
    m = re.match(rb"id=(\d+);", value)
    check(m is not None, "unparsable value %r" % value[:40])
    return int(m.group(1))


def current_run_log(b):
    """The broker's stderr since its last start."""
    with open(b.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return text[text.rfind("==== start"):]


def read_all(b):
    """Every record of every partition, as {partition: [(offset, key, value)]}."""
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "restart-check",
                  "enable.auto.commit": False, "enable.partition.eof": True,
                  "auto.offset.reset": "error"})
    try:
        ends = {}
        for p in range(NPARTS):
            lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)
            check(lo == 0, "partition %d: log start %d" % (p, lo))
            ends[p] = hi
        c.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(NPARTS)])
        got = {p: [] for p in range(NPARTS)}
        done = {p for p in range(NPARTS) if ends[p] == 0}
        deadline = time.monotonic() + 120
        while len(done) < NPARTS:
            check(time.monotonic() < deadline, "timed out reading back (done %s)" % done)
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    if m.offset() >= ends[m.partition()]:
                        done.add(m.partition())
                    continue
                raise AssertionError("consume: %s" % m.error())
            got[m.partition()].append((m.offset(), m.key(), m.value()))
        for p in range(NPARTS):
            offs = [o for o, _, _ in got[p]]
            check(offs == list(range(ends[p])),
                  "partition %d: offsets not contiguous 0..%d (got %d records)" %
                  (p, ends[p], len(offs)))
        return got
    finally:
        c.close()


def verify_acked(b, acked, what):
    got = read_all(b)
    index = {}
    seen_ids = set()
    for p, recs in got.items():
        for o, k, v in recs:
            n = id_of(v)
            check(k == key_of(n) and v == value_of(n), "%s: %d@%d: corrupt record" % (what, p, o))
            index[(p, o)] = n
            seen_ids.add(n)
    missing = [(n, po) for n, po in acked.items() if index.get(po) != n]
    if missing:
        n, po = missing[0]
        raise AssertionError("%s: %d acknowledged records lost or moved; e.g. id %d acked at %d@%d, "
                             "found %s there" % (what, len(missing), n, po[0], po[1],
                                                 index.get(po)))
    total = sum(len(r) for r in got.values())
    print("ok: %s: all %d acknowledged records present at their offsets (%d records in the log)"
          % (what, len(acked), total))
    return total


class Sender(threading.Thread):
    """Sends acks=all records with ids from `first` until stopped."""

    def __init__(self, bootstrap, first):
        super().__init__(daemon=True)
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                           "retries": 0, "message.timeout.ms": 300000,
                           "reconnect.backoff.max.ms": 100})
        self.next = first
        self.acked = {}
        self.stop_flag = threading.Event()
        self.error = None

    def dr(self, err, msg):
        if err is None:
            self.acked[id_of(msg.value())] = (msg.partition(), msg.offset())

    def run(self):
        try:
            while not self.stop_flag.is_set():
                for _ in range(50):
                    n = self.next
                    try:
                        self.p.produce(TOPIC, key=key_of(n), value=value_of(n), on_delivery=self.dr)
                    except BufferError:
                        break
                    self.next += 1
                self.p.poll(0.001)
        except Exception as e:      # reported by the main thread
            self.error = e

    def finish(self):
        """Stop sending, drop everything unsent/in flight, collect the reports."""
        self.stop_flag.set()
        self.join(30)
        check(not self.is_alive(), "sender thread did not stop")
        self.p.purge(in_queue=True, in_flight=True)
        self.p.poll(0)
        self.p.flush(5)
        self.p = None
        check(self.error is None, "sender failed: %r" % self.error)


def main():
    with Broker(overrides={"num.partitions": str(NPARTS)}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic(TOPIC, NPARTS, 1)])[TOPIC].result(timeout=60)
        del admin

        # ---- 1. acks=all, SIGTERM, clean restart --------------------------
        acked = {}
        p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        errors = []

        def dr(err, msg):
            if err is not None:
                errors.append(err)
            else:
                acked[id_of(msg.value())] = (msg.partition(), msg.offset())
        for n in range(N_CLEAN):
            while True:
                try:
                    p.produce(TOPIC, key=key_of(n), value=value_of(n), on_delivery=dr)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
        check(p.flush(60) == 0, "flush timed out")
        del p
        check(not errors, "delivery errors: %s" % errors[:3])
        check(len(acked) == N_CLEAN, "%d of %d acked" % (len(acked), N_CLEAN))
        rc = b.stop()
        check(rc == 0, "SIGTERM: exit code %s" % rc)
        b.start()
        log = current_run_log(b)
        rec = [l for l in log.splitlines() if re.search(r"recover", l, re.I)]
        check(not rec, "restart after a clean stop recovered something:\n" + "\n".join(rec))
        total = verify_acked(b, acked, "after SIGTERM + restart")
        check(total == N_CLEAN, "%d records after the clean restart, expected %d" % (total, N_CLEAN))
        print("ok: SIGTERM exits 0 and the restart recovers nothing")

        # ---- 2. kill -9 mid-stream, three times ---------------------------
        next_id = N_CLEAN
        for rnd in range(1, ROUNDS + 1):
            s = Sender(b.bootstrap, next_id)
            s.start()
            try:
                deadline = time.monotonic() + 60
                while len(s.acked) < KILL_AFTER_ACKS:
                    check(s.is_alive() and s.error is None, "sender died: %r" % s.error)
                    check(time.monotonic() < deadline,
                          "round %d: only %d acks within 60 s" % (rnd, len(s.acked)))
                    time.sleep(0.01)
                rc = b.kill9()
            finally:
                s.finish()
            check(rc == -signal.SIGKILL, "kill -9: exit code %s" % rc)
            sent = s.next - next_id
            print("   round %d: sent %d, %d acknowledged before the kill" % (rnd, sent, len(s.acked)))
            acked.update(s.acked)
            next_id = s.next
            b.start()
            log = current_run_log(b)
            rec = [l for l in log.splitlines() if "recovered" in l]
            check(rec, "round %d: no recovery reported after kill -9:\n%s" % (rnd, log))
            verify_acked(b, acked, "round %d: after kill -9 + restart" % rnd)
        check(b.running, "broker not running at the end")
        rc = b.stop()
        check(rc == 0, "final SIGTERM: exit code %s" % rc)
    print("PASS test_restart.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
