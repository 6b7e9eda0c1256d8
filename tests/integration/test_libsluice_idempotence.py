#!/usr/bin/python3
"""tests/integration/test_libsluice_idempotence.py -- libsluice's idempotent
producer (the default: acks=all, enable_idempotence) across broker crashes:
every record exactly once, in order.

The producer is the `sluice produce` CLI (nothing but libsluice) fed
through a pipe: N keyed lines "K|K:i" (six keys, i counting per key), paced
so the stream lasts several seconds, into a 3-partition topic, with enough
retries (--retries 100000 --retry-backoff-ms 50) to outlast a restart.
While it streams, the broker is killed with SIGKILL twice (after ~30% and
~60% of the lines were written) and started again on the same port and
data directory. Batches in flight when the broker dies are retried by the
producer with the same producer id and sequence numbers; batches the broker
had appended before dying are answered as duplicates.

Checks: the CLI exits 0 having reported N records delivered; reading the
partitions back (librdkafka, an independent reader) gives, for every key,
exactly K:0, K:1, ... K:n-1 in offset order -- no loss, no duplicate, no
reordering; and every batch stored on disk carries a producer id (>= 0),
so the records really went through the idempotent path.
"""
import os
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, build_dir  # noqa: E402
from producer_common import check, read_all, segment_batches  # noqa: E402

N = 30000
NPARTS = 3
KEYS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
RATE = 6000           # lines/s written to the producer (~5 s of stream)
TOPIC = "idem"


def sluice_cli():
    return os.path.join(build_dir(), "sluice")


def stored_pids(data_dir, topic, partition):
    """Producer id of every batch in the partition's segment files."""
    return [struct.unpack_from(">q", data, pos + 43)[0]
            for data, pos in segment_batches(data_dir, topic, partition)]


def main():
    b = Broker()
    prod = None
    try:
        b.start()
        env = dict(os.environ, SLUICE_BOOTSTRAP=b.bootstrap)
        subprocess.run([sluice_cli(), "topic", "create", TOPIC, "--partitions", str(NPARTS)],
                       env=env, check=True, timeout=60)
        errf = open(os.path.join(b._logdir, "producer.stderr"), "w+b")
        prod = subprocess.Popen(
            [sluice_cli(), "produce", TOPIC, "--key-separator", "|",
             "--retries", "100000", "--retry-backoff-ms", "50"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errf, env=env)

        def prod_err():
            errf.seek(0)
            return errf.read().decode(errors="replace")

        written = [0]
        werr = []

        def writer():
            try:
                t0 = time.monotonic()
                counts = {k: 0 for k in KEYS}
                for i in range(N):
                    k = KEYS[i % len(KEYS)]
                    prod.stdin.write(("%s|%s:%d\n" % (k, k, counts[k])).encode())
                    counts[k] += 1
                    written[0] = i + 1
                    if i % 200 == 199:
                        prod.stdin.flush()
                        ahead = (i + 1) / RATE - (time.monotonic() - t0)
                        if ahead > 0:
                            time.sleep(ahead)
                prod.stdin.close()
            except Exception as e:          # noqa: BLE001
                werr.append(e)

        wt = threading.Thread(target=writer, daemon=True)
        wt.start()
        for frac in (0.3, 0.6):
            deadline = time.monotonic() + 120
            while written[0] < frac * N:
                check(time.monotonic() < deadline, "writer stuck at %d lines" % written[0])
                check(prod.poll() is None, "producer exited early: %s" % prod_err())
                time.sleep(0.01)
            b.kill9()
            print("killed the broker (SIGKILL) after %d lines" % written[0])
            b.start()
            print("broker back on port %d" % b.port)
        wt.join(180)
        check(not wt.is_alive(), "writer did not finish")
        check(not werr, "writer failed: %s" % werr)
        try:
            prod.wait(180)
        except subprocess.TimeoutExpired:
            raise AssertionError("producer did not finish: %s" % prod_err())
        err = prod_err()
        check(prod.returncode == 0, "producer exit %d: %s" % (prod.returncode, err))
        check("produced %d record(s)" % N in err, "producer said: %s" % err)

        got = read_all(b, [(TOPIC, p) for p in range(NPARTS)])
        per_key = {k: [] for k in KEYS}
        total = 0
        for p in range(NPARTS):
            for m in got[(TOPIC, p)]:
                k = m.key().decode()
                per_key[k].append(m.value().decode())
                total += 1
        for k in KEYS:
            want = ["%s:%d" % (k, i) for i in range(len(per_key[k]))]
            if per_key[k] != want:
                bad = next(i for i, (x, y) in enumerate(zip(per_key[k], want)) if x != y) \
                    if any(x != y for x, y in zip(per_key[k], want)) else len(want)
                raise AssertionError("key %s: records out of order / duplicated at %d: %s"
                                     % (k, bad, per_key[k][max(0, bad - 2):bad + 3]))
        check(total == N, "read %d records, produced %d" % (total, N))
        for k in KEYS:
            check(len(per_key[k]) == N // len(KEYS), "key %s: %d records" % (k, len(per_key[k])))
        b.stop()
        for p in range(NPARTS):
            pids = stored_pids(b.data_dir, TOPIC, p)
            check(all(x >= 0 for x in pids), "partition %d has batches without a producer id" % p)
        print("ok: %d records, each exactly once and in order, across two kill -9" % N)
    except BaseException:
        b.failed = True
        b.print_tail()
        raise
    finally:
        if prod and prod.poll() is None:
            prod.kill()
            prod.wait()
        b.kill9()
        b.cleanup()


if __name__ == "__main__":
    main()
