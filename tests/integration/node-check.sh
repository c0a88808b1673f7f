# node-check.sh: sourced by the shell integration tests.
#
# stop_node_checked CHATCTL SOCKET LOG: asks the --daemon node answering on
# SOCKET to shut down, waits (at most 20 s) until it has exited, and fails if it
# did not end cleanly ("node '...' stopped" in LOG) or if LOG holds a critical
# message or a sanitizer report (the sanitizer build's daemons write theirs
# there: make check's build-asan/).
stop_node_checked () {
  _ctl=$1 _sock=$2 _log=$3
  _pid=$("$_ctl" --socket "$_sock" status 2>/dev/null | sed -n 's/^pid  *//p')
  if [ -z "$_pid" ]; then
    echo "no node answers on $_sock; its log:"; cat "$_log"; return 1
  fi
  "$_ctl" --socket "$_sock" shutdown >/dev/null
  _i=0
  while kill -0 "$_pid" 2>/dev/null; do
    _i=$((_i + 1))
    if [ "$_i" -ge 200 ]; then
      kill -9 "$_pid"; echo "node $_pid did not stop within 20 s"; return 1
    fi
    sleep 0.1
  done
  if grep -q 'Sanitizer\|runtime error\|CRITICAL' "$_log" || ! grep -q "node '.*' stopped" "$_log"; then
    echo "the node did not stop cleanly or logged a sanitizer report:"; cat "$_log"; return 1
  fi
}

# fails if a file with a process's stderr holds a sanitizer report
no_sanitizer_report () {
  if grep -q 'Sanitizer\|runtime error' "$1"; then
    echo "sanitizer report:"; cat "$1"; return 1
  fi
}
