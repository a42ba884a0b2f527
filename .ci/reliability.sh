#!/usr/bin/env bash
# Reliability checks beyond `cargo test` (RELIABILITY.md): installs strace (the syscall order
# tests in tests/integration/syscalls.rs fail under CI without it), runs the torture harness
# small, and fuzzes every target briefly (0 seconds: no fuzzing, as in CI).
#
# Usage: .ci/reliability.sh [TORTURE_ITERATIONS] [FUZZ_SECONDS_PER_TARGET]
#        .ci/reliability.sh --install-only    (just the packages; tests/run installs strace too)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
export ATIO_GUEST_ZSTD=${ATIO_GUEST_ZSTD:-1}

step() { printf '\n=== %s (%ss)\n' "$1" "$SECONDS"; }

step "system packages (strace: syscall order checks)"
if ! command -v strace >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null
fi
strace -V | head -n 1
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi
iterations=${1:-400}
fuzz_seconds=${2:-60}

step "syscall order, read-only filesystem, directory removed mid-write (cargo test)"
cargo test --test integration -- syscalls:: reliability::

# The dev profile (dependencies optimised) reuses what `cargo test` built; RELIABILITY.md's large
# run uses --release, which would cost a cold release build of wasmtime here.
step "torture: $iterations writers SIGKILLed at random points"
cargo build --bin atio --example torture
target/debug/examples/torture --iterations "$iterations"

if [ "$fuzz_seconds" -gt 0 ]; then
  step "fuzz: every target for ${fuzz_seconds}s"
  ATIO_FUZZ_CODEGEN_UNITS=${ATIO_FUZZ_CODEGEN_UNITS:-16} ATIO_FUZZ_OPT_LEVEL=${ATIO_FUZZ_OPT_LEVEL:-1} \
    .ci/fuzz.sh "$fuzz_seconds"
else
  # CI: the instrumented build alone is ~8 minutes cold; `cargo test` still replays every
  # target's corpus (tests/integration/fuzz_corpus.rs). Long runs: .ci/fuzz.sh 480.
  step "fuzz: skipped (0 s per target); the corpus was replayed by cargo test"
fi

step "done"
