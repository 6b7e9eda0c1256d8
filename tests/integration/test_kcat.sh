#!/usr/bin/env bash
# tests/integration/test_kcat.sh -- kcat (librdkafka 2.0.2) against a fresh broker:
#   -L lists the broker and topics; -P with keys (-K:) and headers (-H), read
#   back with -C -e -f and compared exactly (keys on their consistent_random
#   partition, offsets contiguous); -o beginning, -o end (nothing old, then
#   records produced afterwards arrive), -o s@<ts> (offsets_for_times between
#   two batches produced with explicit timestamps by the python client, plus
#   kcat -Q), -o -N (last N), -o <absolute>.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sluice_tmp kcat
BGPIDS=()
cleanup_extra() {
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null; done
}
trap "exit 143" TERM INT

start_broker --override num.partitions=3
B="127.0.0.1:$PORT"
echo "broker at $B"
KC=(kcat -b "$B" -m 30 -X socket.timeout.ms=30000)

# ---- 1. produce keyed lines with headers, read back exactly ---------------
N=60
: >"$TMP/in"
for i in $(seq 0 $((N - 1))); do
    echo "key$i:value $i with spaces, tabs	and :colons:" >>"$TMP/in"
done
"${KC[@]}" -P -t kt -K: -H hdr1=one -H "hdr2=two=2" -l "$TMP/in" || fail "kcat -P failed"

# expected: every line, on librdkafka's consistent_random partition (crc32 % 3),
# offsets 0.. in input order per partition
/usr/bin/python3 - "$TMP/in" >"$TMP/expected" <<'EOF' || fail "python (expected) failed"
import sys, zlib
nexto = {}
rows = []
for line in open(sys.argv[1]).read().splitlines():
    k, v = line.split(":", 1)
    p = zlib.crc32(k.encode()) % 3
    o = nexto.get(p, 0); nexto[p] = o + 1
    rows.append("%d|%d|%s|%s|hdr1=one,hdr2=two=2" % (p, o, k, v))
print("\n".join(sorted(rows)))
EOF
"${KC[@]}" -C -t kt -o beginning -e -q -f '%p|%o|%k|%s|%h\n' >"$TMP/got.raw" || fail "kcat -C failed"
LC_ALL=C sort "$TMP/got.raw" >"$TMP/got"
if ! cmp -s "$TMP/expected" "$TMP/got"; then
    diff "$TMP/expected" "$TMP/got" | head -20
    fail "consumed records differ from produced ones"
fi
echo "ok: $N keyed records with headers round-trip exactly (partition, offset, key, value, headers)"

# ---- 2. -L lists the broker and the topic ---------------------------------
"${KC[@]}" -L >"$TMP/meta" || fail "kcat -L failed"
grep -q "broker 0 at $B" "$TMP/meta" || { cat "$TMP/meta"; fail "-L: broker 0 at $B missing"; }
grep -q 'topic "kt" with 3 partitions' "$TMP/meta" || { cat "$TMP/meta"; fail "-L: topic kt missing"; }
for p in 0 1 2; do
    grep -q "partition $p, leader 0, replicas: 0, isrs: 0" "$TMP/meta" ||
        { cat "$TMP/meta"; fail "-L: partition $p of kt"; }
done
"${KC[@]}" -L -t kt | grep -q 'topic "kt" with 3 partitions' || fail "-L -t kt"
echo "ok: -L lists broker 0 and topic kt with 3 partitions led by 0"

# ---- 3. -o -N (last N) and -o <absolute> on one partition -----------------
seq 1 20 | sed 's/^/line /' | "${KC[@]}" -P -t single -p 0 || fail "produce to single"
out=$("${KC[@]}" -C -t single -p 0 -o -5 -e -q -f '%o:%s\n') || fail "-o -5"
exp=$(for i in $(seq 16 20); do echo "$((i - 1)):line $i"; done)
[ "$out" = "$exp" ] || fail "-o -5 gave:
$out"
out=$("${KC[@]}" -C -t single -p 0 -o 7 -e -q -f '%o:%s\n' | head -1)
[ "$out" = "7:line 8" ] || fail "-o 7 gave: $out"
out=$("${KC[@]}" -C -t single -p 0 -o beginning -e -q -f '%s\n' | wc -l)
[ "$out" -eq 20 ] || fail "-o beginning gave $out records, expected 20"
echo "ok: -o -5 gives the last five, -o 7 starts at 7, -o beginning gives all 20"

