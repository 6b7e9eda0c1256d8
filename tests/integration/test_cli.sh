#!/usr/bin/env bash
# tests/integration/test_cli.sh -- the `sluice` CLI through a whole workflow
# against a real broker: topic create/list/describe/alter, produce (keys,
# headers, explicit timestamps, every codec), consume (formats, json,
# --partition, --from OFFSET/@TS/latest, --count), consume in a group,
# group list/describe/reset-offsets/delete, replay of a time window to JSON
# and CSV (timestamp order across partitions, --output), topic delete, and
# the error paths (unknown topic, unreachable broker, bad arguments, --help).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sluice_tmp cli

# run CMD with a deadline so a hang fails the test instead of blocking it
t() { timeout 60 "$@"; }

start_broker
export SLUICE_BOOTSTRAP="127.0.0.1:$PORT"
echo "broker at $SLUICE_BOOTSTRAP"

# ---- help and usage errors --------------------------------------------------
for c in "" "topic" "produce" "consume" "group" "replay"; do
    # shellcheck disable=SC2086
    t "$SL" $c --help >"$TMP/help" 2>&1 || fail "sluice $c --help exited non-zero"
    grep -q usage "$TMP/help" || fail "sluice $c --help printed no usage"
done
t "$SL" frobnicate >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$TMP/err" || fail "unknown command: rc $rc, $(cat "$TMP/err")"
t "$SL" topic create x --partitions zero >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--partitions" "$TMP/err" || fail "bad --partitions: rc $rc, $(cat "$TMP/err")"
t "$SL" consume x --from yesterday >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "yesterday" "$TMP/err" || fail "bad --from: rc $rc"
t "$SL" -b 127.0.0.1:1 topic list >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "127.0.0.1:1" "$TMP/err" && grep -qi "unreachable\|refused" "$TMP/err" ||
    fail "unreachable broker: rc $rc, $(cat "$TMP/err")"
t "$SL" consume nosuchtopic --exit-at-end >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "unknown topic 'nosuchtopic'" "$TMP/err" || fail "unknown topic: rc $rc, $(cat "$TMP/err")"
echo "hello" | t "$SL" produce nosuchtopic >/dev/null 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] && grep -q "unknown topic 'nosuchtopic'" "$TMP/err" || fail "produce unknown topic: rc $rc"
echo "ok: --help, usage errors (exit 2), unreachable broker and unknown topic (exit 1) name the problem"

# ---- topics -------------------------------------------------------------------
t "$SL" topic create events --partitions 3 --config retention.ms=864000000 >/dev/null || fail "topic create"
t "$SL" topic create events --partitions 3 >/dev/null 2>"$TMP/err" && fail "duplicate create succeeded"
grep -q "TOPIC_ALREADY_EXISTS" "$TMP/err" || fail "duplicate create: $(cat "$TMP/err")"
t "$SL" topic create other >/dev/null || fail "topic create other"
[ "$(t "$SL" topic list | tr '\n' ' ')" = "events other " ] || fail "topic list: $(t "$SL" topic list)"
t "$SL" topic describe events >"$TMP/desc" || fail "topic describe"
grep -q "Partitions: 3" "$TMP/desc" && grep -q "retention.ms=864000000" "$TMP/desc" &&
    [ "$(grep -c 'Partition: ' "$TMP/desc")" -eq 3 ] || { cat "$TMP/desc"; fail "describe output"; }
t "$SL" topic alter events --config retention.ms=900000000 >/dev/null || fail "topic alter --config"
t "$SL" topic describe events | grep -q "retention.ms=900000000" || fail "alter not visible"
t "$SL" topic alter other --partitions 2 >/dev/null || fail "topic alter --partitions"
t "$SL" topic describe other | grep -q "Partitions: 2" || fail "partitions not added"
echo "ok: topic create/list/describe/alter (configs, partitions)"

