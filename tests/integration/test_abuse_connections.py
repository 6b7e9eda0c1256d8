#!/usr/bin/python3
"""tests/integration/test_abuse_connections.py -- connection-level abuse.

Broker A (max.connections = 2000, idle timeout default):
  max_connections   2000 idle connections are held open (the broker's fd
                    count shows them all); 20 more are each closed by the
                    broker within 5 s; after 10 idle ones go away a fresh
                    client is served; after all go away the broker's fd
                    count returns to its baseline.

Broker B, the same data restarted with connections.max.idle.ms = 2000:
  idle_timeout      500 idle connections are all closed by the broker
                    (fd count back to baseline) within 2 s + slack.
  slow_loris        50 clients write an acks=all Produce one byte at a time,
                    interleaved; meanwhile a well-behaved client is served
                    in < 5 s; each dribbled request is answered and its
                    record acknowledged. A client that stops half-way
                    through a frame is closed by the idle timeout.
  laggard_memory    a client pipelines Metadata requests (about 25 KB of
                    response each) and never reads: the broker stops
                    reading from it, its RSS grows by < 64 MiB, another
                    client is served meanwhile, and the laggard is closed
                    once it made no progress for the idle timeout.
  laggard_fetch     4 clients pipeline 8 MiB Fetches of a partition and
                    never read: RSS grows by < 64 MiB, another client is
                    served, all 4 are closed after the idle timeout.

At the end every record acknowledged during the test is read back valid,
the broker stops with exit 0 on SIGTERM and restarts without recovery.
"""
import os
import resource
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402
import kafka_raw as k  # noqa: E402

MAXCONN = 2000
IDLE_MS = 2000
RSS_BOUND_KIB = (128 if k.sanitized() else 64) * 1024
ledger = k.Ledger()
b = None


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def alive_and_serving(what, timeout=20.0):
    check(b.running, "%s: broker died (exit %r)" % (what, b.proc.poll()))
    t0 = time.monotonic()
    k.healthy(b, ledger=ledger, timeout=timeout)
    return time.monotonic() - t0


def fds():
    return k.open_fds(b.proc.pid)


def settled_fds(timeout=5.0):
    """The broker's fd count once it stops changing (closes in flight done)."""
    deadline = time.monotonic() + timeout
    last = fds()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = fds()
        if now == last:
            return now
        last = now
    return last


def wait_fds_at_most(n, timeout, what):
    try:
        wait_for(lambda: fds() <= n, timeout=timeout, what=what)
    except TimeoutError:
        raise AssertionError("%s: broker still has %d fds, want <= %d" % (what, fds(), n))


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard) if hard != resource.RLIM_INFINITY else n, hard))


