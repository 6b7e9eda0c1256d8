#!/usr/bin/env bash
# tests/integration/test_cli_groups.sh -- two libsluice consumers in one
# group split a topic: `sluice consume TOPIC --group G` twice in parallel.
#   1. Both consumers start on an empty 4-partition topic; the test waits
#      until `sluice group describe` shows the group Stable with 2 members,
#      each assigned partitions, none assigned twice, all 4 covered.
#   2. 400 keyed records are produced; both consumers print them (line
#      buffered) until together they have all 400.
#   3. Both get SIGTERM and must exit 0 (commit, leave the group).
# Checks: each consumer got a share (> 0 records); the shares come from
# disjoint partition sets matching their assignments; together every
# record exactly once; each partition's records in offset order; after
# both left, the committed offsets cover the whole topic (lag 0).
set -u
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
sluice_tmp cligroups
C1=""
C2=""
cleanup_extra() {
    stop_pid "$C1"
    stop_pid "$C2"
}
fail_extra() {
    echo "---- consumer 1 stderr"; tail -20 "$TMP/c1.err" 2>/dev/null
    echo "---- consumer 2 stderr"; tail -20 "$TMP/c2.err" 2>/dev/null
}
t() { timeout 60 "$@"; }

start_broker
export SLUICE_BOOTSTRAP="127.0.0.1:$PORT"
echo "broker at $SLUICE_BOOTSTRAP"

N=400
NP=4
TOPIC=split
G=splitters
t "$SL" topic create "$TOPIC" --partitions "$NP" >/dev/null || fail "topic create"

# 1. two members, line-buffered output so the test can count as they go
# (stdbuf preloads a library; an ASan build must be told that is fine)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
for i in 1 2; do
    stdbuf -oL "$SL" consume "$TOPIC" --group "$G" --from earliest --format '%p|%o|%k|%s\n' \
        >"$TMP/c$i.out" 2>"$TMP/c$i.err" &
    eval "C$i=\$!"
done
stable() {
    t "$SL" group describe "$G" >"$TMP/gd" 2>/dev/null || return 1
    grep -q 'State: Stable.*Members: 2' "$TMP/gd" || return 1
    # every member has an assignment; the union is all partitions, no overlap
    local parts
    parts=$(grep -o 'Assignment: .*' "$TMP/gd" | sed 's/Assignment: //' | tr ',' '\n' | grep -v '^$')
    [ "$(grep -c 'Assignment: [^ ]' "$TMP/gd")" -eq 2 ] || return 1
    [ "$(echo "$parts" | sort -u | wc -l)" -eq "$NP" ] || return 1
    [ "$(echo "$parts" | wc -l)" -eq "$NP" ] || return 1
}
wait_for stable || { cat "$TMP/gd" 2>/dev/null; fail "group did not become Stable with 2 members splitting $NP partitions"; }
kill -0 "$C1" 2>/dev/null && kill -0 "$C2" 2>/dev/null || fail "a consumer exited early"
echo "ok: group Stable, 2 members: $(grep -o 'Assignment: .*' "$TMP/gd" | tr '\n' ' ')"

# 2. produce; wait until the two outputs hold every record
for i in $(seq 0 $((N - 1))); do echo "key-$i|value-$i"; done >"$TMP/in"
t "$SL" produce "$TOPIC" "$TMP/in" --key-separator '|' 2>/dev/null || fail "produce"
all_in() { [ "$(cat "$TMP/c1.out" "$TMP/c2.out" | wc -l)" -ge "$N" ]; }
wait_for all_in || fail "consumers got $(cat "$TMP/c1.out" "$TMP/c2.out" | wc -l) of $N records"

# 3. both leave cleanly
for i in 1 2; do
    eval "pid=\$C$i"
    kill -TERM "$pid"
    deadline=$(( $(date +%s) + 60 ))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$(date +%s)" -ge "$deadline" ] && fail "consumer $i did not exit after SIGTERM"
        sleep 0.05
    done
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || fail "consumer $i exited $rc"
    eval "C$i="
done

n1=$(wc -l <"$TMP/c1.out")
n2=$(wc -l <"$TMP/c2.out")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "one consumer got nothing ($n1 / $n2)"
[ $((n1 + n2)) -eq "$N" ] || fail "together $((n1 + n2)) records, want $N (duplicates?)"
cut -d'|' -f3,4 "$TMP/c1.out" "$TMP/c2.out" | sort >"$TMP/got"
sort "$TMP/in" >"$TMP/want"
cmp -s "$TMP/got" "$TMP/want" || { diff "$TMP/want" "$TMP/got" | head; fail "records differ from what was produced"; }
p1=$(cut -d'|' -f1 "$TMP/c1.out" | sort -u | tr '\n' ' ')
p2=$(cut -d'|' -f1 "$TMP/c2.out" | sort -u | tr '\n' ' ')
for p in $p1; do
    case " $p2 " in *" $p "*) fail "partition $p read by both consumers ($p1/ $p2)" ;; esac
done
for f in c1 c2; do
    for p in $(cut -d'|' -f1 "$TMP/$f.out" | sort -u); do
        awk -F'|' -v p="$p" '$1==p{ if (n++ && $2 != last + 1) exit 1; last = $2 } END{}' "$TMP/$f.out" ||
            fail "$f: partition $p offsets not consecutive"
    done
done
echo "ok: consumer 1 got $n1 records from partitions $p1, consumer 2 got $n2 from $p2; together all $N exactly once"

t "$SL" group describe "$G" >"$TMP/gd2" || fail "group describe after"
lag=$(awk -F'\t' -v tp="$TOPIC" '$1==tp{s+=$5; n++} END{print (n == 0 ? -1 : s)}' "$TMP/gd2")
[ "$lag" = 0 ] || { cat "$TMP/gd2"; fail "lag after both left: $lag"; }
echo "ok: committed offsets cover the topic (lag 0)"
echo "PASS"