# ---- 4. -o end: nothing old, then new records arrive ----------------------
"${KC[@]}" -C -t single -p 0 -o end -c 3 -u -f '%o:%s\n' >"$TMP/end.out" 2>"$TMP/end.err" &
KPID=$!
BGPIDS+=("$KPID")
at_end() { grep -q 'Reached end of topic single \[0\] at offset 20' "$TMP/end.err" 2>/dev/null; }
wait_for at_end || { cat "$TMP/end.err"; fail "-o end consumer never reached the end"; }
[ -s "$TMP/end.out" ] && fail "-o end delivered old records: $(cat "$TMP/end.out")"
printf 'new 1\nnew 2\nnew 3\n' | "${KC[@]}" -P -t single -p 0 || fail "produce new"
done_end() { ! kill -0 "$KPID" 2>/dev/null; }
wait_for done_end || fail "-o end consumer did not get 3 new records: $(cat "$TMP/end.out")"
wait "$KPID"; rc=$?
[ $rc -eq 0 ] || fail "-o end consumer exited $rc"
exp=$(printf '20:new 1\n21:new 2\n22:new 3')
[ "$(cat "$TMP/end.out")" = "$exp" ] || fail "-o end got: $(cat "$TMP/end.out")"
echo "ok: -o end sees nothing old, then exactly the 3 records produced afterwards"

# ---- 5. -o s@<ts>: offsets_for_times --------------------------------------
NOW=$(date +%s%3N)
T1=$((NOW - 600000))     # batch A: 5 records at T1, T1+1000, ...
T2=$((NOW - 300000))     # batch B: 5 records at T2, T2+1000, ...
/usr/bin/python3 - "$B" "$T1" "$T2" <<'EOF' || fail "python producer with timestamps failed"
import sys
from confluent_kafka import Producer
b, t1, t2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = Producer({"bootstrap.servers": b, "acks": "all"})
errs = []
def dr(err, msg):
    if err: errs.append(err)
for batch, t in (("A", t1), ("B", t2)):
    for i in range(5):
        p.produce("tstopic", value="%s%d" % (batch, i), partition=0, timestamp=t + i * 1000,
                  on_delivery=dr)
    if p.flush(30) != 0:
        sys.exit("flush timed out")
if errs:
    sys.exit("delivery errors: %s" % errs)
EOF
out=$("${KC[@]}" -C -t tstopic -p 0 -o "s@$(( (T1 + T2) / 2 ))" -e -q -f '%o:%s:%T\n')
exp=$(for i in 0 1 2 3 4; do echo "$((5 + i)):B$i:$((T2 + i * 1000))"; done)
[ "$out" = "$exp" ] || fail "-o s@(between batches) gave:
$out"
out=$("${KC[@]}" -C -t tstopic -p 0 -o "s@$((T1 + 2000))" -e -q -f '%s\n' | head -1)
[ "$out" = "A2" ] || fail "-o s@T1+2000 started at '$out', expected A2"
out=$("${KC[@]}" -C -t tstopic -p 0 -o "s@$((T1 + 1500))" -e -q -f '%s\n' | head -1)
[ "$out" = "A2" ] || fail "-o s@T1+1500 started at '$out', expected A2"
out=$("${KC[@]}" -C -t tstopic -p 0 -o "s@$((T1 - 5000))" -e -q -f '%s\n' | head -1)
[ "$out" = "A0" ] || fail "-o s@(before all) started at '$out', expected A0"
out=$("${KC[@]}" -C -t tstopic -p 0 -o beginning -o "e@$((T2 + 1500))" -e -q -f '%s\n' | tr '\n' ' ')
[ "$out" = "A0 A1 A2 A3 A4 B0 B1 " ] || fail "-o e@T2+1500 gave '$out'"
out=$("${KC[@]}" -Q -t "tstopic:0:$(( (T1 + T2) / 2 ))" 2>&1)
echo "-Q: $out"
echo "$out" | grep -Eq "offset 5( |$)" || fail "-Q between batches: $out"
echo "ok: -o s@ts starts at the first record at/after ts (between batches, exact, before all), e@ stops, -Q"

# ---- broker still fine, clean stop ---------------------------------------
kill -0 "$BPID" 2>/dev/null || fail "broker died"
kill -TERM "$BPID"
wait "$BPID"; rc=$?
BPID=""
[ $rc -eq 0 ] || fail "broker exited $rc on SIGTERM"
echo "PASS test_kcat.sh"
