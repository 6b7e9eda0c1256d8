#!/usr/bin/env python3
"""tests/fuzz/capture_seeds.py -- capture real client traffic as fuzz seeds.

    tests/fuzz/capture_seeds.py [--out tests/fuzz/corpus]

Starts build/sluiced behind a TCP proxy (advertised.listeners points at the
proxy, so every connection of every client goes through it), runs
produce / consume / group / admin flows with confluent_kafka (librdkafka),
kcat and a raw protocol client (tests/integration/groups_raw.py) -- also
with librdkafka pinned to older protocol versions (api.version.request=false
+ broker.version.fallback) so several versions of each API appear -- and
writes:

  corpus/fuzz_request/<api>-v<ver>-<n>   each distinct request frame without
                                         its size prefix, at most 2 per
                                         API and version
  corpus/fuzz_record/<codec>-<n>         record batches taken from the
                                         captured Produce requests, 2 per codec
  corpus/fuzz_recovery/<topic>-<p>.log   segment files the broker wrote
                                         (the small ones)

corpus/fuzz_conf/ is hand-written (see README.md). The output replaces the
three directories above. Frames over 64 KiB are skipped, so the corpus
stays small. Run it after adding an API or a client flow; it exits non-zero
if any flow fails or an API of the broker's table was never seen.
"""
import argparse
import glob
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from sluice_harness import Broker  # noqa: E402
import groups_raw  # noqa: E402
from groups_raw import RawClient, W  # noqa: E402

API_NAMES = {
    0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
    9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
    13: "leave_group", 14: "sync_group", 15: "describe_groups", 16: "list_groups",
    18: "api_versions", 19: "create_topics", 20: "delete_topics", 22: "init_producer_id",
    32: "describe_configs", 33: "alter_configs", 37: "create_partitions",
    42: "delete_groups", 44: "incremental_alter_configs", 47: "offset_delete",
    60: "describe_cluster",
}


def api_table():
    """{api_key: (min, max, flex_min)} from server/api.c's dispatch table."""
    import re
    enum = {}
    with open(os.path.join(ROOT, "server", "proto.h")) as f:
        for m in re.finditer(r"(PR_API_\w+)\s*=\s*(\d+)", f.read()):
            enum[m.group(1)] = int(m.group(2))
    out = {}
    with open(os.path.join(ROOT, "server", "api.c")) as f:
        for m in re.finditer(r"\[(PR_API_\w+)\]\s*=\s*\{\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),",
                             f.read()):
            out[enum[m.group(1)]] = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    return out

CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
MAX_FRAME = 64 * 1024

frames = []           # (api, ver, bytes) in capture order
frames_lock = threading.Lock()


# ---- the proxy ----------------------------------------------------------------

