#!/usr/bin/python3
"""tests/integration/test_groups_admin.py -- describing, listing and deleting
groups and offsets (issue 4 (h)), and bad group requests (issue 4 (i)).
Uses confluent_kafka's AdminClient.list_groups (ListGroups + DescribeGroups
in librdkafka; 1.7 has no delete_consumer_groups) and the raw protocol
client groups_raw.py for the rest. Broker defaults for session timeouts
(group.min.session.timeout.ms=6000, max 1800000).

(h) with 2 python consumers (separate processes) in group "adm" on topic
    "adm" (4 partitions, 400 records, all read and committed):
  * AdminClient.list_groups(): "adm" is Stable, protocol_type consumer,
    protocol range, 2 members with client id/host, and each member's
    assignment decodes to exactly the partitions that consumer owns;
    list_groups(group="adm") returns just that group.
  * raw ListGroups v2 lists it with protocol type "consumer"; ListGroups v4
    with a state filter lists it under Stable, not under Empty.
  * raw DescribeGroups v4: Stable, 2 members; an unknown group is Dead with
    no members.
  * OffsetDelete while members are subscribed to the topic:
    GROUP_SUBSCRIBED_TO_TOPIC (86); DeleteGroups of a non-empty group:
    NON_EMPTY_GROUP (68).
  * after the consumers close: the group is Empty (ListGroups v4 filter
    Empty), OffsetDelete of partitions 0,1 succeeds: committed() shows no
    offset for 0,1 and the old ones for 2,3; OffsetDelete/DeleteGroups of
    an unknown group: GROUP_ID_NOT_FOUND (69).
  * DeleteGroups: error 0, the group disappears from list_groups and its
    offsets are gone, also after a broker restart (tombstones; checked
    last, after (i)).
(i) raw requests:
  * JoinGroup v5 with an empty member id: MEMBER_ID_REQUIRED (79) with a
    member id; joining again with it succeeds (generation 1, leader = me).
    JoinGroup v3 with an empty member id joins directly (no 79).
  * JoinGroup with an unknown member id: UNKNOWN_MEMBER_ID (25).
  * SyncGroup / Heartbeat / OffsetCommit with the wrong generation:
    ILLEGAL_GENERATION (22); with the right one: 0 (and SyncGroup returns
    the leader's assignment). Heartbeat with an unknown member id or to an
    unknown group: UNKNOWN_MEMBER_ID (25).
  * OffsetCommit metadata of 4096 bytes: 0, 4097 bytes:
    OFFSET_METADATA_TOO_LARGE (12); OffsetFetch returns the 4096 bytes.
  * session timeout 5999 or 1800001: INVALID_SESSION_TIMEOUT (26).
  * empty group id in JoinGroup, SyncGroup, Heartbeat: INVALID_GROUP_ID
    (24), as Kafka (OffsetCommit: Kafka accepts it; 0 or 24 accepted).
  Wrong answers in (i) are collected and reported together at the end.
  * a member with another protocol type: INCONSISTENT_GROUP_PROTOCOL (23).
  * static membership: a second JoinGroup with the same group.instance.id
    and an empty member id gets a new member id; the old member id is then
    fenced: Heartbeat with it gives FENCED_INSTANCE_ID (82).
  * LeaveGroup v3 of an unknown member: per-member UNKNOWN_MEMBER_ID.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
from groups_common import (Worker, check, committed, create_topic, end_offsets,  # noqa: E402
                           kill_all_workers, log, produce, wait_consumed, wait_for,
                           wait_owned, wait_stable)
import groups_raw as G  # noqa: E402
from groups_raw import RawClient, decode_assignment, encode_assignment  # noqa: E402

from confluent_kafka.admin import AdminClient  # noqa: E402

TOPIC = "adm"
NPARTS = 4
UNSET = -1001      # confluent_kafka OFFSET_INVALID: no committed offset


FAILURES = []


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def soft(got, want, what):
    """Like eq, but records the mismatch and goes on (reported at the end),
    so one wrong error code does not hide the next ones."""
    if got != want:
        FAILURES.append("%s: got %r, want %r" % (what, got, want))
        log("FAIL %s" % FAILURES[-1])


def test_admin(b):
    create_topic(b.bootstrap, TOPIC, NPARTS)
    produce(b.bootstrap, TOPIC, 400, NPARTS)
    ends = end_offsets(b.bootstrap, TOPIC, NPARTS)
    allp = [(TOPIC, p) for p in range(NPARTS)]
    ws = [Worker("adm%d" % i, b.bootstrap, "adm", [TOPIC],
                 {"client.id": "adm-client-%d" % i}).start() for i in range(2)]
    wait_stable(b.port, "adm", 2)
    wait_owned(ws, allp, 30)
    wait_consumed(ws, 400, 30)
    wait_for(lambda: {k: v for w in ws for k, v in w.refresh().commits.items()} == ends, 30,
             0.1, "commits")

    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    groups = {g.id: g for g in admin.list_groups(timeout=30)}
    check("adm" in groups, "list_groups: %s" % list(groups))
    g = groups["adm"]
    eq(g.state, "Stable", "list_groups state")
    eq(g.protocol_type, "consumer", "protocol_type")
    eq(g.protocol, "range", "protocol")
    eq(len(g.members), 2, "members")
    eq(g.error, None, "group error")
    owned = sorted(sorted(p for _, p in w.owned) for w in ws)
    assigned = sorted(sorted(decode_assignment(m.assignment).get(TOPIC, []))
                      for m in g.members)
    eq(assigned, owned, "member assignments vs what the consumers own")
    eq(sorted(m.client_id for m in g.members), ["adm-client-0", "adm-client-1"], "client ids")
    for m in g.members:
        check(m.client_host, "member %s has no client host" % m.id)
        check(m.metadata, "member %s has no metadata" % m.id)
    one = admin.list_groups(group="adm", timeout=30)
    eq([x.id for x in one], ["adm"], "list_groups(group=adm)")
    log("list_groups: adm %s, members %s" % (g.state, assigned))

    with RawClient("127.0.0.1", b.port) as rc:
        fc = rc.find_coordinator("adm")
        eq((fc["error"], fc["node_id"], fc["port"]), (0, 0, b.port), "FindCoordinator")
        lg = rc.list_groups(version=2)
        eq(lg["error"], 0, "ListGroups v2 error")
        check({"group_id": "adm", "protocol_type": "consumer"} in lg["groups"],
              "ListGroups v2: %s" % lg)
        st = rc.list_groups(states=["Stable"])
        check([x for x in st["groups"] if x["group_id"] == "adm" and x["state"] == "Stable"],
              "ListGroups v4 Stable: %s" % st)
        em = rc.list_groups(states=["Empty"])
        check(not [x for x in em["groups"] if x["group_id"] == "adm"], "adm listed as Empty")
        d = rc.describe_group("adm")
        eq((d["error"], d["state"], d["protocol_type"], d["protocol"], len(d["members"])),
           (0, "Stable", "consumer", "range", 2), "DescribeGroups adm")
        u = rc.describe_group("no-such-group")
        eq((u["error"], u["state"], u["members"]), (0, "Dead", []), "DescribeGroups unknown")

        od = rc.offset_delete("adm", {TOPIC: [0]})
        eq(od["error"], 0, "OffsetDelete (subscribed) top-level error")
        eq(od["partitions"], {(TOPIC, 0): G.GROUP_SUBSCRIBED_TO_TOPIC},
           "OffsetDelete while subscribed")
        eq(rc.delete_groups(["adm"]), {"adm": G.NON_EMPTY_GROUP}, "DeleteGroups non-empty")

    for w in ws:
        eq(w.stop(), 0, "%s exit" % w.name)
    with RawClient("127.0.0.1", b.port) as rc:
        wait_for(lambda: rc.describe_group("adm")["state"] == "Empty", 20, 0.1, "adm Empty")
        em = rc.list_groups(states=["Empty"])
        check([x for x in em["groups"] if x["group_id"] == "adm"], "adm not listed as Empty")
        eq(committed(b.bootstrap, "adm", TOPIC, NPARTS), ends, "committed before OffsetDelete")
        od = rc.offset_delete("adm", {TOPIC: [0, 1]})
        eq((od["error"], od["partitions"]), (0, {(TOPIC, 0): 0, (TOPIC, 1): 0}), "OffsetDelete")
        c = committed(b.bootstrap, "adm", TOPIC, NPARTS)
        eq(c, {(TOPIC, 0): UNSET, (TOPIC, 1): UNSET, (TOPIC, 2): ends[(TOPIC, 2)],
               (TOPIC, 3): ends[(TOPIC, 3)]}, "committed after OffsetDelete of 0,1")
        of = rc.offset_fetch("adm", None)
        eq(sorted(of["offsets"]), [(TOPIC, 2), (TOPIC, 3)], "OffsetFetch all after OffsetDelete")
        eq(rc.offset_delete("nope", {TOPIC: [0]})["error"], G.GROUP_ID_NOT_FOUND,
           "OffsetDelete unknown group")
        eq(rc.delete_groups(["adm", "nope"]), {"adm": 0, "nope": G.GROUP_ID_NOT_FOUND},
           "DeleteGroups")
        eq(rc.describe_group("adm")["state"], "Dead", "adm after DeleteGroups")
    check("adm" not in [x.id for x in admin.list_groups(timeout=30)], "adm still listed")
    eq(committed(b.bootstrap, "adm", TOPIC, NPARTS), {tp: UNSET for tp in allp},
       "committed after DeleteGroups")
    log("(h) OK")


def test_deleted_after_restart(b):
    """Run last: the deleted group "adm" stays deleted across a restart."""
    allp = [(TOPIC, p) for p in range(NPARTS)]
    eq(b.restart(), 0, "broker exit code")
    eq(committed(b.bootstrap, "adm", TOPIC, NPARTS), {tp: UNSET for tp in allp},
       "committed after DeleteGroups and restart")
    with RawClient("127.0.0.1", b.port) as rc:
        d = rc.describe_group("adm")
        soft(d["state"], "Dead", "DescribeGroups adm after DeleteGroups and restart")
    listed = [x.id for x in AdminClient({"bootstrap.servers": b.bootstrap})
              .list_groups(timeout=30)]
    soft("adm" in listed, False, "deleted group adm listed again after a restart (%s)" % listed)
    log("deleted group after restart: checked")


def test_bad_requests(b):
    sub = G.encode_subscription([TOPIC])
    prot = (("range", sub),)
    with RawClient("127.0.0.1", b.port, client_id="raw", timeout=60) as rc:
        # MEMBER_ID_REQUIRED, then join with the returned id
        j = rc.join_group("bad", "", session_timeout=30000, protocols=prot, version=5)
        soft(j["error"], G.MEMBER_ID_REQUIRED, "JoinGroup v5 empty member id")
        mid = j["member_id"]
        check(mid.startswith("raw-"), "generated member id %r" % mid)
        j = rc.join_group("bad", mid, session_timeout=30000, protocols=prot, version=5)
        soft((j["error"], j["generation"], j["leader"], j["member_id"], j["protocol"]),
           (0, 1, mid, mid, "range"), "JoinGroup with the returned id")
        soft([m["member_id"] for m in j["members"]], [mid], "leader's member list")
        gen = j["generation"]

        soft(rc.join_group("bad", "who-is-this", session_timeout=30000, protocols=prot)["error"],
           G.UNKNOWN_MEMBER_ID, "JoinGroup unknown member id")
        assign = encode_assignment({TOPIC: [0, 1, 2, 3]})
        soft(rc.sync_group("bad", gen + 1, mid, [(mid, assign)])["error"], G.ILLEGAL_GENERATION,
           "SyncGroup wrong generation")
        s = rc.sync_group("bad", gen, mid, [(mid, assign)])
        soft((s["error"], s["assignment"]), (0, assign), "SyncGroup")
        soft(rc.heartbeat("bad", gen + 5, mid)["error"], G.ILLEGAL_GENERATION,
           "Heartbeat wrong generation")
        soft(rc.heartbeat("bad", gen, mid)["error"], 0, "Heartbeat")
        soft(rc.heartbeat("bad", gen, "who-is-this")["error"], G.UNKNOWN_MEMBER_ID,
           "Heartbeat unknown member")
        soft(rc.heartbeat("no-such-group", 1, "x")["error"], G.UNKNOWN_MEMBER_ID,
           "Heartbeat unknown group")
        soft(rc.offset_commit("bad", gen + 1, mid, {TOPIC: [(0, 5, "")]}),
           {(TOPIC, 0): G.ILLEGAL_GENERATION}, "OffsetCommit wrong generation")
        soft(rc.offset_commit("bad", gen, "who-is-this", {TOPIC: [(0, 5, "")]}),
           {(TOPIC, 0): G.UNKNOWN_MEMBER_ID}, "OffsetCommit unknown member")
        big, bigger = "m" * 4096, "m" * 4097
        soft(rc.offset_commit("bad", gen, mid, {TOPIC: [(0, 5, big)]}), {(TOPIC, 0): 0},
           "OffsetCommit 4096 bytes of metadata")
        soft(rc.offset_commit("bad", gen, mid, {TOPIC: [(1, 6, bigger)]}),
           {(TOPIC, 1): G.OFFSET_METADATA_TOO_LARGE}, "OffsetCommit 4097 bytes of metadata")
        of = rc.offset_fetch("bad", {TOPIC: [0, 1]})
        soft(of["offsets"][(TOPIC, 0)], (5, big, 0), "OffsetFetch partition 0")
        soft(of["offsets"][(TOPIC, 1)][0], -1, "OffsetFetch partition 1 (refused commit)")
        r = rc.offset_commit("nothere", 3, "someone", {TOPIC: [(0, 1, "")]})
        check(r[(TOPIC, 0)] in (G.ILLEGAL_GENERATION, G.UNKNOWN_MEMBER_ID),
              "OffsetCommit to an unknown group with a generation: %s" % r)

        for st in (5999, 1800001):
            soft(rc.join_group("bad2", "", session_timeout=st, protocols=prot)["error"],
               G.INVALID_SESSION_TIMEOUT, "JoinGroup session timeout %d" % st)
        soft(rc.join_group("", "", protocols=prot)["error"], G.INVALID_GROUP_ID,
           "JoinGroup empty group id")
        soft(rc.sync_group("", 1, "m")["error"], G.INVALID_GROUP_ID, "SyncGroup empty group id")
        soft(rc.heartbeat("", 1, "m")["error"], G.INVALID_GROUP_ID, "Heartbeat empty group id")
        # Kafka accepts OffsetCommit with an empty group id (old clients);
        # refusing it with INVALID_GROUP_ID is fine too
        r = rc.offset_commit("", -1, "", {TOPIC: [(0, 1, "")]})
        check(r[(TOPIC, 0)] in (0, G.INVALID_GROUP_ID), "OffsetCommit empty group id: %s" % r)
        soft(rc.join_group("bad", "", session_timeout=30000, protocol_type="connect",
                         protocols=(("x", b""),), version=3)["error"],
           G.INCONSISTENT_GROUP_PROTOCOL, "JoinGroup with another protocol type")
        lv = rc.leave_group("bad", [("who-is-this", None)])
        soft([m["error"] for m in lv["members"]], [G.UNKNOWN_MEMBER_ID], "LeaveGroup unknown member")
        soft(rc.heartbeat("bad", gen, mid)["error"], 0, "Heartbeat after the bad requests")
        lv = rc.leave_group("bad", [(mid, None)])
        soft((lv["error"], [m["error"] for m in lv["members"]]), (0, [0]), "LeaveGroup")

    with RawClient("127.0.0.1", b.port, client_id="v3", timeout=60) as rc:
        j = rc.join_group("old", "", session_timeout=30000, protocols=prot, version=3)
        soft((j["error"], j["generation"]), (0, 1), "JoinGroup v3 empty member id joins directly")
        check(j["member_id"] and j["leader"] == j["member_id"], "v3 join: %s" % j)

    with RawClient("127.0.0.1", b.port, client_id="static", timeout=60) as rc:
        j = rc.join_group("stat", "", session_timeout=30000, instance_id="i-1", protocols=prot)
        soft(j["error"], 0, "static JoinGroup (no MEMBER_ID_REQUIRED with an instance id)")
        old, gen = j["member_id"], j["generation"]
        soft(rc.sync_group("stat", gen, old, [(old, encode_assignment({TOPIC: [0]}))],
                         instance_id="i-1")["error"], 0, "static SyncGroup")
        j2 = rc.join_group("stat", "", session_timeout=30000, instance_id="i-1", protocols=prot)
        soft(j2["error"], 0, "static rejoin")
        check(j2["member_id"] != old, "static rejoin kept member id %s" % old)
        soft(rc.heartbeat("stat", j2["generation"], old, instance_id="i-1")["error"],
           G.FENCED_INSTANCE_ID, "Heartbeat with the replaced member id")
        d = rc.describe_group("stat")
        soft([(m["member_id"], m["instance_id"]) for m in d["members"]], [(j2["member_id"], "i-1")],
           "static member after rejoin")
    log("(i) done (%d wrong answers so far)" % len(FAILURES))


def main():
    with Broker(overrides={"group.initial.rebalance.delay.ms": "300"}) as b:
        try:
            test_admin(b)
            test_bad_requests(b)
            test_deleted_after_restart(b)
        finally:
            kill_all_workers()
    check(not FAILURES, "%d wrong answer(s):\n  %s" % (len(FAILURES), "\n  ".join(FAILURES)))
    print("test_groups_admin: OK")


if __name__ == "__main__":
    main()
