#!/usr/bin/python3
"""tests/integration/test_admin.py -- the admin APIs against a real sluiced.

CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs and
AlterConfigs through confluent_kafka's AdminClient (librdkafka);
IncrementalAlterConfigs, DescribeCluster and the version/edge cases the
AdminClient cannot send (duplicates, v0/v3 DescribeConfigs, a truncated
request) through the raw-protocol client of kafka_raw.py. Ends with a clean
restart on the same data directory: topics, partition counts and config
overrides must survive.

Run: tests/integration/test_admin.py (SLUICE_BUILD=build by default).
Prints one line per test and "N passed, N failed"; exit 1 on any failure.
"""
import os
import socket
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402
from kafka_raw import W, connect, header  # noqa: E402

from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions,  # noqa: E402
                                   NewTopic)

TIMEOUT = 15

# Kafka error codes
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_REPLICA_ASSIGNMENT = 39
INVALID_CONFIG = 40
INVALID_REQUEST = 42
TOPIC_DELETION_DISABLED = 73

# DescribeConfigs sources
SRC_DYNAMIC_TOPIC = 1
SRC_STATIC_BROKER = 4
SRC_DEFAULT = 5

# Every topic key Kafka documents that Sluice must list (tansu: clients
# expect all of them, defaults included).
TOPIC_KEYS = [
    "cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
    "flush.messages", "flush.ms", "index.interval.bytes", "max.compaction.lag.ms",
    "max.message.bytes", "message.timestamp.type", "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms", "min.insync.replicas", "preallocate", "retention.bytes",
    "retention.ms", "segment.bytes", "segment.index.bytes", "segment.jitter.ms",
    "segment.ms", "unclean.leader.election.enable",
]


# ---- raw protocol ---------------------------------------------------------------
# W (encoder), R (decoder) and Conn (one connection) come from kafka_raw.py.

def raw(broker, key, ver, enc):
    """Send enc (a W) as key/ver on a fresh connection; an R at the response body."""
    with connect(broker, TIMEOUT) as c:
        return c.request(key, ver, enc, enc.flex)


def reply_to(broker, key, ver, body, flexible, closed=(ConnectionResetError,)):
    """Send one request frame holding body on a fresh connection; return
    the first bytes back, b"" if the broker closed the connection (the
    exceptions in closed count as closed too)."""
    with connect(broker, TIMEOUT) as c:
        c.send_frame(header(key, ver, flex=flexible) + bytes(body))
        try:
            return c.sock.recv(100)
        except closed:
            return b""


# ---- helpers ---------------------------------------------------------------

def err_code(fut):
    """0 on success, else the Kafka error code of the future's exception."""
    try:
        fut.result(TIMEOUT)
        return 0
    except KafkaException as e:
        return e.args[0].code()


def one(futs):
    assert len(futs) == 1
    return list(futs.values())[0]


def src(v):
    return getattr(v, "value", v)


def partitions(admin):
    md = admin.list_topics(timeout=TIMEOUT)
    return {t: len(m.partitions) for t, m in md.topics.items()}


def describe_topic(admin, name):
    return one(admin.describe_configs([ConfigResource("topic", name)])).result(TIMEOUT)


def overrides(admin, name):
    return {k: v.value for k, v in describe_topic(admin, name).items()
            if src(v.source) == SRC_DYNAMIC_TOPIC}


def create(admin, *topics, **kw):
    return admin.create_topics(list(topics), operation_timeout=10, request_timeout=TIMEOUT, **kw)


class T:
    broker = None
    admin = None


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---- CreateTopics ------------------------------------------------------------

@test
def create_plain():
    assert err_code(one(create(T.admin, NewTopic("t.plain", 3, 1)))) == 0
    assert partitions(T.admin).get("t.plain") == 3
    for p in range(3):
        assert os.path.isdir(os.path.join(T.broker.data_dir, "t.plain-%d" % p))


@test
def create_with_configs():
    cfg = {"retention.ms": "3600000", "cleanup.policy": "compact"}
    assert err_code(one(create(T.admin, NewTopic("t.conf", 2, 1, config=cfg)))) == 0
    assert overrides(T.admin, "t.conf") == cfg


