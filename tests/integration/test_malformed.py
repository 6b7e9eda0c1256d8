#!/usr/bin/python3
"""tests/integration/test_malformed.py -- hostile and broken requests on raw
sockets, while a well-behaved client keeps working.

The Kafka encoding is written by hand (ApiVersions v0, Metadata v1, Produce
v3 with a RecordBatch v2 built here, CRC-32C included). Cases:
  frame size -1, 0, 3, > socket.request.max.bytes (1 MiB here)  -> closed
  valid size prefix, fewer bytes, then EOF                       -> closed
  Produce whose body ends mid-field                              -> closed
  unknown API key 999                                            -> closed
  ApiVersions v99 -> v0 response, error 35, ApiVersions range; the
                     connection stays usable
  Metadata v1 whose topic-name length runs past the frame        -> closed
  Produce with a corrupt CRC -> partition error CORRUPT_MESSAGE (2), and the
                     same connection then produces fine
  Produce with a magic-1 message set -> UNSUPPORTED_FOR_MESSAGE_FORMAT (43)
After every case a confluent_kafka producer running in a thread (acks=all,
its own long-lived connection) gets new deliveries and a fresh raw
connection gets ApiVersions + Metadata answers; at the end the broker is
alive, everything the producer had acknowledged reads back, and it exits 0
on SIGTERM.
"""
import os
import socket
import struct
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sluice_harness import Broker, wait_for  # noqa: E402
from kafka_raw import crc32c, varint  # noqa: E402  (CRC-32C, zigzag varint)

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition, OFFSET_BEGINNING  # noqa: E402

MAX_REQ = 1 << 20


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


assert crc32c(b"123456789") == 0xE3069283


# ---- encoding primitives ---------------------------------------------------

def i8(v): return struct.pack(">b", v)
def i16(v): return struct.pack(">h", v)
def i32(v): return struct.pack(">i", v)
def i64(v): return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def kbytes(b):
    return i32(-1) if b is None else i32(len(b)) + b


def vbytes(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers=()):
    body = (i8(0) + varint(ts_delta) + varint(offset_delta) + vbytes(key) + vbytes(value)
            + varint(len(headers)))
    for hk, hv in headers:
        body += varint(len(hk)) + hk + vbytes(hv)
    return varint(len(body)) + body


def record_batch(records, base_ts):
    """RecordBatch v2; records = [(key, value, headers)]."""
    recs = b"".join(record(i, i, k, v, h) for i, (k, v, h) in enumerate(records))
    after_crc = (i16(0) + i32(len(records) - 1) + i64(base_ts) + i64(base_ts + len(records) - 1)
                 + i64(-1) + i16(-1) + i32(-1) + i32(len(records)) + recs)
    crc = crc32c(after_crc)
    tail = i32(-1) + i8(2) + struct.pack(">I", crc) + after_crc
    return i64(0) + i32(len(tail)) + tail


def message_set_v1(key, value, ts):
    body = i8(1) + i8(0) + i64(ts) + kbytes(key) + kbytes(value)
    msg = struct.pack(">I", zlib.crc32(body)) + body
    return i64(0) + i32(len(msg)) + msg


def request(api_key, version, corr, body, client_id="malformed-test"):
    hdr = i16(api_key) + i16(version) + i32(corr) + string(client_id)
    payload = hdr + body
    return i32(len(payload)) + payload


def api_versions_req(corr, version=0):
    return request(18, version, corr, b"")


def metadata_v1_req(corr, topics):
    body = i32(-1) if topics is None else i32(len(topics)) + b"".join(string(t) for t in topics)
    return request(3, 1, corr, body)


def produce_v3_req(corr, topic, partition, records, acks=-1):
    body = (string(None) + i16(acks) + i32(30000) + i32(1) + string(topic) + i32(1)
            + i32(partition) + kbytes(records))
    return request(0, 3, corr, body)


# ---- decoding --------------------------------------------------------------

