#!/usr/bin/env bash
# Build the exact-inference peers of `ebm factor infer` outside the repository:
# libDAI (github dbtsai/libDAI) with the JTree driver `libdai_jtree.cpp` beside this script,
# and Merlin 1.7 (github radum2275/merlin). One job at a time (make -j1): the machine is shared.
#
# Usage: benches/exact_peers/build.sh [PREFIX]   (default /tmp/exact_peers)
# Sources: LIBDAI_GIT and MERLIN_GIT name bare git directories (e.g. the mirrors of the
# search tool's `fetch`); otherwise they are cloned from GitHub.
# Needs: g++, make, cmake, libboost-dev, libboost-program-options-dev, libboost-thread-dev
# (Merlin's cmake asks for the program_options and thread components), libgmp-dev.
set -euo pipefail
for tool in git g++ make cmake; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (apt-get install -y $tool)" >&2; exit 2; }
done
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${1:-/tmp/exact_peers}"
mkdir -p "$prefix"

unpack() { # unpack GIT_DIR_OR_EMPTY URL DEST
    if [ -d "$3" ]; then return; fi
    mkdir -p "$3"
    if [ -n "$1" ]; then
        git --git-dir="$1" archive HEAD | tar -x -C "$3"
    else
        git clone --depth 1 "$2" "$3"
    fi
}

# libDAI: Makefile.conf from Makefile.LINUX, boost libraries without the -mt suffix.
unpack "${LIBDAI_GIT:-}" https://github.com/dbtsai/libDAI "$prefix/libdai"
cd "$prefix/libdai"
sed -e 's/-lboost_program_options-mt/-lboost_program_options/' \
    -e 's/-lboost_unit_test_framework-mt/-lboost_unit_test_framework/' \
    Makefile.LINUX > Makefile.conf
make -j1 DEBUG= WITH_MATLAB= WITH_CIMG= WITH_DOC= lib
g++ -O3 -DNDEBUG -Iinclude -o "$prefix/libdai_jtree" "$here/libdai_jtree.cpp" lib/libdai.a -lgmpxx -lgmp

# Merlin: cmake release build.
unpack "${MERLIN_GIT:-}" https://github.com/radum2275/merlin "$prefix/merlin"
mkdir -p "$prefix/merlin/build"
cd "$prefix/merlin/build"
cmake -DCMAKE_BUILD_TYPE=Release ..
make -j1
find "$prefix/merlin/build" -maxdepth 2 -type f -name merlin -perm -u+x -exec cp {} "$prefix/merlin_bin" \;
echo "built: $prefix/libdai_jtree $prefix/merlin_bin"