@test
def create_broker_defaults():
    # num_partitions/replication_factor -1: the broker's (num.partitions=2)
    try:
        nt = NewTopic("t.default", -1, -1)
    except (ValueError, TypeError):
        print("  (skipped: client refuses -1)")
        return
    assert err_code(one(create(T.admin, nt))) == 0
    assert partitions(T.admin).get("t.default") == 2


@test
def create_validate_only():
    assert err_code(one(create(T.admin, NewTopic("t.validate", 1, 1), validate_only=True))) == 0
    assert "t.validate" not in partitions(T.admin)
    assert not os.path.exists(os.path.join(T.broker.data_dir, "t.validate-0"))
    # validate_only still reports errors
    assert err_code(one(create(T.admin, NewTopic("t.plain", 1, 1), validate_only=True))) == \
        TOPIC_ALREADY_EXISTS


@test
def create_errors():
    cases = [
        (NewTopic("t.plain", 1, 1), TOPIC_ALREADY_EXISTS),
        (NewTopic("bad/name", 1, 1), INVALID_TOPIC_EXCEPTION),
        (NewTopic("..", 1, 1), INVALID_TOPIC_EXCEPTION),
        (NewTopic("x" * 250, 1, 1), INVALID_TOPIC_EXCEPTION),
        (NewTopic("t.rf2", 1, 2), INVALID_REPLICATION_FACTOR),
        (NewTopic("t.badconf", 1, 1, config={"retention.ms": "abc"}), INVALID_CONFIG),
        (NewTopic("t.unknownconf", 1, 1, config={"no.such.key": "1"}), INVALID_CONFIG),
        (NewTopic("t.assign1", 1, replica_assignment=[[1]]), INVALID_REPLICA_ASSIGNMENT),
    ]
    futs = create(T.admin, *[c[0] for c in cases])
    for nt, want in cases:
        got = err_code(futs[nt.topic])
        assert got == want, "%s: error %d, expected %d" % (nt.topic[:20], got, want)
    names = partitions(T.admin)
    for nt, _ in cases[1:]:
        assert nt.topic not in names, nt.topic


@test
def create_manual_assignment():
    assert err_code(one(create(T.admin, NewTopic("t.assign", 2, replica_assignment=[[0], [0]])))) == 0
    assert partitions(T.admin).get("t.assign") == 2


@test
def create_duplicates():
    # librdkafka refuses a repeated name itself ...
    try:
        futs = create(T.admin, NewTopic("t.dup", 1, 1), NewTopic("t.dup", 1, 1))
        assert err_code(futs["t.dup"]) != 0
    except (ValueError, KafkaException):
        pass
    # ... so the broker side is checked raw: CreateTopics v4, answered once
    def topic(e, name):
        e.string(name).i32(1).i16(1).array([], None).array([], None)
    e = W().array(["t.dup", "t.dup2", "t.dup"], topic).i32(10000).boolean(False)
    d = raw(T.broker, 19, 4, e)
    assert d.i32() == 0                                   # throttle
    res = d.array(lambda d: (d.string(), d.i16(), d.string()))
    assert d.done()
    assert [(r[0], r[1]) for r in res] == [("t.dup", INVALID_REQUEST), ("t.dup2", 0)], res
    names = partitions(T.admin)
    assert "t.dup" not in names and names.get("t.dup2") == 1


@test
def create_raw_assignments():
    # what librdkafka cannot send: two replicas, gaps, partitions with assignments
    def topic(e, t):
        e.string(t[0]).i32(t[1]).i16(-1)
        e.array(t[2], lambda e, a: e.i32(a[0]).array(a[1], lambda e, b: e.i32(b)))
        e.array([], None)
    e = W().array([("t.ra1", -1, [(0, [0, 0])]),
                     ("t.ra2", -1, [(0, [0]), (2, [0])]),
                     ("t.ra3", 2, [(0, [0])]),
                     ("t.ra4", -1, [(1, [0]), (0, [0])])], topic).i32(10000).boolean(False)
    d = raw(T.broker, 19, 4, e)
    assert d.i32() == 0
    res = d.array(lambda d: (d.string(), d.i16(), d.string()))
    assert d.done()
    assert [(r[0], r[1]) for r in res] == [
        ("t.ra1", INVALID_REPLICA_ASSIGNMENT), ("t.ra2", INVALID_REPLICA_ASSIGNMENT),
        ("t.ra3", INVALID_REQUEST), ("t.ra4", 0)], res
    assert partitions(T.admin).get("t.ra4") == 2


