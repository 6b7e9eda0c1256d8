"""tests/integration/kafka_raw.py -- a small raw Kafka protocol client for the
abuse and fault tests: exact bytes on the wire, exact error codes back.

It reuses the field encoder/decoder of groups_raw.py (W, R, RawClient) and
adds what those tests need beyond the group APIs:

    from kafka_raw import Conn, record_batch, decode_batches

    c = Conn("127.0.0.1", port)
    c.create_topics([("t", 3)])                     # -> {name: error}
    r = c.produce("t", 0, [b"v1", b"v2"], acks=-1)  # -> (error, base_offset)
    e, hw, recs = c.fetch("t", 0, 0)                # recs: [(offset, key, value)]
    c.send_frame(b"...")                            # any bytes, size prefix added
    c.closed_within(5)                              # did the broker hang up?

    frame = produce_frame("t", 0, [b"x"])           # a whole valid request
                                                    # (without the size prefix)
    healthy(broker)                                 # a fresh client is served

Record batches are built (CRC32C included) and validated (CRC, magic,
length, contiguous offsets) here in Python, so a test can check a log byte
for byte without trusting the broker or a client library.
"""
import errno
import os
import select
import socket
import struct
import sys
import time

from groups_raw import R, RawClient, W  # noqa: F401  (re-exported)

# API keys
PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
OFFSET_COMMIT, FIND_COORDINATOR, JOIN_GROUP = 8, 10, 11
API_VERSIONS, CREATE_TOPICS, DELETE_TOPICS = 18, 19, 20
DESCRIBE_CONFIGS = 32

# error codes
NONE = 0
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
REQUEST_TIMED_OUT = 7
MESSAGE_TOO_LARGE = 10
INVALID_TOPIC_EXCEPTION = 17
RECORD_LIST_TOO_LARGE = 18
NOT_ENOUGH_REPLICAS = 19
UNSUPPORTED_VERSION = 35
TOPIC_ALREADY_EXISTS = 36
INVALID_REQUEST = 42
KAFKA_STORAGE_ERROR = 56
UNKNOWN_SERVER_ERROR = -1


# ---- CRC32C (Castagnoli), table driven ----------------------------------------

def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC_T = _crc_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    t = _CRC_T
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---- RecordBatch v2 -----------------------------------------------------------

def _zz(v):
    return (v << 1) ^ (v >> 63)


def varint(v):
    """A signed (zigzag) varint, as in records."""
    v = _zz(v) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        if v:
            out.append(c | 0x80)
        else:
            out.append(c)
            return bytes(out)


def _read_varint(d, p):
    v = s = 0
    while True:
        if p >= len(d) or s > 63:
            raise ValueError("bad varint")
        c = d[p]
        p += 1
        v |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return (v >> 1) ^ -(v & 1), p


def record_batch(values, keys=None, base_offset=0, timestamp_ms=None):
    """One uncompressed RecordBatch v2 holding values (bytes), keys optional."""
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    recs = bytearray()
    for i, v in enumerate(values):
        k = keys[i] if keys else None
        body = bytearray(b"\x00")                   # attributes
        body += varint(0) + varint(i)               # timestamp delta, offset delta
        body += varint(-1) if k is None else varint(len(k)) + k
        body += varint(-1) if v is None else varint(len(v)) + v
        body += varint(0)                           # headers
        recs += varint(len(body)) + body
    after_crc = struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, -1, -1, -1, len(values)) + recs
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc      # leader epoch, magic, crc, ...
    return struct.pack(">qi", base_offset, len(tail)) + tail


