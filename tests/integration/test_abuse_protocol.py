#!/usr/bin/python3
"""tests/integration/test_abuse_protocol.py -- hostile bytes against a real broker.

One broker (socket.request.max.bytes = 1 MiB) takes, in turn:

  size_prefixes     frame size prefixes 0, 1, 7 (below the 8-byte header),
                    -1, INT32_MIN, limit+1, INT32_MAX: the connection is
                    closed; a frame of exactly the limit is served.
  truncated         every valid request in FRAMES cut at every byte
                    position, two ways: (a) the size prefix matches the
                    short body (the decoder sees a short request): the
                    broker answers with a well-formed response or closes,
                    and if it answered the stream is still in sync; (b) the
                    prefix announces the whole request, then the client
                    half-closes: the broker closes. No truncated Produce is
                    ever appended.
  unknown_apis      unknown API keys (-1, 67, 999, 32767), unsupported
                    versions (below and above the range, negative), and
                    ApiVersions at v99 (answered with UNSUPPORTED_VERSION and
                    the version table, as Kafka does). A valid request
                    pipelined before a bad one is answered first.
  huge_counts       array, string, bytes, compact-array, tagged-field and
                    record counts of up to 2^31-1 or 2^32-1 in frames of a
                    few bytes: closed or an error, within 5 s, and RSS
                    grows by < 64 MiB over all of them.
  topic_names       invalid UTF-8, NUL, '/', '..', '.', 250 and 32767
                    characters: CreateTopics answers INVALID_TOPIC_EXCEPTION
                    per topic, Metadata with auto-create and Produce refuse
                    them, and nothing is created on disk (inside or outside
                    the data directory); a 249-character name is accepted.

After every scenario the broker process is alive and a fresh client is
served (ApiVersions, acks=all Produce, Fetch back). At the end every record
acknowledged during the test is read back valid (CRC32C, contiguous
offsets), the broker stops with exit 0 on SIGTERM, restarts without a
recovery scan and serves the same records again.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker  # noqa: E402
import kafka_raw as k  # noqa: E402
from kafka_raw import W  # noqa: E402

MAX_REQ = 1 << 20
TOPIC = "abuse"
ledger = k.Ledger()
b = None


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def alive_and_serving(what):
    check(b.running, "%s: broker died (exit %r)" % (what, b.proc.poll()))
    k.healthy(b, ledger=ledger)


def conn():
    return k.connect(b, timeout=10)


def outcome(c, timeout=5.0):
    """'closed', ('answered', frame) or 'hang'."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "hang"
        if not k.wait_readable(c.sock, left):
            return "hang"
        try:
            d = c.sock.recv(65536)
        except ConnectionResetError:
            return "closed"
        if not d:
            return "closed" if len(buf) < 4 else ("answered-then-closed", buf)
        buf += d
        if len(buf) >= 4:
            n = struct.unpack(">i", buf[:4])[0]
            if len(buf) >= 4 + n:
                return ("answered", buf[4:4 + n])


# ---- valid request frames (bodies without the size prefix) ------------------

def fetch_v11_frame(topic, partition, offset, cid=1):
    w = W().i32(-1).i32(0).i32(1).i32(1 << 20).i8(0).i32(0).i32(-1)
    w.array([topic], lambda w, t: w.string(t).array(
        [partition], lambda w, p: w.i32(p).i32(-1).i64(offset).i64(-1).i32(1 << 20)))
    w.array([], None).string("")
    return k.header(k.FETCH, 11, cid) + bytes(w.b)


def list_offsets_v1_frame(topic, partition, cid=1):
    w = W().i32(-1).array([topic], lambda w, t: w.string(t).array(
        [partition], lambda w, p: w.i32(p).i64(-1)))
    return k.header(k.LIST_OFFSETS, 1, cid) + bytes(w.b)


