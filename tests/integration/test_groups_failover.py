#!/usr/bin/python3
"""tests/integration/test_groups_failover.py -- membership changes while
records flow (issue 4 (b), (c)). python3-confluent-kafka consumers, one
process each, eager "range" assignor, session.timeout.ms=6000, commits every
1 s and on revoke. A producer thread streams ~2000 records/s into a
12-partition topic the whole time.

  (b) one of 3 members is killed with SIGKILL. Its partitions stay unowned
      until its session timeout expires (>= ~6 s after the kill), then the
      two survivors own all 12. Each of the victim's partitions is resumed
      by its new owner exactly at the victim's last commit (not before the
      last commit it logged, not after the last record it read), so the
      only records read twice are the victim's uncommitted window.
  (c) a new member joins mid-stream: the group rebalances to 3 members,
      the newcomer gets a non-empty share, the survivors' assignments
      change, and (commit on revoke) nothing is skipped or read twice.
  At the end every record produced was read (no gap anywhere), and the
  final commits equal the end offsets.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import (Streamer, Worker, check, check_coverage, committed,  # noqa: E402
                           create_topic, describe, end_offsets, kill_all_workers, log,
                           wait_all_read, wait_for, wait_owned, wait_stable)

TOPIC = "stream"
NPARTS = 12
GROUP = "fo"
SESSION_MS = 6000


def main():
    ov = {"group.initial.rebalance.delay.ms": "300", "group.min.session.timeout.ms": "1000"}
    with Broker(overrides=ov) as b:
        streamer = None
        try:
            create_topic(b.bootstrap, TOPIC, NPARTS)
            allp = [(TOPIC, p) for p in range(NPARTS)]
            conf = {"session.timeout.ms": SESSION_MS}
            ws = [Worker("m%d" % i, b.bootstrap, GROUP, [TOPIC], conf, commit_interval=1.0).start()
                  for i in range(3)]
            wait_stable(b.port, GROUP, 3)
            wait_owned(ws, allp, 30)
            streamer = Streamer(b.bootstrap, TOPIC, NPARTS, 2000).start()
            wait_for(lambda: all(w.refresh().consumed() > 300 and w.commits for w in ws), 30,
                     0.1, "every member reads and commits")

            # ---- (b) kill -9 one member, while it holds uncommitted records
            victim, survivors = ws[1], [ws[0], ws[2]]

            def uncommitted(w):
                w.refresh()
                return sum(max(b_ for _, b_ in rs) + 1 - w.commits.get(tp, 0)
                           for tp, rs in w.ranges.items() if tp in w.owned)
            wait_for(lambda: uncommitted(victim) >= 200, 30, 0.02,
                     "the victim holds uncommitted records")
            vparts = set(victim.owned)
            t_kill = time.monotonic()
            victim.kill9()
            log("killed %s owning %s; it logged commits %s" %
                (victim.name, sorted(p for _, p in vparts),
                 {p: o for (_, p), o in victim.commits.items()}))
            wait_owned(survivors, allp, 40, "survivors own all partitions after the kill")
            took = time.monotonic() - t_kill
            log("survivors own all 12 partitions %.1fs after the kill" % took)
            check(took >= SESSION_MS / 1000.0 * 0.8,
                  "partitions moved %.1fs after the kill, before the %d ms session timeout" %
                  (took, SESSION_MS))
            wait_stable(b.port, GROUP, 2, 20)
            check(victim.proc.returncode == -9, "victim rc %s" % victim.proc.returncode)
            mark = sum(w.consumed() for w in survivors)
            wait_for(lambda: sum(w.refresh().consumed() for w in survivors) > mark + 2000, 30, 0.1,
                     "survivors read on")
            # each victim partition resumes at the victim's last commit
            vmax = {tp: max(b_ for _, b_ in rs) for tp, rs in victim.ranges.items()}
            for tp in vparts:
                firsts = [w.ranges[tp][0][0] for w in survivors if tp in w.ranges]
                check(firsts, "nobody read %s after the kill" % (tp,))
                first = firsts[0]
                lo = victim.commits.get(tp, 0)
                hi = vmax.get(tp, -1) + 1
                check(lo <= first <= max(lo, hi),
                      "%s resumed at %d; victim's last logged commit %d, last read %d" %
                      (tp, first, lo, hi - 1))
                log("%s resumed at %d (victim committed %d, read up to %d)" %
                    (tp[1], first, lo, hi - 1))

            # ---- (c) a member joins mid-stream
            before = {w.name: set(w.owned) for w in survivors}
            newbie = Worker("new", b.bootstrap, GROUP, [TOPIC], conf).start()
            members = survivors + [newbie]
            wait_stable(b.port, GROUP, 3, 40)
            wait_owned(members, allp, 40, "3 members own all partitions after the join")
            check(newbie.owned, "the new member got nothing")
            for w in survivors:
                check(w.owned != before[w.name], "%s assignment unchanged: %s" %
                      (w.name, sorted(w.owned)))
                check(w.count("R") >= 1, "%s saw no revoke" % w.name)
            log("after join: %s" % {w.name: sorted(p for _, p in w.owned) for w in members})
            mark = newbie.consumed()
            wait_for(lambda: newbie.refresh().consumed() > mark + 500, 30, 0.1, "newbie reads")

            n = streamer.stop()
            streamer = None
            ends = end_offsets(b.bootstrap, TOPIC, NPARTS)
            check(sum(ends.values()) == n, "end offsets sum %d != produced %d" %
                  (sum(ends.values()), n))
            all_w = [victim] + members

            wait_all_read(members, all_w, ends)

            def dup_ok(tp, off):
                # only the victim's uncommitted window may be read twice
                return tp in vparts and off >= victim.commits.get(tp, 0)
            dups = check_coverage(all_w, ends, dup_ok)
            log("%d records, %d read twice (victim's uncommitted window)" % (n, dups))
            for w in members:
                check(not [e for e in w.errors if "consume" in e], "%s: %s" % (w.name, w.errors))
            wait_for(lambda: committed(b.bootstrap, GROUP, TOPIC, NPARTS) == ends, 30, 0.3,
                     "final commits equal end offsets")
            for w in members:
                check(w.stop() == 0, "%s exit" % w.name)
            check(describe(b.port, GROUP)["state"] == "Empty", "group not Empty at the end")
        finally:
            if streamer:
                streamer._stop.set()
            kill_all_workers()
    print("test_groups_failover: OK")


if __name__ == "__main__":
    main()
