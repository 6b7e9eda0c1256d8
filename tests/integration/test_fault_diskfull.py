#!/usr/bin/python3
"""tests/integration/test_fault_diskfull.py -- the data directory's
filesystem fills up (an 8 MiB tmpfs; needs root to mount, skipped
otherwise).

Broker: 1 MiB segments, offset checkpoints every 200 ms (so checkpoint
writes hit the full disk too). Topics "full" and "other", one partition
each.

  fill          acks=all Produce of 64 KiB batches to "full" until it fails:
                the error is KAFKA_STORAGE_ERROR (56); the rest of the space
                is then taken by a filler file, and further Produce requests
                to both topics get 56 (never an acknowledgement); the broker
                keeps answering Metadata/Fetch for 2 checkpoint intervals
                (checkpoint writes fail meanwhile) and every acknowledged
                record reads back valid, with the high watermark right
                after the last acknowledged record.
  space_freed   the filler and a ballast file (half the space free
                before filling) are removed: without a restart, Produce to both
                topics succeeds again within 10 s, at the offsets following
                the acknowledged ones; everything reads back valid.
  clean_stop    SIGTERM gives exit 0; the restart serves every record.
  sigterm_full  fill again, SIGTERM while the disk is full (the broker must
                exit within 30 s, whatever its code), free the space,
                restart: every acknowledged record is intact.
  kill9_full    fill again, kill -9 while full, free the space, restart:
                every acknowledged record is intact, the log is valid, and
                the broker accepts writes.
"""
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
import kafka_raw as k  # noqa: E402

SIZE = "8m"
ledger = k.Ledger()
b = None
mnt = None
CHUNK = [b"F" * 1000] * 64


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def died():
    """A description of the broker's death, or None if it runs."""
    if b.running:
        return None
    rc = b.proc.returncode
    name = ""
    if rc is not None and rc < 0:
        import signal
        name = " (%s)" % signal.Signals(-rc).name
    return "broker died with exit code %r%s" % (rc, name)


def filler_path():
    return os.path.join(mnt, "filler")


def take_rest_of_space():
    """Write a filler file until ENOSPC."""
    block = b"\0" * 4096
    try:
        with open(filler_path(), "ab", buffering=0) as f:
            while True:
                f.write(block)
    except OSError as e:
        check(e.errno == errno.ENOSPC, "filler: %s" % e)
    st = os.statvfs(mnt)
    return st.f_bavail * st.f_frsize


def ballast_path():
    return os.path.join(mnt, "ballast")


def put_ballast():
    """Take half of the free space now, to be given back by free_space()."""
    st = os.statvfs(mnt)
    n = st.f_bavail * st.f_frsize // 2
    with open(ballast_path(), "wb") as f:
        f.write(b"\0" * n)
    return n


def free_space():
    for p in (filler_path(), ballast_path()):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def produce_retry(c, topic, values, timeout=10.0, allowed=()):
    """Produce until it succeeds (only errors in allowed are retried)."""
    deadline = time.monotonic() + timeout
    while True:
        err, base = c.produce(topic, 0, values)
        if err == k.NONE:
            ledger.add(topic, 0, base, values)
            return base
        check(err in allowed, "produce to %s: error %d" % (topic, err))
        check(time.monotonic() < deadline, "produce to %s still fails with %d after %.0fs" %
              (topic, err, timeout))
        time.sleep(0.1)


def fill_until_error(c):
    """Produce to "full" until a Produce fails; returns that error."""
    for i in range(2000):
        err, base = c.produce("full", 0, CHUNK)
        if err != k.NONE:
            return err, i
        ledger.add("full", 0, base, CHUNK)
    raise AssertionError("8 MiB filesystem never filled up")


def assert_full_refuses(c, what):
    """64 KiB batches must fail with KAFKA_STORAGE_ERROR. A small record may
    still fit in the partly used last page of a segment (tmpfs allocates
    pages): then it must be a real, readable append (it joins the ledger)."""
    for topic, vals in (("full", CHUNK), ("other", CHUNK), ("other", [b"o" * 100]), ("full", [b"tiny"])):
        err, base = c.produce(topic, 0, vals)
        if err == k.NONE and len(vals) == 1:
            ledger.add(topic, 0, base, vals)
            continue
        check(err == k.KAFKA_STORAGE_ERROR,
              "%s: produce of %d bytes to %s on a full disk: error %d (base %r), want "
              "KAFKA_STORAGE_ERROR (56)" % (what, sum(map(len, vals)), topic, err, base))


def hw_right_after_acked(c, topic):
    _, hw, _, _ = c.fetch(topic, 0, 0, max_bytes=1)
    last = max(ledger.acked[(topic, 0)])
    check(hw == last + 1, "%s: high watermark %d, last acknowledged offset %d" % (topic, hw, last))