def join_group_v6_frame(cid=1):
    w = W(True).string("abuse-group").i32(10000).i32(10000).string("").string(None)
    w.string("consumer").array([("range", b"\x00\x00\x00\x00\x00\x00")],
                               lambda w, p: w.string(p[0]).bytes_(p[1]).tags()).tags()
    return k.header(k.JOIN_GROUP, 6, cid, flex=True) + bytes(w.b)


def frames():
    return [
        ("Produce v3", k.produce_frame(TOPIC, 0, [b"trunc-a", b"trunc-b"], keys=[b"k", None])),
        ("Produce v8", k.produce_frame(TOPIC, 0, [b"trunc-c"], version=8)),
        ("Fetch v4", k.fetch_frame(TOPIC, 0, 0)),
        ("Fetch v11", fetch_v11_frame(TOPIC, 0, 0)),
        ("Metadata v1", k.metadata_frame([TOPIC], 1)),
        ("Metadata v8", k.metadata_frame([TOPIC], 8)),
        ("ListOffsets v1", list_offsets_v1_frame(TOPIC, 0)),
        ("CreateTopics v5 (flexible)", k.create_topics_frame([("trunc-created", 1)], 5)),
        ("ApiVersions v3 (flexible)", k.api_versions_frame(3)),
        ("JoinGroup v6 (flexible)", join_group_v6_frame()),
    ]


# ---- scenarios ------------------------------------------------------------------

def s_size_prefixes():
    for size in (0, 1, 7, -1, -2, -(1 << 31), MAX_REQ + 1, 64 << 20, (1 << 31) - 1):
        with conn() as c:
            c.send_raw(struct.pack(">i", size) + b"\x00\x12\x00\x00\x00\x00\x00\x01"[:max(0, min(8, size))])
            check(c.closed_within(5), "size prefix %d: connection not closed within 5 s" % size)
    # a frame of exactly the limit is read and answered (message.max.bytes
    # refuses or accepts the batch: either way an answer, not a close)
    n = MAX_REQ - 200
    while True:
        value = b"L" * n
        frame = k.produce_frame(TOPIC, 0, [value])
        if len(frame) == MAX_REQ:
            break
        n += MAX_REQ - len(frame)
    with conn() as c:
        c.send_frame(frame)
        r = k.R(c.recv_frame())
        r.i32()
        (_, parts), = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
        _, err, base, _ = parts[0]
        check(err in (k.NONE, k.MESSAGE_TOO_LARGE, k.RECORD_LIST_TOO_LARGE),
              "frame of exactly socket.request.max.bytes: error %d" % err)
        if err == k.NONE:
            ledger.add(TOPIC, 0, base, [value])
    # a size prefix split over several writes
    with conn() as c:
        body = k.api_versions_frame(0, 7)
        data = struct.pack(">i", len(body)) + body
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
        r = k.R(c.recv_frame())
        check(r.i32() == 7 and r.i16() == 0, "byte-split ApiVersions not answered")
    alive_and_serving("size prefixes")


def s_truncated():
    with conn() as c:
        _, hw0, _, _ = c.fetch(TOPIC, 0, 0)
    stats = {"closed": 0, "answered": 0}
    for name, f in frames():
        L = len(f)
        for cut in range(L):
            # (a) a short but self-consistent frame
            with conn() as c:
                c.send_frame(f[:cut])
                o = outcome(c)
                check(o != "hang", "%s cut at %d/%d: no answer and no close within 5 s" % (name, cut, L))
                if cut < 8:
                    check(o == "closed", "%s cut at %d: frame below the header size answered" % (name, cut))
                if isinstance(o, tuple):
                    check(o[0] == "answered", "%s cut at %d/%d: partial response then close" % (name, cut, L))
                    stats["answered"] += 1
                    cid = struct.unpack(">i", o[1][:4])[0]
                    check(cid == 1, "%s cut at %d: answer with correlation id %d" % (name, cut, cid))
                    # the stream must still be in sync
                    c.cid = 100
                    err, apis = c.api_versions()
                    check(err == 0 and k.PRODUCE in apis,
                          "%s cut at %d: stream out of sync after an answer" % (name, cut))
                else:
                    stats["closed"] += 1
            # (b) the prefix announces the whole request; the client half-closes
            with conn() as c:
                c.send_raw(struct.pack(">i", L) + f[:cut])
                c.sock.shutdown(socket.SHUT_WR)
                check(c.closed_within(5), "%s: %d of %d bytes then EOF: not closed" % (name, cut, L))
        check(b.running, "broker died during truncations of %s" % name)
    print("  truncated: %d cases closed, %d answered with an error" % (stats["closed"], stats["answered"]))
    with conn() as c:
        _, hw1, _, _ = c.fetch(TOPIC, 0, 0)
    check(hw1 == hw0, "a truncated Produce was appended: high watermark %d -> %d" % (hw0, hw1))
    alive_and_serving("truncated requests")