def decode_batches(data, check_crc=True):
    """Parse a records blob (fetch response or segment file).

    Returns (batches, rest): batches = [dict(base_offset, last_offset, crc_ok,
    records=[(offset, key, value)])]; rest = the trailing bytes that do not
    form a whole batch (a fetch may end with a partial one). Raises
    ValueError on a batch that is whole but malformed."""
    out = []
    p = 0
    while len(data) - p >= 61:
        base, blen, _epoch, magic, crc = struct.unpack_from(">qiibI", data, p)
        if blen < 49 or magic != 2:
            out.append({"base_offset": base, "last_offset": base, "crc_ok": False,
                        "corrupt": "length %d, magic %d" % (blen, magic), "records": [],
                        "pos": p, "size": 0, "attributes": 0})
            return out, bytes(data[p:])
        if len(data) - p < 12 + blen:
            break
        body = data[p + 21:p + 12 + blen]
        crc_ok = crc32c(body) == crc if check_crc else True
        attrs, lod, _fts, _mts, _pid, _pep, _seq, n = struct.unpack_from(">hiqqqhii", body, 0)
        recs = []
        if attrs & 0x07 == 0 and crc_ok:
            q = 40
            for _ in range(n):
                ln, q = _read_varint(body, q)
                end = q + ln
                q += 1                                   # attributes
                _tsd, q = _read_varint(body, q)
                od, q = _read_varint(body, q)
                kl, q = _read_varint(body, q)
                k = None if kl < 0 else bytes(body[q:q + kl])
                q += max(kl, 0)
                vl, q = _read_varint(body, q)
                v = None if vl < 0 else bytes(body[q:q + vl])
                q = end
                recs.append((base + od, k, v))
        out.append({"base_offset": base, "last_offset": base + lod, "crc_ok": crc_ok,
                    "attributes": attrs, "records": recs, "pos": p, "size": 12 + blen})
        p += 12 + blen
    return out, bytes(data[p:])


def check_log(batches, first=0):
    """Assert batches are valid and contiguous from offset `first`; return
    the records as {offset: (key, value)}."""
    out = {}
    nxt = first
    for b in batches:
        if b.get("corrupt"):
            raise AssertionError("corrupt batch header at offset %d: %s" % (b["base_offset"], b["corrupt"]))
        if not b["crc_ok"]:
            raise AssertionError("batch at offset %d fails its CRC32C" % b["base_offset"])
        if b["base_offset"] != nxt:
            raise AssertionError("batch at offset %d, expected %d (gap or overlap)" %
                                 (b["base_offset"], nxt))
        for off, k, v in b["records"]:
            out[off] = (k, v)
        nxt = b["last_offset"] + 1
    return out


# ---- request frames (body only, no size prefix) ----------------------------------

def header(api, ver, cid=1, client_id="kafka-raw", flex=False):
    h = W(False).i16(api).i16(ver).i32(cid).string(client_id)
    if flex:
        h.uvarint(0)
    return bytes(h.b)


def produce_frame(topic, partition, values, acks=-1, timeout_ms=10000, version=3, cid=1,
                  keys=None, batch=None):
    flex = version >= 9
    if batch is None:
        batch = record_batch(values, keys)
    w = W(flex).string(None).i16(acks).i32(timeout_ms)
    w.array([topic], lambda w, t: w.string(t).array(
        [partition], lambda w, p: w.i32(p).bytes_(batch).tags()).tags())
    w.tags()
    return header(PRODUCE, version, cid, flex=flex) + bytes(w.b)


def fetch_frame(topic, partition, offset, max_bytes=1 << 20, max_wait_ms=0, version=4, cid=1):
    w = W().i32(-1).i32(max_wait_ms).i32(1).i32(max_bytes).i8(0)
    w.array([topic], lambda w, t: w.string(t).array(
        [partition], lambda w, p: w.i32(p).i64(offset).i32(max_bytes)))
    return header(FETCH, version, cid) + bytes(w.b)


def metadata_frame(topics=None, version=1, cid=1, auto_create=False):
    flex = version >= 9
    w = W(flex)
    if version >= 9:
        w.array(None if topics is None else list(topics), lambda w, t: w.string(t).tags())
    else:
        w.array(None if topics is None else list(topics), lambda w, t: w.string(t))
    if version >= 4:
        w.i8(1 if auto_create else 0)
    if version >= 8:
        w.i8(0).i8(0)
    w.tags()
    return header(METADATA, version, cid, flex=flex) + bytes(w.b)


