#!/usr/bin/python3
"""tests/integration/test_groups_restart.py -- committed offsets survive a
broker restart (issue 4 (d)), once with SIGTERM and once with kill -9.

For each way of stopping:
  1. 20k records into a 6-partition topic; a group of 2 python consumers
     (separate processes) reads them and commits; the consumers close.
     committed() equals the end offsets. A standalone commit (raw
     OffsetCommit, generation -1, no member, metadata per partition) goes
     to a second, member-less group at offsets 1000+p.
  2. The broker stops (SIGTERM: exit 0, or SIGKILL) and starts again on the
     same data directory.
  3. committed() of the group equals what was committed before; OffsetFetch
     of the standalone group returns the same offsets and metadata.
  4. 10k more records; two new consumers in the same group read exactly the
     new records: across both phases every record was read exactly once
     (nothing re-read from before the commit, nothing skipped), and the new
     commits reach the new end offsets.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import (Worker, check, check_coverage, committed, create_topic,  # noqa: E402
                           end_offsets, kill_all_workers, log, produce, wait_consumed,
                           wait_for, wait_stable)
from groups_raw import RawClient  # noqa: E402

NPARTS = 6


def run(b, how):
    topic, group, solo = "r-%s" % how, "rg-%s" % how, "solo-%s" % how
    create_topic(b.bootstrap, topic, NPARTS)
    produce(b.bootstrap, topic, 20000, NPARTS)
    ends1 = end_offsets(b.bootstrap, topic, NPARTS)
    ws1 = [Worker("%s-a%d" % (how, i), b.bootstrap, group, [topic]).start() for i in range(2)]
    wait_consumed(ws1, 20000, 60)
    wait_for(lambda: {k: v for w in ws1 for k, v in w.refresh().commits.items()} == ends1,
             30, 0.1, "phase-1 commits reach the end")
    for w in ws1:
        check(w.stop() == 0, "%s exit" % w.name)
    c1 = committed(b.bootstrap, group, topic, NPARTS)
    check(c1 == ends1, "committed before restart %s != %s" % (c1, ends1))
    with RawClient("127.0.0.1", b.port) as rc:
        res = rc.offset_commit(solo, -1, "", {topic: [(p, 1000 + p, "meta-%d" % p)
                                                      for p in range(NPARTS)]})
        check(set(res.values()) == {0}, "standalone commit errors %s" % res)
        solo1 = rc.offset_fetch(solo, {topic: list(range(NPARTS))})

    if how == "sigterm":
        rc_ = b.stop()
        check(rc_ == 0, "broker exit code %s after SIGTERM" % rc_)
    else:
        b.kill9()
    b.start()
    log("%s: broker restarted" % how)

    c2 = committed(b.bootstrap, group, topic, NPARTS)
    check(c2 == c1, "%s: committed after restart %s != before %s" % (how, c2, c1))
    with RawClient("127.0.0.1", b.port) as rc:
        solo2 = rc.offset_fetch(solo, {topic: list(range(NPARTS))})
    check(solo2 == solo1, "%s: standalone offsets after restart %s != before %s" %
          (how, solo2, solo1))
    check(solo2["offsets"][(topic, 3)] == (1003, "meta-3", 0), "solo offsets %s" % solo2)

    produce(b.bootstrap, topic, 10000, NPARTS, start=20000)
    ends2 = end_offsets(b.bootstrap, topic, NPARTS)
    ws2 = [Worker("%s-b%d" % (how, i), b.bootstrap, group, [topic]).start() for i in range(2)]
    wait_stable(b.port, group, 2, 30)
    wait_consumed(ws2, 10000, 60)
    for w in ws2:
        for tp, rs in w.ranges.items():
            check(rs[0][0] == c1[tp], "%s: %s resumed at %d, committed %d" %
                  (how, tp, rs[0][0], c1[tp]))
    check_coverage(ws1 + ws2, ends2)        # exactly once over both phases
    wait_for(lambda: {k: v for w in ws2 for k, v in w.refresh().commits.items()} == ends2,
             30, 0.1, "phase-2 commits reach the end")
    for w in ws2:
        check(w.stop() == 0, "%s exit" % w.name)
    log("%s: resumed from committed offsets %s" % (how, {p: o for (_, p), o in c1.items()}))


def main():
    ov = {"group.initial.rebalance.delay.ms": "300", "group.min.session.timeout.ms": "1000"}
    with Broker(overrides=ov) as b:
        try:
            run(b, "sigterm")
            run(b, "kill9")
        finally:
            kill_all_workers()
    print("test_groups_restart: OK")


if __name__ == "__main__":
    main()