# ---- produce: three time windows, keyed, with headers -----------------------
# window A at T0, B at T0+10000, C at T0+20000; 30 records each
# (recent, so that retention never touches them; whole seconds)
T0=$(( ($(date +%s) - 3600) * 1000 ))
for w in 0 1 2; do
    ts=$((T0 + w * 10000))
    for i in $(seq 0 29); do echo "key$((i % 10))|w$w-rec$i"; done >"$TMP/w$w"
    t "$SL" produce events "$TMP/w$w" --key-separator '|' --header "win=$w" --header src=cli \
        --timestamp "$ts" 2>/dev/null || fail "produce window $w"
done
# keyed records: one key always on the same partition (murmur2)
t "$SL" consume events --exit-at-end --format '%k %p' | sort -u >"$TMP/kp"
[ "$(wc -l <"$TMP/kp")" -eq 10 ] || { cat "$TMP/kp"; fail "a key landed on several partitions"; }
# every codec and acks setting round-trips
for c in none gzip lz4 zstd snappy; do
    for a in 0 1 all; do
        echo "codec $c acks $a" | t "$SL" produce other --compression "$c" --acks "$a" --partition 1 2>/dev/null ||
            fail "produce --compression $c --acks $a"
    done
done
t "$SL" consume other --partition 1 --exit-at-end >"$TMP/codecs"
[ "$(wc -l <"$TMP/codecs")" -eq 15 ] && grep -q "codec zstd acks all" "$TMP/codecs" ||
    { cat "$TMP/codecs"; fail "codec round trip"; }
echo "ok: produce with keys, headers, timestamps, every codec and acks 0/1/all"

# ---- consume --------------------------------------------------------------------
t "$SL" consume events --exit-at-end >"$TMP/all" || fail "consume"
[ "$(wc -l <"$TMP/all")" -eq 90 ] || fail "consume got $(wc -l <"$TMP/all") of 90"
t "$SL" consume events --exit-at-end --format json >"$TMP/all.json" || fail "consume json"
python3 - "$TMP/all.json" "$T0" <<'EOF' || fail "consume --format json"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
t0 = int(sys.argv[2])
assert len(recs) == 90, len(recs)
for r in recs:
    assert r["topic"] == "events"
    assert r["headers"]["src"] == "cli", r
    w = int(r["headers"]["win"])
    assert r["value"].startswith("w%d-" % w), r
    assert r["timestamp"] == t0 + w * 10000, r
    assert r["key"].startswith("key")
EOF
t "$SL" consume events --partition 1 --exit-at-end --format '%t/%p/%o/%k/%s/%T/%h' >"$TMP/p1"
p1n=$(wc -l <"$TMP/p1")
[ "$p1n" -gt 0 ] || fail "partition 1 empty"
head -1 "$TMP/p1" | grep -Eq "^events/1/0/key[0-9]/w0-rec[0-9]+/$T0/win=0,src=cli\$" ||
    fail "format: $(head -1 "$TMP/p1")"
t "$SL" consume events --partition 1 --from 2 --count 1 --format '%o' | grep -qx 2 || fail "--from OFFSET"
t "$SL" consume events --partition 1 --from @$((T0 + 20000)) --count 1 --format '%s' | grep -q '^w2-' ||
    fail "--from @TS"
t "$SL" consume events --from latest --exit-at-end | wc -l | grep -qx 0 || fail "--from latest"
t "$SL" consume events --count 5 | wc -l | grep -qx 5 || fail "--count"
echo "ok: consume (kcat placeholders, json, --partition, --from OFFSET/@TS/latest, --count)"

