"""tests/integration/groups_raw.py -- a tiny raw Kafka protocol client for the
group APIs, for tests that need exact error codes or fields the client
libraries hide (DescribeGroups, ListGroups state filter, OffsetDelete,
DeleteGroups, bad JoinGroup/SyncGroup/Heartbeat/OffsetCommit requests).

    c = RawClient("127.0.0.1", port)
    r = c.join_group("g", member_id="", version=5)   # -> dict
    c.close()

Every method sends one request, waits for its response and returns a dict
of the decoded fields. Non-flexible versions everywhere, except where a
method says so (ListGroups v4, DescribeGroups v5 are flexible).
"""
import socket
import struct

API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_FIND_COORDINATOR = 10
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14
API_DESCRIBE_GROUPS = 15
API_LIST_GROUPS = 16
API_DELETE_GROUPS = 42
API_OFFSET_DELETE = 47

# error codes
NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68
GROUP_SUBSCRIBED_TO_TOPIC = 86
MEMBER_ID_REQUIRED = 79
FENCED_INSTANCE_ID = 82


class W:
    def __init__(self, flex=False):
        self.b = bytearray()
        self.flex = flex

    def i8(self, v):
        self.b += struct.pack(">b", v); return self

    def i16(self, v):
        self.b += struct.pack(">h", v); return self

    def i32(self, v):
        self.b += struct.pack(">i", v); return self

    def i64(self, v):
        self.b += struct.pack(">q", v); return self

    def uvarint(self, v):
        while True:
            c = v & 0x7F
            v >>= 7
            if v:
                self.b.append(c | 0x80)
            else:
                self.b.append(c)
                return self

    def boolean(self, v):
        return self.i8(1 if v else 0)

    def _size(self, n, fixed):
        """A length or count n (None: null): uvarint n+1 when flexible,
        else fixed(n) (i16 or i32, -1 for null)."""
        if self.flex:
            return self.uvarint(0 if n is None else n + 1)
        return fixed(-1 if n is None else n)

    def string(self, s):
        if s is None:
            return self._size(None, self.i16)
        d = s.encode() if isinstance(s, str) else bytes(s)
        self._size(len(d), self.i16)
        self.b += d
        return self

    def bytes_(self, d):
        if d is None:
            return self._size(None, self.i32)
        self._size(len(d), self.i32)
        self.b += d
        return self

    def array(self, items, fn):
        if items is None:
            return self._size(None, self.i32)
        self._size(len(items), self.i32)
        for it in items:
            fn(self, it)
        return self

    def tags(self):
        if self.flex:
            self.uvarint(0)
        return self


class R:
    def __init__(self, data, flex=False):
        self.d = data
        self.p = 0
        self.flex = flex

    def _take(self, n):
        if self.p + n > len(self.d):
            raise ValueError("short response (%d + %d > %d)" % (self.p, n, len(self.d)))
        v = self.d[self.p:self.p + n]
        self.p += n
        return v

    def i8(self):
        return struct.unpack(">b", self._take(1))[0]

    def i16(self):
        return struct.unpack(">h", self._take(2))[0]

    def i32(self):
        return struct.unpack(">i", self._take(4))[0]

    def i64(self):
        return struct.unpack(">q", self._take(8))[0]

    def uvarint(self):
        v = s = 0
        while True:
            c = self._take(1)[0]
            v |= (c & 0x7F) << s
            s += 7
            if not c & 0x80:
                return v

    def boolean(self):
        return self.i8() != 0

    def _size(self, fixed):
        """A length or count (negative: null): uvarint - 1 when flexible, else fixed()."""
        return self.uvarint() - 1 if self.flex else fixed()

    def string(self):
        n = self._size(self.i16)
        if n < 0:
            return None
        return self._take(n).decode("utf-8", "replace")

    def bytes_(self):
        n = self._size(self.i32)
        if n < 0:
            return None
        return bytes(self._take(n))

    def array(self, fn):
        n = self._size(self.i32)
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def tags(self):
        if self.flex:
            for _ in range(self.uvarint()):
                self.uvarint()
                self._take(self.uvarint())

    def done(self):
        """True when the whole response has been read."""
        return self.p == len(self.d)


