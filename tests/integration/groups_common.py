"""tests/integration/groups_common.py -- shared pieces of the consumer-group
tests (test_groups_*): worker processes (groups_worker.py) and what they
logged, producing numbered records, and the delivery checks.
"""
import collections
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sluice_harness import wait_for  # noqa: E402,F401
from groups_raw import RawClient  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

PY = "/usr/bin/python3"
_workers = set()

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _child_setup():
    if _prctl is not None:
        _prctl(1, signal.SIGKILL, 0, 0, 0)     # PR_SET_PDEATHSIG


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def kill_all_workers():
    for w in list(_workers):
        w.kill9()


class Worker:
    """A consumer process. Parsed state (refresh()): owned = set of (t, p),
    events = [(kind, [(t, p)...])] for A/R/L, ranges = {(t, p): [(a, b)]},
    commits = {(t, p): last committed offset}, errors = [...], exited."""

    def __init__(self, name, bootstrap, group, topics, conf=None, commit_interval=0.2,
                 tmpdir=None):
        self.name = name
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="sluice-groups-")
        self.out = os.path.join(self.tmpdir, "%s.log" % name)
        self.cfg = {"bootstrap": bootstrap, "group": group, "topics": list(topics),
                    "out": self.out, "conf": dict(conf or {}),
                    "commit_interval": commit_interval}
        self.proc = None
        self._reset()

    def _reset(self):
        self._pos = 0
        self.owned = set()
        self.events = []
        self.ranges = collections.defaultdict(list)
        self.commits = {}
        self.errors = []
        self.jumps = []
        self.exited = False

    def start(self):
        open(self.out, "w").close()
        self._reset()
        self.errlog = open(self.out + ".stderr", "ab")
        self.proc = subprocess.Popen([PY, os.path.join(HERE, "groups_worker.py"),
                                      json.dumps(self.cfg)], stdin=subprocess.DEVNULL,
                                     stdout=self.errlog, stderr=self.errlog,
                                     preexec_fn=_child_setup)
        _workers.add(self)
        return self

    def refresh(self):
        with open(self.out) as f:
            f.seek(self._pos)
            data = f.read()
        end = data.rfind("\n")
        if end < 0:
            return self
        self._pos += len(data[:end + 1].encode())
        for line in data[:end].split("\n"):
            kind, _, rest = line.partition(" ")
            if kind in ("A", "R", "L"):
                parts = []
                for tok in rest.split():
                    t, p = tok.rsplit(":", 1)
                    parts.append((t, int(p)))
                self.events.append((kind, parts))
                if kind == "A":
                    self.owned |= set(parts)
                else:
                    self.owned -= set(parts)
            elif kind == "M":
                t, p, a, b = rest.split()
                self.ranges[(t, int(p))].append((int(a), int(b)))
            elif kind == "C":
                for tok in rest.split():
                    t, p, o = tok.rsplit(":", 2)
                    self.commits[(t, int(p))] = int(o)
            elif kind == "E":
                self.errors.append(rest)
            elif kind == "J":
                self.jumps.append(rest)
            elif kind == "X":
                self.exited = True
        return self

    def consumed(self):
        return sum(b - a + 1 for rs in self.ranges.values() for a, b in rs)

    def count(self, kind):
        return sum(1 for k, _ in self.events if k == kind)

    def stop(self, timeout=30):
        """SIGTERM: final commit, close() (LeaveGroup), exit 0."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError("worker %s did not exit within %ds of SIGTERM" %
                                     (self.name, timeout))
        _workers.discard(self)
        self.refresh()
        rc = self.proc.returncode if self.proc else None
        if rc != 0:
            self.dump()
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        _workers.discard(self)
        self.refresh()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def dump(self):
        try:
            with open(self.out + ".stderr", "rb") as f:
                err = f.read().decode("utf-8", "replace")[-3000:]
        except OSError:
            err = ""
        print("---- worker %s: owned=%s events=%s errors=%s stderr:\n%s" %
              (self.name, sorted(self.owned), self.events[-6:], self.errors[-5:], err),
              file=sys.stderr)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=30)
    fs[name].result(timeout=60)
    wait_for(lambda: name in admin.list_topics(timeout=10).topics and
             len(admin.list_topics(timeout=10).topics[name].partitions) == partitions,
             30, 0.1, "topic %s in metadata" % name)


def produce(bootstrap, topic, n, partitions, start=0):
    """n records round-robin over the partitions, value = b"<i>". Returns
    {(topic, p): count}."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                  "queue.buffering.max.messages": 1000000, "batch.num.messages": 10000})
    errs = []

    def dr(err, msg):
        if err is not None:
            errs.append(err)
    counts = collections.Counter()
    for i in range(start, start + n):
        part = i % partitions
        while True:
            try:
                p.produce(topic, value=b"%d" % i, partition=part, on_delivery=dr)
                break
            except BufferError:
                p.poll(0.05)
        counts[(topic, part)] += 1
    left = p.flush(60)
    check(left == 0 and not errs, "produce: %d undelivered, errors %s" % (left, errs[:3]))
    return counts


def end_offsets(bootstrap, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "groups-watermarks"})
    try:
        return {(topic, p): c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                for p in range(partitions)}
    finally:
        c.close()


def committed(bootstrap, group, topic, partitions):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        res = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return {(r.topic, r.partition): r.offset for r in res}
    finally:
        c.close()


