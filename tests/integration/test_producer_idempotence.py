#!/usr/bin/python3
"""tests/integration/test_producer_idempotence.py -- enable.idempotence=true
across broken connections: every record exactly once, in order.

A producer thread streams 50,000 records (acks=all, lz4, 5 requests in
flight, paced so the stream lasts several seconds) round-robin over 3
partitions; record k of partition p has the value "p:k". While it runs the
connections break with batches in flight:

  The producer talks to the broker through a TCP proxy in this test (the
  broker advertises the proxy's port), so the test can make responses get
  lost: the proxy swallows broker -> client bytes until at least one
  response was lost, then the disruption happens. So every disruption
  leaves batches the broker appended but the producer must retry: a
  guaranteed duplicate (without the proxy, kill -9 rarely hits that window).

  1. restart: kill -9 the broker once ~30% of the records were acknowledged,
     start it again on the same port and data; SIGTERM-restart it at ~60%.
     The producer reconnects and retries; the broker's producer state (rebuilt
     from snapshot + log replay after the kill, from the close-time snapshot
     after SIGTERM) answers retries of appended batches as duplicates.
  2. drops: the broker keeps running; six times during the
     stream the proxy swallows the broker's responses until at least one
     was lost, then resets every proxied connection (SO_LINGER 0): the
     producer must retry batches the broker already appended (each drop is
     a guaranteed duplicate) -- the broker keeps running.

Checks: every delivery report is a success and its offset is k for record
p:k (a duplicate is answered with the original offset); reading each
partition back gives exactly p:0, p:1, ... p:n-1 -- no loss, no duplicate,
no reordering.
"""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402
from producer_common import check, create_topics, read_all  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

N = 50000
NPARTS = 3
RATE = 8000          # records/s the producer thread offers (the stream lasts ~6 s)