def s_unknown_apis():
    for key, ver in ((-1, 0), (67, 0), (999, 0), (32767, 0), (k.PRODUCE, 99), (k.PRODUCE, -1),
                     (k.PRODUCE, 9), (k.FETCH, 0), (k.FETCH, 99), (k.METADATA, 100),
                     (k.CREATE_TOPICS, 99), (k.JOIN_GROUP, 99)):
        with conn() as c:
            c.send_frame(k.header(key, ver, 5) + b"\x00" * 16)
            o = outcome(c)
            check(o != "hang", "api %d v%d: no answer and no close" % (key, ver))
            if isinstance(o, tuple):
                r = k.R(o[1])
                check(r.i32() == 5, "api %d v%d: bad correlation id" % (key, ver))
    # ApiVersions at an unknown version: UNSUPPORTED_VERSION + the table (v0 body)
    with conn() as c:
        c.send_frame(k.header(k.API_VERSIONS, 99, 9, flex=True) + b"\x00\x00\x00")
        o = outcome(c)
        check(isinstance(o, tuple) and o[0] == "answered", "ApiVersions v99: %r" % (o,))
        r = k.R(o[1])
        check(r.i32() == 9, "ApiVersions v99: correlation id")
        err = r.i16()
        check(err == k.UNSUPPORTED_VERSION, "ApiVersions v99: error %d, want 35" % err)
        keys = r.array(lambda r: (r.i16(), r.i16(), r.i16()))
        check(any(x[0] == k.API_VERSIONS for x in keys), "ApiVersions v99: no table")
    alive_and_serving("unknown APIs")


def s_pipelined_before_bad():
    """Requests pipelined before a bad one are answered before the close
    (Kafka reads the next request only after answering the previous one):
    a Produce appended but never acknowledged would make the client retry
    and duplicate it."""
    for bad_name, bad in (("unknown API key 999", k.header(999, 0, 22)),
                          ("Produce v99", k.header(k.PRODUCE, 99, 22)),
                          ("frame of 3 bytes", b"\x00\x00\x00")):
        with conn() as c:
            _, hw0, _, _ = c.fetch(TOPIC, 0, 0)
        with conn() as c:
            good = k.produce_frame(TOPIC, 0, [b"pipelined"], acks=1, cid=21)
            c.send_raw(struct.pack(">i", len(good)) + good + struct.pack(">i", len(bad)) + bad)
            try:
                r = k.R(c.recv_frame())
            except ConnectionError:
                with conn() as c2:
                    _, hw1, _, _ = c2.fetch(TOPIC, 0, 0)
                raise AssertionError("Produce pipelined before a bad request (%s): connection closed "
                                     "without its response, though the record was %s (hw %d -> %d)"
                                     % (bad_name, "appended" if hw1 > hw0 else "not appended", hw0, hw1))
            check(r.i32() == 21, "pipelined: first response is not the Produce's")
            (_, parts), = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
            check(parts[0][1] == k.NONE, "pipelined Produce: error %d" % parts[0][1])
            ledger.add(TOPIC, 0, parts[0][2], [b"pipelined"])
            check(c.closed_within(5), "not closed after the bad request (%s)" % bad_name)
    alive_and_serving("pipelined before bad")