def create_topics_frame(topics, version=0, cid=1, timeout_ms=10000):
    """topics: [(name, partitions)]; name may be bytes (sent as is)."""
    flex = version >= 5
    w = W(flex)
    w.array(list(topics), lambda w, t: w.string(t[0]).i32(t[1]).i16(1)
            .array([], None).array([], None).tags())
    w.i32(timeout_ms)
    if version >= 1:
        w.i8(0)
    w.tags()
    return header(CREATE_TOPICS, version, cid, flex=flex) + bytes(w.b)


def api_versions_frame(version=0, cid=1):
    if version >= 3:
        w = W(True).string("kafka-raw").string("1.0").tags()
        return header(API_VERSIONS, version, cid, flex=True) + bytes(w.b)
    return header(API_VERSIONS, version, cid)


def wait_readable(sock, timeout):
    """poll() (not select(): fds past 1024) for readability or hang-up."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(max(0, int(timeout * 1000))))


# ---- connection --------------------------------------------------------------------

class Conn(RawClient):
    """One TCP connection. request()/send_frame()/recv_frame() speak frames;
    the typed helpers decode the responses the tests look at. (The socket,
    close(), the context manager and _recv() are RawClient's.)"""

    def __init__(self, host, port, timeout=15.0):
        super().__init__(host, port, client_id="kafka-raw", timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">i", len(body)) + body)

    def recv_frame(self):
        n = struct.unpack(">i", self._recv(4))[0]
        return self._recv(n)

    def request(self, api, ver, body_w, flex=False):
        """body_w: a W or bytes. Returns an R at the response body."""
        self.cid += 1
        body = bytes(body_w.b) if isinstance(body_w, W) else bytes(body_w)
        resp_flex = flex and api != API_VERSIONS
        self.send_frame(header(api, ver, self.cid, flex=flex) + body)
        r = R(self.recv_frame(), resp_flex)
        cid = r.i32()
        if cid != self.cid:
            raise ValueError("correlation id %d, expected %d" % (cid, self.cid))
        if resp_flex:
            r.tags()
        return r

    def closed_within(self, timeout):
        """True if the broker closes (EOF or reset) within timeout; data it
        sends meanwhile is read and discarded. False if still open."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not wait_readable(self.sock, left):
                return False
            try:
                if not self.sock.recv(65536):
                    return True
            except OSError as e:
                if e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                    return True
                raise

    # ---- typed helpers ----

    def api_versions(self, version=0):
        self.cid += 1
        self.send_frame(api_versions_frame(version, self.cid))
        r = R(self.recv_frame())
        if r.i32() != self.cid:
            raise ValueError("correlation id mismatch")
        r.flex = version >= 3
        err = r.i16()
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16(), r.tags()))
        return err, {k: (lo, hi) for k, lo, hi, _ in keys}

    def metadata(self, topics=None):
        """Metadata v1 -> {topic: (error, {partition: (error, leader)})}"""
        w = W().array(None if topics is None else list(topics), lambda w, t: w.string(t))
        r = self.request(METADATA, 1, w)
        r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))
        r.i32()
        out = {}

        def part(r):
            e, p, leader = r.i16(), r.i32(), r.i32()
            r.array(lambda r: r.i32())
            r.array(lambda r: r.i32())
            return p, (e, leader)

        for e, name, _internal, parts in r.array(
                lambda r: (r.i16(), r.string(), r.i8(), r.array(part))):
            out[name] = (e, dict(parts or []))
        return out

    def create_topics(self, topics, configs=None, version=0):
        """topics: [(name, partitions)] -> {name: error}"""
        cfg = list((configs or {}).items())
        w = W()
        w.array(list(topics), lambda w, t: w.string(t[0]).i32(t[1]).i16(1).array([], None)
                .array(cfg, lambda w, kv: w.string(kv[0]).string(kv[1])))
        w.i32(15000)
        r = self.request(CREATE_TOPICS, 0, w)
        return dict(r.array(lambda r: (r.string(), r.i16())))

    def produce(self, topic, partition, values, acks=-1, keys=None, batch=None, version=3):
        """-> (error, base_offset). acks=0 returns (None, None) at once."""
        self.cid += 1
        self.send_frame(produce_frame(topic, partition, values, acks, version=version,
                                      cid=self.cid, keys=keys, batch=batch))
        if acks == 0:
            return None, None
        r = R(self.recv_frame())
        if r.i32() != self.cid:
            raise ValueError("correlation id mismatch")
        res = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
        _, parts = res[0]
        _, err, base, _ = parts[0]
        return err, base

    def fetch(self, topic, partition, offset, max_bytes=1 << 20, max_wait_ms=0):
        """Fetch v4 -> (error, high_watermark, batches, rest)"""
        self.cid += 1
        self.send_frame(fetch_frame(topic, partition, offset, max_bytes, max_wait_ms,
                                    cid=self.cid))
        r = R(self.recv_frame())
        if r.i32() != self.cid:
            raise ValueError("correlation id mismatch")
        r.i32()
        res = r.array(lambda r: (r.string(), r.array(
            lambda r: (r.i32(), r.i16(), r.i64(), r.i64(),
                       r.array(lambda r: (r.i64(), r.i64())), r.bytes_()))))
        _, parts = res[0]
        _, err, hw, _, _, recs = parts[0]
        batches, rest = decode_batches(recs or b"")
        return err, hw, batches, rest

    def read_all(self, topic, partition, start=0, max_bytes=1 << 20):
        """Read a partition from start to its high watermark.
        -> (error, hw, batches). error is the first non-zero fetch error."""
        off = start
        allb = []
        hw = -1
        while True:
            err, hw, batches, _ = self.fetch(topic, partition, off, max_bytes)
            if err != NONE:
                return err, hw, allb
            if not batches:
                if off >= hw:
                    return NONE, hw, allb
                max_bytes *= 2          # a batch larger than max_bytes
                if max_bytes > 64 << 20:
                    raise AssertionError("no progress reading %s-%d at %d (hw %d)" %
                                         (topic, partition, off, hw))
                continue
            allb += batches
            if batches[-1].get("corrupt"):
                return NONE, hw, allb
            off = batches[-1]["last_offset"] + 1
            if off >= hw:
                return NONE, hw, allb


def connect(broker, timeout=15.0):
    return Conn(broker.host, broker.port, timeout)


def healthy(broker, topic="health", timeout=20.0, ledger=None):
    """A fresh, well-behaved client is served: ApiVersions answers, a
    record produced with acks=all is acknowledged and read back. Retries
    connecting until timeout (the broker may be shedding a connection
    storm). Returns the offset of the record."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with Conn(broker.host, broker.port, timeout=10) as c:
                err, apis = c.api_versions()
                if err != NONE or PRODUCE not in apis:
                    raise AssertionError("ApiVersions: error %d, %r" % (err, apis))
                md = c.metadata([topic])
                if topic not in md or md[topic][0] != NONE:
                    c.create_topics([(topic, 1)])
                val = b"health-%d-%f" % (os.getpid(), time.time())
                for _ in range(50):
                    err, base = c.produce(topic, 0, [val])
                    if err == NONE:
                        break
                    if err not in (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
                                   NOT_LEADER_OR_FOLLOWER):
                        raise AssertionError("health produce: error %d" % err)
                    time.sleep(0.1)
                else:
                    raise AssertionError("health produce: error %d" % err)
                err, _, batches, _ = c.fetch(topic, 0, base)
                if err != NONE or not batches or batches[0]["records"][0][2] != val:
                    raise AssertionError("health fetch at %d: error %d, %r" %
                                         (base, err, batches[:1]))
                if ledger is not None:
                    ledger.add(topic, 0, base, [val])
                return base
        except (OSError, ConnectionError) as e:
            last = e
            time.sleep(0.1)
    raise AssertionError("broker does not serve a well-behaved client within %.0fs: %r" %
                         (timeout, last))