def pump(src, dst, record):
    buf = b""
    try:
        while True:
            d = src.recv(65536)
            if not d:
                break
            dst.sendall(d)
            if record:
                buf += d
                while len(buf) >= 4:
                    n = struct.unpack(">i", buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    f = buf[4:4 + n]
                    buf = buf[4 + n:]
                    if len(f) >= 4:
                        api, ver = struct.unpack(">hh", f[:4])
                        with frames_lock:
                            frames.append((api, ver, f))
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Proxy:
    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.upstream = None
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                c.close()
                continue
            threading.Thread(target=pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=pump, args=(u, c, False), daemon=True).start()


# ---- flows --------------------------------------------------------------------

def flow_clients(bootstrap, extra, tag):
    """Produce with every codec, consume in a group, commit; extra = client config."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic = "fz-%s" % tag
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        for idem in (False, True):
            conf = {"bootstrap.servers": bootstrap, "compression.codec": codec,
                    "linger.ms": 5, "enable.idempotence": idem}
            conf.update(extra)
            if idem and extra.get("api.version.request") == "false":
                continue
            p = Producer(conf)
            for i in range(20):
                p.produce(topic, key=b"k%d" % i, value=(b"value-%d " % i) * 8,
                          headers=[("h", b"v")] if i % 2 else None)
            assert p.flush(20) == 0, "produce %s %s did not finish" % (codec, tag)
    conf = {"bootstrap.servers": bootstrap, "group.id": "fzg-%s" % tag,
            "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    conf.update(extra)
    c = Consumer(conf)
    c.subscribe([topic])
    got = 0
    deadline = time.time() + 30
    while got < 100 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
    assert got >= 100, "consumed only %d (%s)" % (got, tag)
    c.commit(asynchronous=False)
    c.committed([TopicPartition(topic, 0)], timeout=10)
    c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    try:
        c.offsets_for_times([TopicPartition(topic, 0, int(time.time() * 1000) - 60000)], timeout=10)
    except Exception:
        pass
    c.close()


def flow_admin(bootstrap):
    from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions, NewTopic)
    a = AdminClient({"bootstrap.servers": bootstrap})
    fs = a.create_topics([NewTopic("fz-admin", 2, 1, config={"retention.ms": "3600000"}),
                          NewTopic("fz-admin2", 1, 1)])
    for f in fs.values():
        f.result(20)
    for f in a.create_partitions([NewPartitions("fz-admin", 3)]).values():
        f.result(20)
    for f in a.describe_configs([ConfigResource("topic", "fz-admin"),
                                 ConfigResource("broker", "0")]).values():
        f.result(20)
    for f in a.alter_configs([ConfigResource("topic", "fz-admin",
                                             set_config={"retention.ms": "7200000"})]).values():
        f.result(20)
    a.list_topics(timeout=10)
    try:
        a.list_groups(timeout=10)
    except Exception:
        pass
    for f in a.delete_topics(["fz-admin2"]).values():
        f.result(20)


def flow_kcat(bootstrap):
    for args in (["-L"], ["-C", "-t", "fz-new", "-o", "beginning", "-e", "-c", "5"],
                 ["-Q", "-t", "fz-new:0:-1"]):
        subprocess.run(["kcat", "-b", bootstrap, "-X", "topic.metadata.refresh.interval.ms=100"] + args,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", "fz-new", "-K:"], input=b"a:1\nb:2\n",
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=True)


def flow_raw(port):
    """Group APIs at several versions, plus the APIs the clients never send."""
    with RawClient("127.0.0.1", port, client_id="fz-raw") as c:
        c.find_coordinator("fz-raw-g")
        for v in (0, 1, 2, 5):
            j = c.join_group("fz-raw-g%d" % v, version=v, session_timeout=6000)
            if j.get("error") == groups_raw.MEMBER_ID_REQUIRED:
                j = c.join_group("fz-raw-g%d" % v, member_id=j["member_id"], version=v,
                                 session_timeout=6000)
            mid, gen = j.get("member_id", ""), j.get("generation_id", -1)
            c.sync_group("fz-raw-g%d" % v, gen, mid,
                         assignments=[(mid, groups_raw.encode_assignment({"fz-p": [0]}))])
            c.heartbeat("fz-raw-g%d" % v, gen, mid)
            c.offset_commit("fz-raw-g%d" % v, gen, mid, {"fz-p": [(0, 1, "m")]})
            c.offset_fetch("fz-raw-g%d" % v)
            c.offset_fetch("fz-raw-g%d" % v, topics={"fz-p": [0]})
            c.leave_group("fz-raw-g%d" % v, [mid])
        c.list_groups(version=0)
        c.list_groups(states=["Empty"], version=4)
        c.describe_groups(["fz-raw-g1", "nope"])
        c.offset_delete("fz-raw-g1", {"fz-p": [0]})
        c.delete_groups(["fz-raw-g0", "fz-raw-g2"])
        # DescribeCluster v0 (flexible): include_cluster_authorized_operations, tags
        c.request(60, 0, W(True).i8(0).tags(), flex=True)
        # IncrementalAlterConfigs v0: one topic resource, SET retention.ms
        w = W().i32(1).i8(2).string("fz-p").i32(1).string("retention.ms").i8(0).string("100000").i8(0)
        c.request(44, 0, w)
        # InitProducerId v0: no transactional id, timeout
        c.request(22, 0, W().string(None).i32(60000))
        # ApiVersions v3 (flexible): client software name and version
        c.request(18, 3, W(True).string("fz").string("1.0").tags(), flex=True)
        # Metadata v0 and v1 with no topics / all topics
        c.request(3, 0, W().i32(0))
        c.request(3, 1, W().i32(-1))
        # DeleteTopics v0
        c.request(20, 0, W().i32(1).string("fz-raw-del").i32(10000))
        # CreateTopics v0 / v1 (validate only)
        ct = W().i32(1).string("fz-raw-new").i32(1).i16(1).i32(0).i32(0).i32(10000)
        c.request(19, 0, ct)
        ct1 = W().i32(1).string("fz-raw-new1").i32(1).i16(1).i32(0).i32(0).i32(10000).i8(1)
        c.request(19, 1, ct1)


# ---- seed extraction ----------------------------------------------------------

class Rd:
    def __init__(self, b, flex):
        self.b, self.p, self.flex = b, 0, flex

    def take(self, n):
        if n < 0 or self.p + n > len(self.b):
            raise ValueError("short")
        d = self.b[self.p:self.p + n]
        self.p += n
        return d

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        v = s = 0
        while True:
            c = self.take(1)[0]
            v |= (c & 0x7f) << s
            s += 7
            if not c & 0x80:
                return v

    def string(self):
        n = self.uvarint() - 1 if self.flex else self.i16()
        return self.take(n) if n >= 0 else None

    def bytes_(self):
        n = self.uvarint() - 1 if self.flex else self.i32()
        return self.take(n) if n >= 0 else None

    def array(self):
        return self.uvarint() - 1 if self.flex else self.i32()

    def tags(self):
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self.take(self.uvarint())


def produce_batches(f):
    """Record batches of a captured Produce frame."""
    api, ver = struct.unpack(">hh", f[:4])
    flex = ver >= 9
    r = Rd(f, False)
    r.take(8)
    r.string()                 # client id (always a non-compact string)
    r.flex = flex
    r.tags()
    r.string()                 # transactional id
    r.i16()
    r.i32()
    out = []
    for _ in range(r.array()):
        r.string()
        for _ in range(r.array()):
            r.i32()
            recs = r.bytes_()
            p = 0
            while recs and p + 61 <= len(recs):
                n = struct.unpack(">i", recs[p + 8:p + 12])[0] + 12
                out.append(recs[p:p + n])
                p += n
            r.tags()
        r.tags()
    return out


def write_seeds(out_dir, data_dir):
    req_dir = os.path.join(out_dir, "fuzz_request")
    rec_dir = os.path.join(out_dir, "fuzz_record")
    seg_dir = os.path.join(out_dir, "fuzz_recovery")
    for d in (req_dir, rec_dir, seg_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    seen = {}
    seen_bytes = set()
    per_codec = {}
    for api, ver, f in frames:
        if len(f) > MAX_FRAME or f in seen_bytes:
            continue
        k = (api, ver)
        if seen.get(k, 0) < 2:
            seen[k] = seen.get(k, 0) + 1
            seen_bytes.add(f)
            name = "%s-v%d-%d" % (API_NAMES.get(api, "api%d" % api), ver, seen[k])
            with open(os.path.join(req_dir, name), "wb") as o:
                o.write(f)
        if api == 0:
            try:
                batches = produce_batches(f)
            except (ValueError, IndexError, struct.error):
                batches = []
            for b in batches:
                codec = b[22] & 7 if len(b) > 22 else 0
                idem = struct.unpack(">q", b[43:51])[0] >= 0
                key = (codec, idem)
                if per_codec.get(key, 0) < 1:
                    per_codec[key] = per_codec.get(key, 0) + 1
                    name = "%s%s-v%d" % (CODECS.get(codec, "c%d" % codec),
                                         "-idempotent" if idem else "", ver)
                    with open(os.path.join(rec_dir, name), "wb") as o:
                        o.write(b)
    # librdkafka 2.0 always negotiates the newest versions (it sends
    # ApiVersions even with api.version.request=false), so the other
    # versions the broker supports get a seed derived from a captured frame
    # of the same header kind (flexible or not): the version field rewritten,
    # the body kept. Not a valid request of that version, but a start the
    # fuzzer mutates from, and it routes the input to that version's decoder.
    table = api_table()
    for api, (vmin, vmax, flex_min) in table.items():
        have = {v: f for (a, v, f) in frames if a == api and len(f) <= MAX_FRAME}
        for v in range(vmin, vmax + 1):
            if v in have or not have:
                continue
            flex = flex_min >= 0 and v >= flex_min
            same = [sv for sv in have if (flex_min >= 0 and sv >= flex_min) == flex]
            if not same:
                continue
            src = min(same, key=lambda sv: abs(sv - v))
            f = have[src]
            name = "%s-v%d-from-v%d" % (API_NAMES.get(api, "api%d" % api), v, src)
            with open(os.path.join(req_dir, name), "wb") as o:
                o.write(f[:2] + struct.pack(">h", v) + f[4:])
            seen[(api, v)] = 1
    # segments: the small ones, one per topic family
    taken = set()
    for path in sorted(glob.glob(os.path.join(data_dir, "*", "*.log"))):
        part = os.path.basename(os.path.dirname(path))
        fam = part.rsplit("-", 1)[0]
        size = os.path.getsize(path)
        if size == 0 or size > 48 * 1024 or fam in taken:
            continue
        taken.add(fam)
        shutil.copyfile(path, os.path.join(seg_dir, part + ".log"))
    return seen, per_codec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "corpus"))
    args = ap.parse_args()
    proxy = Proxy()
    data_dir = None
    with Broker(overrides={"advertised.listeners": "PLAINTEXT://127.0.0.1:%d" % proxy.port,
                           "group.initial.rebalance.delay.ms": "0",
                           "offsets.topic.num.partitions": "2"}) as b:
        proxy.upstream = b.port
        data_dir = b.data_dir
        boot = "127.0.0.1:%d" % proxy.port
        flow_admin(boot)
        flow_clients(boot, {}, "new")
        for fb in ("0.11.0", "1.0.0", "2.1.0"):
            flow_clients(boot, {"api.version.request": "false", "broker.version.fallback": fb},
                         fb.replace(".", ""))
        flow_kcat(boot)
        flow_raw(proxy.port)
        time.sleep(0.5)
        b.stop()
        seen, per_codec = write_seeds(args.out, data_dir)
    apis = sorted({a for a, _ in seen})
    print("captured %d frames; seeds for %d API/version pairs; APIs: %s" %
          (len(frames), len(seen), ", ".join(API_NAMES.get(a, str(a)) for a in apis)))
    print("record batch seeds: %s" % sorted(per_codec))
    missing = sorted(set(API_NAMES) - set(apis))
    if missing:
        print("APIs never seen: %s" % ", ".join(API_NAMES[a] for a in missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
