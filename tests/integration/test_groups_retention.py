#!/usr/bin/python3
"""tests/integration/test_groups_retention.py -- committed offsets of empty
groups expire after offsets.retention.minutes, as in Kafka, and the expiry
survives a restart.

The broker runs with offsets.retention.minutes=1 (the smallest value) and
offsets.retention.check.interval.ms=1000, so this test takes a little over
a minute.

  * group "old" commits offsets for 3 partitions of topic "ret" (a
    standalone commit, no membership: the group is Empty at once);
  * 35 s later group "young" commits offsets for the same partitions;
  * within 2 minutes of its commit, "old" has no committed offsets left and
    is gone from ListGroups, while "young" (committed less than a minute
    before that moment) still has every offset and is still listed;
  * the tombstones are on disk: after SIGTERM (exit 0) and a restart "old"
    is still gone and "young" still has its offsets;
  * while the expiry runs, another group's commits and fetches are served
    (the coordinator does not hold its lock across the tombstones' fsync).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import check, committed, create_topic, log, wait_for  # noqa: E402

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

TOPIC = "ret"
NPARTS = 3
UNSET = -1001      # confluent_kafka OFFSET_INVALID: no committed offset


def commit(bootstrap, group, offsets):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(TOPIC, p, o) for p, o in offsets.items()],
                 asynchronous=False)
    finally:
        c.close()


def listed(bootstrap):
    a = AdminClient({"bootstrap.servers": bootstrap})
    return {g.id for g in a.list_groups(timeout=30)}


def offsets_of(bootstrap, group):
    got = committed(bootstrap, group, TOPIC, NPARTS)
    return {p: got[(TOPIC, p)] for p in range(NPARTS)}


def main():
    b = Broker(name="retention", overrides={
        "offsets.retention.minutes": "1",
        "offsets.retention.check.interval.ms": "1000",
    })
    ok = False
    try:
        b.start()
        create_topic(b.bootstrap, TOPIC, NPARTS)
        old = {0: 5, 1: 6, 2: 7}
        young = {0: 50, 1: 60, 2: 70}
        commit(b.bootstrap, "old", old)
        t_old = time.monotonic()
        check(offsets_of(b.bootstrap, "old") == old, "old: offsets committed")
        check("old" in listed(b.bootstrap), "old: listed after its commit")

        wait_for(lambda: time.monotonic() - t_old >= 35, 60, 0.5, "35 s after the first commit")
        commit(b.bootstrap, "young", young)
        t_young = time.monotonic()
        check(offsets_of(b.bootstrap, "young") == young, "young: offsets committed")

        # a third group keeps committing while the expiry happens
        busy = 0

        def old_gone():
            nonlocal busy
            busy += 1
            commit(b.bootstrap, "busy", {0: busy})
            check(offsets_of(b.bootstrap, "busy")[0] == busy, "busy: commit %d served" % busy)
            return all(v == UNSET for v in offsets_of(b.bootstrap, "old").values())
        wait_for(old_gone, 120, 1.0, "the offsets of group old to expire")
        t_gone = time.monotonic()
        log("old expired %.1f s after its commit (%d commits of another group meanwhile)"
            % (t_gone - t_old, busy))
        check(t_gone - t_old >= 55, "old expired after %.1f s, before its minute" %
              (t_gone - t_old))
        groups = listed(b.bootstrap)
        check("old" not in groups, "old still listed after its offsets expired: %r" % groups)
        if time.monotonic() - t_young < 55:
            check("young" in groups, "young not listed any more: %r" % groups)
            check(offsets_of(b.bootstrap, "young") == young,
                  "young lost offsets before its minute")

        rc = b.stop()
        check(rc == 0, "exit status %r on SIGTERM" % rc)
        b.start()
        check(all(v == UNSET for v in offsets_of(b.bootstrap, "old").values()),
              "old's offsets came back after a restart")
        if time.monotonic() - t_young < 55:
            check(offsets_of(b.bootstrap, "young") == young, "young's offsets after a restart")
        rc = b.stop()
        check(rc == 0, "exit status %r on the second SIGTERM" % rc)
        ok = True
        print("PASS test_groups_retention.py")
        return 0
    finally:
        if not ok:
            b.failed = True
            b.print_tail(30, file=sys.stdout)
        b.kill9()
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