def describe(port, group):
    with RawClient("127.0.0.1", port) as rc:
        return rc.describe_group(group)


def wait_stable(port, group, nmembers, timeout=60):
    def ok():
        d = describe(port, group)
        return d if d["state"] == "Stable" and len(d["members"]) == nmembers else None
    return wait_for(ok, timeout, 0.1, "group %s Stable with %d members" % (group, nmembers))


def wait_owned(workers, all_parts, timeout=60, what="all partitions owned"):
    """Until the live workers' owned sets partition all_parts exactly."""
    def ok():
        seen = []
        for w in workers:
            w.refresh()
            seen.extend(w.owned)
        return len(seen) == len(set(seen)) and set(seen) == set(all_parts)
    try:
        wait_for(ok, timeout, 0.05, what)
    except TimeoutError:
        for w in workers:
            w.dump()
        raise


def wait_consumed(workers, total, timeout=90, what=None):
    def ok():
        return sum(w.refresh().consumed() for w in workers) >= total

    try:
        wait_for(ok, timeout, 0.1, what or "%d records consumed" % total)
    except TimeoutError:
        for w in workers:
            w.dump()
        print("consumed: %s" % [(w.name, w.consumed()) for w in workers], file=sys.stderr)
        raise


def read_counts(workers):
    """{(t, p): Counter(offset -> times read)} over all workers."""
    out = collections.defaultdict(collections.Counter)
    for w in workers:
        for tp, rs in w.ranges.items():
            for a, b in rs:
                for o in range(a, b + 1):
                    out[tp][o] += 1
    return out


def check_coverage(workers, ends, allow_dups=None, allow_jumps=False):
    """Every offset in [0, end) of every partition was read at least once.
    allow_dups(tp, offset) -> bool decides whether reading twice is fine
    (None: nothing may be read twice). Unless allow_jumps, no worker saw a
    client-side skip (J lines). Returns the number of duplicates."""
    if not allow_jumps:
        for w in workers:
            check(not w.jumps, "%s: client skipped ahead: %s" % (w.name, w.jumps[:5]))
    counts = read_counts(workers)
    dups = 0
    for tp, end in ends.items():
        c = counts.get(tp, {})
        missing = [o for o in range(end) if c.get(o, 0) == 0]
        check(not missing, "%s: %d records never read (first %s)" % (tp, len(missing), missing[:5]))
        extra = [o for o in c if o >= end]
        check(not extra, "%s: read offsets past the end %d: %s" % (tp, end, extra[:5]))
        for o in range(end):
            if c[o] > 1:
                dups += c[o] - 1
                check(allow_dups is not None and allow_dups(tp, o),
                      "%s offset %d read %d times" % (tp, o, c[o]))
    return dups


class Streamer:
    """Produces records round-robin over the partitions from a thread at
    about `rate` records/s until stop(); .counts = {(t, p): n} delivered."""

    def __init__(self, bootstrap, topic, partitions, rate=2000):
        import threading
        self.bootstrap, self.topic, self.partitions, self.rate = bootstrap, topic, partitions, rate
        self._stop = threading.Event()
        self.n = 0
        self.error = None
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        try:
            p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, "acks": "all"})
            errs = []
            t0 = time.monotonic()
            while not self._stop.is_set():
                target = int((time.monotonic() - t0) * self.rate)
                while self.n < target:
                    p.produce(self.topic, value=b"%d" % self.n, partition=self.n % self.partitions,
                              on_delivery=lambda e, m: e and errs.append(e))
                    self.n += 1
                p.poll(0.02)
            left = p.flush(60)
            if left or errs:
                self.error = "streamer: %d undelivered, errors %s" % (left, errs[:3])
        except Exception as e:      # reported by stop()
            self.error = "streamer: %r" % e

    def stop(self):
        self._stop.set()
        self._t.join(90)
        check(self.error is None, self.error)
        return self.n


def describe_gaps(workers, ends):
    """Text: per partition, the offsets never read (as ranges) and who read
    what (first..last per worker), for failure messages."""
    counts = read_counts(workers)
    lines = []
    for tp, end in sorted(ends.items()):
        c = counts.get(tp, {})
        miss = [o for o in range(end) if c.get(o, 0) == 0]
        if not miss:
            continue
        rngs = []
        for o in miss:
            if rngs and rngs[-1][1] == o - 1:
                rngs[-1][1] = o
            else:
                rngs.append([o, o])
        who = ["%s:%s" % (w.name, [(a, b) for a, b in w.ranges.get(tp, [])][:3] +
                          ([("...", w.ranges[tp][-1])] if len(w.ranges.get(tp, [])) > 3 else []))
               for w in workers if tp in w.ranges]
        commits = ["%s:%s" % (w.name, w.commits.get(tp)) for w in workers if tp in w.commits]
        lines.append("%s end %d missing %s; read by %s; last commits %s" %
                     (tp, end, rngs[:4], who, commits))
    return "\n".join(lines)


def wait_all_read(live, everyone, ends, timeout=60):
    def done():
        for w in live:
            w.refresh()
        c = read_counts(everyone)
        return all(len(c.get(tp, {})) >= e for tp, e in ends.items())
    try:
        wait_for(done, timeout, 0.2, "every record read")
    except TimeoutError:
        print(describe_gaps(everyone, ends), file=sys.stderr)
        for w in everyone:
            w.dump()
        raise
