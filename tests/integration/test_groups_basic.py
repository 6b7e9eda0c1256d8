#!/usr/bin/python3
"""tests/integration/test_groups_basic.py -- consumer groups, the basic flow
(issue 4 (a), (g), (j)) with python3-confluent-kafka (librdkafka 2.0.2)
high-level consumers, each in its own process.

  (a)/(g) group "work": 3 consumers subscribe to a 12-partition topic; once
      the group is Stable (DescribeGroups: 3 members) every member owns a
      non-empty, disjoint share and together they own all 12 partitions.
      Then 200k records are produced; the group reads every one exactly once
      (steady state: no rebalance happens while data flows), and commits:
      the committed offsets (a fresh consumer's committed()) equal the end
      offsets. Members shut down cleanly (close() => LeaveGroup) and the
      group becomes Empty.
  (j) at the same time group "audit" (2 consumers) reads the same topic:
      both groups read all 200k records (publish-subscribe) while the
      members inside each group split the partitions (point-to-point).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import (Worker, check, check_coverage, committed, create_topic,  # noqa: E402
                           describe, end_offsets, kill_all_workers, log, produce,
                           wait_consumed, wait_for, wait_owned, wait_stable)

TOPIC = "work"
NPARTS = 12
N = 200000


def main():
    ov = {"group.initial.rebalance.delay.ms": "300", "group.min.session.timeout.ms": "1000",
          "num.partitions": "1"}
    with Broker(overrides=ov) as b:
        try:
            create_topic(b.bootstrap, TOPIC, NPARTS)
            allp = [(TOPIC, p) for p in range(NPARTS)]
            work = [Worker("work%d" % i, b.bootstrap, "work", [TOPIC]).start() for i in range(3)]
            audit = [Worker("audit%d" % i, b.bootstrap, "audit", [TOPIC]).start()
                     for i in range(2)]
            wait_stable(b.port, "work", 3)
            wait_stable(b.port, "audit", 2)
            wait_owned(work, allp, 30, "work group owns all 12 partitions")
            wait_owned(audit, allp, 30, "audit group owns all 12 partitions")
            for w in work + audit:
                check(w.owned, "%s owns nothing" % w.name)
                log("%s owns %s" % (w.name, sorted(p for _, p in w.owned)))
            d = describe(b.port, "work")
            check(d["protocol_type"] == "consumer" and d["protocol"] == "range",
                  "describe: %s" % d)
            marks = {w.name: len(w.events) for w in work + audit}

            t0 = time.monotonic()
            counts = produce(b.bootstrap, TOPIC, N, NPARTS)
            log("produced %d in %.1fs" % (N, time.monotonic() - t0))
            ends = end_offsets(b.bootstrap, TOPIC, NPARTS)
            check(ends == dict(counts), "end offsets %s != produced %s" % (ends, dict(counts)))

            wait_consumed(work, N, 90, "work group reads %d" % N)
            wait_consumed(audit, N, 90, "audit group reads %d" % N)
            log("both groups consumed %d in %.1fs" % (N, time.monotonic() - t0))
            for w in work + audit:
                check(len(w.events) == marks[w.name],
                      "%s saw a rebalance in steady state: %s" % (w.name, w.events[marks[w.name]:]))
                check(not w.errors, "%s errors: %s" % (w.name, w.errors[:5]))
                log("%s read %d" % (w.name, w.consumed()))
                check(w.consumed() > 0, "%s read nothing" % w.name)
                # each member read only its own partitions
                check(set(w.ranges) <= w.owned, "%s read %s, owns %s" %
                      (w.name, sorted(w.ranges), sorted(w.owned)))
            check_coverage(work, ends)     # exactly once
            check_coverage(audit, ends)

            # every member commits what it read (commit every 0.2 s)
            def all_committed(ws):
                got = {}
                for w in ws:
                    w.refresh()
                    got.update(w.commits)
                return got == ends
            wait_for(lambda: all_committed(work) and all_committed(audit), 30, 0.1,
                     "commits reach the end offsets")
            for g in ("work", "audit"):
                c = committed(b.bootstrap, g, TOPIC, NPARTS)
                check(c == ends, "%s committed() %s != ends %s" % (g, c, ends))

            for w in work + audit:
                check(w.stop() == 0, "%s exit code" % w.name)
                check(w.exited, "%s did not log a clean exit" % w.name)
            for g in ("work", "audit"):
                d = wait_for(lambda: (lambda d: d if d["state"] == "Empty" else None)(
                    describe(b.port, g)), 20, 0.1, "%s Empty after close()" % g)
                check(d["members"] == [], "%s members after close: %s" % (g, d["members"]))
            c = committed(b.bootstrap, "work", TOPIC, NPARTS)
            check(c == ends, "committed after close %s" % c)
        finally:
            kill_all_workers()
    print("test_groups_basic: OK")


if __name__ == "__main__":
    main()