class RawClient:
    def __init__(self, host, port, client_id="groups-raw", timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.cid = 0
        self.client_id = client_id

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _recv(self, n):
        out = bytearray()
        while len(out) < n:
            c = self.sock.recv(n - len(out))
            if not c:
                raise ConnectionError("broker closed the connection")
            out += c
        return bytes(out)

    def request(self, api, ver, body, flex=False):
        """Send body (a W) as api/ver; return an R positioned at the response body."""
        self.cid += 1
        h = W(False).i16(api).i16(ver).i32(self.cid).string(self.client_id)
        if flex:
            h.uvarint(0)
        msg = bytes(h.b) + bytes(body.b)
        self.sock.sendall(struct.pack(">i", len(msg)) + msg)
        n = struct.unpack(">i", self._recv(4))[0]
        data = self._recv(n)
        r = R(data, flex)
        cid = r.i32()
        if cid != self.cid:
            raise ValueError("correlation id %d, expected %d" % (cid, self.cid))
        if flex:
            r.tags()
        return r

    # ---- FindCoordinator v1 ----
    def find_coordinator(self, key, key_type=0):
        r = self.request(API_FIND_COORDINATOR, 1, W().string(key).i8(key_type))
        return {"throttle": r.i32(), "error": r.i16(), "error_message": r.string(),
                "node_id": r.i32(), "host": r.string(), "port": r.i32()}

    # ---- JoinGroup v0..v5 ----
    def join_group(self, group, member_id="", session_timeout=10000, rebalance_timeout=10000,
                   instance_id=None, protocol_type="consumer", protocols=(("range", b"meta"),),
                   version=5):
        w = W().string(group).i32(session_timeout)
        if version >= 1:
            w.i32(rebalance_timeout)
        w.string(member_id)
        if version >= 5:
            w.string(instance_id)
        w.string(protocol_type)
        w.array(list(protocols), lambda w, p: w.string(p[0]).bytes_(p[1]))
        r = self.request(API_JOIN_GROUP, version, w)
        out = {}
        if version >= 2:
            out["throttle"] = r.i32()
        out["error"] = r.i16()
        out["generation"] = r.i32()
        out["protocol"] = r.string()
        out["leader"] = r.string()
        out["member_id"] = r.string()

        def member(r):
            m = {"member_id": r.string()}
            if version >= 5:
                m["instance_id"] = r.string()
            m["metadata"] = r.bytes_()
            return m
        out["members"] = r.array(member)
        return out

    # ---- SyncGroup v3 ----
    def sync_group(self, group, generation, member_id, assignments=(), instance_id=None):
        w = W().string(group).i32(generation).string(member_id).string(instance_id)
        w.array(list(assignments), lambda w, a: w.string(a[0]).bytes_(a[1]))
        r = self.request(API_SYNC_GROUP, 3, w)
        return {"throttle": r.i32(), "error": r.i16(), "assignment": r.bytes_()}

    # ---- Heartbeat v3 ----
    def heartbeat(self, group, generation, member_id, instance_id=None):
        w = W().string(group).i32(generation).string(member_id).string(instance_id)
        r = self.request(API_HEARTBEAT, 3, w)
        return {"throttle": r.i32(), "error": r.i16()}

    # ---- LeaveGroup v3 ----
    def leave_group(self, group, members):
        """members: [(member_id, instance_id)]"""
        w = W().string(group).array(list(members), lambda w, m: w.string(m[0]).string(m[1]))
        r = self.request(API_LEAVE_GROUP, 3, w)
        return {"throttle": r.i32(), "error": r.i16(),
                "members": r.array(lambda r: {"member_id": r.string(), "instance_id": r.string(),
                                              "error": r.i16()})}

    # ---- OffsetCommit v7 ----
    def offset_commit(self, group, generation, member_id, offsets, instance_id=None):
        """offsets: {topic: [(partition, offset, metadata)]}; returns {(t, p): error}"""
        w = W().string(group).i32(generation).string(member_id).string(instance_id)

        def part(w, po):
            w.i32(po[0]).i64(po[1]).i32(-1).string(po[2] if len(po) > 2 else "")

        w.array(list(offsets.items()), lambda w, t: w.string(t[0]).array(list(t[1]), part))
        r = self.request(API_OFFSET_COMMIT, 7, w)
        r.i32()
        res = {}
        for t in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
            for p, e in t[1]:
                res[(t[0], p)] = e
        return res

    # ---- OffsetFetch v5 ----
    def offset_fetch(self, group, topics=None):
        """topics: {topic: [partitions]} or None (all). Returns
        {"error": e, "offsets": {(t, p): (offset, metadata, error)}}"""
        w = W().string(group)
        w.array(None if topics is None else list(topics.items()),
                lambda w, t: w.string(t[0]).array(list(t[1]), lambda w, p: w.i32(p)))
        r = self.request(API_OFFSET_FETCH, 5, w)
        r.i32()
        res = {}

        def part(r):
            return (r.i32(), r.i64(), r.i32(), r.string(), r.i16())
        for t in r.array(lambda r: (r.string(), r.array(part))):
            for p, off, _ep, meta, e in t[1]:
                res[(t[0], p)] = (off, meta, e)
        return {"offsets": res, "error": r.i16()}

    # ---- OffsetDelete v0 ----
    def offset_delete(self, group, topics):
        """topics: {topic: [partitions]} -> {"error": e, "partitions": {(t, p): e}}"""
        w = W().string(group)
        w.array(list(topics.items()),
                lambda w, t: w.string(t[0]).array(list(t[1]), lambda w, p: w.i32(p)))
        r = self.request(API_OFFSET_DELETE, 0, w)
        err = r.i16()
        r.i32()
        res = {}
        for t in r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16())))):
            for p, e in t[1]:
                res[(t[0], p)] = e
        return {"error": err, "partitions": res}

    # ---- ListGroups v2 / v4 (flexible, states filter) ----
    def list_groups(self, states=None, version=4):
        if version >= 4:
            w = W(True).array(list(states or []), lambda w, s: w.string(s)).tags()
            r = self.request(API_LIST_GROUPS, version, w, flex=True)
        else:
            r = self.request(API_LIST_GROUPS, version, W())
        out = {}
        if version >= 1:
            out["throttle"] = r.i32()
        out["error"] = r.i16()

        def grp(r):
            g = {"group_id": r.string(), "protocol_type": r.string()}
            if version >= 4:
                g["state"] = r.string()
            r.tags()
            return g
        out["groups"] = r.array(grp)
        return out

    # ---- DescribeGroups v4 ----
    def describe_groups(self, groups):
        w = W().array(list(groups), lambda w, g: w.string(g)).i8(0)
        r = self.request(API_DESCRIBE_GROUPS, 4, w)
        r.i32()

        def member(r):
            return {"member_id": r.string(), "instance_id": r.string(), "client_id": r.string(),
                    "client_host": r.string(), "metadata": r.bytes_(), "assignment": r.bytes_()}

        def grp(r):
            g = {"error": r.i16(), "group_id": r.string(), "state": r.string(),
                 "protocol_type": r.string(), "protocol": r.string(), "members": r.array(member)}
            g["authorized_operations"] = r.i32()
            return g
        return r.array(grp)

    def describe_group(self, group):
        return self.describe_groups([group])[0]

    # ---- DeleteGroups v1 ----
    def delete_groups(self, groups):
        w = W().array(list(groups), lambda w, g: w.string(g))
        r = self.request(API_DELETE_GROUPS, 1, w)
        r.i32()
        return dict(r.array(lambda r: (r.string(), r.i16())))


def decode_assignment(b):
    """ConsumerProtocolAssignment -> {topic: [partitions]} (empty dict for b'' / None)."""
    if not b:
        return {}
    r = R(b)
    r.i16()
    out = {}
    for t, ps in r.array(lambda r: (r.string(), r.array(lambda r: r.i32()))):
        out[t] = ps
    return out


def encode_subscription(topics):
    w = W().i16(0).array(list(topics), lambda w, t: w.string(t)).bytes_(None)
    return bytes(w.b)


def encode_assignment(assign):
    w = W().i16(0).array(list(assign.items()),
                         lambda w, t: w.string(t[0]).array(list(t[1]), lambda w, p: w.i32(p)))
    w.bytes_(None)
    return bytes(w.b)