def s_huge_counts():
    I32MAX = (1 << 31) - 1
    cases = []
    # Metadata v1: topics array of INT32_MAX, nothing after
    cases.append(("Metadata topics count 2^31-1", k.header(k.METADATA, 1) + struct.pack(">i", I32MAX)))
    cases.append(("Metadata topic string length 32767", k.header(k.METADATA, 1) + struct.pack(">ih", 1, 32767) + b"ab"))
    cases.append(("Metadata topics count -2", k.header(k.METADATA, 1) + struct.pack(">i", -2)))
    # Produce v3: topics count, partitions count, records bytes length
    p = W().string(None).i16(-1).i32(1000)
    cases.append(("Produce topics count 2^31-1", k.header(k.PRODUCE, 3) + bytes(p.b) + struct.pack(">i", I32MAX)))
    p2 = W().string(None).i16(-1).i32(1000).i32(1).string(TOPIC)
    cases.append(("Produce partitions count 2^31-1", k.header(k.PRODUCE, 3) + bytes(p2.b) + struct.pack(">i", I32MAX)))
    cases.append(("Produce records length 2^31-1", k.header(k.PRODUCE, 3) + bytes(p2.b) + struct.pack(">iii", 1, 0, I32MAX) + b"\x00" * 32))
    cases.append(("Produce records length -5", k.header(k.PRODUCE, 3) + bytes(p2.b) + struct.pack(">iii", 1, 0, -5)))
    # Fetch v4: topics / partitions counts
    f = W().i32(-1).i32(0).i32(1).i32(1 << 20).i8(0)
    cases.append(("Fetch topics count 2^31-1", k.header(k.FETCH, 4) + bytes(f.b) + struct.pack(">i", I32MAX)))
    cases.append(("Fetch partitions count 2^31-1", k.header(k.FETCH, 4) + bytes(f.b) + struct.pack(">i", 1)
                  + bytes(W().string(TOPIC).b) + struct.pack(">i", I32MAX)))
    # flexible: compact array length 2^32-1, tagged fields count and size
    uv = bytes(W().uvarint(0xFFFFFFFF).b)
    cases.append(("CreateTopics v5 compact array 2^32-2", k.header(k.CREATE_TOPICS, 5, flex=True) + uv))
    cases.append(("CreateTopics v5 compact string 2^32-2", k.header(k.CREATE_TOPICS, 5, flex=True) + b"\x02" + uv))
    cases.append(("varint of 10 bytes", k.header(k.CREATE_TOPICS, 5, flex=True) + b"\xff" * 10 + b"\x01"))
    hdr_tags = k.header(k.CREATE_TOPICS, 5)   # without the header tag byte
    cases.append(("header tagged fields count 2^32-1", hdr_tags + uv))
    cases.append(("header tagged field size 2^32-1", hdr_tags + b"\x01\x00" + uv))
    cases.append(("ApiVersions v3 tag count 2^32-1", k.header(k.API_VERSIONS, 3, flex=True)
                  + bytes(W(True).string("c").string("1").b) + uv))
    cases.append(("JoinGroup v6 protocols 2^32-2", k.header(k.JOIN_GROUP, 6, flex=True)
                  + bytes(W(True).string("g").i32(10000).i32(10000).string("").string(None).string("consumer").b) + uv))
    cases.append(("JoinGroup v5 protocols 2^31-1", k.header(k.JOIN_GROUP, 5)
                  + bytes(W().string("g").i32(10000).i32(10000).string("").string(None).string("consumer").b)
                  + struct.pack(">i", I32MAX)))
    cases.append(("JoinGroup v5 metadata bytes 2^31-1", k.header(k.JOIN_GROUP, 5)
                  + bytes(W().string("g").i32(10000).i32(10000).string("").string(None).string("consumer")
                          .i32(1).string("range").b) + struct.pack(">i", I32MAX)))
    cases.append(("OffsetCommit v2 topics 2^31-1", k.header(k.OFFSET_COMMIT, 2)
                  + bytes(W().string("g").i32(1).string("m").i64(-1).b) + struct.pack(">i", I32MAX)))

    # record batches whose inner counts lie (CRC valid, so only the counts are wrong)
    def lying_batch(count=None, blen_delta=0, rec_len=None):
        good = bytearray(k.record_batch([b"v1", b"v2"]))
        if count is not None:
            struct.pack_into(">i", good, 57, count)
        if rec_len is not None:
            good[61] = rec_len
        struct.pack_into(">I", good, 17, k.crc32c(bytes(good[21:])))
        if blen_delta:
            struct.pack_into(">i", good, 8, struct.unpack_from(">i", good, 8)[0] + blen_delta)
        return bytes(good)

    batch_cases = [("batch records count 2^31-1", lying_batch(count=I32MAX)),
                   ("batch records count -1", lying_batch(count=-1)),
                   ("batch records count 0", lying_batch(count=0)),
                   ("batch record length 63 (varint -32)", lying_batch(rec_len=0x3f)),
                   ("batch length +1000", lying_batch(blen_delta=1000)),
                   ("batch length -30", lying_batch(blen_delta=-30))]

    with conn() as c:
        _, hw0, _, _ = c.fetch(TOPIC, 0, 0)
    rss0 = k.rss_kib(b.proc.pid)
    peak = rss0
    for name, frame in cases:
        for _ in range(3):
            with conn() as c:
                c.send_frame(frame)
                o = outcome(c)
                check(o != "hang", "%s: no answer and no close within 5 s" % name)
            peak = max(peak, k.rss_kib(b.proc.pid))
            check(b.running, "%s: broker died" % name)
    for name, batch in batch_cases:
        with conn() as c:
            c.send_frame(k.produce_frame(TOPIC, 0, None, batch=batch))
            o = outcome(c)
            check(o != "hang", "%s: no answer and no close within 5 s" % name)
            if isinstance(o, tuple):
                r = k.R(o[1])
                r.i32()
                (_, parts), = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
                check(parts[0][1] != k.NONE, "%s: the lying batch was acknowledged at %d" % (name, parts[0][2]))
        peak = max(peak, k.rss_kib(b.proc.pid))
        check(b.running, "%s: broker died" % name)
    with conn() as c:
        _, hw1, _, _ = c.fetch(TOPIC, 0, 0)
    check(hw1 == hw0, "a malformed batch was appended: high watermark %d -> %d" % (hw0, hw1))
    print("  huge counts: RSS %d KiB -> peak %d KiB" % (rss0, peak))
    check(peak - rss0 < (128 if k.sanitized() else 64) * 1024, "RSS grew by %d KiB on small frames with huge counts" % (peak - rss0))
    alive_and_serving("huge counts")