@test
def create_raw_versions():
    # v0: no validate_only, no error message; partitions 0 -> INVALID_PARTITIONS
    def topic(e, t):
        e.string(t[0]).i32(t[1]).i16(t[2]).array([], None)
        e.array([("retention.ms", "1000"), ("segment.ms", None)], lambda e, c: e.string(c[0]).string(c[1]))
    e = W().array([("t.v0a", 0, 1), ("t.v0b", 1, 1)], topic).i32(10000)
    d = raw(T.broker, 19, 0, e)
    res = d.array(lambda d: (d.string(), d.i16()))
    assert d.done()
    # t.v0b carries a null config value: INVALID_CONFIG
    assert res == [("t.v0a", INVALID_PARTITIONS), ("t.v0b", INVALID_CONFIG)], res
    # v2: throttle first, messages
    e = W().array([("t.v2", 1, 1)], lambda e, t: e.string(t[0]).i32(t[1]).i16(t[2])
                    .array([], None).array([], None)).i32(10000).boolean(False)
    d = raw(T.broker, 19, 2, e)
    assert d.i32() == 0
    res = d.array(lambda d: (d.string(), d.i16(), d.string()))
    assert d.done() and res == [("t.v2", 0, None)], res


# ---- CreatePartitions --------------------------------------------------------

@test
def create_partitions():
    a = T.admin
    assert err_code(one(a.create_partitions([NewPartitions("t.plain", 5)],
                                            operation_timeout=10))) == 0
    assert partitions(a)["t.plain"] == 5
    assert os.path.isdir(os.path.join(T.broker.data_dir, "t.plain-4"))
    futs = a.create_partitions([NewPartitions("t.plain", 2), NewPartitions("t.conf", 2),
                                NewPartitions("t.nope", 3)], operation_timeout=10)
    assert err_code(futs["t.plain"]) == INVALID_PARTITIONS
    assert err_code(futs["t.conf"]) == INVALID_PARTITIONS       # not an increase
    assert err_code(futs["t.nope"]) == UNKNOWN_TOPIC_OR_PARTITION
    assert err_code(one(a.create_partitions([NewPartitions("t.plain", 8)],
                                            validate_only=True))) == 0
    assert partitions(a)["t.plain"] == 5
    assert err_code(one(a.create_partitions([NewPartitions("t.plain", 6, [[0]])]))) == 0
    assert err_code(one(a.create_partitions([NewPartitions("t.plain", 7, [[3]])]))) == \
        INVALID_REPLICA_ASSIGNMENT
    assert partitions(a)["t.plain"] == 6


@test
def create_partitions_raw_echo():
    # every topic echoed, a repeated one once with INVALID_REQUEST
    def topic(e, t):
        e.string(t[0]).i32(t[1]).array(None, None)
    e = W().array([("t.nope", 2), ("t.assign", 3), ("t.assign", 4)], topic) \
        .i32(10000).boolean(True)
    d = raw(T.broker, 37, 1, e)
    assert d.i32() == 0
    res = d.array(lambda d: (d.string(), d.i16(), d.string()))
    assert d.done()
    assert [(r[0], r[1]) for r in res] == [("t.nope", UNKNOWN_TOPIC_OR_PARTITION),
                                           ("t.assign", INVALID_REQUEST)], res


# ---- DescribeConfigs ---------------------------------------------------------

@test
def describe_topic_configs():
    cfg = describe_topic(T.admin, "t.conf")
    for k in TOPIC_KEYS:
        assert k in cfg, "missing " + k
        assert cfg[k].value is not None, k
    assert cfg["retention.ms"].value == "3600000"
    assert src(cfg["retention.ms"].source) == SRC_DYNAMIC_TOPIC
    assert cfg["cleanup.policy"].value == "compact"
    assert src(cfg["segment.bytes"].source) == SRC_DEFAULT
    assert cfg["segment.bytes"].value == "1073741824"
    assert not cfg["segment.bytes"].is_read_only
    # the broker override log.segment.bytes does not exist here; retention.bytes does
    syn = cfg["retention.ms"].synonyms
    names = list(syn.keys()) if hasattr(syn, "keys") else [s.name for s in syn]
    assert names[0] == "retention.ms", names
    assert len(names) == 2, names


