#!/bin/sh
# The files in data/ do what they claim: the sample config is accepted by
# chatd as it ships, the completion script is valid bash and completes a
# plugin's command from a running node, the unit never carries a password.
# usage: data-files.sh SOURCE_DIR CHATD CHATCTL PLUGIN_DIR
set -eu
SRC=$1 CHATD=$2 CHATCTL=$3 PLUGINS=$4
WORK=$(mktemp -d /tmp/chatd-data.XXXXXX)
SOCK="$WORK/run/server.sock"
trap '"$CHATCTL" --socket "$SOCK" shutdown >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

"$CHATD" --server --listen 127.0.0.1:0 --daemon --config "$SRC/data/chatd.conf" --socket "$SOCK" \
  --state-dir "$WORK/state" --plugin-dir "$PLUGINS"
"$CHATCTL" --socket "$SOCK" status >/dev/null

bash -n "$SRC/data/chatctl.bash-completion"
# complete "chatctl --socket S hel" against the running node
words=$(CHATCTL_BIN="$CHATCTL" bash -c '
  . "$1"
  chatctl() { "$CHATCTL_BIN" "$@"; }
  COMP_WORDS=(chatctl --socket "$2" hel); COMP_CWORD=3
  _chatctl; echo "${COMPREPLY[*]}"' _ "$SRC/data/chatctl.bash-completion" "$SOCK")
for w in hello help; do
  case " $words " in *" $w "*) ;; *) echo "completion of 'hel' gave '$words', without $w"; exit 1 ;; esac
done

grep -q '^LoadCredential=' "$SRC/data/chatd@.service.in"
if grep -qi 'CHATD_PASSWORD=\|password=' "$SRC/data/chatd@.service.in"; then
  echo "the unit must not carry a password"; exit 1
fi
echo "data files: ok"
