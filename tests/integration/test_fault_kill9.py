#!/usr/bin/python3
"""tests/integration/test_fault_kill9.py -- kill -9 at random moments under
acks=all load, 20 times, on the same data directory.

Each round: (re)start the broker, a librdkafka producer (acks=all, no
idempotence, small random linger and batch sizes) sends numbered records
to a 3-partition topic with 64 KiB segments (so rolls happen under load)
at a paced rate; at a random moment 0.05-1.5 s after the round's first
acknowledgement the broker gets SIGKILL. Acknowledgements the client
received (delivery reports without error, even those dispatched after the
kill) are recorded; the rest is purged. The broker is restarted and:

  - it starts (recovery succeeds) and serves a fresh client (acks=all
    produce + fetch),
  - every partition reads back from offset 0 as valid batches (CRC32C,
    magic, lengths) with contiguous offsets,
  - every record acknowledged in this or any earlier round is present at
    its partition and offset with its value (none lost, none changed),
  - no partition went offline.

After the 20 rounds: SIGTERM gives exit 0, a restart performs no recovery
scan, and everything is verified once more. SLUICE_SEED=n replays a run
(the seed is printed).
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
import kafka_raw as k  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

TOPIC = "crash"
NPARTS = 3
ROUNDS = int(os.environ.get("SLUICE_KILL_ROUNDS", "20"))
RATE = 2500            # records per second, at most


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def value_of(rnd, seq, rng):
    return b"r%02d-%06d;" % (rnd, seq) + b"x" * rng.randrange(0, 200)


def verify(b, ledger, what):
    """Read every partition; check validity and every acknowledged record."""
    with k.connect(b) as c:
        md = c.metadata([TOPIC])
        check(md[TOPIC][0] == k.NONE, "%s: topic metadata error %d" % (what, md[TOPIC][0]))
        for p, (e, leader) in md[TOPIC][1].items():
            check(e == k.NONE and leader >= 0, "%s: partition %d error %d leader %d" % (what, p, e, leader))
    return ledger.verify(b, what)


def one_round(b, rnd, rng, ledger, stats):
    acked = []
    errors = {}

    def on_delivery(err, msg):
        if err is None:
            acked.append((msg.partition(), msg.offset(), msg.value()))
        else:
            errors[err.name()] = errors.get(err.name(), 0) + 1

    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all",
                  "linger.ms": rng.choice([0, 1, 5]),
                  "batch.num.messages": rng.choice([1, 10, 100]),
                  "message.timeout.ms": 10000, "enable.idempotence": False,
                  "socket.timeout.ms": 5000, "retry.backoff.ms": 50,
                  "topic.metadata.refresh.interval.ms": 1000})
    seq = 0
    kill_after = rng.uniform(0.05, 1.5)
    t_first = None
    t0 = time.monotonic()
    deadline = t0 + 20
    while True:
        now = time.monotonic()
        check(now < deadline, "round %d: no acknowledgement within 20 s (errors %r)" % (rnd, errors))
        if t_first is None and acked:
            t_first = now
        if t_first is not None and now - t_first >= kill_after:
            break
        # paced: never more than RATE records per second since t0
        while seq < (now - t0) * RATE + 20:
            v = value_of(rnd, seq, rng)
            try:
                p.produce(TOPIC, value=v, key=b"k%d" % (seq % 13), partition=seq % NPARTS,
                          on_delivery=on_delivery)
            except BufferError:
                break
            seq += 1
        p.poll(0.005)
    rc = b.kill9()
    check(rc == -9, "round %d: broker exit %r before the kill" % (rnd, rc))
    # dispatch reports received before the kill, then drop everything else
    p.poll(0)
    p.purge()
    p.flush(5)
    p.poll(0)
    del p
    for part, off, v in acked:
        ledger.add(TOPIC, part, off, [v])
    stats["sent"] += seq
    stats["acked"] += len(acked)
    return seq, len(acked), kill_after


def main():
    seed = int(os.environ.get("SLUICE_SEED", str(int(time.time() * 1000) % 1000000)))
    print("seed %d (SLUICE_SEED=%d replays it)" % (seed, seed), flush=True)
    rng = random.Random(seed)
    b = Broker(overrides={"log.segment.bytes": str(64 << 10), "num.partitions": str(NPARTS),
                          "log.index.interval.bytes": "1024"})
    ledger = k.Ledger()
    stats = {"sent": 0, "acked": 0}
    ok = False
    t_start = time.monotonic()
    try:
        b.start()
        with k.connect(b) as c:
            check(c.create_topics([(TOPIC, NPARTS)]) == {TOPIC: 0}, "create topic")
        k.healthy(b, ledger=ledger)
        for rnd in range(ROUNDS):
            sent, nacked, after = one_round(b, rnd, rng, ledger, stats)
            log_before = os.path.getsize(b.log_path)
            b.start()
            with open(b.log_path, "rb") as f:
                f.seek(log_before)
                runlog = f.read().decode("utf-8", "replace")
            check("offline" not in runlog, "round %d: a partition went offline on restart:\n%s" % (rnd, runlog))
            n = verify(b, ledger, "round %d" % rnd)
            k.healthy(b, ledger=ledger)
            trunc = sum(int(x) for x in __import__("re").findall(r"truncated (\d+)", runlog))
            print("round %2d: killed %.2fs after the first ack; sent %d, acked %d; restart truncated %d "
                  "bytes; %d acknowledged records verified" % (rnd, after, sent, nacked, trunc, n),
                  flush=True)
        rc = b.stop()
        check(rc == 0, "SIGTERM exit code %r" % rc)
        b.start()
        runlog = k.run_log(b)
        check("recovered" not in runlog, "recovery after a clean stop:\n%s" % runlog)
        n = verify(b, ledger, "after a clean restart")
        rc = b.stop()
        check(rc == 0, "SIGTERM exit code %r" % rc)
        print("PASS kill9_x%d: %d sent, %d acknowledged, 0 lost, %d verified after a clean restart (%.0fs)"
              % (ROUNDS, stats["sent"], stats["acked"], n, time.monotonic() - t_start))
        ok = True
        return 0
    finally:
        if not ok:
            print("FAIL kill9 (seed %d)" % seed)
            b.failed = True
            b.print_tail(40, file=sys.stdout)
        b.kill9()
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