def s_fill():
    put_ballast()
    with k.connect(b) as c:
        err, n = fill_until_error(c)
        check(err == k.KAFKA_STORAGE_ERROR,
              "first failing produce on a full disk: error %d, want KAFKA_STORAGE_ERROR (56)" % err)
        left = take_rest_of_space()
        print("  disk full after %d acknowledged 64 KiB batches (%d bytes left)" % (n, left))
        assert_full_refuses(c, "full disk")
        # checkpoints fail meanwhile: the broker keeps serving reads
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            check(b.running, "broker died on a full disk")
            md = c.metadata(["full", "other"])
            check(md["full"][0] == k.NONE and md["other"][0] == k.NONE, "metadata on a full disk: %r" % md)
            c.fetch("other", 0, 0)
        hw_right_after_acked(c, "full")
        assert_full_refuses(c, "full disk, after checkpoints")
    ledger.verify(b, "full disk")
    check(b.running, "broker died on a full disk")


def s_space_freed():
    free_space()
    with k.connect(b) as c:
        base = produce_retry(c, "full", [b"after-free"], allowed=(k.KAFKA_STORAGE_ERROR,))
        check(base == max(o for o in ledger.acked[("full", 0)] if o != base) + 1,
              "first record after freeing space at offset %d" % base)
        produce_retry(c, "other", [b"other-after-free"], allowed=(k.KAFKA_STORAGE_ERROR,))
        for _ in range(5):
            produce_retry(c, "full", CHUNK)
    ledger.verify(b, "space freed")
    k.healthy(b, ledger=ledger)


def s_clean_stop():
    rc = b.stop()
    check(rc == 0, "SIGTERM after the disk was full and freed: exit %r" % rc)
    b.start()
    ledger.verify(b, "restart after a clean stop")
    k.healthy(b, ledger=ledger)


def refill(c):
    put_ballast()
    err, n = fill_until_error(c)
    check(err == k.KAFKA_STORAGE_ERROR, "refill: error %d" % err)
    take_rest_of_space()
    assert_full_refuses(c, "refilled")


def s_sigterm_full():
    with k.connect(b) as c:
        refill(c)
    try:
        rc = b.stop(timeout=30)
    except Exception as e:
        raise AssertionError("SIGTERM on a full disk: %s" % e)
    print("  SIGTERM on a full disk: exit %r" % rc)
    free_space()
    b.start()
    ledger.verify(b, "restart after SIGTERM on a full disk")
    with k.connect(b) as c:
        produce_retry(c, "full", [b"after-sigterm"])
    k.healthy(b, ledger=ledger)


def s_kill9_full():
    with k.connect(b) as c:
        refill(c)
    b.kill9()
    free_space()
    b.start()
    ledger.verify(b, "restart after kill -9 on a full disk")
    with k.connect(b) as c:
        produce_retry(c, "full", [b"after-kill"])
        produce_retry(c, "other", [b"after-kill"])
    k.healthy(b, ledger=ledger)
    rc = b.stop()
    check(rc == 0, "final SIGTERM: exit %r" % rc)
    b.start()
    n = ledger.verify(b, "final restart")
    print("  %d acknowledged records intact" % n)


def main():
    global b, mnt
    if os.geteuid() != 0:
        print("SKIP: needs root to mount a tmpfs")
        return 0
    tmp = tempfile.mkdtemp(prefix="sluice-diskfull-")
    mnt = os.path.join(tmp, "mnt")
    os.makedirs(mnt)
    subprocess.check_call(["mount", "-t", "tmpfs", "-o", "size=" + SIZE, "tmpfs", mnt])
    failed = True
    try:
        b = Broker(data_dir=os.path.join(mnt, "data"),
                   overrides={"log.segment.bytes": str(1 << 20), "num.partitions": "1",
                              "log.flush.offset.checkpoint.interval.ms": "200",
                              "log.flush.start.offset.checkpoint.interval.ms": "200",
                              "replica.high.watermark.checkpoint.interval.ms": "200"})
        b.start()
        with k.connect(b) as c:
            check(c.create_topics([("full", 1), ("other", 1)]) == {"full": 0, "other": 0}, "create topics")
            produce_retry(c, "other", [b"seed-%d" % i for i in range(10)],
                          allowed=(k.UNKNOWN_TOPIC_OR_PARTITION,))
            produce_retry(c, "full", [b"seed"], allowed=(k.UNKNOWN_TOPIC_OR_PARTITION,))
        k.healthy(b, ledger=ledger)
        scen = [
            ("fill", s_fill),
            ("space_freed", s_space_freed),
            ("clean_stop", s_clean_stop),
            ("sigterm_full", s_sigterm_full),
            ("kill9_full", s_kill9_full),
        ]

        def guarded(fn):
            def run():
                try:
                    fn()
                except Exception:
                    d = died()
                    if d:
                        # report the death; restart so the next scenarios run
                        free_space()
                        b.start()
                        raise AssertionError(d + " (restarted after freeing the space)")
                    raise
            return run
        status = k.sigterm_status(b, k.run_scenarios([(n, guarded(f)) for n, f in scen]))
        failed = status != 0
        return status
    finally:
        if b is not None:
            if failed:
                b.print_tail(40, file=sys.stdout)
            b.kill9()
            if failed:
                # keep the log: the data directory goes with the tmpfs
                print("broker log kept in %s" % b.log_path)
            else:
                b.cleanup()
        if subprocess.call(["umount", mnt]) != 0:
            subprocess.call(["umount", "-l", mnt])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