@test
def describe_topic_static_broker_source():
    # log.retention.bytes is set on the command line: retention.bytes falls back to it
    cfg = describe_topic(T.admin, "t.plain")
    assert cfg["retention.bytes"].value == "123456789"
    assert src(cfg["retention.bytes"].source) == SRC_STATIC_BROKER


@test
def describe_errors():
    assert err_code(one(T.admin.describe_configs([ConfigResource("topic", "t.nope")]))) == \
        UNKNOWN_TOPIC_OR_PARTITION
    assert err_code(one(T.admin.describe_configs([ConfigResource("topic", "bad/x")]))) == \
        INVALID_TOPIC_EXCEPTION


@test
def describe_broker():
    cfg = one(T.admin.describe_configs([ConfigResource("broker", "0")])).result(TIMEOUT)
    assert len(cfg) > 50
    assert cfg["log.dirs"].value == T.broker.data_dir
    assert src(cfg["log.dirs"].source) == SRC_STATIC_BROKER
    assert cfg["num.partitions"].value == "2"
    assert cfg["log.segment.bytes"].value == "1073741824"
    assert src(cfg["log.segment.bytes"].source) == SRC_DEFAULT
    assert cfg["log.dirs"].is_read_only


def dc_request(ver, resources, synonyms=False, docs=False):
    def res(e, r):
        e.i8(r[0]).string(r[1]).array(r[2], lambda e, k: e.string(k))
    e = W().array(resources, res)
    if ver >= 1:
        e.boolean(synonyms)
    if ver >= 3:
        e.boolean(docs)
    d = raw(T.broker, 32, ver, e)
    assert d.i32() == 0

    def entry(d):
        c = {"name": d.string(), "value": d.string(), "read_only": d.boolean()}
        if ver == 0:
            c["is_default"] = d.boolean()
        else:
            c["source"] = d.i8()
        c["sensitive"] = d.boolean()
        if ver >= 1:
            c["synonyms"] = d.array(lambda d: (d.string(), d.string(), d.i8()))
        if ver >= 3:
            c["type"] = d.i8()
            c["doc"] = d.string()
        return c

    def result(d):
        return {"error": d.i16(), "message": d.string(), "type": d.i8(), "name": d.string(),
                "configs": d.array(entry)}
    out = d.array(result)
    assert d.done(), "trailing bytes"
    return out


@test
def describe_raw_versions():
    # v0: is_default; a key filter (unknown keys left out)
    r = dc_request(0, [(2, "t.conf", ["retention.ms", "segment.bytes", "nope"])])
    assert r[0]["error"] == 0 and r[0]["message"] is None
    cs = {c["name"]: c for c in r[0]["configs"]}
    assert set(cs) == {"retention.ms", "segment.bytes"}
    assert not cs["retention.ms"]["is_default"] and cs["segment.bytes"]["is_default"]
    # v3: config types and documentation when asked
    r = dc_request(3, [(2, "t.conf", ["retention.ms", "cleanup.policy", "preallocate"])],
                   synonyms=False, docs=True)
    cs = {c["name"]: c for c in r[0]["configs"]}
    assert cs["retention.ms"]["type"] == 5              # LONG
    assert cs["cleanup.policy"]["type"] == 7            # LIST
    assert cs["preallocate"]["type"] == 1               # BOOLEAN
    assert cs["retention.ms"]["doc"]
    assert cs["retention.ms"]["synonyms"] == []
    r = dc_request(3, [(2, "t.conf", ["retention.ms"])], synonyms=True, docs=False)
    c = r[0]["configs"][0]
    assert c["doc"] is None and c["synonyms"][0] == ("retention.ms", "3600000", 1), c
    # broker: "" is this broker, another id is an error, logger unsupported
    r = dc_request(1, [(4, "", ["num.partitions"]), (4, "7", None), (8, "0", None), (3, "x", None)])
    assert r[0]["error"] == 0 and r[0]["configs"][0]["value"] == "2"
    assert r[0]["configs"][0]["source"] == SRC_STATIC_BROKER
    assert [x["error"] for x in r[1:]] == [INVALID_REQUEST] * 3
    assert all(x["configs"] == [] for x in r[1:])


