#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer (issue 20): builds
# everything with -fsanitize=address,undefined in build-sanitize/ (DIPACO_SANITIZE=ON) and runs
# ctest there. LibTorch itself is not instrumented; the project's LibTorch module is.
#
#   scripts/sanitize.sh [ctest arguments, e.g. -R Decoupled]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-sanitize
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDIPACO_SANITIZE=ON >&2
fi
cmake --build "$build" >&2
# halt_on_error: the first report fails its test. detect_leaks: LibTorch and SimGrid keep
# process-lifetime allocations that LeakSanitizer would list at every exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=0:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$build"
ctest -j "$(nproc)" --output-on-failure "$@"
