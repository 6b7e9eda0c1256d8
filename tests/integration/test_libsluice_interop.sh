#!/usr/bin/env bash
# tests/integration/test_libsluice_interop.sh -- libsluice (through the
# `sluice` CLI, which is nothing but libsluice) against librdkafka (kcat),
# for every codec, on one broker:
#   1. libsluice produces keyed records with headers; kcat reads back exactly
#      the same (partition, offset, key, value, headers), and the partitions
#      are the ones librdkafka's murmur2_random partitioner (= Kafka's Java
#      client) picks for the same keys.
#   2. kcat produces (that codec, murmur2_random); libsluice reads back
#      exactly what kcat itself reads back.
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sluice_tmp interop
t() { timeout 120 "$@"; }

start_broker
export SLUICE_BOOTSTRAP="127.0.0.1:$PORT"
KC=(kcat -b "$SLUICE_BOOTSTRAP" -m 30 -X socket.timeout.ms=30000)
echo "broker at $SLUICE_BOOTSTRAP"

N=500
: >"$TMP/in"
for i in $(seq 0 $((N - 1))); do
    echo "user-$((i % 37))|payload $i: some text, \"quotes\", tabs	and | pipes" >>"$TMP/in"
done
FMT='%p|%o|%k|%s|%h\n'

for codec in none gzip snappy lz4 zstd; do
    # ---- 1. libsluice -> kcat ------------------------------------------------
    t "$SL" topic create "s2k-$codec" --partitions 4 >/dev/null || fail "create s2k-$codec"
    t "$SL" produce "s2k-$codec" "$TMP/in" --key-separator '|' --header "codec=$codec" --header h2=x=y \
        --compression "$codec" --batch-size 4096 2>/dev/null || fail "sluice produce $codec"
    "${KC[@]}" -C -t "s2k-$codec" -o beginning -e -q -f "$FMT" | LC_ALL=C sort >"$TMP/kcat.out" ||
        fail "kcat consume $codec"
    t "$SL" consume "s2k-$codec" --exit-at-end --format "$FMT" | LC_ALL=C sort >"$TMP/sluice.out" ||
        fail "sluice consume $codec"
    [ "$(wc -l <"$TMP/kcat.out")" -eq $N ] || fail "$codec: kcat read $(wc -l <"$TMP/kcat.out") of $N"
    cmp -s "$TMP/kcat.out" "$TMP/sluice.out" || { diff "$TMP/kcat.out" "$TMP/sluice.out" | head; fail "$codec: kcat and libsluice disagree"; }
    # the expected rows: murmur2 partitions (Kafka's Java client), offsets in input order
    python3 - "$TMP/in" "$codec" <<'EOF' | LC_ALL=C sort >"$TMP/expected" || fail "python expected"
import sys
def murmur2(data):
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4*i:4*i+4], "little")
        k = (k * m) & 0xffffffff; k ^= k >> r; k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff; h ^= k
    tail = data[4*n4:]
    if len(tail) >= 3: h ^= tail[2] << 16
    if len(tail) >= 2: h ^= tail[1] << 8
    if len(tail) >= 1:
        h ^= tail[0]; h = (h * m) & 0xffffffff
    h ^= h >> 13; h = (h * m) & 0xffffffff; h ^= h >> 15
    return h
nexto = {}
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    k, v = line.split("|", 1)
    p = (murmur2(k.encode()) & 0x7fffffff) % 4
    o = nexto.get(p, 0); nexto[p] = o + 1
    print("%d|%d|%s|%s|codec=%s,h2=x=y" % (p, o, k, v, sys.argv[2]))
EOF
    cmp -s "$TMP/expected" "$TMP/kcat.out" || { diff "$TMP/expected" "$TMP/kcat.out" | head; fail "$codec: records or partitions differ from Kafka's murmur2"; }

    # ---- 2. kcat -> libsluice ------------------------------------------------
    t "$SL" topic create "k2s-$codec" --partitions 4 >/dev/null || fail "create k2s-$codec"
    "${KC[@]}" -P -t "k2s-$codec" -K '|' -z "$codec" -X partitioner=murmur2_random -H "codec=$codec" \
        -l "$TMP/in" || fail "kcat produce $codec"
    "${KC[@]}" -C -t "k2s-$codec" -o beginning -e -q -f "$FMT" | LC_ALL=C sort >"$TMP/kcat2.out"
    t "$SL" consume "k2s-$codec" --exit-at-end --format "$FMT" | LC_ALL=C sort >"$TMP/sluice2.out" ||
        fail "sluice consume k2s-$codec"
    [ "$(wc -l <"$TMP/sluice2.out")" -eq $N ] || fail "$codec: libsluice read $(wc -l <"$TMP/sluice2.out") of $N"
    cmp -s "$TMP/kcat2.out" "$TMP/sluice2.out" || { diff "$TMP/kcat2.out" "$TMP/sluice2.out" | head; fail "$codec: libsluice reads kcat's records differently"; }
    # same keys, same partitions, whichever client produced them
    cut -d'|' -f1,3 "$TMP/kcat2.out" | sort -u >"$TMP/kp1"
    cut -d'|' -f1,3 "$TMP/kcat.out" | sort -u >"$TMP/kp2"
    [ "$(wc -l <"$TMP/kp1")" -eq 37 ] || fail "$codec: expected 37 distinct keys"
    cmp -s "$TMP/kp1" "$TMP/kp2" || fail "$codec: librdkafka murmur2 and libsluice chose different partitions"
    echo "ok: $codec: libsluice -> kcat and kcat -> libsluice, $N records identical, murmur2 partitions agree"
done
echo "PASS"
