#!/bin/sh
# queue-handover.sh BUILD_DIR [N]: queue N messages (default 500) for a user
# who is offline, one `chatctl send` each, then time their hand-over at her
# login: until all N are in her inbox, and until the sender's outbox is empty
# (every forwarded receipt verified).  Prints the figures of doc/offline-queue.md.
set -eu
B=${1:?usage: queue-handover.sh BUILD_DIR [N]}
N=${2:-500}
T=$(mktemp -d)
P=$B/plugins/plugin-dir
CTL=$B/ctl/chatctl
now () { date +%s.%N; }
elapsed () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
cleanup () {
  for s in c a s; do [ -S "$T/$s.sock" ] && $CTL --socket "$T/$s.sock" shutdown >/dev/null 2>&1 || true; done
  rm -rf "$T"
}
trap cleanup EXIT
printf '[chatd]\nserver=true\n[server]\nkdf-memory-kib=256\nkdf-passes=1\npow-bits=6\nqueue-limit=%s\n' \
  $((N + 10)) > "$T/s.conf"
"$B/daemon/chatd" --server --listen 127.0.0.1:0 --daemon --config "$T/s.conf" --socket "$T/s.sock" \
  --state-dir "$T/s" --plugin-dir "$P"
$CTL --socket "$T/s.sock" seed >/dev/null
C=$($CTL --socket "$T/s.sock" --json status | jq -r .listen)
CHATD_PASSWORD=Alice "$B/daemon/chatd" --user Alice --connect "$C" --daemon --socket "$T/a.sock" \
  --state-dir "$T/a" --plugin-dir "$P"
t0=$(now)
i=0
while [ $i -lt "$N" ]; do
  $CTL --socket "$T/a.sock" send Charlie "queued message $i" >/dev/null
  i=$((i + 1))
done
t1=$(now)
CHATD_PASSWORD=Charlie "$B/daemon/chatd" --user Charlie --connect "$C" --daemon --socket "$T/c.sock" \
  --state-dir "$T/c" --plugin-dir "$P"
t2=$(now)
while [ "$($CTL --socket "$T/c.sock" --json recv | jq length)" -lt "$N" ]; do sleep 0.05; done
t3=$(now)
while [ "$($CTL --socket "$T/a.sock" --json outbox | jq length)" -gt 0 ]; do sleep 0.05; done
t4=$(now)
echo "queue-handover: $N messages"
echo "  queueing, one chatctl send each:      $(elapsed "$t0" "$t1") s"
echo "  login to all $N in the inbox:         $(elapsed "$t2" "$t3") s"
echo "  login to the sender's outbox empty:   $(elapsed "$t2" "$t4") s"
$CTL --socket "$T/s.sock" stats | grep '^queue\.' | sed 's/^/  server /'