def sanitized():
    """True if build/sluiced is an ASan build (RSS bounds are looser then:
    shadow memory and the free quarantine)."""
    try:
        from sluice_harness import sluiced_path
        with open(sluiced_path(), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


# ---- test scaffolding -------------------------------------------------------------

class Ledger:
    """Every record a test got acknowledged: (topic, partition) -> {offset: value}.
    verify() reads each partition back from the broker and checks each
    acknowledged record is there, at its offset, in a valid batch."""

    def __init__(self):
        self.acked = {}

    def add(self, topic, partition, base_offset, values):
        d = self.acked.setdefault((topic, partition), {})
        for i, v in enumerate(values):
            d[base_offset + i] = v

    def count(self):
        return sum(len(d) for d in self.acked.values())

    def verify(self, broker, what=""):
        with connect(broker) as c:
            for (t, p), want in sorted(self.acked.items()):
                err, hw, batches = c.read_all(t, p)
                if err != NONE:
                    raise AssertionError("%s: reading %s-%d: error %d" % (what, t, p, err))
                got = check_log(batches)
                for off, v in want.items():
                    if off not in got:
                        raise AssertionError("%s: acknowledged record %s-%d@%d lost (hw %d)" %
                                             (what, t, p, off, hw))
                    if got[off][1] != v:
                        raise AssertionError("%s: %s-%d@%d holds %r, acknowledged %r" %
                                             (what, t, p, off, got[off][1][:40], v[:40]))
        return self.count()


def run_log(broker):
    """The broker's stderr since its last start."""
    with open(broker.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    return text[text.rfind("==== start"):]


def clean_restart_check(broker, ledger, what="clean restart"):
    """SIGTERM (exit 0), restart on the same data, no recovery scan, every
    acknowledged record intact, and a client is served."""
    rc = broker.stop()
    if rc != 0:
        raise AssertionError("%s: broker exited with %r on SIGTERM" % (what, rc))
    broker.start()
    log = run_log(broker)
    if "truncated" in log and "truncated 0" not in log:
        raise AssertionError("%s: recovery truncated data after a clean stop:\n%s" % (what, log))
    n = ledger.verify(broker, what)
    healthy(broker, ledger=ledger)
    return n


def run_scenarios(scenarios, broker_factory=None):
    """Run [(name, fn)] in order; fn(ctx) raises on failure. Prints one
    line per scenario, returns the process exit status (0: all passed)."""
    import traceback
    failed = []
    for name, fn in scenarios:
        t0 = time.monotonic()
        try:
            fn()
            print("PASS %-40s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            failed.append(name)
            print("FAIL %-40s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
    if failed:
        print("failed: %s" % ", ".join(failed))
    return 1 if failed else 0


def sigterm_status(broker, rc):
    """After the scenarios (rc: run_scenarios' status): a broker still
    running must exit 0 on SIGTERM. Returns the test's exit status."""
    failed = rc != 0
    if broker.running:
        src = broker.stop()
        if src != 0:
            print("broker exited with %r on SIGTERM" % src)
            failed = True
    return 1 if failed else 0


def run_main(broker, body):
    """The main() of a scenario test: body() starts broker, runs the
    scenarios and returns run_scenarios' status; then sigterm_status().
    On any failure (an exception included) the broker is marked failed and
    its log tail printed; it is killed and cleaned up in every case.
    Returns the process exit status."""
    failed = True
    try:
        status = sigterm_status(broker, body())
        failed = status != 0
        return status
    finally:
        if failed:
            broker.failed = True
            broker.print_tail(30, file=sys.stdout)
        broker.kill9()
        broker.cleanup()
