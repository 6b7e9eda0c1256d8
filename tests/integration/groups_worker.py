#!/usr/bin/python3
"""tests/integration/groups_worker.py -- one confluent_kafka high-level
consumer in its own process, for the consumer-group tests. Started by
groups_common.Worker; not a test by itself.

    groups_worker.py CONFIG_JSON

CONFIG_JSON: {"bootstrap", "group", "topics": [...], "out": path,
              "conf": {extra consumer config}, "commit_interval": seconds}

It writes one event per line to "out" (flushed before every commit, so
every committed record is logged):
    A t:p t:p ...      partitions assigned (incremental: added to the set)
    R t:p ...          partitions revoked (removed; their offsets were
                       committed first)
    L t:p ...          partitions lost (removed without commit)
    M t p first last   records first..last (inclusive, contiguous) consumed
    C t:p:off ...      offsets committed (sync commit returned success)
    E text             an error (commit failure, consumer error)
    J t p want got     a record past the next expected one arrived on a
                       partition owned throughout (a client-side skip, see the
                       comment in the loop); the worker seeks back to `want`
    X                  clean exit (after SIGTERM: final commit and close())
"""
import json
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

cfg = json.loads(sys.argv[1])
out = open(cfg["out"], "a")
stopping = False


def on_term(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)

conf = {"bootstrap.servers": cfg["bootstrap"], "group.id": cfg["group"],
        "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
        "max.poll.interval.ms": 20000, "topic.metadata.refresh.interval.ms": 2000}
conf.update(cfg.get("conf", {}))
c = Consumer(conf)

pos = {}          # (t, p) -> next offset to commit (consumed since last commit)
buf = []          # pending "M" lines
expect = {}       # (t, p) -> next offset expected while owned (jump detection)
reseek = set()    # partitions sought back, awaiting the expected offset
last_seen = {}    # (t, p) -> monotonic time a record last arrived


def flush():
    if buf:
        out.write("".join(buf))
        buf.clear()
    out.flush()


def tps(parts):
    return " ".join("%s:%d" % (p.topic, p.partition) for p in parts)


def commit(keys):
    keys = [k for k in keys if k in pos]
    if not keys:
        return
    flush()
    offs = [TopicPartition(t, p, pos[(t, p)]) for t, p in keys]
    try:
        res = c.commit(offsets=offs, asynchronous=False)
    except KafkaException as e:
        out.write("E commit %s\n" % e)
        out.flush()
        return
    ok = [r for r in res if r.error is None]
    bad = [r for r in res if r.error is not None]
    if ok:
        out.write("C %s\n" % " ".join("%s:%d:%d" % (r.topic, r.partition, r.offset) for r in ok))
    for r in bad:
        out.write("E commit %s:%d %s\n" % (r.topic, r.partition, r.error))
    out.flush()
    for r in ok:
        if pos.get((r.topic, r.partition)) == r.offset:
            del pos[(r.topic, r.partition)]


def forget(parts):
    for p in parts:
        expect.pop((p.topic, p.partition), None)
        reseek.discard((p.topic, p.partition))


def on_assign(consumer, parts):
    forget(parts)
    flush()
    out.write("A %s\n" % tps(parts))
    out.flush()


def on_revoke(consumer, parts):
    commit([(p.topic, p.partition) for p in parts])
    for p in parts:
        pos.pop((p.topic, p.partition), None)
    forget(parts)
    out.write("R %s\n" % tps(parts))
    out.flush()


def on_lost(consumer, parts):
    flush()
    for p in parts:
        pos.pop((p.topic, p.partition), None)
    forget(parts)
    out.write("L %s\n" % tps(parts))
    out.flush()


c.subscribe(cfg["topics"], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
interval = cfg.get("commit_interval", 0.2)
last_commit = time.monotonic()
last_stall_check = time.monotonic()
while not stopping:
    msgs = c.consume(num_messages=1000, timeout=0.1)
    run = None     # [t, p, first, last]
    for m in msgs:
        if m.error():
            buf.append("E consume %s\n" % m.error())
            continue
        t, p, o = m.topic(), m.partition(), m.offset()
        want = expect.get((t, p))
        if want is not None and o > want:
            # Skipped ahead while we kept owning the partition: librdkafka
            # 2.0.2 drops its prefetched queue when the cooperative assignor
            # pauses/resumes kept partitions, and fetches on from its fetch
            # position (confluentinc/librdkafka#4686, fixed in 2.4.0). Log it
            # and seek back to the next offset we have not seen.
            if (t, p) not in reseek:
                buf.append("J %s %d %d %d\n" % (t, p, want, o))
                c.seek(TopicPartition(t, p, want))
                reseek.add((t, p))
            continue
        reseek.discard((t, p))
        expect[(t, p)] = o + 1
        last_seen[(t, p)] = time.monotonic()
        if run and run[0] == t and run[1] == p and run[3] + 1 == o:
            run[3] = o
        else:
            if run:
                buf.append("M %s %d %d %d\n" % tuple(run))
            run = [t, p, o, o]
        pos[(t, p)] = o + 1
    if run:
        buf.append("M %s %d %d %d\n" % tuple(run))
    now = time.monotonic()
    if now - last_stall_check >= 1.0:
        # The same client bug in its other form: the dropped records were
        # the last ones fetched, so no later record reveals the gap and the
        # partition just goes quiet while its fetch position sits at the
        # high watermark. Quiet for 3 s with records below the high
        # watermark that we never got: seek back to them.
        last_stall_check = now
        for tp in c.assignment():
            key = (tp.topic, tp.partition)
            want = expect.get(key)
            if want is None:
                continue
            try:
                lo, hi = c.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if hi > want and now - last_seen.get(key, now) > 3.0:
                buf.append("J %s %d %d %d\n" % (key[0], key[1], want, hi))
                c.seek(TopicPartition(key[0], key[1], want))
                reseek.add(key)
                last_seen[key] = now
    if time.monotonic() - last_commit >= interval:
        commit(list(pos))
        last_commit = time.monotonic()
    elif buf and len(buf) > 50:
        flush()

commit(list(pos))
c.close()
flush()
out.write("X\n")
out.close()
sys.exit(0)