# ---- groups ---------------------------------------------------------------------
t "$SL" consume events --group analytics --count 40 >"$TMP/g1" || fail "group consume 1"
[ "$(wc -l <"$TMP/g1")" -eq 40 ] || fail "group consume 1 got $(wc -l <"$TMP/g1")"
t "$SL" group list | grep -qx analytics || fail "group list"
t "$SL" group describe analytics >"$TMP/gd" || fail "group describe"
total_committed=$(awk -F'\t' '$1=="events"{s+=$3} END{print s+0}' "$TMP/gd")
[ "$total_committed" -eq 40 ] || { cat "$TMP/gd"; fail "committed sum $total_committed, want 40"; }
t "$SL" consume events --group analytics --exit-at-end >"$TMP/g2" || fail "group consume 2"
[ "$(wc -l <"$TMP/g2")" -eq 50 ] || fail "group consume 2 got $(wc -l <"$TMP/g2") of the remaining 50"
sort "$TMP/g1" "$TMP/g2" | uniq -d | grep -q . && fail "group delivered a record twice"
t "$SL" group describe analytics | awk -F'\t' '$1=="events"{s+=$5} END{exit !(s==0)}' || fail "lag not 0"
t "$SL" group reset-offsets analytics --topic events --to earliest >/dev/null || fail "reset-offsets earliest"
t "$SL" consume events --group analytics --exit-at-end | wc -l | grep -qx 90 || fail "after reset to earliest"
t "$SL" group reset-offsets analytics --topic events --to @$((T0 + 20000)) >/dev/null || fail "reset-offsets @TS"
t "$SL" consume events --group analytics --exit-at-end >"$TMP/g3"
[ "$(wc -l <"$TMP/g3")" -eq 30 ] && ! grep -vq '^w2-' "$TMP/g3" || fail "after reset to @TS: $(wc -l <"$TMP/g3")"
t "$SL" group delete analytics >/dev/null || fail "group delete"
t "$SL" group list | grep -qx analytics && fail "group still listed"
t "$SL" group describe nosuchgroup >/dev/null 2>"$TMP/err" && fail "describe unknown group succeeded"
grep -q "nosuchgroup" "$TMP/err" || fail "unknown group message: $(cat "$TMP/err")"
echo "ok: consume --group, group list/describe (offsets, lag)/reset-offsets (earliest, @TS)/delete"

# ---- replay ---------------------------------------------------------------------
# window B only: [T0+10000, T0+20000)
t "$SL" replay events --from @$((T0 + 10000)) --to @$((T0 + 20000)) --format json >"$TMP/r.json" \
    2>"$TMP/r.err" || fail "replay json: $(cat "$TMP/r.err")"
grep -q "replayed 30 record" "$TMP/r.err" || fail "replay summary: $(cat "$TMP/r.err")"
python3 - "$TMP/r.json" "$T0" <<'EOF' || fail "replay json content"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 30, len(recs)
assert all(r["value"].startswith("w1-") for r in recs), recs
assert all(r["timestamp"] == int(sys.argv[2]) + 10000 for r in recs)
assert sorted(r["value"] for r in recs) == sorted("w1-rec%d" % i for i in range(30))
EOF
# everything, CSV to a file: header row, 90 rows, timestamps non-decreasing
t "$SL" replay events --format csv --output "$TMP/r.csv" 2>/dev/null || fail "replay csv"
python3 - "$TMP/r.csv" <<'EOF' || fail "replay csv content"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert rows[0] == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"], rows[0]
body = rows[1:]
assert len(body) == 90, len(body)
ts = [int(r[3]) for r in body]
assert ts == sorted(ts), "not in timestamp order"
assert {r[6] for r in body} == {"win=0,src=cli", "win=1,src=cli", "win=2,src=cli"}
seen = {(r[1], r[2]) for r in body}
assert len(seen) == 90
EOF
# offsets window on one partition: [2, 5)
t "$SL" replay events --partition 1 --from 2 --to 5 --format csv 2>/dev/null | tail -n +2 | cut -d, -f3 |
    tr '\n' ' ' | grep -qx "2 3 4 " || fail "replay offsets window"
echo "ok: replay time window to JSON, whole topic to CSV (header, timestamp order), offset window"

# ---- delete ---------------------------------------------------------------------
t "$SL" topic delete other >/dev/null || fail "topic delete"
wait_for sh -c "! '$SL' topic list | grep -qx other" || fail "deleted topic still listed"
t "$SL" topic delete other >/dev/null 2>"$TMP/err" && fail "deleting twice succeeded"
grep -q "UNKNOWN_TOPIC_OR_PARTITION" "$TMP/err" || fail "delete unknown: $(cat "$TMP/err")"
echo "ok: topic delete"
echo "PASS"
