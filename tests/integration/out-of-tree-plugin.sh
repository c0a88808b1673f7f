#!/bin/sh
# A plugin built out of tree, only against the installed headers and
# chatd-plugin.pc, is loaded by chatd and its command works through chatctl.
# usage: out-of-tree-plugin.sh BUILD_DIR SOURCE_DIR
set -eu
BUILD=$1
SRC=$2
WORK=$(mktemp -d /tmp/chatd-oot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

meson install -C "$BUILD" --destdir "$WORK/root" --no-rebuild --quiet >/dev/null
PC_DIR=$(dirname "$(find "$WORK/root" -name chatd-plugin.pc | head -1)")
[ -n "$PC_DIR" ] || { echo "chatd-plugin.pc was not installed"; exit 1; }
# the installed .pc file names the real prefix (/usr/local): relocate a copy
# of it into the temporary root, as if it were installed there
mkdir -p "$WORK/pc"
PREFIX=$(sed -n 's/^prefix=//p' "$PC_DIR/chatd-plugin.pc")
sed "s|^prefix=.*|prefix=$WORK/root$PREFIX|" "$PC_DIR/chatd-plugin.pc" > "$WORK/pc/chatd-plugin.pc"
export PKG_CONFIG_PATH="$WORK/pc"
PC=pkg-config

mkdir -p "$WORK/plugins"
cp "$SRC/plugins/example-hello/hello.c" "$WORK/greeter.c"
# shellcheck disable=SC2046
cc -shared -fPIC -Wall -Werror -o "$WORK/plugins/greeter.so" "$WORK/greeter.c" \
   $($PC --cflags --libs chatd-plugin)

# the installed plugin directory is announced by the .pc file
$PC --variable=plugindir chatd-plugin | grep -q '/chatd/plugins$'

# run chatd with the installed cmd-core plus only the out-of-tree plugin
# (the installed example-hello is disabled: same command name)
CORE=$(find "$WORK/root" -name cmd-core.so | head -1)
cp "$CORE" "$WORK/plugins/"
cat > "$WORK/chatd.conf" <<CONF
[plugins]
critical=greeter;cmd-core
CONF
SOCK="$WORK/run/s.sock"
"$BUILD/daemon/chatd" --server --listen 127.0.0.1:0 --daemon --config "$WORK/chatd.conf" --socket "$SOCK" \
  --state-dir "$WORK/state" --plugin-dir "$WORK/plugins"
trap '"$BUILD/ctl/chatctl" --socket "$SOCK" shutdown >/dev/null 2>&1; rm -rf "$WORK"' EXIT
out=$("$BUILD/ctl/chatctl" --socket "$SOCK" hello --greeting Howdy Carol)
[ "$out" = "Howdy, Carol!" ] || { echo "unexpected output: $out"; exit 1; }
"$BUILD/ctl/chatctl" --socket "$SOCK" plugins | grep -q "^greeter .*$WORK/plugins/greeter.so" \
  || { echo "greeter not listed by chatctl plugins"; "$BUILD/ctl/chatctl" --socket "$SOCK" plugins; exit 1; }
echo "out-of-tree plugin built with pkg-config and loaded: ok"