def s_topic_names():
    bad = [b"\xff\xfe\xfd", b"caf\xc3", b"\xc0\xaf", b"a\x00b", b"a/b", b"../escape", b"..", b".",
           b"", b"a b", b"a" * 250, b"x" * 32767]
    before = set(os.listdir(b.data_dir))
    parent_before = set(os.listdir(os.path.dirname(b.data_dir)))
    with conn() as c:
        for name in bad:
            w = W().array([name], lambda w, t: w.string(t).i32(1).i16(1).array([], None).array([], None)).i32(5000)
            try:
                r = c.request(k.CREATE_TOPICS, 0, w)
                res = r.array(lambda r: (r.string(), r.i16()))
                check(len(res) == 1 and res[0][1] == k.INVALID_TOPIC_EXCEPTION,
                      "CreateTopics %r: %r, want INVALID_TOPIC_EXCEPTION (17)" % (name[:20], res))
            except ConnectionError:
                # closing on a non-UTF-8 string is acceptable too
                c.close()
                c = conn()
        for name in bad:
            # Metadata v4 with allow_auto_topic_creation
            w = W().array([name], lambda w, t: w.string(t)).i8(1)
            try:
                r = c.request(k.METADATA, 4, w)
                r.i32()
                r.array(lambda r: (r.i32(), r.string(), r.i32(), r.string()))
                r.string()
                r.i32()
                topics = r.array(lambda r: (r.i16(), r.string(), r.i8(), r.array(
                    lambda r: (r.i16(), r.i32(), r.i32(), r.array(lambda r: r.i32()),
                               r.array(lambda r: r.i32()), r.array(lambda r: r.i32())))))
                check(all(t[0] in (k.INVALID_TOPIC_EXCEPTION, k.UNKNOWN_TOPIC_OR_PARTITION) for t in topics),
                      "Metadata auto-create %r: %r" % (name[:20], [(t[0], t[1][:20]) for t in topics]))
            except ConnectionError:
                c.close()
                c = conn()
            try:
                c.cid += 1
                c.send_frame(k.produce_frame(name, 0, [b"nope"], cid=c.cid))
                r = k.R(c.recv_frame())
                r.i32()
                res = r.array(lambda r: (r.string(), r.array(lambda r: (r.i32(), r.i16(), r.i64(), r.i64()))))
                check(res[0][1][0][1] in (k.INVALID_TOPIC_EXCEPTION, k.UNKNOWN_TOPIC_OR_PARTITION),
                      "Produce to %r: error %d" % (name[:20], res[0][1][0][1]))
            except ConnectionError:
                c.close()
                c = conn()
        # the longest legal name works
        longest = "L" * 249
        res = c.create_topics([(longest, 1)])
        check(res == {longest: k.NONE}, "249-character topic name: %r" % res)
        for _ in range(50):
            err, base = c.produce(longest, 0, [b"long-name"])
            if err == k.NONE:
                break
            time.sleep(0.1)
        check(err == k.NONE, "produce to a 249-character topic: error %d" % err)
        ledger.add(longest, 0, base, [b"long-name"])
        c.close()
    after = set(os.listdir(b.data_dir))
    extra = sorted(x for x in after - before if not x.startswith("L" * 249))
    check(not extra, "bad topic names created entries in the data directory: %r" % [e[:30] for e in extra])
    parent_after = set(os.listdir(os.path.dirname(b.data_dir)))
    check(parent_after == parent_before, "entries created next to the data directory: %r" %
          sorted(parent_after - parent_before))
    alive_and_serving("topic names")