def readable(socks, timeout):
    """The sockets among socks with something to read (data, EOF or error)."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN)
    bym = {s.fileno(): s for s in socks}
    return [bym[fd] for fd, _ in p.poll(int(timeout * 1000))]


def open_idle(n):
    socks = []
    for _ in range(n):
        s = socket.create_connection((b.host, b.port), timeout=10)
        socks.append(s)
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    del socks[:]


# ---- broker A -----------------------------------------------------------------

def s_max_connections():
    base = settled_fds()
    socks = []
    try:
        socks = open_idle(MAXCONN)
        try:
            wait_for(lambda: fds() >= base + MAXCONN - 2, timeout=20,
                     what="the broker to hold %d connections" % MAXCONN)
        except TimeoutError:
            raise AssertionError("the broker holds %d fds, baseline %d, %d connections open" %
                                 (fds(), base, MAXCONN))
        # none of them was closed by the broker
        rd = readable(socks, 0.2)
        check(not rd, "%d idle connections under the limit were closed" % len(rd))
        for i in range(20):
            with k.Conn(b.host, b.port, timeout=10) as c:
                check(c.closed_within(5), "connection %d over max.connections not closed" % (MAXCONN + i + 1))
        check(b.running, "broker died at max.connections")
        check(fds() <= base + MAXCONN + 2, "refused connections kept fds open: %d" % (fds() - base))
        close_all_n = socks[:10]
        del socks[:10]
        close_all(close_all_n)
        alive_and_serving("10 slots freed")
    finally:
        close_all(socks)
    wait_fds_at_most(base, 20, "all idle connections closed")
    alive_and_serving("after max.connections")


# ---- broker B ---------------------------------------------------------------------

def s_idle_timeout():
    base = settled_fds()
    socks = open_idle(500)
    try:
        wait_fds_at_most(base, IDLE_MS / 1000.0 + 15, "500 idle connections closed by the idle timeout")
        rd = readable(socks, 5)
        check(len(rd) == len(socks), "only %d of 500 idle sockets see the close" % len(rd))
    finally:
        close_all(socks)
    alive_and_serving("idle timeout")


def s_slow_loris():
    n = 50
    with k.connect(b) as c:
        c.create_topics([("loris", 2)])
        wait_for(lambda: c.metadata(["loris"])["loris"][0] == k.NONE, timeout=10, what="topic loris")
    base = settled_fds()
    conns = [k.Conn(b.host, b.port, timeout=15) for _ in range(n)]
    stalled = k.Conn(b.host, b.port, timeout=15)
    try:
        datas = []
        for i, c in enumerate(conns):
            f = k.produce_frame("loris", i % 2, [b"loris-%d" % i], acks=-1, cid=1000 + i)
            datas.append(struct.pack(">i", len(f)) + f)
        half = k.api_versions_frame(3, 5)
        stalled.send_raw((struct.pack(">i", len(half)) + half)[:len(half) // 2])
        L = max(len(d) for d in datas)
        served_in = None
        for pos in range(L):
            for c, d in zip(conns, datas):
                if pos < len(d):
                    c.send_raw(d[pos:pos + 1])
            if pos == L // 2:
                served_in = alive_and_serving("during slow-loris", timeout=10)
            time.sleep(0.005)
        for i, c in enumerate(conns):
            r = k.R(c.recv_frame())
            check(r.i32() == 1000 + i, "slow-loris %d: correlation id" % i)
            (_, parts), = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
            check(parts[0][1] == k.NONE, "slow-loris %d: produce error %d" % (i, parts[0][1]))
            ledger.add("loris", i % 2, parts[0][2], [b"loris-%d" % i])
        print("  slow-loris: a well-behaved client was served in %.2fs meanwhile" % served_in)
        check(served_in < 5, "well-behaved client took %.1fs during slow-loris" % served_in)
        check(stalled.closed_within(IDLE_MS / 1000.0 + 10),
              "a client stalled half-way through a frame was not closed by the idle timeout")
    finally:
        for c in conns:
            c.close()
        stalled.close()
    wait_fds_at_most(base, 15, "slow-loris connections gone")
    alive_and_serving("after slow-loris")


def flood_without_reading(sock, frame, max_secs=20.0, stall_secs=1.0, sample=None):
    """Send frame again and again, never reading, until the broker stops
    taking bytes for stall_secs. Returns the number of requests sent."""
    sock.setblocking(False)
    chunk = (struct.pack(">i", len(frame)) + frame) * 64
    sent_total = 0
    pending = b""
    last_progress = time.monotonic()
    t_end = time.monotonic() + max_secs
    while time.monotonic() < t_end:
        if not pending:
            pending = chunk
        try:
            n = sock.send(pending)
            pending = pending[n:]
            sent_total += n
            last_progress = time.monotonic()
        except BlockingIOError:
            p = select.poll()
            p.register(sock, select.POLLOUT)
            p.poll(50)
        except OSError:
            break           # closed by the broker already
        if sample:
            sample()
        if time.monotonic() - last_progress > stall_secs:
            break
    return sent_total // (4 + len(frame))


def s_laggard_memory():
    with k.connect(b) as c:
        names = ["meta-%s-%03d" % ("m" * 190, i) for i in range(100)]
        res = c.create_topics([(n, 1) for n in names])
        check(all(e in (k.NONE, k.TOPIC_ALREADY_EXISTS) for e in res.values()), "create topics: %r" % res)
        c.cid += 1
        c.send_frame(k.metadata_frame(None, 1, c.cid))
        resp_size = len(c.recv_frame())
    base = settled_fds()
    pid = b.proc.pid
    rss0 = k.rss_kib(pid)
    peak = [rss0]

    def sample():
        peak[0] = max(peak[0], k.rss_kib(pid))

    lag = socket.create_connection((b.host, b.port), timeout=10)
    try:
        nreq = flood_without_reading(lag, k.metadata_frame(None, 1, 7), sample=sample)
        sample()
        print("  laggard: %d Metadata requests of %d-byte responses sent; RSS %d -> peak %d KiB" %
              (nreq, resp_size, rss0, peak[0]))
        check(nreq * resp_size > 64 << 20, "test too weak: only %d requests sent" % nreq)
        alive_and_serving("while a laggard is stuck", timeout=10)
        sample()
        check(peak[0] - rss0 < RSS_BOUND_KIB, "RSS grew by %d KiB for one never-reading client" % (peak[0] - rss0))
        # the broker closes it after the idle timeout without progress
        try:
            wait_for(lambda: (sample(), fds() <= base)[1], timeout=IDLE_MS / 1000.0 + 15,
                     what="the laggard to be closed")
        except TimeoutError:
            raise AssertionError("the never-reading client was not closed within %.0fs (broker fds %d, "
                                 "baseline %d)" % (IDLE_MS / 1000.0 + 15, fds(), base))
        check("output pending" in k.run_log(b), "no log line for closing the laggard")
        check(peak[0] - rss0 < RSS_BOUND_KIB, "RSS grew by %d KiB for one never-reading client" % (peak[0] - rss0))
    finally:
        lag.close()
    alive_and_serving("after the laggard")


def s_laggard_fetch():
    topic = "big"
    with k.connect(b) as c:
        c.create_topics([(topic, 1)])
        val = b"B" * (128 << 10)
        for i in range(64):
            for _ in range(50):
                err, base_off = c.produce(topic, 0, [val], acks=1)
                if err != k.UNKNOWN_TOPIC_OR_PARTITION:
                    break
                time.sleep(0.1)
            check(err == k.NONE, "filling %s: error %d" % (topic, err))
            ledger.add(topic, 0, base_off, [val])
    base = settled_fds()
    pid = b.proc.pid
    rss0 = k.rss_kib(pid)
    peak = [rss0]

    def sample():
        peak[0] = max(peak[0], k.rss_kib(pid))

    lags = []
    try:
        frame = k.fetch_frame(topic, 0, 0, max_bytes=8 << 20)
        total = 0
        for _ in range(4):
            s = socket.create_connection((b.host, b.port), timeout=10)
            lags.append(s)
            total += flood_without_reading(s, frame, max_secs=10, sample=sample)
        sample()
        print("  4 fetch laggards: %d 8-MiB Fetches sent; RSS %d -> peak %d KiB" % (total, rss0, peak[0]))
        alive_and_serving("while 4 fetch laggards are stuck", timeout=10)
        try:
            wait_for(lambda: (sample(), fds() <= base)[1], timeout=IDLE_MS / 1000.0 + 20,
                     what="the laggards to be closed")
        except TimeoutError:
            raise AssertionError("never-reading fetch clients not closed (broker fds %d, baseline %d)" %
                                 (fds(), base))
        check(peak[0] - rss0 < RSS_BOUND_KIB, "RSS grew by %d KiB for 4 never-reading fetchers" % (peak[0] - rss0))
    finally:
        close_all(lags)
    alive_and_serving("after the fetch laggards")


def s_final():
    ledger.verify(b, "after the abuse")
    n = k.clean_restart_check(b, ledger, "clean restart after the abuse")
    print("  %d acknowledged records intact across a clean restart" % n)


def main():
    global b
    raise_nofile(MAXCONN * 2 + 1000)
    b = Broker(overrides={"max.connections": str(MAXCONN), "num.partitions": "2"})

    def body():
        b.start()
        alive_and_serving("start")
        rc = k.run_scenarios([("max_connections", s_max_connections)])
        if b.running:
            check(b.stop() == 0, "SIGTERM exit code")
        b.overrides["connections.max.idle.ms"] = str(IDLE_MS)
        b.start()
        alive_and_serving("restart with connections.max.idle.ms=%d" % IDLE_MS)
        return rc | k.run_scenarios([
            ("idle_timeout", s_idle_timeout),
            ("slow_loris", s_slow_loris),
            ("laggard_memory", s_laggard_memory),
            ("laggard_fetch", s_laggard_fetch),
            ("final_logs_intact", s_final),
        ])

    return k.run_main(b, body)


if __name__ == "__main__":
    sys.exit(main())
