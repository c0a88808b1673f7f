#!/bin/sh
# chat-bench-smoke.sh CHAT-BENCH: runs `chat-bench --quick` (suite chatd) and
# checks the shape of its table: one row per suite, size, load generator and
# in-flight count
# with numbers in every column, and Bob's inbox holding every message
# exactly once for each suite (chat-bench checks that itself and exits 1).
set -u
out=$("$1" --quick)
status=$?
printf '%s\n' "$out"
[ "$status" -eq 0 ] || { echo "chat-bench --quick exited with $status"; exit 1; }
printf '%s\n' "$out" | grep -Eq '^mode +load +suite +size +inflight +messages +msgs/s +client/s +p50 ms +p99 ms +p99.9 ms +alice s/k +bob s/k +server s/k$' ||
  { echo "no table header"; exit 1; }
num='[0-9]+(\.[0-9]+)?'
for mode in envelope session; do
for suite in rsa 25519; do
  for size in 100 4096; do
    for row in "ctl 1" "ctl 16" "node 16"; do
      set -- $row
      printf '%s\n' "$out" | grep -Eq "^$mode +$1 +$suite +$size +$2 +[1-9][0-9]* +$num +$num +$num +$num +$num +$num +$num +$num\$" ||
        { echo "no complete row for $mode, $suite, $size B, load $1, $2 in flight"; exit 1; }
    done
  done
  printf '%s\n' "$out" | grep -Eq "^$mode $suite: Bob's inbox holds ([0-9]+) messages \\(\\1 distinct\\); \\1 sends delivered; \\1 message events, 0 doubled; 0 event ids not in the inbox: ok\$" ||
    { echo "no passed inbox check for $mode $suite"; exit 1; }
done
done
printf '%s\n' "$out" | grep -Eq '^control path alone .*: [0-9]+ with 1 in flight, [0-9]+ with 16 in flight' ||
  { echo "no control path figure"; exit 1; }
printf '%s\n' "$out" | grep -Eq '^bench-send alone .*: [0-9]+ with 16 in flight$' ||
  { echo "no bench-send figure"; exit 1; }
echo "chat-bench-smoke: ok"
