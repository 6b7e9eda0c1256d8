#!/usr/bin/python3
"""tests/integration/test_groups_static.py -- static membership (issue 4
(e)): group.instance.id, session.timeout.ms=10000, eager range assignor,
python3-confluent-kafka consumers in separate processes, records streaming.

  1. 3 static members (inst-0 joins first: the leader) own the 12 partitions.
  2. inst-2 is stopped cleanly (SIGTERM: commit, close(); a static member
     sends no LeaveGroup) and restarted at once with the same instance id:
     it gets the same partitions back without a rebalance: the other
     members see no revoke/assign, the broker logs no new generation,
     DescribeGroups stays Stable with 3 members, the others' member ids are
     unchanged and inst-2's member id is a new one.
  3. The same with kill -9 for inst-1.
  4. inst-2 is killed and not restarted: after its session timeout the
     others take over its partitions (a rebalance, one new generation).
  Every record produced is read; duplicates only in a killed member's
  uncommitted window.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import (Streamer, Worker, check, check_coverage, create_topic,  # noqa: E402
                           describe, end_offsets, kill_all_workers, log, wait_all_read,
                           wait_for, wait_owned, wait_stable)

TOPIC = "static"
NPARTS = 12
GROUP = "st"
SESSION_MS = 10000


def generations(b):
    with open(b.log_path) as f:
        return re.findall(r"\[group\] %s: generation (\d+) with" % GROUP, f.read())


def members_by_instance(b):
    d = describe(b.port, GROUP)
    check(d["state"] == "Stable", "group state %s" % d["state"])
    return {m["instance_id"]: m["member_id"] for m in d["members"]}


def main():
    ov = {"group.initial.rebalance.delay.ms": "300", "group.min.session.timeout.ms": "1000"}
    with Broker(overrides=ov) as b:
        streamer = None
        try:
            create_topic(b.bootstrap, TOPIC, NPARTS)
            allp = [(TOPIC, p) for p in range(NPARTS)]

            def worker(i, gen=0):
                return Worker("inst%d-%d" % (i, gen), b.bootstrap, GROUP, [TOPIC],
                              {"group.instance.id": "inst-%d" % i,
                               "session.timeout.ms": SESSION_MS})
            ws = [worker(0).start()]
            wait_owned(ws, allp, 30)
            ws += [worker(1).start(), worker(2).start()]
            wait_stable(b.port, GROUP, 3)
            wait_owned(ws, allp, 30)
            streamer = Streamer(b.bootstrap, TOPIC, NPARTS, 2000).start()
            wait_for(lambda: all(w.refresh().consumed() > 100 for w in ws), 30, 0.1,
                     "every member reads")
            retired = []
            killed = []

            for idx, how in ((2, "sigterm"), (1, "kill9")):
                ids = members_by_instance(b)
                gens = generations(b)
                old = ws[idx]
                others = [w for i, w in enumerate(ws) if i != idx]
                marks = {w.name: len(w.events) for w in others}
                owned = set(old.owned)
                if how == "sigterm":
                    check(old.stop() == 0, "%s exit" % old.name)
                else:
                    old.kill9()
                    killed.append(old)
                retired.append(old)
                t0 = time.monotonic()
                new = worker(idx, len(retired)).start()
                ws[idx] = new
                wait_for(lambda: new.refresh().owned == owned, 30, 0.05,
                         "restarted inst-%d gets %s back" % (idx, sorted(p for _, p in owned)))
                took = time.monotonic() - t0
                check(new.events == [("A", sorted(owned))] or
                      (len(new.events) == 1 and set(new.events[0][1]) == owned),
                      "restarted inst-%d events %s" % (idx, new.events))
                mark = new.consumed()
                wait_for(lambda: new.refresh().consumed() > mark + 100, 30, 0.1,
                         "restarted member reads")
                for w in others:
                    w.refresh()
                    check(len(w.events) == marks[w.name],
                          "%s saw %s when inst-%d restarted" % (w.name, w.events[marks[w.name]:], idx))
                check(generations(b) == gens, "new generation(s) %s after inst-%d restarted (%s)" %
                      (generations(b)[len(gens):], idx, how))
                ids2 = members_by_instance(b)
                check(len(ids2) == 3, "members %s" % ids2)
                for i in range(3):
                    key = "inst-%d" % i
                    if i == idx:
                        check(ids2[key] != ids[key], "%s kept member id %s" % (key, ids[key]))
                    else:
                        check(ids2[key] == ids[key], "%s member id changed" % key)
                log("%s: inst-%d back with %s after %.2fs, no rebalance (generation %s)" %
                    (how, idx, sorted(p for _, p in owned), took, gens[-1]))

            # a static member that does not come back is removed after its session timeout
            gens = generations(b)
            gone = ws[2]
            gone.kill9()
            killed.append(gone)
            t0 = time.monotonic()
            wait_owned(ws[:2], allp, 40, "inst-0/1 own everything after inst-2's session timeout")
            took = time.monotonic() - t0
            check(took >= SESSION_MS / 1000.0 * 0.8, "moved after %.1fs < session timeout" % took)
            check(len(generations(b)) == len(gens) + 1, "generations %s" % generations(b))
            log("inst-2 gone: others own all partitions %.1fs later" % took)
            mark = sum(w.consumed() for w in ws[:2])
            wait_for(lambda: sum(w.refresh().consumed() for w in ws[:2]) > mark + 500, 30, 0.1,
                     "reading goes on")

            n = streamer.stop()
            streamer = None
            ends = end_offsets(b.bootstrap, TOPIC, NPARTS)
            check(sum(ends.values()) == n, "produced %d, ends %s" % (n, ends))
            everyone = retired + ws

            wait_all_read(ws[:2], everyone, ends)

            def dup_ok(tp, off):
                return any(tp in k.ranges and off >= k.commits.get(tp, 0) for k in killed)
            dups = check_coverage(everyone, ends, dup_ok)
            log("%d records, %d read twice (killed members' uncommitted windows)" % (n, dups))
            for w in ws[:2]:
                check(w.stop() == 0, "%s exit" % w.name)
        finally:
            if streamer:
                streamer._stop.set()
            kill_all_workers()
    print("test_groups_static: OK")


if __name__ == "__main__":
    main()