# ---- AlterConfigs ------------------------------------------------------------

@test
def alter_configs():
    a = T.admin
    res = ConfigResource("topic", "t.conf", set_config={"retention.ms": "1000",
                                                        "segment.bytes": "2097152"})
    assert err_code(one(a.alter_configs([res]))) == 0
    # replace semantics: cleanup.policy is back to the default
    assert overrides(a, "t.conf") == {"retention.ms": "1000", "segment.bytes": "2097152"}
    assert describe_topic(a, "t.conf")["cleanup.policy"].value == "delete"
    # validate_only changes nothing
    res = ConfigResource("topic", "t.conf", set_config={"retention.ms": "5"})
    assert err_code(one(a.alter_configs([res], validate_only=True))) == 0
    assert overrides(a, "t.conf")["retention.ms"] == "1000"
    # all or nothing
    res = ConfigResource("topic", "t.conf", set_config={"retention.ms": "7",
                                                        "segment.bytes": "lots"})
    assert err_code(one(a.alter_configs([res]))) == INVALID_CONFIG
    assert overrides(a, "t.conf")["retention.ms"] == "1000"
    assert err_code(one(a.alter_configs([ConfigResource("topic", "t.nope",
                                                        set_config={"retention.ms": "1"})]))) == \
        UNKNOWN_TOPIC_OR_PARTITION
    assert err_code(one(a.alter_configs([ConfigResource("broker", "0",
                                                        set_config={"num.partitions": "3"})]))) \
        == INVALID_REQUEST


# ---- IncrementalAlterConfigs (raw: confluent_kafka 1.7 lacks it) --------------

def iac(ver, resources, validate_only=False):
    flex = ver >= 1

    def cfg(e, c):
        e.string(c[0]).i8(c[1]).string(c[2]).tags()

    def res(e, r):
        e.i8(r[0]).string(r[1]).array(r[2], cfg).tags()
    e = W(flex).array(resources, res).boolean(validate_only).tags()
    d = raw(T.broker, 44, ver, e)
    assert d.i32() == 0

    def result(d):
        r = (d.i16(), d.string(), d.i8(), d.string())
        d.tags()
        return r
    out = d.array(result)
    d.tags()
    assert d.done(), "trailing bytes"
    return out


@test
def incremental_alter_configs():
    a = T.admin
    SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
    for ver in (0, 1):
        r = iac(ver, [(2, "t.conf", [("retention.ms", SET, "2000"), ("segment.bytes", DELETE, None)])])
        assert r == [(0, None, 2, "t.conf")], r
        assert overrides(a, "t.conf") == {"retention.ms": "2000"}
        r = iac(ver, [(2, "t.conf", [("cleanup.policy", APPEND, "compact")])])
        assert r[0][0] == 0, r
        assert describe_topic(a, "t.conf")["cleanup.policy"].value in ("delete,compact",
                                                                       "compact,delete")
        r = iac(ver, [(2, "t.conf", [("cleanup.policy", SUBTRACT, "delete")])])
        assert r[0][0] == 0, r
        assert overrides(a, "t.conf") == {"retention.ms": "2000", "cleanup.policy": "compact"}
        r = iac(ver, [(2, "t.conf", [("cleanup.policy", DELETE, None)])])
        assert overrides(a, "t.conf") == {"retention.ms": "2000"}
    r = iac(0, [(2, "t.conf", [("retention.ms", APPEND, "1")]),
                (2, "t.conf", [("retention.ms", SET, "1"), ("retention.ms", SET, "2")]),
                (2, "t.conf", [("retention.ms", 9, "1")]),
                (2, "t.conf", [("retention.ms", SET, None)]),
                (2, "t.conf", [("no.such", SET, "1")]),
                (2, "t.nope", [("retention.ms", SET, "1")]),
                (4, "0", [("num.partitions", SET, "1")]),
                (8, "0", [("root", SET, "DEBUG")])])
    assert [x[0] for x in r] == [INVALID_CONFIG, INVALID_REQUEST, INVALID_REQUEST,
                                 INVALID_REQUEST, INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION,
                                 INVALID_REQUEST, INVALID_REQUEST], r
    assert all(x[1] for x in r), "every error has a message"
    r = iac(1, [(2, "t.conf", [("retention.ms", SET, "9")])], validate_only=True)
    assert r[0][0] == 0
    assert overrides(a, "t.conf") == {"retention.ms": "2000"}