class Stream:
    """The producer thread and what its delivery reports said."""

    def __init__(self, bootstrap, topic):
        self.topic = topic
        self.acked = 0
        self.errors = []
        self.bad_offsets = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.exc = None
        self.conf = {"bootstrap.servers": bootstrap, "enable.idempotence": True,
                     "acks": "all", "compression.codec": "lz4", "linger.ms": 5,
                     "batch.num.messages": 200, "max.in.flight": 5,
                     "message.timeout.ms": 120000, "retry.backoff.ms": 50,
                     "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                     "socket.timeout.ms": 10000, "topic.metadata.refresh.interval.ms": 1000}
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _dr(self, err, msg):
        with self.lock:
            if err is not None:
                self.errors.append("%s: %s" % (msg.value()[:20], err))
                return
            p, k = msg.value().split(b":")
            if int(p) != msg.partition() or int(k) != msg.offset():
                self.bad_offsets.append((msg.partition(), msg.value(), msg.offset()))
            self.acked += 1

    def _run(self):
        try:
            p = Producer(self.conf)
            seq = [0] * NPARTS
            t0 = time.monotonic()
            for i in range(N):
                part = i % NPARTS
                while i > RATE * (time.monotonic() - t0):
                    p.poll(0.005)            # pace the stream
                value = b"%d:%d" % (part, seq[part])
                seq[part] += 1
                while True:
                    try:
                        p.produce(self.topic, value=value, partition=part, on_delivery=self._dr)
                        break
                    except BufferError:
                        p.poll(0.05)
                p.poll(0)
            left = p.flush(90)
            if left:
                self.errors.append("%d records still queued after flush" % left)
        except Exception as e:     # noqa: BLE001 -- reported by the main thread
            self.exc = e
        finally:
            self.done.set()

    def acked_count(self):
        with self.lock:
            return self.acked

    def wait_acked(self, n, timeout=60):
        wait_for(lambda: self.acked_count() >= n or self.done.is_set(), timeout,
                 what="%d acknowledged records" % n)
        check(not self.done.is_set() or self.acked_count() >= N,
              "producer stopped early: %s %s" % (self.exc, self.errors[:3]))
        check(self.acked_count() < N, "the stream ended before the disruption at %d" % n)

    def finish(self, timeout=120):
        check(self.done.wait(timeout), "producer did not finish within %ds" % timeout)
        self.thread.join(10)
        check(self.exc is None, "producer thread raised %r" % self.exc)
        check(not self.errors, "delivery errors (%d): %s" % (len(self.errors), self.errors[:5]))
        check(not self.bad_offsets, "delivery reports with the wrong offset: %s"
              % self.bad_offsets[:5])
        check(self.acked == N, "%d of %d acknowledged" % (self.acked, N))


def verify_log(b, topic):
    tps = [(topic, p) for p in range(NPARTS)]
    got = read_all(b, tps, deadline_s=60)
    for tp in tps:
        want_n = len(range(tp[1], N, NPARTS))
        vals = [m.value() for m in got[tp]]
        for k, v in enumerate(vals):
            if v != b"%d:%d" % (tp[1], k):
                raise AssertionError("%s: offset %d holds %r, expected %r (%d records, %d expected)"
                                     % (tp, k, v, b"%d:%d" % (tp[1], k), len(vals), want_n))
        check(len(vals) == want_n, "%s: %d records, expected %d" % (tp, len(vals), want_n))
        check([m.offset() for m in got[tp]] == list(range(want_n)), "%s: offsets not 0..n-1" % (tp,))
    print("%s: %d records, each exactly once and in order" % (topic, N))


class Proxy:
    """TCP proxy: 127.0.0.1:<port> -> 127.0.0.1:<target>, one thread per
    direction; drop_all() resets every proxied connection,
    drop_with_lost_responses() first lets responses get lost."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.target = None
        self.lock = threading.Lock()
        self.pairs = []
        self.accepted = 0
        self.closing = False
        self.hold = False          # swallow broker -> client bytes
        self.swallowed = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self, target):
        self.target = target
        self.thread.start()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.pairs.append((c, u))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, True), daemon=True).start()

    def _pump(self, src, dst, to_client):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                if to_client and self.hold:
                    with self.lock:
                        self.swallowed += len(d)     # answered, never delivered
                    continue
                dst.sendall(d)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def lose_responses(self, timeout=30):
        """Stop delivering responses until the broker has answered requests
        whose answers the client will never see (hold stays on: call
        drop_all next)."""
        with self.lock:
            self.swallowed = 0
        self.hold = True
        wait_for(lambda: self.swallowed > 0, timeout, interval=0.002,
                 what="a response to swallow")

    def drop_with_lost_responses(self, timeout=30):
        """lose_responses, then reset everything: the client must retry
        batches the broker already appended."""
        self.lose_responses(timeout)
        return self.drop_all()

    def drop_all(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
        self.hold = False
        for pair in pairs:
            for s in pair:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        return len(pairs)

    def close(self):
        self.closing = True
        try:
            self.ls.close()
        except OSError:
            pass
        self.drop_all()


def test_restarts():
    proxy = Proxy()
    try:
        adv = "PLAINTEXT://127.0.0.1:%d" % proxy.port
        with Broker(overrides={"advertised.listeners": adv}) as b:
            proxy.start(b.port)
            boot = "127.0.0.1:%d" % proxy.port
            create_topics(AdminClient({"bootstrap.servers": boot}), [("idem-restart", NPARTS, {})])
            s = Stream(boot, "idem-restart")
            s.thread.start()
            try:
                s.wait_acked(int(N * 0.3))
                proxy.lose_responses()
                at = s.acked_count()
                b.kill9()
                proxy.drop_all()
                b.start()
                print("kill -9 + restart at %d acknowledged (responses lost: %d bytes)"
                      % (at, proxy.swallowed))
                s.wait_acked(int(N * 0.6))
                proxy.lose_responses()
                at = s.acked_count()
                rc = b.stop()
                proxy.drop_all()
                check(rc == 0, "SIGTERM exit code %s" % rc)
                b.start()
                print("SIGTERM restart at %d acknowledged (responses lost: %d bytes)"
                      % (at, proxy.swallowed))
                s.finish()
            finally:
                s.done.wait(130)
            verify_log(b, "idem-restart")
    finally:
        proxy.close()


def test_proxy_drops():
    proxy = Proxy()
    try:
        adv = "PLAINTEXT://127.0.0.1:%d" % proxy.port
        with Broker(overrides={"advertised.listeners": adv}) as b:
            proxy.start(b.port)
            boot = "127.0.0.1:%d" % proxy.port
            create_topics(AdminClient({"bootstrap.servers": boot}), [("idem-proxy", NPARTS, {})])
            s = Stream(boot, "idem-proxy")
            s.thread.start()
            drops = []
            try:
                for k in range(1, 7):
                    s.wait_acked(int(N * k / 8))
                    drops.append((s.acked_count(), proxy.drop_with_lost_responses()))
                s.finish()
            finally:
                s.done.wait(130)
            print("proxy: connections reset at (acked, connections) %s; %d connections in all"
                  % (drops, proxy.accepted))
            check(all(n > 0 for _, n in drops), "a drop found no connection to reset")
            check(b.running, "the broker must stay up")
            verify_log(b, "idem-proxy")
    finally:
        proxy.close()


def main():
    t0 = time.monotonic()
    test_restarts()
    t1 = time.monotonic()
    test_proxy_drops()
    print("test_producer_idempotence: ok (restarts %.1fs, proxy %.1fs)"
          % (t1 - t0, time.monotonic() - t1))


if __name__ == "__main__":
    main()