def s_final():
    n = ledger.verify(b, "after the abuse")
    n = k.clean_restart_check(b, ledger, "clean restart after the abuse")
    print("  %d acknowledged records intact across a clean restart" % n)


def main():
    global b
    b = Broker(overrides={"socket.request.max.bytes": str(MAX_REQ), "num.partitions": "1",
                          "group.initial.rebalance.delay.ms": "0"})

    def body():
        b.start()
        with conn() as c:
            check(c.create_topics([(TOPIC, 1)]) == {TOPIC: 0}, "create topic")
            for i in range(50):
                err, base = c.produce(TOPIC, 0, [b"seed-%d" % i])
                if err == 0:
                    ledger.add(TOPIC, 0, base, [b"seed-%d" % i])
                    break
                time.sleep(0.1)
            check(err == 0, "seed produce: %d" % err)
        alive_and_serving("start")
        return k.run_scenarios([
            ("size_prefixes", s_size_prefixes),
            ("truncated", s_truncated),
            ("unknown_apis", s_unknown_apis),
            ("pipelined_before_bad", s_pipelined_before_bad),
            ("huge_counts", s_huge_counts),
            ("topic_names", s_topic_names),
            ("final_logs_intact", s_final),
        ])

    return k.run_main(b, body)


if __name__ == "__main__":
    sys.exit(main())
