#!/bin/sh
# Installs the SDK from a passerelle build into a scratch prefix, builds the
# out-of-tree example module against that prefix only, installs it, and loads
# it with the module harness (test_hello_load), then with the real daemon
# (hello_in_daemon.py: `passerelle modules`, `check`, `run`, its action over the
# control API, SIGTERM).
# usage: sdk_out_of_tree.sh <build dir> <example dir> <test_hello_load> <work dir> <cmake> <generator> <c++ compiler>
#                           <passerelle binary> <python3>
set -eu
build_dir=$1 example=$2 loader=$3 work=$4 cmake=$5 generator=$6 cxx=$7 passerelle=$8 python=$9
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work"
mkdir -p "$work"
step() { echo "== $*"; }

step "install the SDK (component sdk) into $work/prefix"
"$cmake" --install "$build_dir" --component sdk --prefix "$work/prefix"
for f in include/passerelle/abi.h include/passerelle/module.hpp \
         lib/cmake/passerelle/passerelleConfig.cmake lib/cmake/passerelle/passerelle-module.cmake; do
  [ -f "$work/prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done

step "configure and build $example against it"
"$cmake" -S "$example" -B "$work/build" -G "$generator" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix"
"$cmake" --build "$work/build"

step "install the module"
"$cmake" --install "$work/build" --prefix "$work/installed"
so="$work/installed/lib/passerelle/hello.so"
[ -f "$so" ] || { echo "hello.so was not installed in lib/passerelle"; exit 1; }

# Hidden visibility: the entry point is the only function the module exports.
if command -v nm >/dev/null 2>&1; then
  exported=$(nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }')
  if [ "$exported" != "passerelle_module_v1" ]; then
    echo "hello.so should export only passerelle_module_v1, exports:"; echo "$exported"; exit 1
  fi
fi

step "load it with the module harness"
PASSERELLE_HELLO_SO="$so" "$loader"

step "load it into the daemon: passerelle modules, check, run, action, SIGTERM"
PYTHONDONTWRITEBYTECODE=1 "$python" "$here/hello_in_daemon.py" "$passerelle" "$work/installed/lib/passerelle"