# ---- DescribeCluster, ApiVersions, bad frames ----------------------------------

@test
def describe_cluster():
    for want_ops in (False, True):
        e = W(True).boolean(want_ops).tags()
        d = raw(T.broker, 60, 0, e)
        assert d.i32() == 0 and d.i16() == 0 and d.string() is None
        cluster_id = d.string()
        controller = d.i32()

        def brk(d):
            b = (d.i32(), d.string(), d.i32(), d.string())
            d.tags()
            return b
        brokers = d.array(brk)
        ops = d.i32()
        d.tags()
        assert d.done()
        assert cluster_id and len(cluster_id) == 22, cluster_id
        assert controller == 0
        assert brokers == [(0, "127.0.0.1", T.broker.port, None)], brokers
        assert (ops != -2**31) == want_ops, ops
    md = T.admin.list_topics(timeout=TIMEOUT)
    assert md.cluster_id in (None, cluster_id)


@test
def api_versions_lists_admin():
    d = raw(T.broker, 18, 0, W())
    assert d.i16() == 0
    vers = {k: (lo, hi) for k, lo, hi in d.array(lambda d: (d.i16(), d.i16(), d.i16()))}
    want = {19: (0, 4), 20: (0, 3), 32: (0, 3), 33: (0, 1), 37: (0, 1), 44: (0, 1), 60: (0, 0)}
    for k, v in want.items():
        assert vers.get(k) == v, (k, vers.get(k))


@test
def truncated_request_closes_connection():
    # CreateTopics v4 claiming 5 topics with one half-written
    body = W().i32(5).string("t.trunc").i32(1).b
    data = reply_to(T.broker, 19, 4, body, False, closed=(ConnectionResetError, socket.timeout))
    assert data == b"", "expected the connection to be closed"
    assert "t.trunc" not in partitions(T.admin)


@test
def truncation_at_every_byte():
    """Every strict prefix of a valid body closes the connection and changes
    nothing; the broker keeps serving."""
    def ct(e, name):
        e.string(name).i32(1).i16(1).array([(0, [0])], lambda e, a: e.i32(a[0]).array(a[1], lambda e, b: e.i32(b)))
        e.array([("retention.ms", "1")], lambda e, c: e.string(c[0]).string(c[1]))
    bodies = [
        (19, 4, W().array(["t.cut"], lambda e, n: e.string(n).i32(-1).i16(-1)
                            .array([(0, [0])], lambda e, a: e.i32(a[0]).array(a[1], lambda e, b: e.i32(b)))
                            .array([("retention.ms", "1")], lambda e, c: e.string(c[0]).string(c[1])))
         .i32(1000).boolean(False)),
        (20, 3, W().array(["t.plain"], lambda e, n: e.string(n)).i32(1000)),
        (37, 1, W().array([("t.plain", 9)], lambda e, t: e.string(t[0]).i32(t[1])
                            .array([[0], [0], [0]], lambda e, a: e.array(a, lambda e, b: e.i32(b))))
         .i32(1000).boolean(False)),
        (32, 3, W().array([(2, "t.plain", ["retention.ms"])], lambda e, r: e.i8(r[0]).string(r[1])
                            .array(r[2], lambda e, k: e.string(k))).boolean(True).boolean(True)),
        (33, 1, W().array([(2, "t.plain", [("retention.ms", "5")])], lambda e, r: e.i8(r[0])
                            .string(r[1]).array(r[2], lambda e, c: e.string(c[0]).string(c[1])))
         .boolean(False)),
        (44, 1, W(True).array([(2, "t.plain", [("retention.ms", 0, "5")])], lambda e, r: e.i8(r[0])
                                .string(r[1]).array(r[2], lambda e, c: e.string(c[0]).i8(c[1])
                                                    .string(c[2]).tags()).tags()).boolean(False).tags()),
        (60, 0, W(True).boolean(True).tags()),
    ]
    before = partitions(T.admin)
    conf_before = overrides(T.admin, "t.plain")
    for key, ver, e in bodies:
        body = bytes(e.b)
        for cut in range(len(body)):
            data = reply_to(T.broker, key, ver, body[:cut], e.flex)
            assert data == b"", "key %d v%d cut at %d: got a response" % (key, ver, cut)
    assert partitions(T.admin) == before
    assert overrides(T.admin, "t.plain") == conf_before