class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, n):
        check(self.p + n <= len(self.b), "response truncated")
        v = self.b[self.p:self.p + n]
        self.p += n
        return v

    def i8(self): return struct.unpack(">b", self.take(1))[0]
    def i16(self): return struct.unpack(">h", self.take(2))[0]
    def i32(self): return struct.unpack(">i", self.take(4))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def done(self):
        check(self.p == len(self.b), "%d trailing bytes in response" % (len(self.b) - self.p))


def parse_api_versions_v0(r):
    err = r.i16()
    apis = {}
    for _ in range(r.i32()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        apis[k] = (lo, hi)
    r.done()
    return err, apis


def parse_metadata_v1(r):
    brokers = []
    for _ in range(r.i32()):
        brokers.append((r.i32(), r.string(), r.i32(), r.string()))
    controller = r.i32()
    topics = {}
    for _ in range(r.i32()):
        err, name, _internal = r.i16(), r.string(), r.i8()
        parts = {}
        for _ in range(r.i32()):
            perr, idx, leader = r.i16(), r.i32(), r.i32()
            reps = [r.i32() for _ in range(r.i32())]
            isr = [r.i32() for _ in range(r.i32())]
            parts[idx] = (perr, leader, reps, isr)
        topics[name] = (err, parts)
    r.done()
    return brokers, controller, topics


def parse_produce_v3(r):
    out = {}
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            idx, err, base, lat = r.i32(), r.i16(), r.i64(), r.i64()
            out[(name, idx)] = (err, base, lat)
    r.i32()     # throttle
    r.done()
    return out


# ---- connections -----------------------------------------------------------

class Conn:
    def __init__(self, b):
        self.s = socket.create_connection(("127.0.0.1", b.port), timeout=15)
        self.corr = 100

    def send(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def response(self, corr):
        size = struct.unpack(">i", self.recv_exact(4))[0]
        check(0 <= size < 1 << 24, "bad response size %d" % size)
        body = self.recv_exact(size)
        r = Reader(body)
        got = r.i32()
        check(got == corr, "correlation id %d, expected %d" % (got, corr))
        return r

    def call(self, make, *args):
        self.corr += 1
        self.send(make(self.corr, *args))
        return self.response(self.corr)

    def expect_closed(self, what, timeout=15):
        """The broker must close the connection (EOF or reset) without answering."""
        self.s.settimeout(timeout)
        try:
            data = self.s.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except socket.timeout:
            raise AssertionError("%s: connection still open after %ds" % (what, timeout))
        check(data == b"", "%s: broker answered %r instead of closing" % (what, data[:40]))
        self.close()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


# ---- the well-behaved client -----------------------------------------------

class GoodClient(threading.Thread):
    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        self.acked = {}
        self.errors = []
        self.n = 0
        self.stop_flag = threading.Event()

    def dr(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.acked[msg.value()] = (msg.partition(), msg.offset())

    def run(self):
        try:
            while not self.stop_flag.is_set():
                v = b"good-%d" % self.n
                try:
                    self.p.produce("good", value=v, on_delivery=self.dr)
                    self.n += 1
                except BufferError:
                    pass
                self.p.poll(0.005)
            self.p.flush(30)
        except Exception as e:
            self.errors.append(e)


def healthy(b, good, what):
    """After a case: the threaded producer makes progress and a fresh raw
    connection gets ApiVersions and Metadata answers."""
    check(b.running, "%s: broker died" % what)
    before = len(good.acked)
    wait_for(lambda: len(good.acked) >= before + 20 or good.errors, timeout=30,
             what="%s: good producer progress" % what)
    check(not good.errors, "%s: good producer errors: %s" % (what, good.errors[:3]))
    c = Conn(b)
    try:
        err, apis = parse_api_versions_v0(c.call(api_versions_req))
        check(err == 0 and 0 in apis and 3 in apis and 18 in apis, "%s: ApiVersions %d %s" %
              (what, err, apis))
        brokers, _, topics = parse_metadata_v1(c.call(metadata_v1_req, ["good"]))
        check(brokers[0][:3] == (0, "127.0.0.1", b.port), "%s: brokers %s" % (what, brokers))
        check(topics["good"][0] == 0, "%s: metadata good: %s" % (what, topics["good"]))
    finally:
        c.close()


# ---- cases -----------------------------------------------------------------

def main():
    with Broker(overrides={"socket.request.max.bytes": str(MAX_REQ), "num.partitions": "2"}) as b:
        good = GoodClient(b.bootstrap)
        good.start()
        try:
            healthy(b, good, "start")
            now = int(time.time() * 1000)

            for size, extra, what in ((-1, b"", "size -1"), (0, b"", "size 0"),
                                      (3, b"\x00\x12\x00", "size 3"),
                                      (MAX_REQ + 1, b"\x00\x12\x00\x00", "size max+1"),
                                      (0x7FFFFFFF, b"", "size 2^31-1")):
                c = Conn(b)
                c.send(i32(size) + extra)
                c.expect_closed(what)
                healthy(b, good, what)
                print("ok: frame %s -> closed" % what)

            # valid prefix, fewer bytes, then EOF from our side
            c = Conn(b)
            full = api_versions_req(1)
            c.send(full[:len(full) - 5])
            c.s.shutdown(socket.SHUT_WR)
            c.expect_closed("truncated frame")
            healthy(b, good, "truncated frame")
            print("ok: truncated frame then EOF -> closed")

            # a complete frame whose Produce body stops inside the topic name
            c = Conn(b)
            body = string(None) + i16(-1) + i32(30000) + i32(1) + i16(20) + b"short"
            c.send(request(0, 3, 7, body))
            c.expect_closed("produce truncated mid-field")
            healthy(b, good, "produce truncated mid-field")
            # ... and one truncated inside the records bytes
            c = Conn(b)
            batch = record_batch([(b"k", b"v", ())], now)
            full = produce_v3_req(8, "mal", 0, batch)
            cut = full[4:len(full) - 10]
            c.send(i32(len(cut)) + cut)
            c.expect_closed("produce truncated inside records")
            healthy(b, good, "produce truncated inside records")
            print("ok: Produce body truncated mid-field -> closed")

            c = Conn(b)
            c.send(request(999, 0, 9, b""))
            c.expect_closed("API key 999")
            healthy(b, good, "API key 999")
            c = Conn(b)
            c.send(request(-5, 0, 9, b""))
            c.expect_closed("API key -5")
            healthy(b, good, "API key -5")
            print("ok: unknown API keys 999 and -5 -> closed")

            c = Conn(b)
            r = c.call(lambda corr: api_versions_req(corr, 99))
            err, apis = parse_api_versions_v0(r)
            check(err == 35, "ApiVersions v99: error %d, expected 35" % err)
            check(18 in apis and apis[18][0] == 0 and apis[18][1] >= 3,
                  "ApiVersions v99: ApiVersions range %s" % apis)
            err, apis = parse_api_versions_v0(c.call(api_versions_req))
            check(err == 0 and len(apis) >= 5, "ApiVersions v0 after v99: %d %s" % (err, apis))
            c.close()
            healthy(b, good, "ApiVersions v99")
            print("ok: ApiVersions v99 -> v0 response, error 35, range %s; connection stays usable"
                  % (apis[18],))

            # Metadata v1 whose single topic name claims 200 bytes
            c = Conn(b)
            c.send(request(3, 1, 11, i32(1) + i16(200) + b"abc"))
            c.expect_closed("metadata name past frame")
            healthy(b, good, "metadata name past frame")
            # ... and a topic count past the frame
            c = Conn(b)
            c.send(request(3, 1, 12, i32(1000000) + string("x")))
            c.expect_closed("metadata array count past frame")
            healthy(b, good, "metadata array count past frame")
            print("ok: Metadata v1 with lengths past the frame -> closed")

            # create "mal" (2 partitions, num.partitions) through Metadata
            c = Conn(b)
            wait_for(lambda: parse_metadata_v1(c.call(metadata_v1_req, ["mal"]))[2]["mal"][0] == 0,
                     timeout=30, what="topic mal")
            recs = [(b"key-%d" % i, b"value-%d" % i, [(b"h", b"x%d" % i)]) for i in range(3)]
            good_batch = record_batch(recs, now)
            bad = bytearray(good_batch)
            bad[-1] ^= 0x01               # a payload byte: the CRC no longer matches
            res = parse_produce_v3(c.call(produce_v3_req, "mal", 0, bytes(bad)))
            check(res[("mal", 0)][0] == 2, "corrupt CRC: %s, expected error 2" % (res,))
            bad = bytearray(good_batch)
            bad[17] ^= 0xFF               # the CRC field itself
            res = parse_produce_v3(c.call(produce_v3_req, "mal", 0, bytes(bad)))
            check(res[("mal", 0)][0] == 2, "corrupt CRC field: %s, expected error 2" % (res,))
            res = parse_produce_v3(c.call(produce_v3_req, "mal", 0, good_batch))
            check(res[("mal", 0)][:2] == (0, 0), "valid produce after corrupt ones: %s" % (res,))
            res = parse_produce_v3(c.call(produce_v3_req, "mal", 0, good_batch))
            check(res[("mal", 0)][:2] == (0, 3), "second valid produce: %s" % (res,))
            healthy(b, good, "corrupt CRC")
            print("ok: corrupt CRC -> CORRUPT_MESSAGE (2), the connection keeps working")

            res = parse_produce_v3(c.call(produce_v3_req, "mal", 1, message_set_v1(b"k", b"v", now)))
            check(res[("mal", 1)][0] == 43, "magic 1 message set: %s, expected error 43" % (res,))
            res = parse_produce_v3(c.call(produce_v3_req, "mal", 1, good_batch))
            check(res[("mal", 1)][:2] == (0, 0), "valid produce after magic 1: %s" % (res,))
            c.close()
            healthy(b, good, "magic 1")
            print("ok: magic 1 message set -> UNSUPPORTED_FOR_MESSAGE_FORMAT (43)")

            # what was produced by hand reads back: 6 records in mal-0, 3 in mal-1
            cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "malformed",
                             "enable.auto.commit": False, "enable.partition.eof": True})
            try:
                cons.assign([TopicPartition("mal", 0, OFFSET_BEGINNING),
                             TopicPartition("mal", 1, OFFSET_BEGINNING)])
                got, eof = [], set()
                deadline = time.monotonic() + 30
                while len(eof) < 2:
                    check(time.monotonic() < deadline, "reading mal timed out")
                    m = cons.poll(0.5)
                    if m is None:
                        continue
                    if m.error():
                        check(m.error().code() == KafkaError._PARTITION_EOF, str(m.error()))
                        eof.add(m.partition())
                        continue
                    got.append((m.partition(), m.offset(), m.key(), m.value(), m.headers(),
                                m.timestamp()))
                exp = [(p, base + i, b"key-%d" % i, b"value-%d" % i, [("h", b"x%d" % i)],
                        (1, now + i)) for p, bases in ((0, (0, 3)), (1, (0,)))
                       for base in bases for i in range(3)]
                check(sorted(got) == sorted(exp), "mal read back %s" % got)
            finally:
                cons.close()
            print("ok: the hand-built batches read back intact through librdkafka")
        finally:
            good.stop_flag.set()
            good.join(60)
        check(not good.errors, "good producer errors: %s" % good.errors[:3])
        # everything the good producer had acknowledged is there
        cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "malformed",
                         "enable.auto.commit": False})
        try:
            for p in range(2):
                lo, hi = cons.get_watermark_offsets(TopicPartition("good", p), timeout=30)
                n = sum(1 for (pp, _) in good.acked.values() if pp == p)
                check((lo, hi) == (0, n), "good-%d: watermarks %s, %d acknowledged" % (p, (lo, hi), n))
        finally:
            cons.close()
        check(b.running, "broker died")
        rc = b.stop()
        check(rc == 0, "SIGTERM exit code %s" % rc)
    print("PASS test_malformed.py (%d good records acknowledged meanwhile)" % len(good.acked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
