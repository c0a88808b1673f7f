#!/bin/sh
# A suite plugin whose known-answer vector is wrong is refused when chatd
# loads it: skipped with a warning naming it, or, if critical, chatd refuses
# to start.  usage: bad-suite-refused.sh CHATD CHATCTL PLUGIN_DIR BAD_MODULE
set -eu
CHATD=$1 CHATCTL=$2 PLUGINS=$3 BAD=$4
WORK=$(mktemp -d /tmp/chatd-badkat.XXXXXX)
SOCK="$WORK/run/s.sock"
trap '"$CHATCTL" --socket "$SOCK" shutdown >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/plugins"
for p in "$PLUGINS"/*.so "$BAD"; do ln -s "$(readlink -f "$p")" "$WORK/plugins/"; done

"$CHATD" --server --listen 127.0.0.1:0 --daemon --socket "$SOCK" --state-dir "$WORK/state" --plugin-dir "$WORK/plugins"
grep -q "bad-kat-suite.*refused.*skipped" "$WORK/state/chatd.log" \
  || { echo "no refusal in the log:"; cat "$WORK/state/chatd.log"; exit 1; }
if "$CHATCTL" --socket "$SOCK" plugins | grep -q '^bad-kat-suite'; then
  echo "the bad suite was loaded"; exit 1
fi
"$CHATCTL" --socket "$SOCK" plugins | grep -q "suite 25519" || { echo "suite 25519 missing"; exit 1; }
"$CHATCTL" --socket "$SOCK" shutdown >/dev/null

printf '[chatd]\nserver=true\n[plugins]\ncritical=cmd-core;bad-kat-suite\n' > "$WORK/critical.conf"
if "$CHATD" --config "$WORK/critical.conf" --socket "$SOCK" --state-dir "$WORK/state" \
     --plugin-dir "$WORK/plugins" 2> "$WORK/err"; then
  echo "chatd started with a critical suite that fails its known answers"; exit 1
fi
grep -q "critical plugin.*bad-kat-suite" "$WORK/err" || { echo "unexpected error:"; cat "$WORK/err"; exit 1; }
echo "bad suite refused at load time: ok"