# ---- DeleteTopics ------------------------------------------------------------

@test
def delete_topics():
    a = T.admin
    assert err_code(one(a.delete_topics(["t.assign"], operation_timeout=10))) == 0
    assert "t.assign" not in partitions(a)
    assert not os.path.exists(os.path.join(T.broker.data_dir, "t.assign-0"))
    # the data goes too (renamed aside at once, removed when unreferenced)
    wait_for(lambda: not [d for d in os.listdir(T.broker.data_dir) if d.startswith("t.assign-")],
             timeout=5, what="t.assign's partition directories to be removed")
    assert err_code(one(a.delete_topics(["t.nope"]))) == UNKNOWN_TOPIC_OR_PARTITION
    # the name is free again, and starts empty
    assert err_code(one(create(a, NewTopic("t.assign", 1, 1)))) == 0
    assert partitions(a)["t.assign"] == 1
    assert overrides(a, "t.assign") == {}
    # raw v0 (no throttle), a repeated name answered once
    e = W().array(["t.assign", "t.assign", "t.nope"], lambda e, s: e.string(s)).i32(5000)
    d = raw(T.broker, 20, 0, e)
    res = d.array(lambda d: (d.string(), d.i16()))
    assert d.done() and res == [("t.assign", 0), ("t.nope", UNKNOWN_TOPIC_OR_PARTITION)], res


@test
def delete_disabled():
    with Broker(overrides={"delete.topic.enable": "false"}, name="sluiced-nodelete") as b:
        a = AdminClient({"bootstrap.servers": b.bootstrap})
        assert err_code(one(create(a, NewTopic("keep", 1, 1)))) == 0
        assert err_code(one(a.delete_topics(["keep"]))) == TOPIC_DELETION_DISABLED
        assert "keep" in partitions(a)


# ---- restart -------------------------------------------------------------------

@test
def restart_keeps_everything():
    a = T.admin
    before = {t: n for t, n in partitions(a).items() if not t.startswith("__")}
    ov = {t: overrides(a, t) for t in before}
    assert before.get("t.plain") == 6 and ov["t.conf"] == {"retention.ms": "2000"}
    rc = T.broker.stop()
    assert rc == 0, "exit code %r" % rc
    T.broker.start()
    T.admin = a = AdminClient({"bootstrap.servers": T.broker.bootstrap})
    after = {t: n for t, n in partitions(a).items() if not t.startswith("__")}
    assert after == before, (before, after)
    assert {t: overrides(a, t) for t in after} == ov
    left = [d for d in os.listdir(T.broker.data_dir) if d.endswith("-delete")]
    assert left == [], left


def main():
    passed = failed = 0
    T.broker = Broker(overrides={"num.partitions": "2", "log.retention.bytes": "123456789"})
    try:
        T.broker.start()
        T.admin = AdminClient({"bootstrap.servers": T.broker.bootstrap})
        for fn in TESTS:
            try:
                fn()
                passed += 1
                print("ok   %s" % fn.__name__)
            except Exception:
                failed += 1
                print("FAIL %s" % fn.__name__)
                traceback.print_exc()
            sys.stdout.flush()
            if not T.broker.running:
                print("broker is not running any more; stopping")
                failed += 1
                break
    finally:
        if failed:
            T.broker.failed = True
            T.broker.print_tail()
        if T.broker.running:
            rc = T.broker.stop()
            if rc != 0:
                print("broker exit code %r" % rc)
                failed += 1
        T.broker.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
